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
