import JSON

public enum HTTPMethod: String, Sendable, CaseIterable {
    case GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS
}

/// Header names are kept lower-cased. A name that arrived more than once is remembered, because a
/// request with two `Authorization` headers must be refused rather than half-read.
public struct HTTPHeaders: Sendable {
    private var storage: [String: String] = [:]
    public private(set) var repeatedNames: Set<String> = []

    public init() {}

    public init(_ pairs: [(String, String)]) {
        for (name, value) in pairs { add(name, value) }
    }

    public mutating func add(_ name: String, _ value: String) {
        let key = name.lowercased()
        if storage[key] != nil { repeatedNames.insert(key) }
        storage[key] = value
    }

    public subscript(name: String) -> String? { storage[name.lowercased()] }
}

public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    public var path: String
    public var query: QueryParameters
    public var headers: HTTPHeaders
    public var body: [UInt8]
    public var remoteAddress: String
    /// nginx's `$request_id`, or one we made up when the request did not come through nginx.
    public var requestID: String
    /// Filled by the router from `:name` segments.
    public var pathParameters: [String: String] = [:]

    public init(
        method: HTTPMethod, path: String, query: QueryParameters = QueryParameters(""),
        headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [], remoteAddress: String = "127.0.0.1",
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

    /// The body as JSON, or nil when it is not valid JSON (each family words that error itself).
    public func jsonBody() -> JSON? {
        guard !body.isEmpty else { return nil }
        return try? JSON.parse(body)
    }
}

public struct HTTPResponse: Sendable {
    public var status: HTTPStatus
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: HTTPStatus, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func json(_ value: JSON, status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(
            status: status, headers: [("Content-Type", "application/json; charset=utf-8")], body: value.serialized())
    }

    public static func text(_ value: String, status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "text/plain; charset=utf-8")], body: Array(value.utf8))
    }

    public static func noContent() -> HTTPResponse { HTTPResponse(status: .noContent) }
}

public struct HTTPStatus: Equatable, Hashable, Sendable, ExpressibleByIntegerLiteral {
    public var code: Int
    public init(_ code: Int) { self.code = code }
    public init(integerLiteral value: Int) { self.code = value }

    public static let ok = HTTPStatus(200), created = HTTPStatus(201), noContent = HTTPStatus(204)
    public static let notModified = HTTPStatus(304), preconditionFailed = HTTPStatus(412)
    public static let badRequest = HTTPStatus(400), unauthorized = HTTPStatus(401), forbidden = HTTPStatus(403)
    public static let notFound = HTTPStatus(404), methodNotAllowed = HTTPStatus(405), conflict = HTTPStatus(409)
    public static let payloadTooLarge = HTTPStatus(413), unsupportedMediaType = HTTPStatus(415)
    public static let unprocessableEntity = HTTPStatus(422), tooManyRequests = HTTPStatus(429)
    public static let internalServerError = HTTPStatus(500), serviceUnavailable = HTTPStatus(503)
    public static let insufficientStorage = HTTPStatus(507)

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
