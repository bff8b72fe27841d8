import Foundation
import HTTP
import JSON
import Store
import Testing

@testable import APICore

/// A principal for the tests: the `Authorization` header names it directly.
private struct Member: Principal {
    let name: String
    static func authenticate(_ context: RequestContext) throws -> Member {
        guard let name = context.request.header(.authorization), !name.isEmpty else { throw APIError.unauthorized() }
        return Member(name: name)
    }
    /// Nobody in particular when no header is sent.
    static func authenticateIfPresent(_ context: RequestContext) throws -> Member {
        context.request.header(.authorization) == nil ? Member(name: "nobody") : try authenticate(context)
    }
}

/// A principal that keeps the default `authenticateIfPresent` (no anonymous caller).
private struct Strict: Principal {
    static func authenticate(_ context: RequestContext) throws -> Strict { throw APIError.unauthorized() }
}

extension Role<Member> {
    fileprivate static let admin = Role("admin") {
        guard $0.name == "admin" else { throw APIError.forbidden("admins only") }
    }
}

/// The router's side of an `Operation`: authentication and the role run before the handler,
/// and the erased route says what the OpenAPI document and the routes table need.
@Suite struct OperationTests {
    let store: Store
    let directory = NSTemporaryDirectory() + "operation-tests-\(UUID().uuidString)"
    /// What the handlers saw, in order.
    final class Seen: @unchecked Sendable { var names: [String] = [] }
    let seen = Seen()

    init() throws { store = try Store(directory: directory, indexes: []) }

    var routes: [Route] {
        var group = OperationGroup<Member>("/api/things", access: .authenticated)
        let seen = self.seen
        group.on(.get, "mine", doc: nil) { context in
            seen.names.append(context.principal.name)
            return .json(["name": .string(context.principal.name)])
        }
        group.on(.delete, ":id", access: .role(.admin), doc: nil) { context in
            seen.names.append("delete \(context.request.pathParameter("id")) by \(context.principal.name)")
            return .noContent()
        }
        group.onPublic(.get, "/open", doc: nil) { _ in .json(["open": true]) }
        group.on(.get, "public", access: .optionallyAuthenticated, doc: nil) { context in
            seen.names.append("public for \(context.principal.name)")
            return .noContent()
        }
        return group.routes
    }

    func run(_ route: Route, authorization: String?, id: String = "") throws -> HTTPResponse {
        var headers = HTTPFields()
        if let authorization { headers[.authorization] = authorization }
        var request = HTTPRequest(method: route.method, path: route.pattern, headers: headers)
        request.pathParameters = ["id": id]
        return try route.handler(RequestContext(request: request, store: store))
    }

    @Test func pathsAreJoinedUnderTheGroupAndRequirementsDescribed() {
        #expect(
            routes.map(\.pattern) == ["/api/things/mine", "/api/things/:id", "/api/things/open", "/api/things/public"])
        #expect(routes.map(\.requirement) == [.principal, .role("admin"), .none, .optionalPrincipal])
        #expect(routes.map(\.accessErrors) == [[401], [401, 403], [], [401]])
        #expect(
            routes.map(\.requirement.description) == ["any token", "admin", "public", "public, token optional"])
    }

    @Test func noHandlerRunsForACallerTheAccessRefuses() throws {
        let (mine, delete, open) = (routes[0], routes[1], routes[2])
        #expect(throws: APIError.unauthorized()) { try run(mine, authorization: nil) }
        #expect(throws: APIError.forbidden("admins only")) { try run(delete, authorization: "alice", id: "7") }
        #expect(seen.names.isEmpty)
        #expect(try run(mine, authorization: "alice").status == .ok)
        #expect(try run(delete, authorization: "admin", id: "7").status == .noContent)
        #expect(try run(open, authorization: nil).status == .ok)
        #expect(seen.names == ["alice", "delete 7 by admin"])
    }

    @Test func anOptionallyAuthenticatedOperationGetsTheCallerOrTheAnonymousPrincipal() throws {
        let open = routes[3]
        #expect(try run(open, authorization: nil).status == .noContent)
        #expect(try run(open, authorization: "alice").status == .noContent)
        #expect(throws: APIError.unauthorized()) { try run(open, authorization: "") }
        #expect(seen.names == ["public for nobody", "public for alice"])
        // A family without an anonymous principal: the default is `authenticate`.
        var strict = OperationGroup<Strict>("/strict", access: .optionallyAuthenticated)
        strict.on(.get, "x", doc: nil) { _ in .noContent() }
        #expect(throws: APIError.unauthorized()) { try run(strict.routes[0], authorization: nil) }
    }
}
