import APICore
import HTTP
import JSON
import Store

/// Staff registration of training records (`POST`/`PATCH /api/v3/admin/participants`, the import
/// command, the demo data): what lead providers cannot change themselves. The stored fields are
/// those of TrainingRecords.swift.
public enum ParticipantRecords {
    /// Fields a PATCH may change; the others name another training (register a new record).
    static let changeable: Set<String> = [
        "full_name", "trn", "email", "lead_provider_id", "training_programme", "status", "mentor_id",
        "schedule_identifier", "started_on", "finished_on", "training_status", "withdrawal", "deferral",
        "eligible_for_funding", "pupil_premium_uplift", "sparsity_uplift", "working_pattern", "induction_end_date",
        "mentor_funding_end_date", "mentor_ineligible_for_funding_reason",
    ]
    /// Fields with a default: `null` sent for one leaves it (the record always shows a value).
    static let defaulted: Set<String> = [
        "participant_type", "schedule_identifier", "started_on", "training_status", "pupil_premium_uplift",
        "sparsity_uplift",
    ]
    /// Stored as sent when present (a nested status change: with its date in storage form).
    static let recordFields = [
        "email", "mentor_id", "schedule_identifier", "started_on", "finished_on", "training_status", "withdrawal",
        "deferral", "eligible_for_funding", "pupil_premium_uplift", "sparsity_uplift", "working_pattern",
        "induction_end_date", "mentor_funding_end_date", "mentor_ineligible_for_funding_reason",
    ]

    static func create(_ tx: inout Transaction, _ body: JSONObject, id fixedID: String? = nil) throws -> JSON {
        let school = body["school_id"]?.stringValue ?? "", cohort = yearText(body["cohort"]) ?? ""
        try AdminEndpoints.requireExisting(tx, Collection.schools, school, field: "school_id")
        try AdminEndpoints.requireExisting(tx, Collection.cohorts, cohort, field: "cohort")
        if let provider = body["lead_provider_id"]?.stringValue {
            try AdminEndpoints.requireExisting(tx, Collection.leadProviders, provider, field: "lead_provider_id")
        }
        let id = fixedID ?? Crypto.uuid(), now = Timestamp.now().storageText
        let programme = body["training_programme"] ?? "provider_led"
        var record: JSON = [
            "id": .string(id), "school_id": .string(school), "cohort": .string(cohort),
            "lead_provider_id": body["lead_provider_id"] ?? .null, "delivery_partner_id": .null,
            "training_programme": programme, "status": body["status"] ?? "active",
            "created_at": .string(now), "updated_at": .string(now),
        ]
        assignProvider(&record, tx, defaulting: true)
        if body["teacher_id"] != nil || body["full_name"] != nil {
            record = try registerTraining(&tx, record, body, now: now)
        }
        tx.put(Collection.participants, id, record)
        SchoolCohortState.recompute(&tx, school: school, cohort: cohort, now: now)
        return record
    }

    /// The provider and delivery partner: a provider-led record sent without a provider takes the
    /// school's first partnership in the cohort (the reference's default); one with a provider
    /// takes that provider's partnership there, if any, for its delivery partner.
    static func assignProvider(_ record: inout JSON, _ tx: Transaction, defaulting: Bool) {
        let key = Collection.schoolCohortKey(record["school_id"], record["cohort"])
        let partnerships = tx.records(Collection.partnerships, index: "by_school_cohort", key: key)
            .sorted { ($0["created_at"]?.stringValue ?? "") < ($1["created_at"]?.stringValue ?? "") }
        let provider = record["lead_provider_id"]?.stringValue
        let chosen: JSON?
        if let provider {
            chosen = partnerships.first { $0["lead_provider_id"]?.stringValue == provider }
        } else if defaulting, record["training_programme"]?.stringValue == "provider_led" {
            chosen = partnerships.first
        } else {
            chosen = nil
        }
        if provider == nil { record["lead_provider_id"] = chosen?["lead_provider_id"] ?? .null }
        record["delivery_partner_id"] = chosen?["delivery_partner_id"] ?? .null
    }

    /// The participant side of a registration: the teacher (existing or new), the training's
    /// type, mentor, schedule, dates, statuses and funding.
    static func registerTraining(_ tx: inout Transaction, _ base: JSON, _ body: JSONObject, now: String) throws -> JSON
    {
        var record = base
        let teacher = try teacherRecord(&tx, body, now: now)
        record["teacher_id"] = teacher["id"]
        record["participant_type"] = sent("participant_type", body) ?? "ect"
        record["training_status"] = "active"
        record["pupil_premium_uplift"] = false
        record["sparsity_uplift"] = false
        record["eligible_for_funding"] = .null
        record["started_on"] = .string(Day.today())
        for field in recordFields { if let value = sent(field, body) { record[field] = stored(field, value) } }
        if sent("schedule_identifier", body) == nil {
            record["schedule_identifier"] = .string(
                ScheduleCatalog.standardIdentifier(startingOn: record["started_on"]?.stringValue ?? Day.today()))
        }
        if body["status"] == nil { record["status"] = .string(schoolReportedStatus(record)) }
        try check(record, tx)
        return record
    }

    /// The teacher a registration names: `teacher_id` (created with that id when `full_name` is sent
    /// and there is none), or a new one from `full_name`. Sent names and TRNs change the teacher.
    static func teacherRecord(_ tx: inout Transaction, _ body: JSONObject, now: String) throws -> JSON {
        let id = body["teacher_id"]?.stringValue
        var teacher: JSON
        if let id, let existing = tx.get(Collection.teachers, id) {
            teacher = existing
        } else {
            guard let name = body["full_name"]?.stringValue, !name.isEmpty else {
                throw APIErrors([
                    id == nil
                        ? Failure.missing("full_name") : Failure.field("teacher_id", "'#/teacher_id' does not exist.")
                ])
            }
            teacher = [
                "id": .string(id ?? Crypto.uuid()), "full_name": .string(name), "trn": .null, "email": .null,
                "id_changes": .array([]), "created_at": .string(now),
            ]
        }
        changeTeacher(&teacher, body, now: now)
        tx.put(Collection.teachers, teacher["id"]?.stringValue ?? "", teacher)
        return teacher
    }

    /// The teacher's own fields a registration or a change sends; its `updated_at` moves.
    static func changeTeacher(_ teacher: inout JSON, _ body: JSONObject, now: String) {
        for field in ["full_name", "trn", "email"] {
            if let value = body[field], !(field == "full_name" && value.isNull) { teacher[field] = value }
        }
        teacher["updated_at"] = .string(now)
    }

    /// The value sent for `field`, if any (`null` for a defaulted field is none).
    static func sent(_ field: String, _ body: JSONObject) -> JSON? {
        guard let value = body[field], !(value.isNull && defaulted.contains(field)) else { return nil }
        return value
    }

    /// A status change's date is kept in storage form, as every stored timestamp.
    static func stored(_ field: String, _ value: JSON) -> JSON {
        guard field == "withdrawal" || field == "deferral", var change = value.objectValue else { return value }
        if let date = change["date"]?.stringValue.flatMap(Timestamp.parse) {
            change["date"] = .string(date.storageText)
        }
        return .object(change)
    }

    /// What the school reports when staff send only the dates: leaving before `finished_on`, left after.
    static func schoolReportedStatus(_ record: JSON) -> String {
        guard let finished = record["finished_on"]?.stringValue else {
            return (record["started_on"]?.stringValue ?? "") > Day.today() ? "joining" : "active"
        }
        return finished > Day.today() ? "leaving" : "left"
    }

    /// The rules a registered training keeps, after a create or a change.
    static func check(_ record: JSON, _ tx: Transaction) throws {
        var errors: [APIError] = []
        let type = record["participant_type"]?.stringValue
        if let mentor = record["mentor_id"]?.stringValue {
            if type != "ect" {
                errors.append(Failure.field("mentor_id", "Only an ECT has a mentor."))
            } else if mentor == record["teacher_id"]?.stringValue {
                errors.append(Failure.field("mentor_id", "A teacher cannot mentor themselves."))
            } else if tx.get(Collection.teachers, mentor) == nil {
                errors.append(Failure.field("mentor_id", "'#/mentor_id' does not exist."))
            }
        }
        let cohort = record["cohort"]?.stringValue ?? ""
        if let schedule = record["schedule_identifier"]?.stringValue,
            ScheduleLookup.find(cohort: cohort, identifier: schedule, in: tx) == nil
        {
            errors.append(Failure.field("schedule_identifier", "Cohort \(cohort) has no schedule \(schedule)."))
        }
        if let started = record["started_on"]?.stringValue, let finished = record["finished_on"]?.stringValue,
            finished < started
        {
            errors.append(Failure.field("finished_on", "The end date must be later than the start date (\(started))."))
        }
        let status = record["status"]?.stringValue ?? "active"
        if ["leaving", "left"].contains(status), record["finished_on"]?.stringValue == nil {
            errors.append(Failure.field("finished_on", "A school reporting a participant \(status) gives the date."))
        }
        for (trainingStatus, change) in [("withdrawn", "withdrawal"), ("deferred", "deferral")]
        where record["training_status"]?.stringValue == trainingStatus && record[change]?.objectValue == nil {
            errors.append(Failure.field(change, "A \(trainingStatus) training status needs its '#/\(change)'."))
        }
        if !errors.isEmpty { throw APIErrors(errors) }
    }

    /// A staff change (`PATCH /admin/participants/{id}`): the training and its teacher move on.
    static func update(_ tx: inout Transaction, id: String, _ body: JSONObject) throws -> JSON {
        guard var record = tx.get(Collection.participants, id) else { throw Failure.notFound }
        let fixed = body.keys.filter { !changeable.contains($0) }.sorted()
        if !fixed.isEmpty {
            throw APIErrors(
                fixed.map { Failure.field($0, "'#/\($0)' cannot change: register another training record.") })
        }
        let before = (record["school_id"]?.stringValue ?? "", record["cohort"]?.stringValue ?? "")
        let now = Timestamp.now().storageText
        for key in ["training_programme", "status"] { if let value = body[key] { record[key] = value } }
        if let provider = body["lead_provider_id"] {
            if let id = provider.stringValue {
                try AdminEndpoints.requireExisting(tx, Collection.leadProviders, id, field: "lead_provider_id")
            }
            record["lead_provider_id"] = provider
            assignProvider(&record, tx, defaulting: false)
        }
        if let teacherID = record["teacher_id"]?.stringValue {
            for field in recordFields { if let value = sent(field, body) { record[field] = stored(field, value) } }
            if body["finished_on"] != nil, body["status"] == nil {
                record["status"] = .string(schoolReportedStatus(record))
            }
            try check(record, tx)
            var teacher = tx.get(Collection.teachers, teacherID) ?? ["id": .string(teacherID)]
            changeTeacher(&teacher, body, now: now)
            tx.put(Collection.teachers, teacherID, teacher)
        } else if let field = body.keys.sorted().first(where: {
            !["lead_provider_id", "training_programme", "status"].contains($0)
        }) {
            throw APIErrors([Failure.field(field, "'#/\(field)' needs a training record with a teacher.")])
        }
        record["updated_at"] = .string(now)
        tx.put(Collection.participants, id, record)
        SchoolCohortState.recompute(&tx, school: before.0, cohort: before.1, now: now)
        return record
    }

    /// The record as staff see it: with its teacher's name and TRN, timestamps to the second.
    static func shownToStaff(_ record: JSON, _ reader: some RecordReader) -> JSON {
        var values = record.objectValue ?? [:]
        if let teacher = record["teacher_id"]?.stringValue.flatMap({ reader.get(Collection.teachers, $0) }) {
            values["full_name"] = teacher["full_name"] ?? .null
            values["trn"] = teacher["trn"] ?? .null
        }
        for change in ["withdrawal", "deferral"] {
            if var object = values[change]?.objectValue {
                object["date"] = shown(object["date"])
                values[change] = .object(object)
            }
        }
        return .object(values)
    }
}
