import APICore
import HTTP
import JSON
import Store

/// The real service's texts for declarations (app/services/api/declarations/*.rb and the
/// validators), with its attribute names replaced as its `config/api_error_mappings.yml` replaces
/// them in every answer (teacher_api_id -> participant_id, teacher_type -> course_identifier,
/// evidence_type -> evidence_held, declaration_api_id -> participant_declaration_id,
/// contract_period_year and "contract period" -> cohort).
enum DeclarationFailure {
    static let dateMissing = "Enter a '#/declaration_date'."
    static let typeMissing = "Enter a '#/declaration_type'."
    static let typeInvalid = "Enter a valid declaration type."
    static let duplicate = "A declaration has already been submitted that will be, or has been, paid for this event."
    static let dateInFuture = "The '#/declaration_date' value cannot be a future date. Check the date and try again."
    static let beforeMilestone =
        "Declaration date must be on or after the milestone start date for the same declaration type."
    static let afterMilestone =
        "Declaration date must be on or before the milestone date for the same declaration type."
    /// "RCF" is the real text's.
    static let dateFormat = "Enter a valid RCF3339 '#/declaration_date'."
    static let mentorStartedOrCompletedOnly =
        "You cannot send retained or extended declarations for participants who began their mentor training after June 2025. Resubmit this declaration with either a started or completed declaration."
    static let evidenceMissing = "Enter a '#/evidence_held' value for this participant."
    static let evidenceInvalid = "Enter an available '#/evidence_held' type for this participant."
    static let milestoneMissing = "The property '#/declaration_type' does not exist for this schedule."
    static let outOfSequence =
        "This '#/declaration_date' is invalid. Check that it is in sequence with existing declaration dates for this participant."
    static func withdrawn(on date: String) -> String {
        "This participant withdrew from this course on \(date). Enter a '#/declaration_date' that's on or before the withdrawal date."
    }
    static func paymentsFrozen(_ cohort: String) -> String {
        "You cannot submit declarations for the \(cohort) cohort. The funding contract for this cohort has ended. Get in touch if you need to discuss this with us."
    }
    static func noOutputStatement(_ cohort: String) -> String {
        "You cannot submit or void declarations for the \(cohort) cohort. The funding contract for this cohort has ended. Get in touch if you need to discuss this with us."
    }
    // Voiding (API::Declarations::Void and ::Clawback).
    static let alreadyVoided = "The declaration has already been voided."
    static let viewOnly = "This declaration has been clawed-back, so you can only view it."
    static let alreadyRefunded = "The declaration will or has been refunded"
    /// The same words as `noOutputStatement`, without its final full stop, as in the real clawback service.
    static func noClawbackStatement(_ cohort: String) -> String {
        "You cannot submit or void declarations for the \(cohort) cohort. The funding contract for this cohort has ended. Get in touch if you need to discuss this with us"
    }
}

/// What a cohort's contract allows (the real service's contract periods, db/seeds/contract_periods.rb).
struct CohortContract {
    let year: Int

    init(_ cohort: String) { year = Int(cohort) ?? 0 }

    /// From 2025: mentors are paid for started and completed only, and each declaration type has its own evidence.
    var mentorFunding: Bool { year >= 2025 }
    var detailedEvidence: Bool { year >= 2025 }
    /// Until 2024: started declarations carry the school's pupil premium and sparsity uplifts.
    var upliftFees: Bool { year <= 2024 }

    /// The 2021 and 2022 contracts ended: no declaration while a participant trains in them today.
    func paymentsFrozen(today: String) -> Bool {
        guard let frozenFrom = [2021: "2024-06-18", 2022: "2025-06-16"][year] else { return false }
        return today >= frozenFrom
    }
}

enum DeclarationType {
    /// In milestone order: the real model's enum order, which the sequence rule reads.
    static let all = [
        "started", "retained-1", "retained-2", "retained-3", "retained-4", "completed", "extended-1", "extended-2",
        "extended-3",
    ]
}

/// The evidence a declaration needs (the real EvidenceTypeValidator).
enum Evidence {
    static let simple = ["training-event-attended", "self-study-material-completed", "other"]
    static let detailed = [
        "training-event-attended", "self-study-material-completed", "materials-engaged-with-offline", "other",
    ]
    static let engagement = ["75-percent-engagement-met", "75-percent-engagement-met-reduced-induction"]
    static let all = detailed + engagement + ["one-term-induction"]

    /// Before 2025 every type but started needs evidence; from 2025 every type does.
    static func required(declarationType: String, contract: CohortContract) -> Bool {
        declarationType != "started" || contract.detailedEvidence
    }

    /// What is read at all: before 2025 a started declaration's evidence is dropped (stored as none).
    static func kept(declarationType: String, contract: CohortContract) -> Bool {
        contract.detailedEvidence || required(declarationType: declarationType, contract: contract)
    }

    static func allowed(declarationType: String, course: Course, contract: CohortContract) -> [String] {
        guard contract.detailedEvidence else { return simple }
        switch (course, declarationType) {
        case (.induction, "retained-2"), (.mentor, "completed"): return engagement
        case (.induction, "completed"): return engagement + ["one-term-induction"]
        case (.induction, _), (.mentor, "started"): return detailed
        default: return []
        }
    }
}

/// A `POST /participant-declarations` request's attributes, as text (a number or boolean sent
/// where text belongs is compared as its JSON text, so it matches nothing, as in the real service).
struct DeclarationRequest {
    var participantID: String?
    var declarationType: String?
    var declarationDate: String?
    var courseIdentifier: String?
    var evidenceHeld: String?

    init(_ attributes: JSONObject) {
        func text(_ name: String) -> String? {
            switch attributes[name] {
            case .string(let s)?: return s.trimming(" ").isEmpty ? nil : s
            case nil, .null?: return nil
            case let value?: return value.text
            }
        }
        self.init(
            participantID: text("participant_id"), declarationType: text("declaration_type"),
            declarationDate: text("declaration_date"), courseIdentifier: text("course_identifier"),
            evidenceHeld: text("evidence_held"))
    }

    init(
        participantID: String?, declarationType: String?, declarationDate: String?, courseIdentifier: String?,
        evidenceHeld: String? = nil
    ) {
        self.participantID = participantID.map(LeadProviderID.canonical)
        self.declarationType = declarationType
        self.declarationDate = declarationDate
        self.courseIdentifier = courseIdentifier
        self.evidenceHeld = evidenceHeld
    }
}

/// Errors per attribute in the order the attributes first failed, as ActiveModel collects them
/// (the answer lists them so).
struct AttributeErrors {
    private(set) var entries: [(attribute: String, messages: [String])] = []

    var isEmpty: Bool { entries.isEmpty }

    func has(_ attribute: String) -> Bool { entries.contains { $0.attribute == attribute } }

    mutating func add(_ attribute: String, _ message: String) {
        if let index = entries.firstIndex(where: { $0.attribute == attribute }) {
            if !entries[index].messages.contains(message) { entries[index].messages.append(message) }
        } else {
            entries.append((attribute, [message]))
        }
    }

    var apiErrors: APIErrors {
        APIErrors(entries.flatMap { entry in entry.messages.map { Failure.field(entry.attribute, $0) } })
    }
}

/// Creating a declaration: the real `API::Declarations::Create` validations, in its order and
/// with its guards (a check is skipped once an attribute it depends on has an error), then
/// `Declarations::Create`. Runs inside the write, so every check sees every acknowledged write.
enum DeclarationRules {
    static let participant = "participant_id", course = "course_identifier", date = "declaration_date",
        type = "declaration_type", evidence = "evidence_held", cohort = "cohort"

    /// What a valid request resolved to.
    struct Checked {
        var teacher: String
        var record: JSON
        var course: Course
        var declarationType: String
        var declarationDate: Timestamp
        var evidence: String?
        var statement: JSON?
    }

    static func validate(
        _ request: DeclarationRequest, provider: String, now: Timestamp, in reader: some RecordReader
    ) -> Result<Checked, APIErrors> {
        var errors = AttributeErrors()
        let today = Day.of(now)
        let teacher = request.participantID.flatMap { reader.get(Collection.teachers, $0) }
        let courseValue = request.courseIdentifier.flatMap(Course.init(rawValue:))
        let record = teacher.flatMap { _ in
            courseValue.flatMap {
                TrainingRecordLookup.current(
                    teacher: request.participantID!, provider: provider, course: $0, in: reader)
            }
        }
        let cohortText = record?["cohort"]?.stringValue ?? ""
        let contract = CohortContract(cohortText)
        let registered =
            teacher != nil
            && !TrainingRecordLookup.all(teacher: request.participantID!, provider: provider, in: reader).isEmpty
        // Read as leniently as the real service compares it (any ISO 8601 form); its format is checked apart.
        let when = request.declarationDate.flatMap { rfc3339($0) ?? Timestamp.parse($0) }
        let schedule = record.flatMap { record in
            ScheduleLookup.find(
                cohort: cohortText, identifier: record["schedule_identifier"]?.stringValue ?? "", in: reader)
        }
        let milestone = schedule.flatMap { schedule in
            request.declarationType.flatMap { ScheduleLookup.milestone(schedule, declarationType: $0) }
        }
        let existing: [JSON] =
            record != nil && courseValue != nil
            ? DeclarationRecords.forTeacher(request.participantID!, course: courseValue!, in: reader).filter(
                DeclarationRecords.isBillableOrChangeable) : []

        if request.participantID == nil { errors.add(participant, ParticipantFailure.participantMissing) }
        if !errors.has(participant), !errors.has(course), teacher == nil {
            errors.add(participant, ParticipantFailure.participantUnknown)
        }
        if errors.isEmpty, courseValue == nil { errors.add(course, ParticipantFailure.courseMissing) }
        if errors.isEmpty, request.declarationDate == nil { errors.add(date, DeclarationFailure.dateMissing) }
        if ![course, participant, type, date].contains(where: errors.has), record == nil, registered {
            errors.add(course, ParticipantFailure.courseUnknown)
        }
        if errors.isEmpty, request.declarationType == nil { errors.add(type, DeclarationFailure.typeMissing) }
        if errors.isEmpty, let declared = request.declarationType, !DeclarationType.all.contains(declared) {
            errors.add(type, DeclarationFailure.typeInvalid)
        }
        if !errors.has(type), !errors.has(date), record != nil,
            existing.contains(where: { $0["declaration_type"]?.stringValue == request.declarationType })
        {
            errors.add(type, DeclarationFailure.duplicate)
        }
        if ![date, type, participant, course].contains(where: errors.has), let when, when > now {
            errors.add(date, DeclarationFailure.dateInFuture)
        }
        if ![date, type, cohort].contains(where: errors.has), let milestone, let when {
            if let start = milestone["start_date"]?.stringValue.flatMap(Timestamp.parse), when < start {
                errors.add(date, DeclarationFailure.beforeMilestone)
            }
            if let end = milestone["milestone_date"]?.stringValue.flatMap(Timestamp.parse),
                end.microseconds + dayMicroseconds - 1 <= when.microseconds
            {
                errors.add(date, DeclarationFailure.afterMilestone)
            }
        }
        if !errors.has(date), let text = request.declarationDate, rfc3339(text) == nil {
            errors.add(date, DeclarationFailure.dateFormat)
        }
        if !errors.has(type), !errors.has(cohort), let declared = request.declarationType,
            !["started", "completed"].contains(declared), courseValue == .mentor, record != nil, contract.mentorFunding
        {
            errors.add(type, DeclarationFailure.mentorStartedOrCompletedOnly)
        }
        var evidence: String? = nil
        if errors.isEmpty, record != nil, let courseValue, let declared = request.declarationType {
            let kept = Evidence.kept(declarationType: declared, contract: contract)
            evidence = kept ? request.evidenceHeld : nil
            if Evidence.required(declarationType: declared, contract: contract), evidence == nil {
                errors.add(self.evidence, DeclarationFailure.evidenceMissing)
            } else if let sent = evidence,
                !Evidence.allowed(declarationType: declared, course: courseValue, contract: contract).contains(sent)
            {
                errors.add(self.evidence, DeclarationFailure.evidenceInvalid)
            }
        }
        if !errors.has(participant), let record, record["training_status"]?.stringValue == "withdrawn",
            let withdrawn = record["withdrawal"]?["date"]?.stringValue.flatMap(Timestamp.parse), let when,
            withdrawn <= when
        {
            errors.add(participant, DeclarationFailure.withdrawn(on: withdrawn.secondsText))
        }
        if !errors.has(cohort), let participantID = request.participantID, teacher != nil,
            let frozen = ongoingFrozenCohort(
                teacher: participantID, course: courseValue ?? .mentor, today: today, in: reader)
        {
            errors.add(cohort, DeclarationFailure.paymentsFrozen(frozen))
        }
        let statement =
            record != nil
            ? StatementRecords.nextOutputStatement(
                provider: provider, cohort: cohortText, today: today, statuses: [.open], in: reader) : nil
        if !errors.has(type), !errors.has(cohort), record?["eligible_for_funding"]?.boolValue == true, statement == nil
        {
            errors.add(cohort, DeclarationFailure.noOutputStatement(cohortText))
        }
        if ![date, type, participant, course, cohort].contains(where: errors.has), record != nil, milestone == nil {
            errors.add(type, DeclarationFailure.milestoneMissing)
        }
        if !errors.has(date), !errors.has(type), let when, let declared = request.declarationType,
            let position = DeclarationType.all.firstIndex(of: declared), record != nil, contract.year >= 2025
        {
            let earlier = Set(DeclarationType.all[..<position]), later = Set(DeclarationType.all[(position + 1)...])
            let dates = { (types: Set<String>) in
                existing.filter { types.contains($0["declaration_type"]?.stringValue ?? "") }
                    .compactMap { $0["declaration_date"]?.stringValue }
            }
            let stamp = when.storageText
            if let from = dates(earlier).max(), stamp < from {
                errors.add(date, DeclarationFailure.outOfSequence)
            } else if let to = dates(later).min(), stamp > to {
                errors.add(date, DeclarationFailure.outOfSequence)
            }
        }
        if !errors.has(participant), teacher == nil || !registered {
            errors.add(participant, ParticipantFailure.participantUnknown)
        }
        guard errors.isEmpty, let teacherID = request.participantID, let record, let courseValue,
            let declared = request.declarationType, let when
        else {
            // Every path to here has recorded an error; a request that somehow has none is no declaration.
            return .failure(errors.isEmpty ? APIErrors([Failure.badJSON]) : errors.apiErrors)
        }
        let eligible = record["eligible_for_funding"]?.boolValue == true
        return .success(
            Checked(
                teacher: teacherID, record: record, course: courseValue, declarationType: declared,
                declarationDate: when, evidence: evidence, statement: eligible ? statement : nil))
    }

    static let dayMicroseconds = 86_400 * 1_000_000

    /// The real APIDateTimeFormatValidator: `YYYY-MM-DDTHH:MM:SS`, an optional fraction, an optional
    /// zone (`Z`, `+HH`, `+HHMM`, `+HH:MM`), case-insensitive, naming a time that exists.
    static func rfc3339(_ text: String) -> Timestamp? {
        let c = Array(text.utf8)
        func digits(_ range: Range<Int>) -> Bool {
            range.upperBound <= c.count && range.allSatisfy { c[$0] >= 48 && c[$0] <= 57 }
        }
        guard c.count >= 19, digits(0..<4), c[4] == UInt8(ascii: "-"), digits(5..<7), c[7] == UInt8(ascii: "-"),
            digits(8..<10), c[10] == UInt8(ascii: "T") || c[10] == UInt8(ascii: "t"), digits(11..<13),
            c[13] == UInt8(ascii: ":"), digits(14..<16), c[16] == UInt8(ascii: ":"), digits(17..<19)
        else { return nil }
        var i = 19
        if i < c.count, c[i] == UInt8(ascii: ".") || c[i] == UInt8(ascii: ",") {
            let start = i + 1
            i = start
            while i < c.count, c[i] >= 48, c[i] <= 57 { i += 1 }
            guard i > start else { return nil }
        }
        var zone = ""
        if i < c.count {
            if (c[i] == UInt8(ascii: "Z") || c[i] == UInt8(ascii: "z")) && i + 1 == c.count {
                zone = "Z"
            } else if c[i] == UInt8(ascii: "+") || c[i] == UInt8(ascii: "-") {
                let rest = Array(c[(i + 1)...])
                let hours = String(decoding: rest.prefix(2), as: UTF8.self)
                switch rest.count {
                case 2: zone = "\(Character(UnicodeScalar(c[i])))\(hours):00"
                case 4 where rest.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                    5 where rest[2] == UInt8(ascii: ":"):
                    zone =
                        "\(Character(UnicodeScalar(c[i])))\(hours):\(String(decoding: rest.suffix(2), as: UTF8.self))"
                default: return nil
                }
                guard hours.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
            } else {
                return nil
            }
        }
        return Timestamp.parse(String(decoding: c[..<i], as: UTF8.self) + zone)
    }

    /// The cohort of a training of this course (with any provider) that runs today, if its contract has ended.
    static func ongoingFrozenCohort(
        teacher: String, course: Course, today: String, in reader: some RecordReader
    )
        -> String?
    {
        reader.records(Collection.participants, index: "by_teacher", key: teacher).first { record in
            record["participant_type"]?.stringValue == course.participantType
                && (record["started_on"]?.stringValue ?? "") <= today
                && ((record["finished_on"]?.stringValue).map { $0 > today } ?? true)
                && CohortContract(record["cohort"]?.stringValue ?? "").paymentsFrozen(today: today)
        }?["cohort"]?.stringValue
    }

    /// Creates the declaration a valid request describes (`Declarations::Create`): eligible and on
    /// the next open output statement when the training record is eligible for funding, submitted
    /// otherwise; a started declaration in an uplift cohort keeps the record's uplifts; a mentor's
    /// completed declaration ends their funding.
    static func create(
        _ tx: inout Transaction, _ request: DeclarationRequest, provider: String, now: Timestamp
    ) throws -> JSON {
        let checked: Checked
        switch validate(request, provider: provider, now: now, in: tx) {
        case .success(let value): checked = value
        case .failure(let errors): throw errors
        }
        let declaration = DeclarationRecords.make(
            provider: provider, checked, state: checked.statement == nil ? "submitted" : "eligible", now: now)
        tx.put(Collection.declarations, declaration["id"]?.stringValue ?? "", declaration)
        DeclarationRecords.recordMentorCompletion(&tx, declaration, now: now)
        return declaration
    }

    /// `PUT /participant-declarations/{id}/void` on the provider's own declaration: a paid one is
    /// clawed back on the next output statement (`API::Declarations::Clawback`), a submitted,
    /// eligible or payable one is voided (`API::Declarations::Void`).
    static func void(_ tx: inout Transaction, id: String, provider: String, now: Timestamp) throws -> JSON {
        guard var declaration = tx.get(Collection.declarations, id),
            declaration["lead_provider_id"]?.stringValue == provider
        else { throw Failure.notFound }
        let field = "participant_declaration_id"
        switch declaration["state"]?.stringValue ?? "" {
        case "paid":
            let record = tx.get(Collection.participants, declaration["training_record_id"]?.stringValue ?? "")
            let cohort = record?["cohort"]?.stringValue ?? ""
            guard
                let statement = StatementRecords.nextOutputStatement(
                    provider: provider, cohort: cohort, today: Day.of(now),
                    statuses: [.open, .payable], in: tx)
            else { throw APIErrors([Failure.field(field, DeclarationFailure.noClawbackStatement(cohort))]) }
            declaration["state"] = "awaiting-clawback"
            declaration["clawback_statement_id"] = statement["id"] ?? .null
        case "awaiting-clawback", "clawed-back":
            throw APIErrors([Failure.field(field, DeclarationFailure.alreadyRefunded)])
        case "voided":
            throw APIErrors([Failure.field(field, DeclarationFailure.alreadyVoided)])
        case "submitted", "eligible", "payable":
            declaration["state"] = "voided"
        default:
            throw APIErrors([Failure.field(field, DeclarationFailure.viewOnly)])
        }
        declaration["updated_at"] = .string(now.storageText)
        tx.put(Collection.declarations, id, declaration)
        DeclarationRecords.recordMentorCompletion(&tx, declaration, now: now)
        return declaration
    }
}

/// Reading declarations and what they change elsewhere.
enum DeclarationRecords {
    /// A new declaration record (the stored shape: TrainingRecords.swift).
    static func make(provider: String, _ checked: DeclarationRules.Checked, state: String, now: Timestamp) -> JSON {
        let record = checked.record
        let uplifts =
            checked.declarationType == "started" && CohortContract(record["cohort"]?.stringValue ?? "").upliftFees
        let stamp = JSON.string(now.storageText)
        return [
            "id": .string(Crypto.uuid()), "lead_provider_id": .string(provider), "teacher_id": .string(checked.teacher),
            "training_record_id": record["id"] ?? .null, "declaration_type": .string(checked.declarationType),
            "declaration_date": .string(checked.declarationDate.storageText),
            "course_identifier": .string(checked.course.rawValue), "state": .string(state),
            "evidence_held": JSON(checked.evidence), "delivery_partner_id": record["delivery_partner_id"] ?? .null,
            "statement_id": checked.statement?["id"] ?? .null, "clawback_statement_id": .null,
            "ineligible_for_funding_reason": .null,
            "mentor_id": checked.course == .induction ? record["mentor_id"] ?? .null : .null,
            "uplift_paid": .bool(state == "paid" && uplifts && hasUplift(record)),
            "pupil_premium_uplift": .bool(uplifts && record["pupil_premium_uplift"]?.boolValue == true),
            "sparsity_uplift": .bool(uplifts && record["sparsity_uplift"]?.boolValue == true),
            "created_at": stamp, "updated_at": stamp,
        ]
    }

    /// The states that pay or may still pay (the real `billable_or_changeable`: payment status
    /// no_payment, eligible, payable or paid, and no clawback).
    static let billableOrChangeable: Set<String> = ["submitted", "eligible", "payable", "paid"]

    static func isBillableOrChangeable(_ declaration: JSON) -> Bool {
        billableOrChangeable.contains(declaration["state"]?.stringValue ?? "")
    }

    static func hasUplift(_ declaration: JSON) -> Bool {
        declaration["pupil_premium_uplift"]?.boolValue == true || declaration["sparsity_uplift"]?.boolValue == true
    }

    /// Every declaration of the teacher for this course, whichever provider made it.
    static func forTeacher(_ teacher: String, course: Course, in reader: some RecordReader) -> [JSON] {
        reader.records(Collection.participants, index: "by_teacher", key: teacher)
            .filter { $0["participant_type"]?.stringValue == course.participantType }
            .flatMap {
                reader.records(Collection.declarations, index: "by_training_record", key: $0["id"]?.stringValue ?? "")
            }
    }

    /// `Declarations::MentorCompletion`: a mentor's latest billable completed declaration ends
    /// their funding on its date (reason `completed_declaration_received`); with none left, the
    /// end is cleared. Shown on every mentor training record of the teacher.
    static func recordMentorCompletion(_ tx: inout Transaction, _ declaration: JSON, now: Timestamp) {
        guard declaration["course_identifier"]?.stringValue == Course.mentor.rawValue,
            declaration["declaration_type"]?.stringValue == "completed",
            let teacher = declaration["teacher_id"]?.stringValue
        else { return }
        let latest = forTeacher(teacher, course: .mentor, in: tx)
            .filter { $0["declaration_type"]?.stringValue == "completed" && isBillableOrChangeable($0) }
            .compactMap { $0["declaration_date"]?.stringValue }.max()
        let endDate = JSON(latest.map { String($0.prefix(10)) })
        let reason = JSON(latest.map { _ in "completed_declaration_received" })
        let stamp = JSON.string(now.storageText)
        var changed = false
        for var record in tx.records(Collection.participants, index: "by_teacher", key: teacher)
        where record["participant_type"]?.stringValue == "mentor" {
            guard
                (record["mentor_funding_end_date"] ?? .null) != endDate
                    || (record["mentor_ineligible_for_funding_reason"] ?? .null) != reason
            else { continue }
            record["mentor_funding_end_date"] = endDate
            record["mentor_ineligible_for_funding_reason"] = reason
            record["updated_at"] = stamp
            tx.put(Collection.participants, record["id"]?.stringValue ?? "", record)
            changed = true
        }
        if changed, var person = tx.get(Collection.teachers, teacher) {
            person["updated_at"] = stamp
            tx.put(Collection.teachers, teacher, person)
        }
    }
}
