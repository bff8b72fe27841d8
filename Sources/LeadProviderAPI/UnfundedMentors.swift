import APICore
import HTTP
import JSON
import Store

/// GET /unfunded-mentors and /unfunded-mentors/{id}: as the real `API::Teachers::UnfundedMentors::Query`
/// defines them, the mentors assigned to your ECTs (the `mentor_id` of an ECT's latest training
/// record with you) who have no training record with you themselves.
enum UnfundedMentorOperations {
    static func register(api: inout OperationGroup<LeadProviderPrincipal>) {
        typealias D = LeadProviderDocs
        api.on(
            .get, "unfunded-mentors",
            doc: OperationDoc(
                "Retrieve multiple unfunded mentors", tag: "Unfunded mentors",
                description:
                    "Mentors of your ECTs who do not train with you. Oldest first unless `sort` says otherwise.",
                parameters: [D.updatedSince, D.sort] + D.paging,
                responses: [.init(200, "A list of unfunded mentors", schema: D.list("UnfundedMentor"))], errors: [400]),
            list)
        api.on(
            .get, "unfunded-mentors/:id",
            doc: OperationDoc(
                "Retrieve a single unfunded mentor", tag: "Unfunded mentors",
                parameters: [D.uuid("The mentor's participant id. Not one of your unfunded mentors: 404.")],
                responses: [.init(200, "A single unfunded mentor", schema: D.one("UnfundedMentor"))], errors: [404]),
            show)
    }

    /// mentor teacher id -> the ECT training records with `provider` that name them.
    static func unfundedMentors(of provider: String, in store: Store) -> [String: [JSON]] {
        let trained = Set(ParticipantView.teachers(of: provider, in: store).compactMap { $0["id"]?.stringValue })
        var mentors: [String: [JSON]] = [:]
        for teacher in trained {
            guard
                let record = TrainingRecordLookup.current(
                    teacher: teacher, provider: provider, course: .induction, in: store),
                let mentor = record["mentor_id"]?.stringValue, !trained.contains(mentor)
            else { continue }
            mentors[mentor, default: []].append(record)
        }
        return mentors
    }

    /// The email of the mentor's latest training at the school of an ECT they mentor (the real
    /// serializer's latest mentor assignment), else any email registered for them.
    static func resource(_ mentor: JSON, mentees: [JSON], store: Store) -> JSON {
        let schools = Set(mentees.compactMap { $0["school_id"]?.stringValue })
        let records = store.lookupRecords(
            Collection.participants, index: "by_teacher", key: mentor["id"]?.stringValue ?? ""
        )
        .filter { $0["email"]?.stringValue != nil }
        .sorted { ($0["started_on"]?.stringValue ?? "") < ($1["started_on"]?.stringValue ?? "") }
        let atSchool = records.last { schools.contains($0["school_id"]?.stringValue ?? "") }
        let email = (atSchool ?? records.last)?["email"] ?? mentor["email"] ?? .null
        return LeadProviderAPI.resource(
            id: mentor["id"]?.stringValue ?? "", type: "unfunded-mentor",
            attributes: ParticipantSchemas.unfundedMentor.serialize([
                "full_name": mentor["full_name"] ?? .null, "email": email,
                "teacher_reference_number": mentor["trn"] ?? .null, "created_at": shown(mentor["created_at"]),
                "updated_at": shown(mentor["updated_at"]),
            ]))
    }

    static func list(_ context: Context) throws -> HTTPResponse {
        let provider = try context.provider
        let query = try ListQuery(context.request.query)
        let since = try query.updatedSince()
        var found: [(mentor: JSON, mentees: [JSON])] = []
        for (id, mentees) in unfundedMentors(of: provider, in: context.store) {
            guard let mentor = context.store.get(Collection.teachers, id) else { continue }
            if let since, (mentor["updated_at"]?.stringValue ?? "") < since { continue }
            found.append((mentor, mentees))
        }
        found.sort {
            ($0.mentor["created_at"]?.stringValue ?? "", $0.mentor["id"]?.stringValue ?? "") < (
                $1.mentor["created_at"]?.stringValue ?? "", $1.mentor["id"]?.stringValue ?? ""
            )
        }
        let sorted = query.sorted(found) { item, field in item.mentor[field]?.stringValue ?? "" }
        return document(
            .array(query.paged(sorted).map { resource($0.mentor, mentees: $0.mentees, store: context.store) }))
    }

    static func show(_ context: Context) throws -> HTTPResponse {
        let provider = try context.provider
        let id = context.pathID
        guard let mentees = unfundedMentors(of: provider, in: context.store)[id],
            let mentor = context.store.get(Collection.teachers, id)
        else { throw Failure.notFound }
        return document(resource(mentor, mentees: mentees, store: context.store))
    }
}
