import HTTP
import JSON
import Store

/// Who a family's requests can come from. Each family owns its type (a lead provider or staff, a
/// Partners API user, a Directory key) and how a request's credentials become one: the router
/// resolves it before the handler runs, so no handler authenticates itself.
public protocol Principal: Sendable {
    /// The caller behind the request's credentials, or the family's own 401 error.
    static func authenticate(_ context: RequestContext) throws -> Self
    /// For `.optionallyAuthenticated` operations: the caller, or the family's anonymous principal
    /// when the request carries no credentials. Families without one keep the default: `authenticate`.
    static func authenticateIfPresent(_ context: RequestContext) throws -> Self
}

extension Principal {
    public static func authenticateIfPresent(_ context: RequestContext) throws -> Self { try authenticate(context) }
}

/// A narrowing of a family's principals ("staff", "a lead provider", "a key with
/// `read_callouts`"), checked by the router after authentication. Refusal is the family's 403.
public struct Role<P: Principal>: Sendable {
    /// Shown in the routes table (`partnerships routes`).
    public let name: String
    let admit: @Sendable (P) throws -> Void

    public init(_ name: String, admit: @escaping @Sendable (P) throws -> Void) {
        self.name = name
        self.admit = admit
    }
}

/// Who may call an operation.
public enum Access<P: Principal>: Sendable {
    /// No credentials needed (a health check, a public listing).
    case anyone
    /// Anyone: public data readable without credentials. Credentials, when given, are checked
    /// (`Principal.authenticateIfPresent`) so the handler can show more to those who sent them.
    case optionallyAuthenticated
    /// Any principal of the family.
    case authenticated
    /// A principal the role admits.
    case role(Role<P>)
}

/// What an authenticated operation's handler gets: the request context and the resolved principal.
public struct Authenticated<P: Principal> {
    public let context: RequestContext
    public let principal: P

    public var request: HTTPRequest { context.request }
    public var store: Store { context.store }
}

/// One route of a family, declared once: method, path under its group, who may call it, what
/// the OpenAPI document says about it (inputs, outputs, errors) and the handler. The router, the
/// authentication step, the OpenAPI document (`security`, 401/403) and `partnerships routes` are
/// all derived from it, so they cannot drift apart.
public struct Operation<P: Principal> {
    public enum Body {
        case open((RequestContext) throws -> HTTPResponse)
        case authenticated((Authenticated<P>) throws -> HTTPResponse)
    }

    public let method: HTTPMethod
    /// Under the group's prefix: "partnerships/:id".
    public let path: String
    public let access: Access<P>
    /// nil: the operation is left out of the published document (operations and test routes).
    public let doc: OperationDoc?
    public let caching: ResponseCaching
    public let body: Body

    /// An operation for principals: the access defaults to its group's.
    public init(
        _ method: HTTPMethod, _ path: String, access: Access<P>, caching: ResponseCaching = .never,
        doc: OperationDoc?, _ handler: @escaping (Authenticated<P>) throws -> HTTPResponse
    ) {
        precondition(!caching.keepsAnswers || method == .get, "only a GET's answer can be kept")
        self.method = method
        self.path = path
        self.access = access
        self.caching = caching
        self.doc = doc
        self.body = .authenticated(handler)
    }

    /// An operation anyone may call.
    public init(
        public method: HTTPMethod, _ path: String, doc: OperationDoc?,
        _ handler: @escaping (RequestContext) throws -> HTTPResponse
    ) {
        self.method = method
        self.path = path
        self.access = .anyone
        self.caching = .never
        self.doc = doc
        self.body = .open(handler)
    }

    /// The type-erased route: authentication and the role check run first, then the handler.
    func route(under prefix: String) -> Route {
        let pattern = Self.join(prefix, path)
        let handler: Handler
        let requirement: Route.Requirement
        switch (body, access) {
        case (.open(let open), _):
            handler = open
            requirement = .none
        case (.authenticated, .anyone):
            preconditionFailure(
                "\(method.rawValue) \(pattern): a handler that takes a principal cannot be open to anyone (use onPublic)"
            )
        case (.authenticated(let run), .optionallyAuthenticated):
            handler = { context in
                try run(Authenticated(context: context, principal: try P.authenticateIfPresent(context)))
            }
            requirement = .optionalPrincipal
        case (.authenticated(let run), .authenticated):
            handler = { context in try run(Authenticated(context: context, principal: try P.authenticate(context))) }
            requirement = .principal
        case (.authenticated(let run), .role(let role)):
            handler = { context in
                let principal = try P.authenticate(context)
                try role.admit(principal)
                return try run(Authenticated(context: context, principal: principal))
            }
            requirement = .role(role.name)
        }
        return Route(
            method: method, pattern: pattern, requirement: requirement, caching: caching, doc: doc, handler: handler)
    }

    static func join(_ prefix: String, _ path: String) -> String {
        if path.isEmpty { return prefix }
        if prefix.hasSuffix("/") || path.hasPrefix("/") { return prefix + path }
        return prefix + "/" + path
    }
}

/// Operations under one path prefix and one default access, like a Hummingbird route group: the
/// Lead Provider API's `/api/v3` for lead providers and its `/api/v3/admin` for staff.
public struct OperationGroup<P: Principal> {
    public let prefix: String
    public let access: Access<P>
    public private(set) var operations: [Operation<P>] = []

    public init(_ prefix: String, access: Access<P>) {
        self.prefix = prefix
        self.access = access
    }

    /// An operation with the group's access, or `access` when given.
    public mutating func on(
        _ method: HTTPMethod, _ path: String, access: Access<P>? = nil, caching: ResponseCaching = .never,
        doc: OperationDoc?, _ handler: @escaping (Authenticated<P>) throws -> HTTPResponse
    ) {
        operations.append(Operation(method, path, access: access ?? self.access, caching: caching, doc: doc, handler))
    }

    /// An operation anyone may call, whatever the group's access.
    public mutating func onPublic(
        _ method: HTTPMethod, _ path: String, doc: OperationDoc?,
        _ handler: @escaping (RequestContext) throws -> HTTPResponse
    ) {
        operations.append(Operation(public: method, path, doc: doc, handler))
    }

    public var routes: [Route] { operations.map { $0.route(under: prefix) } }
}

/// The principal of families whose every route is public (health checks, test routes).
public enum Nobody: Principal {
    public static func authenticate(_ context: RequestContext) throws -> Nobody { throw APIError.unauthorized() }
}

/// A family's operation with its types erased: what the router and the OpenAPI builder see.
public struct Route {
    public enum Requirement: Equatable, Sendable {
        case none
        /// Anyone; a principal when the request carries credentials (401 for bad ones).
        case optionalPrincipal
        /// Any principal of the family (401 without one).
        case principal
        /// A named role (401 without a principal, 403 for one the role refuses).
        case role(String)

        public var description: String {
            switch self {
            case .none: return "public"
            case .optionalPrincipal: return "public, token optional"
            case .principal: return "any token"
            case .role(let name): return name
            }
        }
    }

    public let method: HTTPMethod
    /// The full path: "/api/v3/partnerships/:id".
    public let pattern: String
    public let requirement: Requirement
    public var caching: ResponseCaching = .never
    public let doc: OperationDoc?
    public let handler: Handler

    /// The statuses the requirement adds to the operation's own errors.
    public var accessErrors: [Int] {
        switch requirement {
        case .none: return []
        case .optionalPrincipal, .principal: return [401]
        case .role: return [401, 403]
        }
    }
}

/// Whether the worker may keep a GET's 200 answer and send it again without running the handler.
public struct ResponseCaching: Sendable, Equatable {
    public let keepsAnswers: Bool
    /// Request headers the answer depends on besides `Authorization` (a version header): answers
    /// are kept per value of each.
    public let varyingOn: [HTTPFieldName]

    public static let never = ResponseCaching(keepsAnswers: false, varyingOn: [])
    /// The answer is a function of the path, the query string, the `Authorization` header and what
    /// it reads from the store only (no clock, no other header, no side effect the caller relies
    /// on): it is sent again until the store changes a record or index key it read (any worker's
    /// write; a compaction or restore ends them all), for at most `ResponseCache.maximumAgeNanoseconds`
    /// (30 s). Authentication is not run again for a kept answer: it read the caller's token record,
    /// so revoking the token ends it; `last_used_at` is recorded when the answer is made again.
    public static let untilStoreChanges = ResponseCaching(keepsAnswers: true, varyingOn: [])

    /// `untilStoreChanges`, for an answer that also depends on these request headers.
    public static func untilStoreChanges(varyingOn headers: [HTTPFieldName]) -> ResponseCaching {
        ResponseCaching(keepsAnswers: true, varyingOn: headers)
    }
}
