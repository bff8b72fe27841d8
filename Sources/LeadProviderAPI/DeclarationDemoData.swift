import APICore
import JSON
import Store

/// Demo statements and declarations: every lead provider's statement calendar for every cohort,
/// and declarations for the demo participants as if each had been sent a few weeks into its
/// milestone: attached to the output statement open then, and as far along as that statement is
/// today (eligible, payable or paid); some voided or awaiting clawback.
enum DeclarationDemoData {
    /// Returns (statements, declarations) made.
    @discardableResult
    static func load(into store: Store, now: Timestamp = .now()) throws -> (Int, Int) {
        let providers = store.all(Collection.leadProviders).compactMap { $0["id"]?.stringValue }.sorted()
        let cohorts = store.all(Collection.cohorts).compactMap { $0["id"]?.stringValue }.sorted()
        let statements = try store.write { tx -> Int in
            var made = 0
            for provider in providers {
                for cohort in cohorts {
                    made += try StatementRecords.calendar(&tx, leadProvider: provider, cohort: cohort, now: now).count
                }
            }
            return made
        }
        let records = store.all(Collection.participants).filter {
            guard let provider = $0["lead_provider_id"]?.stringValue else { return false }
            return $0["teacher_id"]?.stringValue != nil && TrainingRecordLookup.isShown($0, to: provider)
        }
        .sorted { ($0["created_at"]?.stringValue ?? "") < ($1["created_at"]?.stringValue ?? "") }
        let declarations = try store.write { tx -> Int in
            var planner = Planner(now: now)
            for (index, record) in records.enumerated() where index % 4 != 3 {
                planner.declare(&tx, record, index: index)
            }
            return planner.made
        }
        return (statements, declarations)
    }

    struct Planner {
        let now: Timestamp
        let today: String
        var made = 0
        /// provider|cohort -> its output statements by cut-off.
        var outputStatements: [String: [JSON]] = [:]
        /// teacher|course|type already declared (one billable declaration per type).
        var declared = Set<String>()

        init(now: Timestamp) {
            self.now = now
            today = Day.of(now)
        }

        mutating func statements(_ provider: String, _ cohort: String, in tx: Transaction) -> [JSON] {
            let key = "\(provider)|\(cohort)"
            if let known = outputStatements[key] { return known }
            let found = StatementRecords.statements(provider: provider, cohort: cohort, in: tx)
                .filter { $0["output_fee"]?.boolValue == true }
                .sorted { ($0["cut_off_date"]?.stringValue ?? "") < ($1["cut_off_date"]?.stringValue ?? "") }
            outputStatements[key] = found
            return found
        }

        /// Started for most, retained-1 too for every other one, each 20 days into its milestone
        /// (or on its last day), if that day has passed; every third one two days ago instead,
        /// when its milestone is still open (so some are still eligible on an open statement).
        mutating func declare(_ tx: inout Transaction, _ record: JSON, index: Int) {
            guard let teacher = record["teacher_id"]?.stringValue,
                let provider = record["lead_provider_id"]?.stringValue,
                let cohort = record["cohort"]?.stringValue,
                let course = Course(participantType: record["participant_type"]?.stringValue ?? ""),
                let schedule = ScheduleLookup.find(
                    cohort: cohort, identifier: record["schedule_identifier"]?.stringValue ?? "", in: tx)
            else { return }
            let contract = CohortContract(cohort)
            let types =
                index % 2 == 0 && !(course == .mentor && contract.mentorFunding)
                ? ["started", "retained-1"] : ["started"]
            for type in types {
                guard let milestone = ScheduleLookup.milestone(schedule, declarationType: type),
                    let start = milestone["start_date"]?.stringValue.flatMap(Timestamp.parse),
                    declared.insert("\(teacher)|\(course.rawValue)|\(type)").inserted
                else { return }
                var day = Timestamp(microseconds: start.microseconds + 20 * DeclarationRules.dayMicroseconds)
                let recently = Timestamp(microseconds: now.microseconds - 2 * DeclarationRules.dayMicroseconds)
                if index % 3 == 0, recently > day {
                    day = Timestamp(microseconds: recently.microseconds / 86_400_000_000 * 86_400_000_000)
                }
                if let end = milestone["milestone_date"]?.stringValue.flatMap(Timestamp.parse), end < day { day = end }
                let date = Timestamp(microseconds: day.microseconds + 10 * 3_600_000_000)
                guard date < now else { return }
                if record["training_status"]?.stringValue == "withdrawn",
                    let withdrawn = record["withdrawal"]?["date"]?.stringValue.flatMap(Timestamp.parse),
                    withdrawn <= date
                {
                    return
                }
                let evidence =
                    Evidence.kept(declarationType: type, contract: contract)
                    ? Evidence.allowed(declarationType: type, course: course, contract: contract).first : nil
                let dated = String(date.secondsText.prefix(10))
                var statement: JSON? = nil
                var state = "submitted"
                if record["eligible_for_funding"]?.boolValue == true {
                    guard
                        let attached = statements(provider, cohort, in: tx).first(where: {
                            ($0["cut_off_date"]?.stringValue ?? "") >= dated
                        })
                    else { return }
                    statement = attached
                    switch StatementStatus(attached) {
                    case .open: state = "eligible"
                    case .payable: state = "payable"
                    case .paid: state = "paid"
                    }
                }
                let checked = DeclarationRules.Checked(
                    teacher: teacher, record: record, course: course, declarationType: type, declarationDate: date,
                    evidence: evidence, statement: statement)
                var declaration = DeclarationRecords.make(provider: provider, checked, state: state, now: now)
                if made % 6 == 5 { void(&declaration, provider: provider, cohort: cohort, in: tx) }
                tx.put(Collection.declarations, declaration["id"]?.stringValue ?? "", declaration)
                made += 1
            }
        }

        /// As the void operation would today: voided, or awaiting clawback when paid.
        mutating func void(_ declaration: inout JSON, provider: String, cohort: String, in tx: Transaction) {
            guard declaration["state"] == "paid" else {
                declaration["state"] = "voided"
                return
            }
            guard
                let statement = StatementRecords.nextOutputStatement(
                    provider: provider, cohort: cohort, today: today, statuses: [.open, .payable], in: tx)
            else { return }
            declaration["state"] = "awaiting-clawback"
            declaration["clawback_statement_id"] = statement["id"] ?? .null
        }
    }
}
