import APICore
import HTTP
import JSON
import Store

/// PUT /participants/{id}/withdraw, /defer, /resume, /change-schedule: the real service's
/// `API::Teachers::Withdraw`, `Defer`, `Resume`, `ChangeSchedule` (their validations in order,
/// their texts with its error mappings applied: `teacher_api_id` reads `participant_id`,
/// `teacher_type` reads `course_identifier`, `contract period` reads `cohort`).
enum ParticipantActions {
    struct Action {
        var path: String
        /// The request's `data.type`.
        var type: String
        var attributes: ResourceSchema
        var summary: String
        var rules: (inout Checks) -> Void
        var apply: (inout Transaction, inout JSON, Checks, String) -> Void
    }

    static var actions: [Action] {
        [
            Action(
                path: "withdraw", type: "participant-withdraw", attributes: ParticipantSchemas.withdrawRequest,
                summary: "Notify that a participant has withdrawn from their course", rules: withdrawRules,
                apply: { _, record, checks, now in
                    record["training_status"] = "withdrawn"
                    record["withdrawal"] = ["reason": checks.attributes["reason"] ?? .null, "date": .string(now)]
                }),
            Action(
                path: "defer", type: "participant-defer", attributes: ParticipantSchemas.deferRequest,
                summary: "Notify that a participant is taking a break from their course", rules: deferRules,
                apply: { _, record, checks, now in
                    record["training_status"] = "deferred"
                    record["deferral"] = ["reason": checks.attributes["reason"] ?? .null, "date": .string(now)]
                }),
            Action(
                path: "resume", type: "participant-resume", attributes: ParticipantSchemas.resumeRequest,
                summary: "Notify that a participant is resuming their course", rules: resumeRules,
                apply: { _, record, _, _ in
                    record["training_status"] = "active"
                    record["withdrawal"] = .null
                    record["deferral"] = .null
                }),
            Action(
                path: "change-schedule", type: "participant-change-schedule",
                attributes: ParticipantSchemas.changeScheduleRequest,
                summary: "Notify that a participant is changing training schedule", rules: changeScheduleRules,
                apply: changeSchedule),
        ]
    }

    static func register(api: inout OperationGroup<LeadProviderPrincipal>) {
        for action in actions {
            api.on(
                .put, "participants/:id/\(action.path)",
                doc: OperationDoc(
                    action.summary, tag: "Participants",
                    description:
                        "`course_identifier` names your latest training record of that course. Answers the participant as `GET /participants/{id}` does; its `updated_at` moves.",
                    parameters: [LeadProviderDocs.uuid("Participant id. Without a training record with you: 404.")],
                    requestBody: requestBody(action),
                    responses: [
                        .init(200, "The participant", schema: LeadProviderDocs.one("Participant"))
                    ], errors: [400, 404, 422]),
                { context in try perform(action, context) })
        }
    }

    /// `{"data": {"type": <the action's>, "attributes": {...}}}`.
    static func requestBody(_ action: Action) -> JSON {
        OpenAPISchema.object([
            (
                "data",
                OpenAPISchema.object([
                    ("type", ["type": "string", "enum": [.string(action.type)]]),
                    ("attributes", action.attributes.openAPI(writableOnly: true)),
                ])
            )
        ])
    }

    /// What the rules of one request see, and the errors they find, grouped by attribute in the
    /// order each first failed (as the real `errors.messages` renders them).
    struct Checks {
        var attributes: JSONObject
        var teacher: JSON
        /// The training record `course_identifier` names, when it names one with the provider.
        var record: JSON?
        var course: Course?
        var provider: String
        var today: String
        var reader: any RecordReader
        private(set) var titles: [String] = []
        private(set) var details: [String: [String]] = [:]

        init(attributes: JSONObject, teacher: JSON, provider: String, reader: some RecordReader) {
            self.attributes = attributes
            self.teacher = teacher
            self.provider = provider
            self.reader = reader
            today = Day.today()
            course = attributes["course_identifier"]?.stringValue.flatMap(Course.init(rawValue:))
            record = course.flatMap {
                TrainingRecordLookup.current(
                    teacher: teacher["id"]?.stringValue ?? "", provider: provider, course: $0, in: reader)
            }
        }

        mutating func add(_ title: String, _ detail: String) {
            if details[title] == nil { titles.append(title) }
            if !(details[title] ?? []).contains(detail) { details[title, default: []].append(detail) }
        }

        func has(_ title: String) -> Bool { details[title] != nil }
        var isEmpty: Bool { titles.isEmpty }

        var errors: APIErrors {
            APIErrors(titles.flatMap { title in (details[title] ?? []).map { Failure.field(title, $0) } })
        }

        var trainingStatus: String? { record.map(ParticipantStatus.training) }
        var startedOn: String? { record?["started_on"]?.stringValue }
        /// A sent attribute as the real service reads it: blank (absent, null, "") is nil.
        func text(_ name: String) -> String? {
            switch attributes[name] {
            case .string(let s)?: return s.isEmpty ? nil : s
            case nil, .null?: return nil
            case let value?: return value.text
            }
        }
    }

    static func perform(_ action: Action, _ context: Context) throws -> HTTPResponse {
        let provider = try context.provider
        let attributes = try requestAttributes(context.request, type: action.type, permitted: action.attributes)
        let id = context.pathID
        _ = try ParticipantView.visible(id, provider: provider, reader: context.store)
        let now = Timestamp.now().storageText
        try context.store.write { tx in
            let view = try ParticipantView.visible(id, provider: provider, reader: tx)
            var checks = Checks(attributes: attributes, teacher: view.teacher, provider: provider, reader: tx)
            sharedRules(&checks)
            action.rules(&checks)
            guard checks.isEmpty, var record = checks.record, let recordID = record["id"]?.stringValue else {
                throw checks.errors
            }
            let before = (record["school_id"]?.stringValue ?? "", record["cohort"]?.stringValue ?? "")
            action.apply(&tx, &record, checks, now)
            record["updated_at"] = .string(now)
            tx.put(Collection.participants, recordID, record)
            var teacher = view.teacher
            teacher["updated_at"] = .string(now)
            tx.put(Collection.teachers, id, teacher)
            if before != (record["school_id"]?.stringValue ?? "", record["cohort"]?.stringValue ?? "") {
                SchoolCohortState.recompute(&tx, school: before.0, cohort: before.1, now: now)
                SchoolCohortState.recompute(
                    &tx, school: record["school_id"]?.stringValue ?? "", cohort: record["cohort"]?.stringValue ?? "",
                    now: now)
            }
        }
        let view = try ParticipantView.visible(id, provider: provider, reader: context.store)
        return document(view.resource(today: Day.today()))
    }

    // MARK: rules

    /// `API::Concerns::Teachers::SharedAction`: a course that is one of the participant's with you.
    /// An unknown `course_identifier` names no teacher type, so it reads as missing, as there.
    static func sharedRules(_ checks: inout Checks) {
        if checks.course == nil {
            checks.add("course_identifier", ParticipantFailure.courseMissing)
        } else if checks.record == nil {
            checks.add("course_identifier", ParticipantFailure.courseUnknown)
        }
    }

    static func reasonRules(_ checks: inout Checks, allowed: [String]) {
        guard let reason = checks.text("reason") else { return checks.add("reason", "Enter a '#/reason'.") }
        if !allowed.contains(reason) {
            checks.add(
                "reason",
                "The entered '#/reason' is not recognised for the given participant. Check details and try again.")
        }
    }

    /// A withdrawal or deferral needs a day of training with you first.
    static func startedRules(_ checks: inout Checks, verb: String) {
        guard !checks.has("participant_id"), let started = checks.startedOn else { return }
        if started > checks.today {
            checks.add(
                "participant_id",
                "You cannot \(verb) #/participant_id. This is because they have not been training with you for at least one day."
            )
        } else if started == checks.today {
            checks.add(
                "participant_id",
                "You cannot defer or withdraw this participant today. You need to try again tomorrow as the training was recently changed for this participant."
            )
        }
    }

    static func notAlready(_ status: String, _ checks: inout Checks) {
        guard !checks.has("participant_id"), checks.trainingStatus == status else { return }
        checks.add("participant_id", "The '#/participant_id' is already \(status).")
    }

    static func withdrawRules(_ checks: inout Checks) {
        reasonRules(&checks, allowed: ParticipantSchemas.withdrawalReasons)
        notAlready("withdrawn", &checks)
        startedRules(&checks, verb: "withdraw")
        if checks.isEmpty, checks.course == .induction,
            checks.text("reason") == ParticipantSchemas.mentorOnlyWithdrawalReason
        {
            checks.add("reason", "You cannot withdraw an ECT for this reason. The ECT is not a mentor.")
        }
    }

    static func deferRules(_ checks: inout Checks) {
        reasonRules(&checks, allowed: ParticipantSchemas.deferralReasons)
        notAlready("deferred", &checks)
        notAlready("withdrawn", &checks)
        startedRules(&checks, verb: "defer")
    }

    static func resumeRules(_ checks: inout Checks) {
        notAlready("active", &checks)
        guard let record = checks.record, !checks.has("participant_id") else { return }
        let today = checks.today
        let others = checks.reader.records(
            Collection.participants, index: "by_teacher", key: checks.teacher["id"]?.stringValue ?? ""
        )
        .filter {
            $0["id"] != record["id"] && $0["participant_type"] == record["participant_type"]
                && $0["school_id"] == record["school_id"] && ParticipantStatus.training($0) == "active"
                && ParticipantStatus.ongoing($0, today: today)
        }
        if !others.isEmpty {
            return checks.add(
                "participant_id",
                "This participant cannot be resumed because they are already active with another provider.")
        }
        if Day.of(ParticipantStatus.currentChange(record)?["date"]?.stringValue) == today {
            return checks.add(
                "participant_id",
                "You cannot resume a participant on the same day they were withdrawn or deferred. Resume them tomorrow or later."
            )
        }
        if !ParticipantStatus.ongoing(record, today: today) {
            checks.add(
                "participant_id",
                "The participant is no longer at the school. Please contact the induction tutor to resolve.")
        }
    }

    // MARK: change schedule

    /// The cohort a change moves to: the one sent when it exists, else the record's (as the real
    /// `contract_period` falls back).
    static func targetCohort(_ checks: Checks) -> String? {
        if let sent = checks.text("cohort"), checks.reader.get(Collection.cohorts, sent) != nil { return sent }
        return checks.record?["cohort"]?.stringValue
    }

    /// The provider's partnership with the school in the target cohort, preferring the record's
    /// delivery partner, else the latest (the real `find_school_partnership`).
    static func targetPartnership(_ checks: Checks, cohort: String) -> JSON? {
        guard let record = checks.record else { return nil }
        let candidates = checks.reader.records(
            Collection.partnerships, index: "by_school_cohort",
            key: Collection.schoolCohortKey(record["school_id"], .string(cohort))
        )
        .filter { $0["lead_provider_id"]?.stringValue == checks.provider }
        .sorted { ($0["created_at"]?.stringValue ?? "") > ($1["created_at"]?.stringValue ?? "") }
        return candidates.first { $0["delivery_partner_id"] == record["delivery_partner_id"] } ?? candidates.first
    }

    /// Declarations still counted (submitted, eligible, payable, paid) that the new schedule's
    /// milestones would not hold.
    static func declarationsWouldBreak(_ checks: Checks, schedule: JSON) -> Bool {
        guard let id = checks.record?["id"]?.stringValue else { return false }
        return checks.reader.records(Collection.declarations, index: "by_training_record", key: id).contains {
            declaration in
            guard ["submitted", "eligible", "payable", "paid"].contains(declaration["state"]?.stringValue ?? "")
            else { return false }
            guard let type = declaration["declaration_type"]?.stringValue,
                let milestone = ScheduleLookup.milestone(schedule, declarationType: type),
                let day = Day.of(declaration["declaration_date"]?.stringValue)
            else { return true }
            if day < (milestone["start_date"]?.stringValue ?? "") { return true }
            if let end = milestone["milestone_date"]?.stringValue, day > end { return true }
            return false
        }
    }

    static func changeScheduleRules(_ checks: inout Checks) {
        let invalid = "The property '#/schedule_identifier' must be present and correspond to a valid schedule."
        let cohort = targetCohort(checks)
        let identifier = checks.text("schedule_identifier")
        scheduleRules: do {
            guard let identifier else {
                checks.add("schedule_identifier", invalid)
                break scheduleRules
            }
            guard ScheduleCatalog.identifiers.contains(identifier) else {
                checks.add("schedule_identifier", "Enter a valid schedule identifier.")
                break scheduleRules
            }
            guard let cohort, let found = ScheduleLookup.find(cohort: cohort, identifier: identifier, in: checks.reader)
            else {
                checks.add("schedule_identifier", invalid)
                break scheduleRules
            }
            guard let record = checks.record else { break scheduleRules }
            if record["cohort"]?.stringValue == cohort, record["schedule_identifier"]?.stringValue == identifier {
                checks.add("schedule_identifier", "Selected schedule is already on the profile")
            } else if checks.course == .induction, identifier.contains("-replacement-") {
                checks.add("schedule_identifier", "Selected schedule is not valid for the course_identifier")
            } else if checks.course == .mentor, identifier.contains("-reduced-") {
                checks.add(
                    "schedule_identifier",
                    "Mentors cannot be placed on a reduced schedule. Assign them to a different schedule.")
            } else if declarationsWouldBreak(checks, schedule: found) {
                checks.add(
                    "schedule_identifier",
                    "Changing schedule would invalidate existing declarations. Please void them first.")
            }
        }
        guard let record = checks.record else { return }
        if let cohort, cohort != record["cohort"]?.stringValue, targetPartnership(checks, cohort: cohort) == nil {
            checks.add(
                "cohort",
                "You cannot change a participant to this contract_period as you do not have a partnership with the school for the contract_period. Contact the DfE for assistance."
            )
        }
        guard !checks.has("participant_id") else { return }
        let completedOn =
            checks.course == .mentor
            ? record["mentor_funding_end_date"]?.stringValue : record["induction_end_date"]?.stringValue
        let ectToReduced = checks.course == .induction && (identifier ?? "").contains("-reduced-")
        if completedOn != nil, !ectToReduced {
            checks.add(
                "participant_id",
                "You cannot change this participant's schedule as they have completed their training or induction.")
        } else if ParticipantStatus.participant(record, today: checks.today) == "left" {
            checks.add(
                "participant_id",
                "You cannot change this participant's schedule. This is because the participant has a 'left' participant_status, so they are not training with you currently."
            )
        } else if checks.trainingStatus == "withdrawn" {
            checks.add("participant_id", "Cannot perform actions on a withdrawn participant")
        } else if startsLater(checks, than: record) {
            checks.add(
                "participant_id",
                "You cannot change this participant's schedule as they are due to start with another lead provider in the future."
            )
        }
    }

    /// Another training of the same course that starts after this one (with anyone).
    static func startsLater(_ checks: Checks, than record: JSON) -> Bool {
        let started = record["started_on"]?.stringValue ?? ""
        return checks.reader.records(
            Collection.participants, index: "by_teacher", key: checks.teacher["id"]?.stringValue ?? ""
        )
        .contains {
            $0["id"] != record["id"] && $0["participant_type"] == record["participant_type"]
                && ($0["started_on"]?.stringValue ?? "") > started
        }
    }

    /// The new schedule; a new cohort moves the training to the provider's partnership there.
    static func changeSchedule(_ tx: inout Transaction, _ record: inout JSON, _ checks: Checks, _ now: String) {
        guard let cohort = targetCohort(checks), let identifier = checks.text("schedule_identifier") else { return }
        if cohort != record["cohort"]?.stringValue, let partnership = targetPartnership(checks, cohort: cohort) {
            record["cohort"] = .string(cohort)
            record["delivery_partner_id"] = partnership["delivery_partner_id"] ?? .null
        }
        record["schedule_identifier"] = .string(identifier)
    }
}
