import HTTP
import JSON
import Logging
import Store

/// What one request's handler gets: the request (with path parameters filled in) and the store,
/// already caught up with every other worker's acknowledged writes.
public final class RequestContext {
    public var request: HTTPRequest
    public let store: Store
    /// This request's logger: its lines carry `request_id`, `method` and `path`. Made when first
    /// used unless given: a request that logs nothing pays nothing for it.
    public lazy var logger: Logger = RequestContext.logger(for: request)
    /// Set by authentication when the caller's credential expires (an OAuth2 access token): an
    /// answer kept for the next identical request (`ResponseCaching`) is not sent after it.
    public var credentialExpiresAt: Timestamp?

    public init(request: HTTPRequest, store: Store, logger: Logger? = nil) {
        self.request = request
        self.store = store
        if let logger { self.logger = logger }
    }

    private static let requestLogger = Logger(label: "partnerships.request")

    /// A logger whose lines carry the request's id, method and path (no string is built for it).
    public static func logger(for request: HTTPRequest) -> Logger {
        var logger = requestLogger
        logger[metadataKey: "request_id"] = .string(request.requestID)
        logger[metadataKey: "method"] = .string(request.method.rawValue)
        logger[metadataKey: "path"] = .string(request.path)
        return logger
    }
}

extension Authenticated {
    /// The request's logger (`RequestContext.logger`).
    public var logger: Logger { context.logger }
}

public typealias Handler = (RequestContext) throws -> HTTPResponse

/// One API family (Lead Provider v3, Partners v1, Directory): its operations, its error format,
/// and the store indexes its handlers need. The server composes families; nothing else is shared
/// between them except through this module.
public protocol APIFamily {
    var name: String { get }
    /// Every route of the family lives under this prefix; errors for unknown paths below it are
    /// answered in the family's own format.
    var pathPrefix: String { get }
    var errorFormatter: any ErrorFormatter { get }
    var storeIndexes: [IndexDefinition] { get }
    /// Every operation, from its groups (`OperationGroup.routes`).
    var routes: [Route] { get }
    /// nil: the family has no published OpenAPI document (operations, test routes).
    var openAPIInfo: OpenAPIInfo? { get }
}

extension APIFamily {
    public var openAPIInfo: OpenAPIInfo? { nil }
}
