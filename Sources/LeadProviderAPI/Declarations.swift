import APICore
import HTTP
import JSON
import Store

/// Participant declarations and the statements they are paid in: a lead provider's view, and the
/// staff operations that load statements and move them (with their declarations) to payment.
enum DeclarationOperations {
    static func register(
        api: inout OperationGroup<LeadProviderPrincipal>, admin: inout OperationGroup<LeadProviderPrincipal>
    ) {
        typealias D = LeadProviderDocs
        typealias R = OperationDoc.Response
        typealias P = OperationDoc.Parameter
        let declarationsTag = "Participant declarations"
        api.on(
            .get, "participant-declarations",
            doc: OperationDoc(
                "List declarations", tag: declarationsTag,
                description:
                    "Your declarations, and the paid or payable ones other providers made for participants who have since moved to you (dated before your training with them ended), oldest first.",
                parameters: [
                    D.cohortList,
                    P(
                        "filter[participant_id]",
                        "Comma-separated participant ids; values that are not UUIDs match nothing."),
                    P(
                        "filter[delivery_partner_id]",
                        "Comma-separated delivery partner ids (as when each declaration was made)."),
                    D.updatedSince,
                ] + D.paging,
                responses: [R(200, "A page of declarations", schema: D.list("Declaration"))], errors: [400]),
            DeclarationEndpoints.list)
        api.on(
            .post, "participant-declarations",
            doc: OperationDoc(
                "Declare that a participant reached a milestone", tag: declarationsTag,
                description: """
                    The participant must train with you on the course; the date must be RFC 3339, not in the \
                    future and inside the milestone of the participant's schedule; evidence as the cohort and \
                    declaration type require. An eligible participant's declaration is `eligible` and attached to \
                    your next open output statement of the cohort; otherwise it is `submitted`. Sending the same \
                    declaration type again while one is not voided: 422.
                    """,
                requestBody: DeclarationDocs.createRequest,
                responses: [R(200, "The new declaration", schema: D.one("Declaration"))], errors: [400, 422]),
            DeclarationEndpoints.create)
        api.on(
            .get, "participant-declarations/:id", caching: .untilStoreChanges,
            doc: OperationDoc(
                "Retrieve a declaration", tag: declarationsTag,
                parameters: [D.uuid("Declaration id. One you cannot see: 404.")],
                responses: [R(200, "The declaration", schema: D.one("Declaration"))], errors: [404]),
            DeclarationEndpoints.show)
        api.on(
            .put, "participant-declarations/:id/void",
            doc: OperationDoc(
                "Void a declaration", tag: declarationsTag,
                description:
                    "Submitted, eligible or payable: `voided`. Paid: `awaiting-clawback`, on your next output statement of the cohort. Only your own declarations (another provider's: 404).",
                parameters: [D.uuid("Declaration id.")],
                responses: [R(200, "The voided declaration", schema: D.one("Declaration"))], errors: [404, 422]),
            DeclarationEndpoints.void)
        api.on(
            .get, "statements",
            doc: OperationDoc(
                "List your financial statements", tag: "Statements",
                description: "Your output-fee statements (those declarations are paid in), in payment date order.",
                parameters: [D.cohortList, D.updatedSince] + D.paging,
                responses: [R(200, "A page of statements", schema: D.list("Statement"))], errors: [400]),
            StatementEndpoints.list)
        api.on(
            .get, "statements/:id", caching: .untilStoreChanges,
            doc: OperationDoc(
                "Retrieve a financial statement", tag: "Statements",
                parameters: [D.uuid("Statement id. Another provider's: 404.")],
                responses: [R(200, "The statement", schema: D.one("Statement"))], errors: [404]),
            StatementEndpoints.show)

        admin.on(
            .post, "statements",
            doc: D.staff(
                "Create a statement",
                description:
                    "One statement of a lead provider in a cohort; one per month and year. January, April, August and November statements are output-fee statements.",
                input: "StatementInput", status: 201, component: "StatementRecord"),
            StatementEndpoints.create)
        admin.on(
            .post, "statements/calendar",
            doc: OperationDoc(
                "Create a cohort's statement calendar", tag: "Staff",
                description:
                    "Monthly statements from November of the cohort's year to August three years on (cut-off: the last day of the month before; payment: the 25th), with the status their dates give today, as the real service's seed data makes them. Months that already have one keep it; the answer is the whole calendar.",
                requestBody: OpenAPISchema.ref("StatementCalendarInput"),
                responses: [R(201, "The cohort's statements", schema: D.list("StatementRecord"))], errors: [400, 422]),
            StatementEndpoints.createCalendar)
        admin.on(
            .patch, "statements/:id",
            doc: D.staff(
                "Change a statement or move it to payment",
                description:
                    "Month, year and dates change until the statement is paid. `status` moves forward: payable makes its eligible declarations payable; paid makes its payable declarations paid and claws back those awaiting clawback on it.",
                parameters: [D.uuid("Statement id.")], input: "StatementChanges", status: 200,
                component: "StatementRecord", errors: [400, 404, 422]),
            StatementEndpoints.update)
        admin.on(
            .post, "statements/mark-payable",
            doc: OperationDoc(
                "Mark due statements payable", tag: "Staff",
                description:
                    "What the real service does each day: every open statement whose cut-off has passed becomes payable, with its eligible declarations.",
                responses: [R(200, "The statements marked payable", schema: D.list("StatementRecord"))]),
            StatementEndpoints.markPayable)
    }

    /// Resources these operations answer with (see `LeadProviderDocs.resources`).
    static let resources: [(component: String, type: String, attributes: ResourceSchema)] = [
        ("Declaration", "participant-declaration", DeclarationSchemas.declaration),
        ("Statement", "statement", StatementSchemas.statement),
        ("StatementRecord", "statement", StatementSchemas.adminStatement),
    ]
    /// Staff payloads (see `LeadProviderDocs.inputs`).
    static let inputs: [(component: String, schema: ResourceSchema)] = [
        ("StatementInput", StatementSchemas.adminStatement), ("StatementCalendarInput", StatementSchemas.calendar),
    ]
}

enum DeclarationSchemas {
    /// The official `Declaration` resource.
    static let declaration = ResourceSchema(
        "DeclarationAttributes",
        [
            Field("participant_id", .uuid, readOnly: true),
            Field("declaration_type", .enumeration(DeclarationType.all), readOnly: true),
            Field("declaration_date", .dateTime, readOnly: true),
            Field("course_identifier", .enumeration(Course.allCases.map(\.rawValue)), readOnly: true),
            Field(
                "state",
                .enumeration(["submitted", "eligible", "payable", "paid", "voided", "awaiting-clawback", "clawed-back"]
                ),
                readOnly: true),
            Field("updated_at", .dateTime, readOnly: true),
            Field("created_at", .dateTime, readOnly: true),
            Field(
                "delivery_partner_id", .uuid, nullable: true, readOnly: true,
                "The participant's delivery partner when the declaration was made."),
            Field(
                "statement_id", .uuid, nullable: true, readOnly: true,
                "The statement it is paid in; none while submitted or once voided."),
            Field("clawback_statement_id", .uuid, nullable: true, readOnly: true),
            Field(
                "ineligible_for_funding_reason", .enumeration(["duplicate_declaration"]), nullable: true,
                readOnly: true,
                "Always null, as in the real service (duplicates are refused)."),
            Field("mentor_id", .uuid, nullable: true, readOnly: true, "An ECT's mentor (a participant id)."),
            Field(
                "uplift_paid", .boolean, readOnly: true,
                "Paid with a pupil premium or sparsity uplift (started declarations up to the 2024 cohort)."),
            Field("evidence_held", .enumeration(Evidence.all), nullable: true, readOnly: true),
            Field("lead_provider_name", .string, readOnly: true, "The provider that made the declaration."),
        ])
}

/// `GET /participant-declarations` filters, read as the real service reads them
/// (`API::ConditionExtractable`): comma-separated, values of the wrong shape dropped (all
/// dropped: nothing matches), an empty filter ignored.
struct DeclarationFilter {
    var years: Set<String>?
    var participants: Set<String>?
    var partners: Set<String>?
    var since: String?

    init(_ query: ListQuery) throws {
        years = Self.years(query.filters["cohort"])
        participants = Self.ids(query.filters["participant_id"])
        partners = Self.ids(query.filters["delivery_partner_id"])
        since = try query.updatedSince()
    }

    static func years(_ text: String?) -> Set<String>? {
        guard let text, !text.isEmpty else { return nil }
        return Set(
            text.split(separator: ",").map(String.init).filter {
                !$0.isEmpty && $0.utf8.allSatisfy { $0 >= 48 && $0 <= 57 }
            }
        )
    }

    static func ids(_ text: String?) -> Set<String>? {
        guard let text, !text.isEmpty else { return nil }
        return Set(
            text.split(separator: ",").map(String.init).filter(isHyphenatedUUID).map(LeadProviderID.canonical))
    }

    /// `\h{8}-\h{4}-\h{4}-\h{4}-\h{12}`
    static func isHyphenatedUUID(_ text: String) -> Bool {
        let groups = text.split(separator: "-", omittingEmptySubsequences: false)
        return groups.map(\.count) == [8, 4, 4, 4, 12] && groups.allSatisfy { $0.allSatisfy(\.isHexDigit) }
    }

    func matches(_ declaration: JSON, cohort: () -> String) -> Bool {
        if let participants, !participants.contains(declaration["teacher_id"]?.stringValue ?? "") { return false }
        if let partners, !partners.contains(declaration["delivery_partner_id"]?.stringValue ?? "") { return false }
        if let since, (declaration["updated_at"]?.stringValue ?? "") < since { return false }
        if let years, !years.contains(cohort()) { return false }
        return true
    }
}

/// Which declarations a lead provider sees (the real `API::Declarations::Query`): its own, and for
/// a teacher it trains, the billable or changeable ones other providers made for the same course,
/// dated no later than the end of the provider's latest training record of that course.
enum DeclarationVisibility {
    static func all(provider: String, in reader: some RecordReader) -> [JSON] {
        var visible = reader.records(Collection.declarations, index: "by_lead_provider", key: provider)
        var seen = Set<String>()
        for record in reader.records(Collection.participants, index: "by_lead_provider", key: provider) {
            guard let teacher = record["teacher_id"]?.stringValue,
                let course = Course(participantType: record["participant_type"]?.stringValue ?? ""),
                seen.insert("\(teacher)|\(course.rawValue)").inserted,
                reader.lookup(Collection.participants, index: "by_teacher", key: teacher).count > 1
            else { continue }
            visible += inherited(teacher: teacher, course: course, provider: provider, in: reader)
        }
        return visible.enumerated().sorted { a, b in
            let (x, y) = (a.element["created_at"]?.stringValue ?? "", b.element["created_at"]?.stringValue ?? "")
            return x != y ? x < y : a.offset < b.offset
        }.map(\.element)
    }

    static func inherited(teacher: String, course: Course, provider: String, in reader: some RecordReader) -> [JSON] {
        guard
            let latest = TrainingRecordLookup.current(teacher: teacher, provider: provider, course: course, in: reader)
        else { return [] }
        // A date-time compared with a date compares with its midnight, as in SQL.
        let end = latest["finished_on"]?.stringValue.map { $0 + "T00:00:00.000000Z" }
        return DeclarationRecords.forTeacher(teacher, course: course, in: reader).filter { declaration in
            guard declaration["lead_provider_id"]?.stringValue != provider,
                DeclarationRecords.isBillableOrChangeable(declaration)
            else { return false }
            guard let end else { return true }
            return (declaration["declaration_date"]?.stringValue ?? "") <= end
        }
    }

    static func isVisible(_ declaration: JSON, to provider: String, in reader: some RecordReader) -> Bool {
        if declaration["lead_provider_id"]?.stringValue == provider { return true }
        guard let teacher = declaration["teacher_id"]?.stringValue,
            let course = Course(rawValue: declaration["course_identifier"]?.stringValue ?? "")
        else { return false }
        return inherited(teacher: teacher, course: course, provider: provider, in: reader).contains {
            $0["id"] == declaration["id"]
        }
    }
}

enum DeclarationEndpoints {
    static func view(_ declaration: JSON, store: Store) -> JSON {
        let provider = store.get(Collection.leadProviders, declaration["lead_provider_id"]?.stringValue ?? "")
        let voided = declaration["state"]?.stringValue == "voided"
        return resource(
            id: declaration["id"]?.stringValue ?? "", type: "participant-declaration",
            attributes: DeclarationSchemas.declaration.serialize([
                "participant_id": declaration["teacher_id"] ?? .null,
                "declaration_type": declaration["declaration_type"] ?? .null,
                "declaration_date": shown(declaration["declaration_date"]),
                "course_identifier": declaration["course_identifier"] ?? .null, "state": declaration["state"] ?? .null,
                "updated_at": shown(declaration["updated_at"]), "created_at": shown(declaration["created_at"]),
                "delivery_partner_id": declaration["delivery_partner_id"] ?? .null,
                "statement_id": voided ? .null : declaration["statement_id"] ?? .null,
                "clawback_statement_id": declaration["clawback_statement_id"] ?? .null,
                "ineligible_for_funding_reason": .null, "mentor_id": declaration["mentor_id"] ?? .null,
                "uplift_paid": .bool(declaration["uplift_paid"]?.boolValue == true),
                "evidence_held": declaration["evidence_held"] ?? .null,
                "lead_provider_name": provider?["name"] ?? .null,
            ]))
    }

    static func list(_ context: Context) throws -> HTTPResponse {
        let provider = try context.provider
        let query = try ListQuery(context.request.query, sortable: [])
        let filter = try DeclarationFilter(query)
        let store = context.store
        let matching = DeclarationVisibility.all(provider: provider, in: store).filter { declaration in
            filter.matches(declaration) {
                store.get(Collection.participants, declaration["training_record_id"]?.stringValue ?? "")?["cohort"]?
                    .stringValue ?? ""
            }
        }
        return document(.array(query.paged(matching).map { view($0, store: store) }))
    }

    static func show(_ context: Context) throws -> HTTPResponse {
        let provider = try context.provider
        guard let declaration = context.store.get(Collection.declarations, context.pathID),
            DeclarationVisibility.isVisible(declaration, to: provider, in: context.store)
        else { throw Failure.notFound }
        return document(view(declaration, store: context.store))
    }

    /// The official request: `{"data": {"type": "participant-declaration", "attributes": {...}}}`.
    /// Attributes the request does not define are ignored, as the real service ignores them.
    static func create(_ context: Context) throws -> HTTPResponse {
        let provider = try context.provider
        let attributes = try requestAttributes(
            context.request, type: "participant-declaration", permitted: DeclarationDocs.requestFields)
        let request = DeclarationRequest(attributes)
        let now = Timestamp.now()
        let declaration = try context.store.write { tx in
            try DeclarationRules.create(&tx, request, provider: provider, now: now)
        }
        return document(view(declaration, store: context.store))
    }

    static func void(_ context: Context) throws -> HTTPResponse {
        let provider = try context.provider
        let id = context.pathID
        let now = Timestamp.now()
        let declaration = try context.store.write { tx in
            try DeclarationRules.void(&tx, id: id, provider: provider, now: now)
        }
        return document(view(declaration, store: context.store))
    }
}

/// The create request as the official document describes it: one `attributes` shape per cohort
/// era and course, each listing the declaration types and evidence it takes. Built from the same
/// tables the rules check (`Evidence`, `CohortContract`).
enum DeclarationDocs {
    /// What `requestAttributes` keeps.
    static let requestFields = ResourceSchema(
        "DeclarationRequest",
        [
            Field("participant_id", .uuid), Field("declaration_type", .string), Field("declaration_date", .string),
            Field("course_identifier", .string), Field("evidence_held", .string),
        ])

    static let typeGroups = [
        ["started"], ["retained-1", "retained-2", "retained-3", "retained-4"], ["completed"],
        ["extended-1", "extended-2", "extended-3"],
    ]

    static func attributes(types: [String], courses: [Course], contract: CohortContract) -> JSON {
        var evidence: [String] = []
        for type in types {
            for course in courses {
                for value in Evidence.allowed(declarationType: type, course: course, contract: contract)
                where !evidence.contains(value) {
                    evidence.append(value)
                }
            }
        }
        var properties: [(String, JSON)] = [
            ("participant_id", ["type": "string", "format": "uuid"]),
            ("declaration_type", ["type": "string", "enum": .array(types.map(JSON.string))]),
            ("declaration_date", ["type": "string", "format": "date-time", "example": "2025-11-03T10:15:00Z"]),
            ("course_identifier", ["type": "string", "enum": .array(courses.map { .string($0.rawValue) })]),
        ]
        if types.contains(where: { Evidence.kept(declarationType: $0, contract: contract) }) {
            properties.append(("evidence_held", ["type": "string", "enum": .array(evidence.map(JSON.string))]))
        }
        let evidenceRequired = types.allSatisfy { Evidence.required(declarationType: $0, contract: contract) }
        return OpenAPISchema.object(properties, optional: evidenceRequired ? [] : ["evidence_held"])
    }

    static var createRequest: JSON {
        let eras: [(contract: CohortContract, courses: [Course], description: String)] = [
            (CohortContract("2024"), [.induction, .mentor], "Cohorts up to 2024"),
            (CohortContract("2025"), [.induction], "ECTs from the 2025 cohort"),
            (CohortContract("2025"), [.mentor], "Mentors from the 2025 cohort"),
        ]
        let variants: [JSON] = eras.map { era in
            let groups = typeGroups.compactMap { group -> [String]? in
                let allowed = group.filter { type in
                    era.courses.contains {
                        !Evidence.allowed(declarationType: type, course: $0, contract: era.contract).isEmpty
                    }
                }
                return allowed.isEmpty ? nil : allowed
            }
            var data = OpenAPISchema.object(
                [
                    ("type", ["type": "string", "enum": ["participant-declaration"]]),
                    (
                        "attributes",
                        [
                            "anyOf": .array(
                                groups.map { attributes(types: $0, courses: era.courses, contract: era.contract) })
                        ]
                    ),
                ], closed: false)
            data["description"] = .string(era.description)
            return data
        }
        return OpenAPISchema.object([("data", ["anyOf": .array(variants)])], closed: false)
    }
}
