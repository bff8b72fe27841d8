import APICore
import HTTP
import JSON
import Store

enum Collection {
    static let users = "pa_users"
    static let partners = "pa_partners"
    static let memberships = "pa_memberships"
    static let projects = "pa_projects"
    static let partnerships = "pa_partnerships"
    /// A sequence only: image ids (images live inside their partner's record).
    static let images = "pa_images"

    static let indexes: [IndexDefinition] = [
        IndexDefinition(collection: partners, name: "by_slug") { [$0["slug"]?.stringValue ?? ""] },
        IndexDefinition(collection: memberships, name: "by_user") { [String($0["user_id"]?.intValue ?? 0)] },
        IndexDefinition(collection: memberships, name: "by_partner") { [String($0["partner_id"]?.intValue ?? 0)] },
        IndexDefinition(collection: projects, name: "by_slug") { [$0["slug"]?.stringValue ?? ""] },
        IndexDefinition(collection: partnerships, name: "by_project") { [String($0["project_id"]?.intValue ?? 0)] },
        IndexDefinition(collection: partnerships, name: "by_partner") { [String($0["partner_id"]?.intValue ?? 0)] },
    ]
}

/// The v1 error body: a list of `{"classification", "fieldNames", "message"}`.
struct PartnersErrorFormatter: ErrorFormatter {
    static func classification(_ kind: APIError.Kind) -> String {
        switch kind {
        case .malformedBody: return "DeserializationError"
        case .requiredField: return "RequiredError"
        case .wrongType: return "TypeError"
        case .unknownField: return "UnknownFieldError"
        case .unauthorized, .forbidden: return "PermissionError"
        case .internalError, .insufficientStorage, .serviceUnavailable: return "ServerError"
        default: return "ValueError"
        }
    }

    func response(for errors: [APIError]) -> HTTPResponse {
        var response = HTTPResponse.json(
            .array(
                errors.map { error in
                    [
                        "classification": .string(Self.classification(error.kind)),
                        "fieldNames": .array(error.field.map { [JSON.string($0)] } ?? []),
                        "message": .string(error.detail),
                    ]
                }), status: errors[0].status)
        if errors[0].kind == .unauthorized {
            response.headers[.wwwAuthenticate] = "APIKey, Bearer"
        }
        return response
    }
}

enum Failure {
    static let unauthorized = APIError(
        .unauthorized, status: .unauthorized, title: "Unauthorized",
        detail: "Authentication credentials were not provided or are not valid.")
    static func forbidden(_ detail: String) -> APIError {
        APIError(.forbidden, status: .forbidden, title: "Forbidden", detail: detail)
    }
    static func notFound(_ what: String, _ id: String) -> APIError {
        APIError(.notFound, status: .notFound, title: "Not found", detail: "\(what) \(id) does not exist.")
    }
    static let notJSON = APIError(
        .malformedBody, status: .badRequest, title: "Bad request", detail: "The request body must be a JSON object.")
    static func value(_ field: String?, _ detail: String, status: HTTPStatus = .badRequest) -> APIError {
        APIError(.validation, status: status, title: "Invalid value", detail: detail, field: field)
    }
    static func wrongType(_ field: String, _ detail: String) -> APIError {
        APIError(.wrongType, status: .badRequest, title: "Type", detail: detail, field: field)
    }
}

enum Schemas {
    static let partnershipCreate = ResourceSchema(
        "PartnershipCreate",
        [
            Field("partner_id", .integer, required: true, "Unique ID of the partner."),
            Field("is_default", .boolean, "If true, the partner is the default one for the project."),
            Field("is_support", .boolean),
        ])
    static let partnershipUpdate = ResourceSchema(
        "PartnershipUpdate",
        [
            Field("is_default", .boolean, "If true, the partner is the default one for the project."),
            Field("is_support", .boolean),
        ])
    static let partnership = ResourceSchema(
        "Partnership",
        [
            Field("id", .integer, readOnly: true, "Unique ID of the partnership."),
            Field("is_default", .boolean, readOnly: true),
            Field("is_support", .boolean, readOnly: true),
            Field("partner", .object, readOnly: true),
            Field("project", .object, readOnly: true),
        ])
    static let partner = ResourceSchema(
        "Partner",
        [
            Field("id", .integer, readOnly: true),
            Field("name", .string, required: true, maxLength: 200),
            Field("slug", .string, required: true, maxLength: 100),
            Field("url", .url, nullable: true, maxLength: 500, "The partner's website."),
            Field("user_id", .integer, nullable: true, "The partner's user."),
            Field("logo", .object, nullable: true, "An image; staff set it from a URL: `{\"url\": …}`, or null."),
            Field("ribbon", .object, nullable: true, "An image; staff set it from a URL: `{\"url\": …}`, or null."),
        ])
    static let project = ResourceSchema(
        "Project",
        [
            Field("id", .integer, readOnly: true),
            Field("slug", .string, required: true, maxLength: 100),
            Field("name", .string, required: true, maxLength: 200),
            Field("owner", .object, readOnly: true),
            Field("owner_id", .integer, required: true),
            Field("status", .enumeration(ProjectRecord.statuses)),
            Field("lang", .string, maxLength: 10),
            Field("absolute_url", .url, readOnly: true),
            Field(
                "type", .enumeration(["project", "presale"]), "Collects money (`project`) or pre-orders (`presale`)."),
            Field("currency", .string, maxLength: 3, "Three-letter ISO code."),
            Field("goal", .integer, "In the currency (`project`), or a number of pre-orders (`presale`)."),
            Field("amount_raised", .integer, "In the currency."),
            Field("finished", .boolean, "The funding campaign is over."),
            Field("date_start", .dateTime, nullable: true, "When the funding campaign starts (RFC 3339)."),
            Field("date_end", .dateTime, nullable: true, "When the funding campaign ends (RFC 3339)."),
            Field("is_winner", .boolean, "A prizewinner: what `is_winner` of a partner's project list filters on."),
        ])
    static let user = ResourceSchema(
        "User",
        [
            Field("id", .integer, readOnly: true),
            Field("name", .string, required: true, maxLength: 200),
            Field("email", .email, nullable: true, maxLength: 200),
        ])
    static let membership = ResourceSchema("Membership", [Field("user_id", .integer, required: true)])
    /// What staff send to set a partner's `logo` or `ribbon`.
    static let imageInput = ResourceSchema(
        "ImageInput", [Field("url", .url, required: true, maxLength: 500, "Where the image is served (http or https).")]
    )
}

/// Payload problems in this API's classifications.
func payload(_ request: HTTPRequest, _ schema: ResourceSchema, partial: Bool) throws -> JSONObject {
    guard !request.body.isEmpty else {
        if partial { return [:] }
        throw APIErrors(
            schema.fields.filter { $0.required && !$0.readOnly }.map {
                APIError(
                    .requiredField, status: .badRequest, title: "Required", detail: "This field is required.",
                    field: $0.name)
            })
    }
    guard let body = request.jsonBody() else { throw Failure.notJSON }
    guard case .object(let object) = body else { throw Failure.notJSON }
    return try validated(object, schema, partial: partial)
}

/// A JSON object the schema accepts, normalized; its problems in this API's classifications, field
/// names under `prefix` for an object nested in a payload (`logo.url`).
func validated(_ object: JSONObject, _ schema: ResourceSchema, partial: Bool, prefix: String = "") throws -> JSONObject
{
    let problems = schema.validate(object, partial: partial)
    if !problems.isEmpty {
        throw APIErrors(
            problems.map { problem -> APIError in
                switch problem {
                case .missing(let name):
                    let f = prefix + name
                    return APIError(
                        .requiredField, status: .badRequest, title: "Required", detail: "This field is required.",
                        field: f)
                case .wrongType(let name, let expected):
                    let f = prefix + name
                    return APIError(
                        .wrongType, status: .badRequest, title: "Type",
                        detail: "Expected \(expected == "integer" ? "an" : "a") \(expected).", field: f)
                case .notAllowed(let name):
                    let f = prefix + name
                    return APIError(
                        .unknownField, status: .badRequest, title: "Unknown field", detail: "Unknown field \"\(f)\".",
                        field: f)
                case .tooLong(let name, let limit): return Failure.value(prefix + name, "At most \(limit) characters.")
                case .invalidValue(let name): return Failure.value(prefix + name, "Not an accepted value.")
                case .outOfRange(let name):
                    return Failure.value(prefix + name, "Expected an integer \(ResourceSchema.Problem.integerRange).")
                }
            })
    }
    return schema.normalized(object)
}

func intID(_ text: String, _ what: String) throws -> Int {
    guard let id = Int(text), id > 0 else { throw Failure.notFound(what, text) }
    return id
}
