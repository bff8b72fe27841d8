import APICore
import HTTP
import JSON
import Store

/// Lead Provider API v3: partnerships between schools, lead providers and delivery partners per
/// cohort. See docs/lead-provider-api.md.
public struct LeadProviderFamily: APIFamily {
    public let name = "lead-provider-v3"
    public let pathPrefix = "/api/v3"
    public let errorFormatter: any ErrorFormatter = LeadProviderErrorFormatter()
    public var storeIndexes: [IndexDefinition] { Collection.indexes }

    public init() {}

    /// Every operation: lead providers under `/api/v3`, DfE staff under `/api/v3/admin`.
    public var routes: [Route] {
        typealias D = LeadProviderDocs
        typealias R = OperationDoc.Response
        typealias P = OperationDoc.Parameter
        var api = OperationGroup<LeadProviderPrincipal>("/api/v3", access: .role(.leadProvider))
        api.on(
            .get, "partnerships",
            doc: OperationDoc(
                "List your partnerships", tag: "Partnerships",
                description: "The calling lead provider's partnerships, oldest first unless `sort` says otherwise.",
                parameters: [
                    D.cohortList, D.updatedSince,
                    P("filter[delivery_partner_id]", "Comma-separated delivery partner ids."), D.sort,
                ]
                    + D.paging,
                responses: [R(200, "A page of partnerships", schema: D.list("Partnership"))], errors: [400]),
            PublicEndpoints.listPartnerships)
        api.on(
            .post, "partnerships",
            doc: OperationDoc(
                "Create a partnership", tag: "Partnerships",
                description:
                    "Confirms a partnership with a school for a cohort and a delivery partner you are linked with. One per school, cohort and lead provider.",
                requestBody: OpenAPISchema.ref("PartnershipRequest"),
                responses: [R(200, "The new partnership", schema: D.one("Partnership"))], errors: [400, 422]),
            PublicEndpoints.createPartnership)
        api.on(
            .get, "partnerships/:id", caching: .untilStoreChanges,
            doc: OperationDoc(
                "Retrieve a partnership", tag: "Partnerships",
                parameters: [D.uuid("Partnership id. Another provider's: 404.")],
                responses: [R(200, "The partnership", schema: D.one("Partnership"))], errors: [404]),
            PublicEndpoints.showPartnership)
        for method in [HTTPMethod.put, .patch] {
            api.on(
                method, "partnerships/:id",
                doc: OperationDoc(
                    "Change a partnership's delivery partner", tag: "Partnerships",
                    description:
                        "Only `delivery_partner_id` changes; it must be linked with you in the partnership's cohort.",
                    parameters: [D.uuid("Partnership id.")], requestBody: D.partnershipChange,
                    responses: [R(200, "The updated partnership", schema: D.one("Partnership"))],
                    errors: [400, 404, 422]),
                PublicEndpoints.updatePartnership)
        }
        api.on(
            .get, "schools",
            doc: OperationDoc(
                "List schools in a cohort", tag: "Schools",
                description:
                    "Schools eligible for funding in the cohort, plus ineligible ones with a partnership in it.",
                parameters: [D.requiredCohort, P("filter[urn]", "A school URN."), D.updatedSince, D.sort] + D.paging,
                responses: [R(200, "A page of schools", schema: D.list("School"))], errors: [400]),
            PublicEndpoints.listSchools)
        api.on(
            .get, "schools/:id", caching: .untilStoreChanges,
            doc: OperationDoc(
                "Retrieve a school in a cohort", tag: "Schools", parameters: [D.uuid("School id."), D.requiredCohort],
                responses: [R(200, "The school", schema: D.one("School"))], errors: [400, 404]),
            PublicEndpoints.showSchool)
        api.on(
            .get, "delivery-partners",
            doc: OperationDoc(
                "List your delivery partners", tag: "Delivery partners",
                description: "Delivery partners linked with the calling lead provider in any (or the given) cohorts.",
                parameters: [D.cohortList, D.sort] + D.paging,
                responses: [R(200, "A page of delivery partners", schema: D.list("DeliveryPartner"))], errors: [400]),
            PublicEndpoints.listDeliveryPartners)
        api.on(
            .get, "delivery-partners/:id",
            doc: OperationDoc(
                "Retrieve a delivery partner", tag: "Delivery partners",
                parameters: [D.uuid("Delivery partner id. Not linked with you: 404.")],
                responses: [R(200, "The delivery partner", schema: D.one("DeliveryPartner"))], errors: [404]),
            PublicEndpoints.showDeliveryPartner)

        var admin = OperationGroup<LeadProviderPrincipal>("/api/v3/admin", access: .role(.staff))
        admin.on(
            .get, "cohorts",
            doc: OperationDoc(
                "List cohorts", tag: "Staff", responses: [R(200, "Every cohort", schema: D.list("CohortResource"))]),
            AdminEndpoints.listCohorts)
        admin.on(
            .post, "cohorts",
            doc: D.staff(
                "Create a cohort", description: "Status is derived from the registration dates and the current time.",
                input: "CohortInput", status: 201, component: "CohortResource"),
            AdminEndpoints.createCohort)
        admin.on(
            .patch, "cohorts/:year",
            doc: D.staff(
                "Change a cohort's registration dates",
                parameters: [P("year", in: .path, required: true, "Cohort year.")],
                input: "CohortChanges", status: 200, component: "CohortResource", errors: [400, 404, 422]),
            AdminEndpoints.updateCohort)
        admin.on(
            .post, "lead-providers",
            doc: D.staff(
                "Create a lead provider", input: "NamedInput", status: 201, component: "LeadProvider"),
            AdminEndpoints.createNamed(Collection.leadProviders, type: "lead-provider"))
        admin.on(
            .post, "delivery-partners",
            doc: D.staff(
                "Create a delivery partner", input: "NamedInput", status: 201, component: "DeliveryPartnerRecord"),
            AdminEndpoints.createNamed(Collection.deliveryPartners, type: "delivery-partner"))
        admin.on(
            .post, "delivery-partner-links",
            doc: D.staff(
                "Link a lead provider with a delivery partner in a cohort",
                description: "Idempotent: an existing link is answered again.",
                input: "DeliveryPartnerLinkInput", status: 201, component: "DeliveryPartnerLinkResource"),
            AdminEndpoints.createLink)
        admin.on(
            .post, "schools",
            doc: D.staff(
                "Create a school", description: "URNs are unique.", input: "SchoolInput", status: 201,
                component: "AdminSchoolResource"),
            AdminEndpoints.createSchool)
        admin.on(
            .patch, "schools/:id",
            doc: D.staff(
                "Change a school", parameters: [D.uuid("School id.")], input: "SchoolChanges", status: 200,
                component: "AdminSchoolResource", errors: [400, 404, 422]),
            AdminEndpoints.updateSchool)
        admin.on(
            .post, "participants",
            doc: D.staff(
                "Register a training record",
                description:
                    "With `teacher_id` or `full_name`: a participant's training (a new or existing teacher) with its type, mentor, schedule, dates, statuses and funding. Without: a bare record that counts for partnerships and schools only.",
                input: "TrainingRecordInput", status: 201, component: "TrainingRecordResource"),
            AdminEndpoints.createParticipant)
        admin.on(
            .patch, "participants/:id",
            doc: D.staff(
                "Change a training record",
                description:
                    "Anything but `teacher_id`, `school_id`, `cohort` and `participant_type` (another training: register another record); a bare record changes only `lead_provider_id`, `training_programme` and `status`. The record's and its teacher's `updated_at` move.",
                parameters: [D.uuid("Training record id.")], input: "TrainingRecordChanges", status: 200,
                component: "TrainingRecordResource", errors: [400, 404, 422]),
            AdminEndpoints.updateParticipant)
        admin.on(
            .post, "partnerships",
            doc: D.staff(
                "Add an additional partnership",
                description:
                    "A second delivery partner under the same lead provider: the duplicate rule does not apply, the others do.",
                input: "AdditionalPartnershipInput", status: 201, component: "Partnership"),
            AdminEndpoints.createAdditionalPartnership)
        admin.on(
            .post, "partnerships/rollover",
            doc: D.staff(
                "Roll a school's latest partnership into a cohort",
                description:
                    "Copies the most recent partnership (by cohort, then creation) for the same provider and delivery partner.",
                input: "RolloverInput", status: 201, component: "Partnership"),
            AdminEndpoints.rollover)
        ParticipantOperations.register(api: &api, admin: &admin)
        DeclarationOperations.register(api: &api, admin: &admin)
        return api.routes + admin.routes
    }

    /// Whether a lead provider exists (the token command checks before issuing a token).
    /// The stored id of the lead provider `id` names, whatever its case (as the API reads ids), or nil.
    public static func storedLeadProviderID(_ id: String, in store: Store) -> String? {
        let canonical = LeadProviderID.canonical(id)
        return store.get(Collection.leadProviders, canonical) != nil ? canonical : nil
    }

    public var openAPIInfo: OpenAPIInfo? { LeadProviderDocs.info }
}

/// What the OpenAPI document says about each route. Every body schema is one of `Schemas` (the
/// same definitions that serialize and validate), wrapped in the envelope the handlers write.
enum LeadProviderDocs {
    typealias P = OperationDoc.Parameter
    typealias R = OperationDoc.Response

    /// Component name -> (JSON:API `type`, attributes schema) of every resource the API answers with.
    static let resources: [(component: String, type: String, attributes: ResourceSchema)] =
        [
            ("Partnership", "partnership", Schemas.partnership),
            ("School", "school", Schemas.school),
            ("DeliveryPartner", "delivery-partner", Schemas.deliveryPartner),
            ("CohortResource", "cohort", Schemas.cohort),
            ("LeadProvider", "lead-provider", Schemas.named),
            ("DeliveryPartnerRecord", "delivery-partner", Schemas.named),
            ("DeliveryPartnerLinkResource", "delivery-partner-link", Schemas.link),
            ("AdminSchoolResource", "school", Schemas.adminSchool),
            ("TrainingRecordResource", "training-record", ParticipantSchemas.trainingRecord),
        ] + ParticipantOperations.resources + DeclarationOperations.resources

    /// Staff payloads: the writable fields, as the validator checks them.
    static let inputs: [(component: String, schema: ResourceSchema)] =
        [
            ("CohortInput", Schemas.cohort), ("NamedInput", Schemas.named), ("DeliveryPartnerLinkInput", Schemas.link),
            ("SchoolInput", Schemas.adminSchool), ("TrainingRecordInput", ParticipantSchemas.trainingRecord),
            ("AdditionalPartnershipInput", Schemas.adminPartnership), ("RolloverInput", Schemas.rollover),
        ] + ParticipantOperations.inputs + DeclarationOperations.inputs

    static var info: OpenAPIInfo {
        var schemas = JSONObject()
        for (component, type, attributes) in resources {
            schemas[attributes.name] = attributes.openAPI()
            precondition(schemas[component] == nil, "component \(component) is also an attributes schema")
            schemas[component] = OpenAPISchema.object([
                ("id", OpenAPISchema.string), ("type", ["type": "string", "const": .string(type)]),
                ("attributes", attributes.ref),
            ])
        }
        for (component, schema) in inputs {
            schemas[component] = schema.openAPI(writableOnly: true)
            // A PATCH needs at least one field (an empty one is a 422).
            var changes = schema.openAPIChanges()
            changes["minProperties"] = 1
            schemas[component.replacingInputWithChanges] = changes
        }
        schemas["PartnershipRequest"] = OpenAPISchema.object(
            [
                (
                    "data",
                    OpenAPISchema.object(
                        [
                            ("type", ["type": "string", "example": "partnership"]),
                            ("attributes", Schemas.partnership.openAPI(writableOnly: true)),
                        ], optional: ["type"], closed: false)
                )
            ], closed: false)
        return OpenAPIInfo(
            title: "Lead Provider API",
            version: "3.0.0",
            description: """
                Partnerships between schools, lead providers and delivery partners, per cohort (JSON:API style: \
                `{"data": {"id", "type", "attributes"}}`). Lead provider tokens call the public endpoints; \
                DfE staff tokens call `/api/v3/admin/`. Guides: [/docs/lead-provider/](/docs/lead-provider/).
                """,
            securitySchemes: [
                "bearerAuth": [
                    "type": "http", "scheme": "bearer",
                    "description": "`Authorization: Bearer <token>`; tokens come from `partnerships token create`.",
                ]
            ],
            errorSchema: OpenAPISchema.object([
                (
                    "errors",
                    OpenAPISchema.array(
                        OpenAPISchema.object([("title", OpenAPISchema.string), ("detail", OpenAPISchema.string)]))
                )
            ]),
            unauthorizedSchema: OpenAPISchema.object([
                ("error", ["type": "string", "const": "HTTP Token: Access denied"])
            ]),
            schemas: schemas)
    }

    static func one(_ component: String) -> JSON { OpenAPISchema.object([("data", OpenAPISchema.ref(component))]) }
    static func list(_ component: String) -> JSON {
        OpenAPISchema.object([("data", OpenAPISchema.array(OpenAPISchema.ref(component)))])
    }

    // MARK: parameters

    static let cohortList = P(
        "filter[cohort]", schema: ["type": "string", "example": "2025,2026"],
        "Comma-separated cohort years; values that are not years match nothing.")
    static let requiredCohort = P(
        "filter[cohort]", required: true, schema: ["type": "string", "example": "2026"],
        "The cohort year. Missing: 400.")
    static let updatedSince = P(
        "filter[updated_since]", schema: ["type": "string", "format": "date-time"],
        "Only records updated at or after this ISO 8601 time. Invalid: 400.")
    static let paging = [
        P("page[page]", schema: OpenAPISchema.positiveInteger, "Page number, from 1. Not a positive integer: 400."),
        P(
            "page[per_page]", schema: OpenAPISchema.positiveInteger,
            "Page size (default 100, at most 3000). Not a positive integer: 400."),
    ]
    static let sort = P(
        "sort", schema: ["type": "string", "example": "-updated_at"],
        "Comma-separated `created_at` / `updated_at`, `-` for descending (default `created_at`). Other names are ignored."
    )
    static func uuid(_ what: String) -> P {
        P("id", in: .path, required: true, schema: ["type": "string", "format": "uuid"], what)
    }

    /// `PUT`/`PATCH /partnerships/{id}`: only the delivery partner changes.
    static let partnershipChange = OpenAPISchema.object(
        [
            (
                "data",
                OpenAPISchema.object(
                    [
                        (
                            "attributes",
                            OpenAPISchema.object(
                                [("delivery_partner_id", ["type": "string", "format": "uuid"])],
                                closed: false)
                        )
                    ], closed: false)
            )
        ], closed: false)

    // MARK: staff endpoints

    static func staff(
        _ summary: String, description: String = "", parameters: [P] = [], input: String?,
        status: Int, component: String, errors: [Int] = [400, 422]
    ) -> OperationDoc {
        OperationDoc(
            summary, tag: "Staff", description: description, parameters: parameters,
            requestBody: input.map(OpenAPISchema.ref),
            responses: [R(status, status == 201 ? "Created" : "OK", schema: one(component))], errors: errors)
    }
}

private extension String {
    /// "CohortInput" -> "CohortChanges"
    var replacingInputWithChanges: String { String(dropLast("Input".count)) + "Changes" }
}
