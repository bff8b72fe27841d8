import HTTP
import JSON
import Store

/// What one request's handler gets: the request (with path parameters filled in) and the store,
/// already caught up with every other worker's acknowledged writes.
public final class RequestContext {
    public var request: HTTPRequest
    public let store: Store

    public init(request: HTTPRequest, store: Store) {
        self.request = request
        self.store = store
    }
}

public typealias Handler = (RequestContext) throws -> HTTPResponse

/// One API family (Lead Provider v3, Partners v1, Directory): its routes, its error format, and
/// the store indexes its handlers need. The server composes families; nothing else is shared
/// between them except through this module.
public protocol APIFamily {
    var name: String { get }
    /// Every route of the family lives under this prefix; errors for unknown paths below it are
    /// answered in the family's own format.
    var pathPrefix: String { get }
    var errorFormatter: any ErrorFormatter { get }
    var storeIndexes: [IndexDefinition] { get }
    func registerRoutes(_ routes: RouteRegistry)
    /// nil: the family has no published OpenAPI document (operations, test routes).
    var openAPIInfo: OpenAPIInfo? { get }
}

extension APIFamily {
    public var openAPIInfo: OpenAPIInfo? { nil }
}

/// Collects routes from families and hands them to the router with their error formatter.
public final class RouteRegistry {
    public struct Route {
        public let method: HTTPMethod
        public let pattern: String
        public let family: String
        public let handler: Handler
        public let errorFormatter: any ErrorFormatter
        /// What the family's OpenAPI document says about this route; nil leaves it out.
        public let doc: OperationDoc?
    }

    public private(set) var routes: [Route] = []
    private let family: String
    private let errorFormatter: any ErrorFormatter

    public init(family: String, errorFormatter: any ErrorFormatter) {
        self.family = family
        self.errorFormatter = errorFormatter
    }

    public func add(_ method: HTTPMethod, _ pattern: String, doc: OperationDoc? = nil, _ handler: @escaping Handler) {
        routes.append(Route(method: method, pattern: pattern, family: family, handler: handler, errorFormatter: errorFormatter, doc: doc))
    }
}
