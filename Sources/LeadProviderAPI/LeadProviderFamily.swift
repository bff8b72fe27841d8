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

    public func registerRoutes(_ routes: RouteRegistry) {
        typealias D = LeadProviderDocs
        routes.add(.GET, "/api/v3/partnerships", doc: D.listPartnerships, PublicEndpoints.listPartnerships)
        routes.add(.POST, "/api/v3/partnerships", doc: D.createPartnership, PublicEndpoints.createPartnership)
        routes.add(.GET, "/api/v3/partnerships/:id", doc: D.showPartnership, PublicEndpoints.showPartnership)
        routes.add(.PUT, "/api/v3/partnerships/:id", doc: D.updatePartnership, PublicEndpoints.updatePartnership)
        routes.add(.PATCH, "/api/v3/partnerships/:id", doc: D.updatePartnership, PublicEndpoints.updatePartnership)
        routes.add(.GET, "/api/v3/schools", doc: D.listSchools, PublicEndpoints.listSchools)
        routes.add(.GET, "/api/v3/schools/:id", doc: D.showSchool, PublicEndpoints.showSchool)
        routes.add(.GET, "/api/v3/delivery-partners", doc: D.listDeliveryPartners, PublicEndpoints.listDeliveryPartners)
        routes.add(.GET, "/api/v3/delivery-partners/:id", doc: D.showDeliveryPartner, PublicEndpoints.showDeliveryPartner)

        routes.add(.GET, "/api/v3/admin/cohorts", doc: D.listCohorts, AdminEndpoints.listCohorts)
        routes.add(.POST, "/api/v3/admin/cohorts", doc: D.createCohort, AdminEndpoints.createCohort)
        routes.add(.PATCH, "/api/v3/admin/cohorts/:year", doc: D.updateCohort, AdminEndpoints.updateCohort)
        routes.add(.POST, "/api/v3/admin/lead-providers", doc: D.createNamed("lead provider"),
                   AdminEndpoints.createNamed(Collection.leadProviders, type: "lead-provider"))
        routes.add(.POST, "/api/v3/admin/delivery-partners", doc: D.createNamed("delivery partner"),
                   AdminEndpoints.createNamed(Collection.deliveryPartners, type: "delivery-partner"))
        routes.add(.POST, "/api/v3/admin/delivery-partner-links", doc: D.createLink, AdminEndpoints.createLink)
        routes.add(.POST, "/api/v3/admin/schools", doc: D.createSchool, AdminEndpoints.createSchool)
        routes.add(.PATCH, "/api/v3/admin/schools/:id", doc: D.updateSchool, AdminEndpoints.updateSchool)
        routes.add(.POST, "/api/v3/admin/participants", doc: D.createParticipant, AdminEndpoints.createParticipant)
        routes.add(.PATCH, "/api/v3/admin/participants/:id", doc: D.updateParticipant, AdminEndpoints.updateParticipant)
        routes.add(.POST, "/api/v3/admin/partnerships", doc: D.createAdditionalPartnership, AdminEndpoints.createAdditionalPartnership)
        routes.add(.POST, "/api/v3/admin/partnerships/rollover", doc: D.rollover, AdminEndpoints.rollover)
    }

    public var openAPIInfo: OpenAPIInfo? { LeadProviderDocs.info }
}

/// What the OpenAPI document says about each route. Every body schema is one of `Schemas` (the
/// same definitions that serialize and validate), wrapped in the envelope the handlers write.
enum LeadProviderDocs {
    typealias P = OperationDoc.Parameter
    typealias R = OperationDoc.Response

    /// Component name -> (JSON:API `type`, attributes schema) of every resource the API answers with.
    static let resources: [(component: String, type: String, attributes: ResourceSchema)] = [
        ("Partnership", "partnership", Schemas.partnership),
        ("School", "school", Schemas.school),
        ("DeliveryPartner", "delivery-partner", Schemas.deliveryPartner),
        ("CohortResource", "cohort", Schemas.cohort),
        ("LeadProvider", "lead-provider", Schemas.named),
        ("DeliveryPartnerRecord", "delivery-partner", Schemas.named),
        ("DeliveryPartnerLinkResource", "delivery-partner-link", Schemas.link),
        ("AdminSchoolResource", "school", Schemas.adminSchool),
        ("ParticipantResource", "participant", Schemas.participant),
    ]

    /// Staff payloads: the writable fields, as the validator checks them.
    static let inputs: [(component: String, schema: ResourceSchema)] = [
        ("CohortInput", Schemas.cohort), ("NamedInput", Schemas.named), ("DeliveryPartnerLinkInput", Schemas.link),
        ("SchoolInput", Schemas.adminSchool), ("ParticipantInput", Schemas.participant),
        ("AdditionalPartnershipInput", Schemas.adminPartnership), ("RolloverInput", Schemas.rollover),
    ]

    static var info: OpenAPIInfo {
        var schemas = JSONObject()
        for (component, type, attributes) in resources {
            schemas[attributes.name] = attributes.openAPI()
            precondition(schemas[component] == nil, "component \(component) is also an attributes schema")
            schemas[component] = OpenAPISchema.object([
                ("id", OpenAPISchema.string), ("type", ["type": "string", "const": .string(type)]), ("attributes", attributes.ref),
            ])
        }
        for (component, schema) in inputs {
            schemas[component] = schema.openAPI(writableOnly: true)
            // A PATCH needs at least one field (an empty one is a 422).
            var changes = schema.openAPIChanges()
            changes["minProperties"] = 1
            schemas[component.replacingInputWithChanges] = changes
        }
        schemas["PartnershipRequest"] = OpenAPISchema.object([
            ("data", OpenAPISchema.object([
                ("type", ["type": "string", "example": "partnership"]),
                ("attributes", Schemas.partnership.openAPI(writableOnly: true)),
            ], optional: ["type"], closed: false)),
        ], closed: false)
        return OpenAPIInfo(
            title: "Lead Provider API",
            version: "3.0.0",
            description: """
                Partnerships between schools, lead providers and delivery partners, per cohort (JSON:API style: \
                `{"data": {"id", "type", "attributes"}}`). Lead provider tokens call the public endpoints; \
                DfE staff tokens call `/api/v3/admin/`. Guides: [/docs/lead-provider/](/docs/lead-provider/).
                """,
            securitySchemes: ["bearerAuth": [
                "type": "http", "scheme": "bearer",
                "description": "`Authorization: Bearer <token>`; tokens come from `partnerships token create`.",
            ]],
            errorSchema: OpenAPISchema.object([
                ("errors", OpenAPISchema.array(OpenAPISchema.object([("title", OpenAPISchema.string), ("detail", OpenAPISchema.string)]))),
            ]),
            unauthorizedSchema: OpenAPISchema.object([("error", ["type": "string", "const": "HTTP Token: Access denied"])]),
            schemas: schemas)
    }

    static func one(_ component: String) -> JSON { OpenAPISchema.object([("data", OpenAPISchema.ref(component))]) }
    static func list(_ component: String) -> JSON {
        OpenAPISchema.object([("data", OpenAPISchema.array(OpenAPISchema.ref(component)))])
    }

    // MARK: parameters

    static let cohortList = P("filter[cohort]", schema: ["type": "string", "example": "2025,2026"],
                              "Comma-separated cohort years; values that are not years match nothing.")
    static let requiredCohort = P("filter[cohort]", required: true, schema: ["type": "string", "example": "2026"],
                                  "The cohort year. Missing: 400.")
    static let updatedSince = P("filter[updated_since]", schema: ["type": "string", "format": "date-time"],
                                "Only records updated at or after this ISO 8601 time. Invalid: 400.")
    static let paging = [
        P("page[page]", schema: OpenAPISchema.positiveInteger, "Page number, from 1. Not a positive integer: 400."),
        P("page[per_page]", schema: OpenAPISchema.positiveInteger, "Page size (default 100, at most 3000). Not a positive integer: 400."),
    ]
    static let sort = P("sort", schema: ["type": "string", "example": "-updated_at"],
                        "Comma-separated `created_at` / `updated_at`, `-` for descending (default `created_at`). Other names are ignored.")
    static func uuid(_ what: String) -> P { P("id", in: .path, required: true, schema: ["type": "string", "format": "uuid"], what) }

    // MARK: public endpoints

    static let listPartnerships = OperationDoc(
        "List your partnerships", tag: "Partnerships",
        description: "The calling lead provider's partnerships, oldest first unless `sort` says otherwise.",
        parameters: [cohortList, updatedSince,
                     P("filter[delivery_partner_id]", "Comma-separated delivery partner ids."), sort] + paging,
        responses: [R(200, "A page of partnerships", schema: list("Partnership"))], errors: [400, 403])
    static let createPartnership = OperationDoc(
        "Create a partnership", tag: "Partnerships",
        description: "Confirms a partnership with a school for a cohort and a delivery partner you are linked with. One per school, cohort and lead provider.",
        requestBody: OpenAPISchema.ref("PartnershipRequest"),
        responses: [R(200, "The new partnership", schema: one("Partnership"))], errors: [400, 403, 422])
    static let showPartnership = OperationDoc(
        "Retrieve a partnership", tag: "Partnerships", parameters: [uuid("Partnership id. Another provider's: 404.")],
        responses: [R(200, "The partnership", schema: one("Partnership"))], errors: [403, 404])
    static let updatePartnership = OperationDoc(
        "Change a partnership's delivery partner", tag: "Partnerships",
        description: "Only `delivery_partner_id` changes; it must be linked with you in the partnership's cohort.",
        parameters: [uuid("Partnership id.")],
        requestBody: OpenAPISchema.object([
            ("data", OpenAPISchema.object([("attributes", OpenAPISchema.object([("delivery_partner_id", ["type": "string", "format": "uuid"])],
                                                                                closed: false))], closed: false)),
        ], closed: false),
        responses: [R(200, "The updated partnership", schema: one("Partnership"))], errors: [400, 403, 404, 422])
    static let listSchools = OperationDoc(
        "List schools in a cohort", tag: "Schools",
        description: "Schools eligible for funding in the cohort, plus ineligible ones with a partnership in it.",
        parameters: [requiredCohort, P("filter[urn]", "A school URN."), updatedSince, sort] + paging,
        responses: [R(200, "A page of schools", schema: list("School"))], errors: [400, 403])
    static let showSchool = OperationDoc(
        "Retrieve a school in a cohort", tag: "Schools", parameters: [uuid("School id."), requiredCohort],
        responses: [R(200, "The school", schema: one("School"))], errors: [400, 403, 404])
    static let listDeliveryPartners = OperationDoc(
        "List your delivery partners", tag: "Delivery partners",
        description: "Delivery partners linked with the calling lead provider in any (or the given) cohorts.",
        parameters: [cohortList, sort] + paging,
        responses: [R(200, "A page of delivery partners", schema: list("DeliveryPartner"))], errors: [400, 403])
    static let showDeliveryPartner = OperationDoc(
        "Retrieve a delivery partner", tag: "Delivery partners", parameters: [uuid("Delivery partner id. Not linked with you: 404.")],
        responses: [R(200, "The delivery partner", schema: one("DeliveryPartner"))], errors: [403, 404])

    // MARK: staff endpoints

    static func staff(_ summary: String, description: String = "", parameters: [P] = [], input: String?,
                      status: Int, component: String, errors: [Int] = [400, 403, 422]) -> OperationDoc {
        OperationDoc(summary, tag: "Staff", description: description, parameters: parameters,
                     requestBody: input.map(OpenAPISchema.ref),
                     responses: [R(status, status == 201 ? "Created" : "OK", schema: one(component))], errors: errors)
    }

    static let listCohorts = OperationDoc(
        "List cohorts", tag: "Staff", responses: [R(200, "Every cohort", schema: list("CohortResource"))], errors: [403])
    static let createCohort = staff("Create a cohort", description: "Status is derived from the registration dates and the current time.",
                                    input: "CohortInput", status: 201, component: "CohortResource")
    static let updateCohort = staff("Change a cohort's registration dates", parameters: [P("year", in: .path, required: true, "Cohort year.")],
                                    input: "CohortChanges", status: 200, component: "CohortResource", errors: [400, 403, 404, 422])
    static func createNamed(_ what: String) -> OperationDoc {
        staff("Create a \(what)", input: "NamedInput", status: 201, component: what == "lead provider" ? "LeadProvider" : "DeliveryPartnerRecord")
    }
    static let createLink = staff("Link a lead provider with a delivery partner in a cohort", description: "Idempotent: an existing link is answered again.",
                                  input: "DeliveryPartnerLinkInput", status: 201, component: "DeliveryPartnerLinkResource")
    static let createSchool = staff("Create a school", description: "URNs are unique.", input: "SchoolInput", status: 201, component: "AdminSchoolResource")
    static let updateSchool = staff("Change a school", parameters: [uuid("School id.")], input: "SchoolChanges", status: 200,
                                    component: "AdminSchoolResource", errors: [400, 403, 404, 422])
    static let createParticipant = staff("Register a participant", input: "ParticipantInput", status: 201, component: "ParticipantResource")
    static let updateParticipant = staff("Change a participant", description: "Only `lead_provider_id`, `training_programme` and `status` change.",
                                         parameters: [uuid("Participant id.")], input: "ParticipantChanges", status: 200,
                                         component: "ParticipantResource", errors: [400, 403, 404, 422])
    static let createAdditionalPartnership = staff(
        "Add an additional partnership", description: "A second delivery partner under the same lead provider: the duplicate rule does not apply, the others do.",
        input: "AdditionalPartnershipInput", status: 201, component: "Partnership")
    static let rollover = staff(
        "Roll a school's latest partnership into a cohort", description: "Copies the most recent partnership (by cohort, then creation) for the same provider and delivery partner.",
        input: "RolloverInput", status: 201, component: "Partnership")
}

private extension String {
    /// "CohortInput" -> "CohortChanges"
    var replacingInputWithChanges: String { String(dropLast("Input".count)) + "Changes" }
}
