import HTTPTypes
import JSON

// Methods, statuses and header fields are swift-http-types' (apple/swift-http-types), under the
// names the rest of the server uses. Typealiases rather than `@_exported import HTTPTypes`: that
// module also declares `HTTPRequest` and `HTTPResponse`, and re-exporting it would put them beside
// ours in every module that imports HTTP (ambiguous names, or ones resolved by shadowing rules).
// These four are all the other modules need; HTTPTypes' members (`.get`, `.notFound`,
// `.authorization`, ...) come with the types.

/// A request method (HTTPTypes' `HTTPRequest.Method`: `.get`, `.post`, ...). Any token is a method
/// to HTTPTypes; the server serves only `HTTPMethod.served`.
public typealias HTTPMethod = HTTPTypes.HTTPRequest.Method
/// A response status (HTTPTypes' `HTTPResponse.Status`: `.ok`, `.contentTooLarge`, ...). The phrase
/// the server sends with it is `reason` (our table), never HTTPTypes' `reasonPhrase`.
public typealias HTTPStatus = HTTPTypes.HTTPResponse.Status
/// Header fields, in order, names compared case-insensitively and written as given.
public typealias HTTPFields = HTTPTypes.HTTPFields
/// One header field; its names are `HTTPField.Name`s (HTTPTypes' and ours, below).
public typealias HTTPField = HTTPTypes.HTTPField
/// A header field's name (`HTTPField.Name`), for declarations in modules that do not import HTTPTypes.
public typealias HTTPFieldName = HTTPTypes.HTTPField.Name

public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    public var path: String
    public var query: QueryParameters
    /// One field per name as nginx passed them (`RequestMapping`). A request that carried two
    /// `Authorization` headers never gets this far: it is refused before routing.
    public var headers: HTTPFields
    public var body: [UInt8]
    public var remoteAddress: String
    /// nginx's `$request_id`, or one we made up when the request did not come through nginx.
    public var requestID: String
    /// Filled by the router from `:name` segments.
    public var pathParameters: [String: String] = [:]

    public init(
        method: HTTPMethod, path: String, query: QueryParameters = QueryParameters(""),
        headers: HTTPFields = HTTPFields(), body: [UInt8] = [], remoteAddress: String = "127.0.0.1",
        requestID: String = ""
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
        self.requestID = requestID
    }

    public func pathParameter(_ name: String) -> String { pathParameters[name] ?? "" }

    /// The value of the field `name`, nil without one. `headers[name]` answers the same here (one
    /// field per name), but through HTTPTypes' joining of repeated fields, generic code that cost
    /// ~1,800 instructions a lookup (callgrind, three lookups on every GET); this is a plain scan.
    public func header(_ name: HTTPField.Name) -> String? {
        for field in headers where field.name == name { return field.value }
        return nil
    }

    /// The body as JSON, or nil when it is not valid JSON (each family words that error itself).
    public func jsonBody() -> JSON? {
        guard !body.isEmpty else { return nil }
        return try? JSON.parse(body)
    }
}

public struct HTTPResponse: Sendable {
    public var status: HTTPStatus
    /// Written in this order, each name as spelled by its `HTTPField.Name` (`ETag`, `X-Request-Id`).
    public var headers: HTTPFields
    public var body: [UInt8]

    public init(status: HTTPStatus, headers: HTTPFields = HTTPFields(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func json(_ value: JSON, status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, headers: jsonFields, body: value.serialized())
    }

    /// A JSON body already serialized (written by `JSON.serialize`'s rules).
    public static func json(serialized body: [UInt8], status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, headers: jsonFields, body: body)
    }

    public static func text(_ value: String, status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, headers: textFields, body: Array(value.utf8))
    }

    // Made once: each response shares them until it adds a field (HTTPTypes checks a value's
    // bytes whenever a field is made).
    private static let jsonFields: HTTPFields = [.contentType: "application/json; charset=utf-8"]
    private static let textFields: HTTPFields = [.contentType: "text/plain; charset=utf-8"]

    public static func noContent() -> HTTPResponse { HTTPResponse(status: .noContent) }
}

extension HTTPTypes.HTTPRequest.Method {
    /// The methods the server routes, in the order an `Allow` header lists them. A request with
    /// any other method is answered 405 before routing.
    public static let served: [HTTPMethod] = [.get, .head, .post, .put, .patch, .delete, .options]

    /// One of `served` by its name (case-sensitive, RFC 9110 9.1), else nil.
    public init?(served name: String) {
        switch name {
        case "GET": self = .get
        case "HEAD": self = .head
        case "POST": self = .post
        case "PUT": self = .put
        case "PATCH": self = .patch
        case "DELETE": self = .delete
        case "OPTIONS": self = .options
        default: return nil
        }
    }
}

extension HTTPTypes.HTTPResponse.Status {
    /// 507 (RFC 4918 11.5), which HTTPTypes does not name: the store's disk is full.
    public static let insufficientStorage = HTTPStatus(code: 507, reasonPhrase: "Insufficient Storage")

    /// The reason phrase the server sends with this status: the FastCGI `Status:` line (nginx passes
    /// it on to clients) and the OpenAPI documents' error descriptions. Our table, unchanged since
    /// before HTTPTypes: its `reasonPhrase` has RFC 9110's newer names for 413 ("Content Too Large")
    /// and 422 ("Unprocessable Content"), and is empty for a status made from a number.
    public var reason: String {
        switch code {
        case 200: return "OK"
        case 201: return "Created"
        case 204: return "No Content"
        case 301: return "Moved Permanently"
        case 304: return "Not Modified"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 409: return "Conflict"
        case 412: return "Precondition Failed"
        case 413: return "Payload Too Large"
        case 415: return "Unsupported Media Type"
        case 422: return "Unprocessable Entity"
        case 429: return "Too Many Requests"
        case 500: return "Internal Server Error"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        case 507: return "Insufficient Storage"
        default: return "Status \(code)"
        }
    }
}

/// The header names of our own, in one place (HTTPTypes names the standard ones: `.authorization`,
/// `.ifMatch`, `.eTag`, ...). Each is written on the wire as spelled here.
extension HTTPTypes.HTTPField.Name {
    /// The request's Host header (HTTPTypes names none: HTTP/2's `:authority` is a pseudo-header).
    public static let host = HTTPField.Name("Host")!
    /// A POST's retry key (Sources/Server/Idempotency.swift).
    public static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    /// `true` on an answer replayed for a retried `Idempotency-Key`.
    public static let idempotentReplayed = HTTPField.Name("Idempotent-Replayed")!
    /// The request's id on every answer (nginx's `$request_id`), for quoting to support.
    public static let requestID = HTTPField.Name("X-Request-Id")!
    /// A /_test route's instruction to the worker loop (Sources/Server/TestSupportFamily.swift).
    public static let testDieAfterBodyBytes = HTTPField.Name("X-Test-Die-After-Body-Bytes")!
}
