import APICore
import HTTP
import JSON
import Store

/// Partners API v1: partners, projects and their partnerships. See docs/partners-api.md.
public struct PartnersFamily: APIFamily {
    public let name = "partners-v1"
    public let pathPrefix = "/v1"
    public let errorFormatter: any ErrorFormatter = PartnersErrorFormatter()
    public var storeIndexes: [IndexDefinition] { Collection.indexes }

    public init() {}

    public func registerRoutes(_ routes: RouteRegistry) {
        typealias D = PartnersDocs
        routes.add(.GET, "/v1/partnerships/:id", doc: D.showPartnership, Endpoints.showPartnership)
        routes.add(.PATCH, "/v1/partnerships/:id", doc: D.updatePartnership, Endpoints.updatePartnership)
        routes.add(.DELETE, "/v1/partnerships/:id", doc: D.deletePartnership, Endpoints.deletePartnership)
        routes.add(.GET, "/v1/projects/:id", doc: D.showProject, Endpoints.showProject)
        routes.add(.GET, "/v1/projects/:id/partnerships", doc: D.listProjectPartnerships, Endpoints.listProjectPartnerships)
        routes.add(.POST, "/v1/projects/:id/partnerships", doc: D.createPartnership, Endpoints.createPartnership)
        routes.add(.GET, "/v1/partners/:partner", doc: D.showPartner, Endpoints.showPartner)
        routes.add(.GET, "/v1/partners/:partner/projects", doc: D.partnerProjects, Endpoints.partnerProjects)

        routes.add(.POST, "/v1/admin/users", doc: D.createUser, AdminEndpoints.createUser)
        routes.add(.POST, "/v1/admin/partners", doc: D.createPartner) { try AdminEndpoints.savePartner($0, creating: true) }
        routes.add(.PATCH, "/v1/admin/partners/:id", doc: D.updatePartner) { try AdminEndpoints.savePartner($0, creating: false) }
        routes.add(.POST, "/v1/admin/partners/:id/members", doc: D.addMember, AdminEndpoints.addMember)
        routes.add(.DELETE, "/v1/admin/partners/:id/members/:user_id", doc: D.removeMember, AdminEndpoints.removeMember)
        routes.add(.POST, "/v1/admin/projects", doc: D.createProject) { try AdminEndpoints.saveProject($0, creating: true) }
        routes.add(.PATCH, "/v1/admin/projects/:id", doc: D.updateProject) { try AdminEndpoints.saveProject($0, creating: false) }
    }

    public var openAPIInfo: OpenAPIInfo? { PartnersDocs.info }

    /// Whether a Partners API user exists (the token command checks before issuing a token).
    public static func userExists(_ id: Int, in store: Store) -> Bool { store.get(Collection.users, String(id)) != nil }
}

/// What the OpenAPI document says about each route. Resource and payload schemas are `Schemas`
/// (the ones that serialize and validate); only the envelopes the handlers write are spelled here.
enum PartnersDocs {
    typealias P = OperationDoc.Parameter
    typealias R = OperationDoc.Response
    typealias S = OpenAPISchema

    /// A project as `Resources.project` shows it: the owner embedded instead of `owner_id`.
    static let projectSchema = Schemas.project.openAPI(
        overriding: [
            "owner": S.object([("id", S.integer), ("name", ["type": ["string", "null"]])]),
            // "/projects/<slug>" with the slug as given (not percent-encoded): a path, not a URI.
            "absolute_url": ["type": "string", "description": "The project's page on the site: `/projects/<slug>`."],
        ],
        omitting: ["owner_id"])

    static var info: OpenAPIInfo {
        var project = projectSchema
        // `GET /v1/projects/{id}?extra_fields=partnerships` adds the list when the caller may see it.
        project["properties"]?["partnerships"] = ["type": "array", "items": S.ref("Partnership"), "readOnly": true]
        let image = S.object([("id", S.integer), ("name", S.string), ("type", S.string), ("url", S.string),
                              ("versions", S.object(["small", "medium", "large", "full"].map { ($0, S.string) }, closed: false))],
                             closed: false)
        return OpenAPIInfo(
            title: "Partners API",
            version: "1.0.0",
            description: """
                Partners, projects and the partnerships between them. Integer ids; lists are cursor-paginated \
                with `limit` and `since`. Staff tokens call `/v1/admin/`. Guides: [/docs/partners/](/docs/partners/).
                """,
            securitySchemes: ["apiKey": [
                "type": "apiKey", "in": "header", "name": "Authorization",
                "description": "The whole header value: `APIKey <token>` or `Bearer <token>` (both words are accepted everywhere).",
            ]],
            errorSchema: S.array(S.object([
                ("classification", ["type": "string", "enum": [
                    "DeserializationError", "RequiredError", "TypeError", "UnknownFieldError", "ValueError", "PermissionError", "ServerError",
                ]]),
                ("fieldNames", S.array(S.string)),
                ("message", S.string),
            ])),
            schemas: [
                "Partnership": Schemas.partnership.openAPI(overriding: ["partner": S.ref("Partner"), "project": S.ref("Project")]),
                "Partner": Schemas.partner.openAPI(overriding: ["logo": S.ref("Image"), "ribbon": S.ref("Image")]),
                "Project": project,
                "User": Schemas.user.openAPI(),
                "Image": image,
                "Membership": S.object([("partner_id", S.integer), ("user_id", S.integer)]),
                "PageMeta": S.object([
                    ("limit", S.integer),
                    ("next", ["type": ["string", "null"], "description": "The query of the next page; null on the last page.",
                              "example": "?limit=20&since=41"]),
                ]),
                "PartnershipCreate": Schemas.partnershipCreate.openAPI(writableOnly: true),
                "PartnershipUpdate": Schemas.partnershipUpdate.openAPIChanges(),
                "PartnerInput": Schemas.partner.openAPI(writableOnly: true),
                "PartnerChanges": Schemas.partner.openAPIChanges(),
                "ProjectInput": Schemas.project.openAPI(writableOnly: true),
                "ProjectChanges": Schemas.project.openAPIChanges(),
                "UserInput": Schemas.user.openAPI(writableOnly: true),
                "MembershipInput": Schemas.membership.openAPI(writableOnly: true),
            ])
    }

    static func id(_ what: String, name: String = "id") -> P { P(name, in: .path, required: true, schema: S.positiveInteger, "\(what) id.") }
    static let paging = [
        P("limit", schema: S.positiveInteger, "Page size: default and at most 20 (larger values are clamped). Not a positive integer: 400."),
        P("since", schema: S.positiveInteger, "Cursor: the last id of the previous page. Not a positive integer: 400."),
    ]
    static func page(_ key: String, _ component: String) -> JSON { S.object([(key, S.array(S.ref(component))), ("meta", S.ref("PageMeta"))]) }

    // MARK: public endpoints

    static let showPartnership = OperationDoc(
        "Retrieve a partnership", tag: "Partnerships", description: "Staff, and users of the partnership's partner.",
        parameters: [id("Partnership")], responses: [R(200, "The partnership", schema: S.ref("Partnership"))], errors: [403, 404])
    static let updatePartnership = OperationDoc(
        "Update a partnership", tag: "Partnerships",
        description: "Staff only. Making a partnership the default clears the project's previous default in the same write.",
        parameters: [id("Partnership")], requestBody: S.ref("PartnershipUpdate"),
        responses: [R(200, "The partnership", schema: S.ref("Partnership"))], errors: [400, 403, 404])
    static let deletePartnership = OperationDoc(
        "Delete a partnership", tag: "Partnerships", description: "Staff only.", parameters: [id("Partnership")],
        responses: [R(204, "Deleted")], errors: [403, 404])
    static let showProject = OperationDoc(
        "Retrieve a project", tag: "Projects", description: "Any valid token.",
        parameters: [id("Project"), P("extra_fields", schema: ["type": "string", "example": "partnerships"],
                                      "Comma list; `partnerships` embeds them when the caller may list them.")],
        responses: [R(200, "The project", schema: S.ref("Project"))], errors: [404])
    static let listProjectPartnerships = OperationDoc(
        "List project partnerships", tag: "Partnerships",
        description: "Staff, the project owner, and users of a partner in partnership with the project. Ordered by id.",
        parameters: [id("Project")] + paging,
        responses: [R(200, "A page of partnerships", schema: page("partnerships", "Partnership"))], errors: [400, 403, 404])
    static let createPartnership = OperationDoc(
        "Create a project partnership", tag: "Partnerships",
        description: "Staff only. One partnership per partner and project (409 otherwise).",
        parameters: [id("Project")], requestBody: S.ref("PartnershipCreate"),
        responses: [R(201, "The new partnership", schema: S.ref("Partnership"))], errors: [400, 403, 404, 409])
    static let showPartner = OperationDoc(
        "Retrieve a partner", tag: "Partners", description: "Any valid token.", parameters: [id("Partner", name: "partner")],
        responses: [R(200, "The partner", schema: S.ref("Partner"))], errors: [404])
    static let partnerProjects = OperationDoc(
        "List a partner's projects", tag: "Partners",
        description: "Projects in partnership with the partner. Users of that partner and staff; anyone with a valid token when `status=online`.",
        parameters: [P("partner", in: .path, required: true, "Partner id or slug."),
                     P("status", schema: ["type": "string", "enum": ["new", "pending", "online", "offline", "finished"]], "Only projects with this status.")]
            + paging,
        responses: [R(200, "A page of projects", schema: page("projects", "Project"))], errors: [400, 403, 404])

    // MARK: staff endpoints

    static func staff(_ summary: String, _ description: String = "Staff only.", parameters: [P] = [], input: String?,
                      status: Int, output: String?, errors: [Int] = [400, 403]) -> OperationDoc {
        OperationDoc(summary, tag: "Staff", description: description, parameters: parameters, requestBody: input.map(S.ref),
                     responses: [R(status, status == 201 ? "Created" : status == 204 ? "Deleted" : "OK", schema: output.map(S.ref))],
                     errors: errors)
    }

    static let createUser = staff("Create a user", input: "UserInput", status: 201, output: "User")
    static let createPartner = staff("Create a partner", "Staff only. Slugs are unique (409).", input: "PartnerInput", status: 201,
                                     output: "Partner", errors: [400, 403, 409])
    static let updatePartner = staff("Update a partner", parameters: [id("Partner")], input: "PartnerChanges", status: 200, output: "Partner",
                                     errors: [400, 403, 404, 409])
    static let addMember = staff("Add a partner user", "Staff only. The user becomes a user of the partner.", parameters: [id("Partner")],
                                 input: "MembershipInput", status: 201, output: "Membership", errors: [400, 403, 404])
    static let removeMember = staff("Remove a partner user", parameters: [id("Partner"), id("User", name: "user_id")], input: nil,
                                    status: 204, output: nil, errors: [403, 404])
    static let createProject = staff("Create a project", "Staff only. Slugs are unique (409).", input: "ProjectInput", status: 201,
                                     output: "Project", errors: [400, 403, 409])
    static let updateProject = staff("Update a project", "Staff only. A new `owner_id` transfers ownership.", parameters: [id("Project")],
                                     input: "ProjectChanges", status: 200, output: "Project", errors: [400, 403, 404, 409])
}
