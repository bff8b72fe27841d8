import APICore
import HTTP
import JSON
import Store

/// Participants (ECTs and mentors), their training status and schedule, transfers and unfunded
/// mentors: a lead provider's view, and the staff operations that load what providers cannot change.
enum ParticipantOperations {
    static func register(
        api: inout OperationGroup<LeadProviderPrincipal>, admin: inout OperationGroup<LeadProviderPrincipal>
    ) {
        typealias D = LeadProviderDocs
        typealias P = OperationDoc.Parameter
        typealias R = OperationDoc.Response
        // Lists and transfers first: `participants/transfers` is not a participant id.
        TransferOperations.register(api: &api)
        api.on(
            .get, "participants",
            doc: OperationDoc(
                "Retrieve multiple participants", tag: "Participants",
                description:
                    "Teachers with a training record with you, each with your latest training record of each course (`ecf_enrolments`). Oldest first unless `sort` says otherwise.",
                parameters: [
                    P(
                        "filter[cohort]", schema: ["type": "string", "example": "2021,2022"],
                        "Comma-separated cohort years of the enrolments; values that are not years match nothing."),
                    D.updatedSince,
                    P(
                        "filter[training_status]",
                        schema: [
                            "type": "string", "enum": .array(ParticipantSchemas.trainingStatuses.map(JSON.string)),
                        ],
                        "An enrolment with this training status; another value matches nothing."),
                    P(
                        "filter[from_participant_id]", schema: ["type": "string", "format": "uuid"],
                        "Participants whose id changed from this one."),
                    D.sort,
                ] + D.paging,
                responses: [R(200, "A list of participants", schema: D.list("Participant"))], errors: [400]),
            list)
        api.on(
            .get, "participants/:id",
            doc: OperationDoc(
                "Retrieve a single participant", tag: "Participants",
                parameters: [D.uuid("Participant id. Without a training record with you: 404.")],
                responses: [R(200, "A single participant", schema: D.one("Participant"))], errors: [404]),
            show)
        ParticipantActions.register(api: &api)
        UnfundedMentorOperations.register(api: &api)
        ScheduleOperations.register(admin: &admin)
    }

    /// Resources these operations answer with (see `LeadProviderDocs.resources`).
    static let resources: [(component: String, type: String, attributes: ResourceSchema)] =
        [
            ("Participant", "participant", ParticipantSchemas.participant),
            ("ParticipantTransfer", "participant-transfer", ParticipantSchemas.participantTransfer),
            ("UnfundedMentor", "unfunded-mentor", ParticipantSchemas.unfundedMentor),
        ] + ScheduleOperations.resources
    /// Staff payloads (see `LeadProviderDocs.inputs`).
    static let inputs: [(component: String, schema: ResourceSchema)] = ScheduleOperations.inputs

    // MARK: handlers

    static func list(_ context: Context) throws -> HTTPResponse {
        let provider = try context.provider
        let query = try ListQuery(context.request.query)
        let since = try query.updatedSince()
        let years = query.cohortYears()
        let status = query.filters["training_status"]
        let from = query.filters["from_participant_id"].map(LeadProviderID.canonical)
        let today = Day.today()
        var views: [ParticipantView] = []
        for teacher in ParticipantView.teachers(of: provider, in: context.store) {
            if let since, (teacher["updated_at"]?.stringValue ?? "") < since { continue }
            if let from,
                !(teacher["id_changes"]?.arrayValue ?? []).contains(where: {
                    $0["from_participant_id"]?.stringValue == from
                })
            {
                continue
            }
            let view = ParticipantView(teacher: teacher, provider: provider, reader: context.store)
            if let years, !view.enrolments.contains(where: { years.contains($0["cohort"]?.stringValue ?? "") }) {
                continue
            }
            if let status, !view.enrolments.contains(where: { ParticipantStatus.training($0) == status }) { continue }
            views.append(view)
        }
        let sorted = query.sorted(views) { view, field in view.teacher[field]?.stringValue ?? "" }
        return document(.array(query.paged(sorted).map { $0.resource(today: today) }))
    }

    static func show(_ context: Context) throws -> HTTPResponse {
        let provider = try context.provider
        let view = try ParticipantView.visible(context.pathID, provider: provider, reader: context.store)
        return document(view.resource(today: Day.today()))
    }
}

/// A teacher as one lead provider sees them: the official `Participant`.
struct ParticipantView {
    var teacher: JSON
    var provider: String
    /// The provider's latest training record of each course, ECT first (the real serializer's
    /// `latest_ect_training_period`, `latest_mentor_training_period`).
    var enrolments: [JSON]
    private var reader: any RecordReader

    init(teacher: JSON, provider: String, reader: some RecordReader) {
        self.teacher = teacher
        self.provider = provider
        self.reader = reader
        let id = teacher["id"]?.stringValue ?? ""
        enrolments = Course.allCases.compactMap {
            TrainingRecordLookup.current(teacher: id, provider: provider, course: $0, in: reader)
        }
    }

    /// The teacher `id` names, if one of their training records is with `provider`; otherwise 404
    /// as for no such participant.
    static func visible(_ id: String, provider: String, reader: some RecordReader) throws -> ParticipantView {
        guard let teacher = reader.get(Collection.teachers, id) else { throw Failure.notFound }
        let view = ParticipantView(teacher: teacher, provider: provider, reader: reader)
        guard !view.enrolments.isEmpty else { throw Failure.notFound }
        return view
    }

    /// The teachers with a training record with `provider`, in creation order of their records.
    static func teachers(of provider: String, in store: Store) -> [JSON] {
        var seen = Set<String>()
        var teachers: [JSON] = []
        for record in store.lookupRecords(Collection.participants, index: "by_lead_provider", key: provider) {
            guard TrainingRecordLookup.isShown(record, to: provider), let id = record["teacher_id"]?.stringValue,
                seen.insert(id).inserted,
                let teacher = store.get(Collection.teachers, id)
            else { continue }
            teachers.append(teacher)
        }
        return teachers
    }

    func resource(today: String) -> JSON {
        let attributes = ParticipantSchemas.participant.serialize([
            "full_name": teacher["full_name"] ?? .null,
            "teacher_reference_number": teacher["trn"] ?? .null,
            "ecf_enrolments": .array(enrolments.map { enrolment($0, today: today) }),
            "participant_id_changes": .array(
                (teacher["id_changes"]?.arrayValue ?? []).map { change in
                    [
                        "from_participant_id": change["from_participant_id"] ?? .null,
                        "to_participant_id": change["to_participant_id"] ?? .null,
                        "changed_at": shown(change["changed_at"]),
                    ]
                }),
            "updated_at": shown(teacher["updated_at"]),
        ])
        return LeadProviderAPI.resource(
            id: teacher["id"]?.stringValue ?? "", type: "participant", attributes: attributes)
    }

    func enrolment(_ record: JSON, today: String) -> JSON {
        let ect = record["participant_type"]?.stringValue != "mentor"
        let school = reader.get(Collection.schools, record["school_id"]?.stringValue ?? "")
        let training = ParticipantStatus.training(record)
        func change(_ name: String, when status: String) -> JSON {
            guard training == status, let change = record[name], !change.isNull else { return .null }
            return ["reason": change["reason"] ?? .null, "date": shown(change["date"])]
        }
        // The real `created_at` is the teacher's first time at a school in this role, with anyone.
        let first = reader.records(Collection.participants, index: "by_teacher", key: teacher["id"]?.stringValue ?? "")
            .filter { $0["participant_type"] == record["participant_type"] }
            .compactMap { $0["created_at"]?.stringValue }.min()
        let values: JSONObject = [
            "training_record_id": record["id"] ?? .null,
            "email": record["email"].flatMap { $0.isNull ? nil : $0 } ?? teacher["email"] ?? .null,
            "mentor_id": ect ? record["mentor_id"] ?? .null : .null,
            "school_urn": school?["urn"] ?? .null,
            "participant_type": record["participant_type"] ?? "ect",
            "working_pattern": ect ? record["working_pattern"] ?? .null : .null,
            "cohort": record["cohort"] ?? .null,
            "training_status": .string(training),
            "participant_status": .string(ParticipantStatus.participant(record, today: today)),
            "eligible_for_funding": record["eligible_for_funding"] ?? .null,
            "pupil_premium_uplift": .bool(record["pupil_premium_uplift"]?.boolValue ?? false),
            "sparsity_uplift": .bool(record["sparsity_uplift"]?.boolValue ?? false),
            "schedule_identifier": record["schedule_identifier"] ?? .null,
            "delivery_partner_id": record["delivery_partner_id"] ?? .null,
            "withdrawal": change("withdrawal", when: "withdrawn"),
            "deferral": change("deferral", when: "deferred"),
            "created_at": shown(first.map(JSON.string) ?? record["created_at"]),
            "induction_end_date": ect ? record["induction_end_date"] ?? .null : .null,
            "mentor_funding_end_date": ect ? .null : record["mentor_funding_end_date"] ?? .null,
            "cohort_changed_after_payments_frozen": false,
            "mentor_ineligible_for_funding_reason": ect
                ? .null : record["mentor_ineligible_for_funding_reason"] ?? .null,
        ]
        return ParticipantSchemas.enrolment.serialize(values)
    }
}

extension ListQuery {
    /// `filter[cohort]` as years: values that are not integers are dropped, so a filter of none
    /// matches nothing; nil without the filter.
    func cohortYears() -> Set<String>? {
        filters["cohort"].map { cohorts in
            Set(cohorts.split(separator: ",").map { $0.trimming(" ") }.filter { Int($0) != nil }.map(String.init))
        }
    }
}
