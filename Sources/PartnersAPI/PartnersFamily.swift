import APICore
import HTTP
import JSON
import Store

/// Partners API v1: partners, projects and their partnerships. See docs/partners-api.md.
public struct PartnersFamily: APIFamily {
    public let name = "partners-v1"
    public let pathPrefix = "/v1"
    public let errorFormatter: any ErrorFormatter = PartnersErrorFormatter()
    public var storeIndexes: [IndexDefinition] { Collection.indexes + OAuth2.indexes }

    public init() {}

    /// Every operation: partners' users and staff under `/v1`, staff alone under `/v1/admin`.
    public var routes: [Route] {
        typealias D = PartnersDocs
        typealias R = OperationDoc.Response
        typealias P = OperationDoc.Parameter
        typealias S = OpenAPISchema
        var api = OperationGroup<PartnersPrincipal>("/v1", access: .authenticated)
        api.on(
            // The embedded project's URLs name the request's host; its shape follows Ulule-Version.
            .get, "partnerships/:id", caching: .untilStoreChanges(varyingOn: [.host, UluleVersion.header]),
            doc: OperationDoc(
                "Retrieve a partnership", tag: "Partnerships",
                description: "Staff, and users of the partnership's partner.",
                parameters: [D.id("Partnership")], responses: [R(200, "The partnership", schema: S.ref("Partnership"))],
                errors: [403, 404]),
            Endpoints.showPartnership)
        api.on(
            .patch, "partnerships/:id", access: .role(.staff),
            doc: OperationDoc(
                "Update a partnership", tag: "Partnerships",
                description:
                    "Staff only. Making a partnership the default clears the project's previous default in the same write.",
                parameters: [D.id("Partnership")], requestBody: S.ref("PartnershipUpdate"),
                responses: [R(200, "The partnership", schema: S.ref("Partnership"))], errors: [400, 404]),
            Endpoints.updatePartnership)
        api.on(
            .delete, "partnerships/:id", access: .role(.staff),
            doc: OperationDoc(
                "Delete a partnership", tag: "Partnerships", description: "Staff only.",
                parameters: [D.id("Partnership")],
                responses: [R(204, "Deleted")], errors: [404]),
            Endpoints.deletePartnership)
        api.on(
            .get, "projects/:id", access: .optionallyAuthenticated,
            doc: OperationDoc(
                "Retrieve a project", tag: "Projects",
                description:
                    "Anyone may read an online project; one that is not online needs a token (401 without one).",
                parameters: [D.id("Project"), D.extraFields, D.lang],
                responses: [R(200, "The project", schema: S.ref("Project"))], errors: [400, 403, 404]),
            Endpoints.showProject)
        api.on(
            .get, "projects/:id/partnerships",
            doc: OperationDoc(
                "List project partnerships", tag: "Partnerships",
                description:
                    "Staff, the project owner, and users of a partner in partnership with the project. Newest first.",
                parameters: [D.id("Project")] + D.paging + [D.lang],
                responses: [R(200, "A page of partnerships", schema: D.page("partnerships", "Partnership"))],
                errors: [400, 403, 404]),
            Endpoints.listProjectPartnerships)
        api.on(
            .post, "projects/:id/partnerships", access: .role(.staff),
            doc: OperationDoc(
                "Create a project partnership", tag: "Partnerships",
                description: "Staff only. One partnership per partner and project (409 otherwise).",
                parameters: [D.id("Project")], requestBody: S.ref("PartnershipCreate"),
                responses: [R(201, "The new partnership", schema: S.ref("Partnership"))], errors: [400, 404, 409]),
            Endpoints.createPartnership)
        api.on(
            .get, "partners/:partner", access: .optionallyAuthenticated,
            doc: OperationDoc(
                "Retrieve a partner", tag: "Partners", description: "Anyone: every field of a partner is public.",
                parameters: [P("partner", in: .path, required: true, "Partner id or slug.")],
                responses: [R(200, "The partner", schema: S.ref("Partner"))], errors: [404]),
            Endpoints.showPartner)
        api.on(
            .get, "partners/:partner/projects", access: .optionallyAuthenticated,
            doc: OperationDoc(
                "List a partner's projects", tag: "Partners",
                description:
                    "Projects in partnership with the partner, newest first. Users of that partner and staff; anyone, without a token too, when `status=online`.",
                parameters: [
                    P("partner", in: .path, required: true, "Partner id or slug."),
                    P(
                        "status", schema: ["type": "string", "enum": .array(ProjectRecord.statuses.map(JSON.string))],
                        "Only projects with this status; another value is a 400."),
                    P(
                        "is_winner", schema: ["type": "string", "enum": ["true", "false"]],
                        "Only prizewinners (`true`) or only the others (`false`); another value is a 400."),
                    D.extraFields, D.lang,
                ] + D.paging,
                responses: [R(200, "A page of projects", schema: D.page("projects", "Project"))],
                errors: [400, 403, 404]),
            Endpoints.partnerProjects)

        var admin = OperationGroup<PartnersPrincipal>("/v1/admin", access: .role(.staff))
        admin.on(
            .post, "users", doc: D.staff("Create a user", input: "UserInput", status: 201, output: "User"),
            AdminEndpoints.createUser)
        admin.on(
            .post, "partners",
            doc: D.staff(
                "Create a partner", "Staff only. Slugs are unique (409).", input: "PartnerInput", status: 201,
                output: "Partner", errors: [400, 409])
        ) { try AdminEndpoints.savePartner($0, creating: true) }
        admin.on(
            .patch, "partners/:id",
            doc: D.staff(
                "Update a partner", parameters: [D.id("Partner")], input: "PartnerChanges", status: 200,
                output: "Partner", errors: [400, 404, 409])
        ) { try AdminEndpoints.savePartner($0, creating: false) }
        admin.on(
            .post, "partners/:id/members",
            doc: D.staff(
                "Add a partner user", "Staff only. The user becomes a user of the partner.",
                parameters: [D.id("Partner")],
                input: "MembershipInput", status: 201, output: "Membership", errors: [400, 404]),
            AdminEndpoints.addMember)
        admin.on(
            .delete, "partners/:id/members/:user_id",
            doc: D.staff(
                "Remove a partner user", parameters: [D.id("Partner"), D.id("User", name: "user_id")], input: nil,
                status: 204, output: nil,
                errors: [404]),
            AdminEndpoints.removeMember)
        admin.on(
            .post, "projects",
            doc: D.staff(
                "Create a project", "Staff only. Slugs are unique (409).", input: "ProjectInput", status: 201,
                output: "Project", errors: [400, 409])
        ) { try AdminEndpoints.saveProject($0, creating: true) }
        admin.on(
            .patch, "projects/:id",
            doc: D.staff(
                "Update a project", "Staff only. A new `owner_id` transfers ownership.", parameters: [D.id("Project")],
                input: "ProjectChanges", status: 200, output: "Project", errors: [400, 404, 409])
        ) { try AdminEndpoints.saveProject($0, creating: false) }
        // Ulule's token endpoint, outside /v1. Its body is a form and its errors are OAuth2's.
        var oauth = OperationGroup<PartnersPrincipal>("", access: .anyone)
        oauth.onPublic(
            .post, OAuth2.tokenPath,
            doc: OperationDoc(
                "Get an OAuth2 access token", tag: "OAuth2",
                description: """
                    HTTP Basic `client_id:client_secret`; an `application/x-www-form-urlencoded` body: \
                    `grant_type=client_credentials`, or `grant_type=refresh_token&refresh_token=…`. \
                    Access tokens last 10 hours. Errors in OAuth2's format (RFC 6749 section 5.2).
                    """,
                responses: [
                    R(200, "A Bearer access token and a refresh token", schema: S.ref("OAuth2Token")),
                    // The checks every POST gets (a malformed Idempotency-Key) answer in the v1 list format.
                    R(
                        400, "invalid_request, invalid_grant or unsupported_grant_type; a malformed Idempotency-Key",
                        schema: ["oneOf": [S.ref("OAuth2Error"), S.ref("Error")]]),
                    R(401, "invalid_client: missing or wrong client credentials", schema: S.ref("OAuth2Error")),
                ]),
            OAuth2.token)
        return api.routes + admin.routes + oauth.routes
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

    static let boolean: JSON = ["type": "boolean"]
    static let dateTime: JSON = ["type": ["string", "null"], "format": "date-time"]

    /// An i18n object: translations keyed by language code.
    static let i18n: JSON = [
        "type": "object", "additionalProperties": ["type": "string"],
        "description": "Translations keyed by language (`en`, `fr`, ...).", "example": ["en": "Community Garden"],
    ]

    /// Ulule's user resource as `Resources.user` shows it (`email` to the user and staff only).
    static let userSchema = S.object(
        [
            ("id", S.integer), ("name", ["type": ["string", "null"]]),
            ("absolute_url", ["type": "string", "format": "uri"]),
            ("email", ["type": ["string", "null"], "description": "Private: shown to the user and staff only."]),
        ],
        optional: ["email"])

    /// Ulule's project resource as `Resources.project` shows it.
    static let projectSchema = S.object([
        ("id", S.integer), ("slug", S.string), ("name", i18n), ("owner", S.ref("UserResource")),
        ("status", ["type": "string", "enum": .array(ProjectRecord.statuses.map(JSON.string))]),
        ("lang", S.string),
        (
            "absolute_url",
            ["type": "string", "format": "uri", "description": "The project's page (slug percent-encoded)."]
        ),
        ("resource_uri", ["type": "string", "format": "uri", "description": "This resource."]),
        ("type", ["type": "string", "enum": ["project", "presale"]]),
        ("currency", S.string), ("goal", S.integer), ("amount_raised", S.integer), ("goal_raised", boolean),
        ("percent", S.integer), ("is_online", boolean), ("finished", boolean),
        (
            "main_image",
            ["type": "object", "additionalProperties": S.ref("Image"), "description": "Images keyed by language."]
        ),
        ("date_start", dateTime), ("date_end", dateTime),
    ])

    static var info: OpenAPIInfo {
        var project = projectSchema
        // `GET /v1/projects/{id}?extra_fields=partnerships` adds the list when the caller may see it.
        project["properties"]?["partnerships"] = ["type": "array", "items": S.ref("Partnership"), "readOnly": true]
        let version = S.object([
            ("url", S.string), ("width", ["type": ["integer", "null"]]), ("height", ["type": ["integer", "null"]]),
        ])
        let image = S.object(
            [
                ("id", S.integer), ("name", S.string), ("type", S.string), ("url", S.string),
                ("versions", S.object(PartnerImage.versions.map { ($0, version) }, closed: false)),
            ],
            closed: false)
        let imageInput = ["logo": S.ref("ImageInput"), "ribbon": S.ref("ImageInput")]
        return OpenAPIInfo(
            title: "Partners API",
            version: "1.0.0",
            description: """
                Partners, projects and the partnerships between them. Integer ids; lists are cursor-paginated \
                with `limit` and `since`. Staff tokens call `/v1/admin/`. Guides: [/docs/partners/](/docs/partners/).
                """,
            securitySchemes: [
                "apiKey": [
                    "type": "apiKey", "in": "header", "name": "Authorization",
                    "description":
                        "The whole header value: `APIKey <key>` (reads only) or `Bearer <token>` (an OAuth2 access token, or a staff key).",
                ],
                "oauth2": [
                    "type": "oauth2",
                    "description":
                        "A registered client posts HTTP Basic client_id:client_secret to the token URL; access tokens last 10 hours.",
                    "flows": [
                        "clientCredentials": [
                            "tokenUrl": .string(OAuth2.tokenPath), "refreshUrl": .string(OAuth2.tokenPath),
                            "scopes": [:],
                        ]
                    ],
                ],
            ],
            errorSchema: S.array(
                S.object([
                    (
                        "classification",
                        [
                            "type": "string",
                            "enum": [
                                "DeserializationError", "RequiredError", "TypeError", "UnknownFieldError", "ValueError",
                                "PermissionError", "ServerError",
                            ],
                        ]
                    ),
                    ("fieldNames", S.array(S.string)),
                    ("message", S.string),
                ])),
            schemas: [
                "Partnership": Schemas.partnership.openAPI(overriding: [
                    "partner": S.ref("Partner"), "project": S.ref("Project"),
                ]),
                "Partner": Schemas.partner.openAPI(overriding: ["logo": S.ref("Image"), "ribbon": S.ref("Image")]),
                "Project": project,
                "User": Schemas.user.openAPI(),
                "UserResource": userSchema,
                "Image": image,
                "Membership": S.object([("partner_id", S.integer), ("user_id", S.integer)]),
                "PageMeta": S.object([
                    ("limit", S.integer),
                    (
                        "next",
                        [
                            "type": ["string", "null"],
                            "description": "The query of the next page; null on the last page.",
                            "example": "?limit=20&since=1514912554&since_id=41",
                        ]
                    ),
                ]),
                "PartnershipCreate": Schemas.partnershipCreate.openAPI(writableOnly: true),
                "PartnershipUpdate": Schemas.partnershipUpdate.openAPIChanges(),
                "PartnerInput": Schemas.partner.openAPI(writableOnly: true, overriding: imageInput),
                "PartnerChanges": changes(Schemas.partner.openAPI(writableOnly: true, overriding: imageInput)),
                "ImageInput": Schemas.imageInput.openAPI(writableOnly: true),
                "OAuth2Token": S.object([
                    ("access_token", S.string), ("expires_in", S.integer), ("refresh_token", S.string),
                    ("scope", S.string), ("token_type", ["type": "string", "enum": ["Bearer"]]),
                ]),
                "OAuth2Error": S.object([
                    (
                        "error",
                        [
                            "type": "string",
                            "enum": ["invalid_request", "invalid_client", "invalid_grant", "unsupported_grant_type"],
                        ]
                    ),
                    ("error_description", S.string),
                ]),
                "ProjectInput": Schemas.project.openAPI(writableOnly: true),
                "ProjectChanges": Schemas.project.openAPIChanges(),
                "UserInput": Schemas.user.openAPI(writableOnly: true),
                "MembershipInput": Schemas.membership.openAPI(writableOnly: true),
            ])
    }

    /// A payload of a partial update: the same fields, none required.
    static func changes(_ schema: JSON) -> JSON {
        var schema = schema
        schema["required"] = []
        return schema
    }

    static func id(_ what: String, name: String = "id") -> P {
        P(name, in: .path, required: true, schema: S.positiveInteger, "\(what) id.")
    }
    static let paging = [
        P(
            "limit", schema: S.positiveInteger,
            "Page size: default and at most 20 (larger values are clamped). Not a positive integer: 400."),
        P(
            "since", schema: ["type": "integer", "minimum": 0, "example": 1_514_912_554],
            "Cursor: a Unix timestamp in seconds; the page holds what was created before it. Not an integer from 0: 400."
        ),
        P(
            "since_id", schema: S.positiveInteger,
            "With `since`: also what was created in that very second with a smaller id (`meta.next` sets it)."),
    ]
    static let extraFields = P(
        "extra_fields", schema: ["type": "string", "enum": ["partnerships"]],
        "Comma list of extra fields: `partnerships` (shown to those who may list them). Another value: 400.")
    static let lang = P(
        "lang", schema: ["type": "string", "enum": ["all"]],
        "`all`: every translation of the i18n texts; without it, the project's language only.")
    static func page(_ key: String, _ component: String) -> JSON {
        S.object([(key, S.array(S.ref(component))), ("meta", S.ref("PageMeta"))])
    }

    // MARK: staff endpoints

    static func staff(
        _ summary: String, _ description: String = "Staff only.", parameters: [P] = [], input: String?,
        status: Int, output: String?, errors: [Int] = [400]
    ) -> OperationDoc {
        OperationDoc(
            summary, tag: "Staff", description: description, parameters: parameters, requestBody: input.map(S.ref),
            responses: [
                R(status, status == 201 ? "Created" : status == 204 ? "Deleted" : "OK", schema: output.map(S.ref))
            ],
            errors: errors)
    }
}
