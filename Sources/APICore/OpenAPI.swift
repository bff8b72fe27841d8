import HTTP
import JSON

/// What the published OpenAPI document says about one route. It is given where the route is
/// registered, and its schemas come from the same `ResourceSchema`s that validate and serialize,
/// so the document cannot drift from the behaviour.
public struct OperationDoc: Sendable {
    public struct Parameter: Sendable {
        public enum Location: String, Sendable { case query, header }
        public var name: String
        public var location: Location
        public var required: Bool
        public var schema: JSON
        public var description: String

        public init(_ name: String, in location: Location = .query, required: Bool = false,
                    schema: JSON = ["type": "string"], _ description: String = "") {
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
    /// Error statuses this operation can answer; each is documented with the family's error body.
    public var errors: [Int]
    public var authenticated: Bool

    public init(_ summary: String, tag: String, description: String = "", parameters: [Parameter] = [],
                requestBody: JSON? = nil, responses: [Response], errors: [Int] = [], authenticated: Bool = true) {
        self.summary = summary
        self.tag = tag
        self.description = description
        self.parameters = parameters
        self.requestBody = requestBody
        self.responses = responses
        self.errors = errors
        self.authenticated = authenticated
    }
}

/// How a family presents itself in its OpenAPI document.
public struct OpenAPIInfo: Sendable {
    public var title: String
    public var version: String
    public var description: String
    /// `components.securitySchemes`; every authenticated operation requires any one of them.
    public var securitySchemes: JSONObject
    /// The schema of the family's error body.
    public var errorSchema: JSON

    public init(title: String, version: String, description: String, securitySchemes: JSONObject, errorSchema: JSON) {
        self.title = title
        self.version = version
        self.description = description
        self.securitySchemes = securitySchemes
        self.errorSchema = errorSchema
    }
}

public enum OpenAPIDocument {
    /// The OpenAPI 3.1 document of one family, built from the routes it registers.
    public static func build(_ family: any APIFamily, serverURL: String = "/") -> JSON? {
        guard let info = family.openAPIInfo else { return nil }
        let registry = RouteRegistry(family: family.name, errorFormatter: family.errorFormatter)
        family.registerRoutes(registry)

        var paths = JSONObject()
        var tags: [String] = []
        var operationIDs = Set<String>()
        for route in registry.routes {
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

            var parameters: [JSON] = pathParameters.map {
                ["name": .string($0), "in": "path", "required": true, "schema": ["type": "string"]]
            }
            for parameter in doc.parameters {
                var object: JSONObject = ["name": .string(parameter.name), "in": .string(parameter.location.rawValue),
                                          "required": .bool(parameter.required), "schema": parameter.schema]
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
                responses[String(response.status)] = .object(object)
            }
            var errors = doc.errors
            if doc.authenticated && !errors.contains(401) { errors.append(401) }
            for status in errors.sorted() where responses[String(status)] == nil {
                responses[String(status)] = ["description": .string(HTTPStatusText.reason(status)),
                                             "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]]]
            }
            operation["responses"] = .object(responses)
            operation["security"] = doc.authenticated
                ? .array(info.securitySchemes.keys.map { JSON.object(JSONObject([($0, .array([]))])) })
                : []

            var pathItem = paths[template]?.objectValue ?? JSONObject()
            pathItem[route.method.rawValue.lowercased()] = .object(operation)
            paths[template] = .object(pathItem)
        }
        return [
            "openapi": "3.1.0",
            "info": ["title": .string(info.title), "version": .string(info.version), "description": .string(info.description)],
            "servers": [["url": .string(serverURL)]],
            "tags": .array(tags.map { ["name": .string($0)] }),
            "paths": .object(paths),
            "components": ["securitySchemes": .object(info.securitySchemes), "schemas": ["Error": info.errorSchema]],
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
    static func reason(_ status: Int) -> String { HTTPStatus(status).reason }
}
