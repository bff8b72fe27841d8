import HTTP
import JSON

/// What the published OpenAPI document says about one route. It is given where the route is
/// registered, and its schemas come from the same `ResourceSchema`s that validate and serialize,
/// so the document cannot drift from the behaviour.
public struct OperationDoc: Sendable {
    public struct Parameter: Sendable {
        /// `.path` overrides the default (a required string) of a `:name` segment of the route.
        public enum Location: String, Sendable { case query, header, path }
        public var name: String
        public var location: Location
        public var required: Bool
        public var schema: JSON
        public var description: String

        public init(
            _ name: String, in location: Location = .query, required: Bool = false,
            schema: JSON = ["type": "string"], _ description: String = ""
        ) {
            self.name = name
            self.location = location
            self.required = required
            self.schema = schema
            self.description = description
        }
    }

    public struct Response: Sendable {
        public var status: Int
        public var description: String
        /// nil: no body (204).
        public var schema: JSON?

        public init(_ status: Int, _ description: String, schema: JSON? = nil) {
            self.status = status
            self.description = description
            self.schema = schema
        }
    }

    public var summary: String
    public var tag: String
    public var description: String
    public var parameters: [Parameter]
    public var requestBody: JSON?
    public var responses: [Response]
    /// Error statuses of the operation's own rules; each is documented with the family's error
    /// body. The 401 and 403 of its access requirement are added from the `Operation`.
    public var errors: [Int]

    public init(
        _ summary: String, tag: String, description: String = "", parameters: [Parameter] = [],
        requestBody: JSON? = nil, responses: [Response], errors: [Int] = []
    ) {
        self.summary = summary
        self.tag = tag
        self.description = description
        self.parameters = parameters
        self.requestBody = requestBody
        self.responses = responses
        self.errors = errors
    }
}

/// How a family presents itself in its OpenAPI document.
public struct OpenAPIInfo: Sendable {
    public var title: String
    public var version: String
    public var description: String
    /// `components.securitySchemes`; every authenticated operation requires any one of them.
    public var securitySchemes: JSONObject
    /// The schema of the family's error body (`#/components/schemas/Error`).
    public var errorSchema: JSON
    /// The 401 body when it differs from `errorSchema` (`#/components/schemas/Unauthorized`).
    public var unauthorizedSchema: JSON?
    /// Named schemas (`#/components/schemas/<name>`) that operations refer to with `OpenAPISchema.ref`.
    public var schemas: JSONObject

    public init(
        title: String, version: String, description: String, securitySchemes: JSONObject, errorSchema: JSON,
        unauthorizedSchema: JSON? = nil, schemas: JSONObject = [:]
    ) {
        self.title = title
        self.version = version
        self.description = description
        self.securitySchemes = securitySchemes
        self.errorSchema = errorSchema
        self.unauthorizedSchema = unauthorizedSchema
        self.schemas = schemas
    }
}

/// Small builders for schema objects, so families describe envelopes without spelling JSON Schema.
public enum OpenAPISchema {
    public static func ref(_ name: String) -> JSON { ["$ref": .string("#/components/schemas/\(name)")] }

    public static func array(_ items: JSON) -> JSON { ["type": "array", "items": items] }

    /// A closed object: every listed property is required unless named in `optional`.
    public static func object(_ properties: [(String, JSON)], optional: Set<String> = [], closed: Bool = true) -> JSON {
        var schema: JSONObject = [
            "type": "object",
            "properties": .object(JSONObject(properties)),
            "required": .array(properties.map(\.0).filter { !optional.contains($0) }.map(JSON.string)),
        ]
        if closed { schema["additionalProperties"] = false }
        return .object(schema)
    }

    public static func nullable(_ schema: JSON) -> JSON { ["oneOf": [schema, ["type": "null"]]] }

    public static let string: JSON = ["type": "string"]
    public static let integer: JSON = ["type": "integer"]
    /// A positive integer in a query or path (`minimum: 1`).
    public static let positiveInteger: JSON = ["type": "integer", "minimum": 1]

    /// Every `$ref` in `document` that does not name one of its `components.schemas`.
    public static func unresolvedReferences(in document: JSON) -> [String] {
        let names = Set(document["components"]?["schemas"]?.objectValue?.keys ?? [])
        var missing: [String] = []
        func visit(_ value: JSON) {
            switch value {
            case .object(let object):
                if let target = object["$ref"]?.stringValue {
                    let prefix = "#/components/schemas/"
                    if !target.hasPrefix(prefix) || !names.contains(String(target.dropFirst(prefix.count))) {
                        missing.append(target)
                    }
                }
                for (_, member) in object { visit(member) }
            case .array(let items): items.forEach(visit)
            default: break
            }
        }
        visit(document)
        return missing
    }
}

public enum OpenAPIDocument {
    /// The OpenAPI 3.1 document of one family, built from the routes it registers.
    public static func build(_ family: any APIFamily, serverURL: String = "/") -> JSON? {
        guard let info = family.openAPIInfo else { return nil }
        var paths = JSONObject()
        var tags: [String] = []
        var operationIDs = Set<String>()
        for route in family.routes {
            guard let doc = route.doc else { continue }
            let (template, pathParameters) = openAPIPath(route.pattern)
            var operation = JSONObject()
            operation["summary"] = .string(doc.summary)
            if !doc.description.isEmpty { operation["description"] = .string(doc.description) }
            operation["tags"] = [.string(doc.tag)]
            if !tags.contains(doc.tag) { tags.append(doc.tag) }
            var id = operationID(route.method, template)
            while operationIDs.contains(id) { id += "_" }
            operationIDs.insert(id)
            operation["operationId"] = .string(id)

            var parameters: [JSON] = pathParameters.map { name in
                let documented = doc.parameters.first { $0.location == .path && $0.name == name }
                var object: JSONObject = [
                    "name": .string(name), "in": "path", "required": true,
                    "schema": documented?.schema ?? ["type": "string"],
                ]
                if let text = documented?.description, !text.isEmpty { object["description"] = .string(text) }
                return .object(object)
            }
            for parameter in doc.parameters + ConditionalHeaders.parameters(for: route.method)
            where parameter.location != .path {
                var object: JSONObject = [
                    "name": .string(parameter.name), "in": .string(parameter.location.rawValue),
                    "required": .bool(parameter.required), "schema": parameter.schema,
                ]
                if !parameter.description.isEmpty { object["description"] = .string(parameter.description) }
                parameters.append(.object(object))
            }
            if !parameters.isEmpty { operation["parameters"] = .array(parameters) }
            if let body = doc.requestBody {
                operation["requestBody"] = ["required": true, "content": ["application/json": ["schema": body]]]
            }
            var responses = JSONObject()
            for response in doc.responses {
                var object: JSONObject = ["description": .string(response.description)]
                if let schema = response.schema { object["content"] = ["application/json": ["schema": schema]] }
                if route.method == .get && response.status == 200 { object["headers"] = ConditionalHeaders.etagHeader }
                responses[String(response.status)] = .object(object)
            }
            if route.method == .get {
                responses["304"] = [
                    "description": "Not Modified: the representation still has the tag named in If-None-Match."
                ]
            }
            let errors = Set(doc.errors + route.accessErrors + ConditionalHeaders.errors(for: route.method))
            for status in errors.sorted() where responses[String(status)] == nil {
                let body = status == 401 && info.unauthorizedSchema != nil ? "Unauthorized" : "Error"
                responses[String(status)] = [
                    "description": .string(HTTPStatusText.reason(status)),
                    "content": ["application/json": ["schema": OpenAPISchema.ref(body)]],
                ]
            }
            operation["responses"] = .object(responses)
            let schemes = info.securitySchemes.keys.map { JSON.object(JSONObject([($0, .array([]))])) }
            switch route.requirement {
            case .none: operation["security"] = []
            // The empty requirement first: no credentials is one of the accepted ways.
            case .optionalPrincipal: operation["security"] = .array([.object(JSONObject())] + schemes)
            case .principal, .role: operation["security"] = .array(schemes)
            }

            var pathItem = paths[template]?.objectValue ?? JSONObject()
            pathItem[route.method.rawValue.lowercased()] = .object(operation)
            paths[template] = .object(pathItem)
        }
        var schemas = info.schemas
        schemas["Error"] = info.errorSchema
        if let unauthorized = info.unauthorizedSchema { schemas["Unauthorized"] = unauthorized }
        return [
            "openapi": "3.1.0",
            "info": [
                "title": .string(info.title), "version": .string(info.version),
                "description": .string(info.description),
            ],
            "servers": [["url": .string(serverURL)]],
            "tags": .array(tags.map { ["name": .string($0)] }),
            "paths": .object(paths),
            "components": ["securitySchemes": .object(info.securitySchemes), "schemas": .object(schemas)],
        ]
    }

    /// `/a/:id/b` -> `/a/{id}/b` and its parameter names. A pattern's trailing slash is kept.
    static func openAPIPath(_ pattern: String) -> (String, [String]) {
        var names: [String] = []
        let segments = pattern.split(separator: "/", omittingEmptySubsequences: false).map { segment -> String in
            guard segment.first == ":" else { return String(segment) }
            names.append(String(segment.dropFirst()))
            return "{\(segment.dropFirst())}"
        }
        return (segments.joined(separator: "/"), names)
    }

    static func operationID(_ method: HTTPMethod, _ template: String) -> String {
        let words = template.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init)
        return method.rawValue.lowercased() + "_" + words.joined(separator: "_")
    }
}

enum HTTPStatusText {
    static func reason(_ status: Int) -> String { HTTPStatus(code: status).reason }
}

/// The headers of conditional requests and idempotent retries that the server layer honours on
/// every route (Sources/Server: ConditionalRequest, Idempotency), documented once for all families.
enum ConditionalHeaders {
    static func parameters(for method: HTTPMethod) -> [OperationDoc.Parameter] {
        switch method {
        case .get:
            return [
                OperationDoc.Parameter(
                    "If-None-Match", in: .header, schema: headerText,
                    "An ETag from an earlier answer: 304 Not Modified (no body) while it is still current.")
            ]
        case .put, .patch, .delete:
            return [
                OperationDoc.Parameter(
                    "If-Match", in: .header, schema: headerText,
                    "The ETag of the version this change is based on: 412 Precondition Failed, and nothing changed, if the resource changed since."
                )
            ]
        case .post:
            return [
                OperationDoc.Parameter(
                    "Idempotency-Key", in: .header,
                    schema: ["type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"],
                    "A unique key per intended request (a UUID): a retry with the same key and request gets the first answer again (Idempotent-Replayed: true) instead of acting twice; kept 24 hours per credential; the same key with another request gets 422."
                )
            ]
        default:
            return []
        }
    }

    /// Visible ASCII and spaces: what an entity-tag list is made of (nginx refuses control bytes).
    static let headerText: JSON = ["type": "string", "pattern": "^[ -~]*$"]

    static func errors(for method: HTTPMethod) -> [Int] {
        switch method {
        case .put, .patch, .delete: return [412]
        case .post: return [400, 422]
        default: return []
        }
    }

    static let etagHeader: JSON = [
        "ETag": [
            "description": "The representation's strong entity tag, for If-None-Match and If-Match.",
            "schema": ["type": "string"],
        ]
    ]
}
