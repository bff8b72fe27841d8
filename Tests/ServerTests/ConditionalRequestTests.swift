import APICore
import Foundation
import HTTP
import JSON
import Store
import Testing

@testable import Server

/// A family with one stored counter per id: GET shows it, POST creates one, PATCH sets it,
/// DELETE removes it.
struct CounterFamily: APIFamily {
    let name = "counters"
    let pathPrefix = "/api/counters"
    let errorFormatter: any ErrorFormatter = PlainErrorFormatter()
    let storeIndexes: [IndexDefinition] = []
    /// Runs inside POST and PATCH after the handler read and before it writes: another process's
    /// change landing exactly in that window. One per test (suites run in parallel).
    final class Window: @unchecked Sendable { var betweenReadAndWrite: (() throws -> Void)? }
    let window = Window()

    var routes: [Route] {
        var routes = OperationGroup<Nobody>("/api/counters", access: .anyone)
        routes.onPublic(.get, ":id", doc: nil) { context in
            guard let record = context.store.get("counters", context.request.pathParameter("id")) else {
                throw APIError.notFound()
            }
            return .json(record)
        }
        routes.onPublic(.patch, ":id", doc: nil) { context in
            let id = context.request.pathParameter("id")
            guard let value = context.request.jsonBody()?["value"]?.intValue else {
                throw APIError.validation(field: "value", "Enter a value")
            }
            try window.betweenReadAndWrite?()
            try context.store.write { tx in tx.put("counters", id, ["id": .string(id), "value": .int(value)]) }
            return .json(["id": .string(id), "value": .int(value)])
        }
        routes.onPublic(.post, "", doc: nil) { context in
            guard let value = context.request.jsonBody()?["value"]?.intValue else {
                throw APIError.validation(field: "value", "Enter a value")
            }
            try window.betweenReadAndWrite?()
            let id = try context.store.write { tx -> String in
                let id = "c\(tx.nextSequence("counters"))"
                tx.put("counters", id, ["id": .string(id), "value": .int(value)])
                return id
            }
            var response = HTTPResponse.json(["id": .string(id), "value": .int(value)], status: .created)
            response.headers.append(HTTPField(name: .location, value: "/api/counters/\(id)"))
            return response
        }
        routes.onPublic(.delete, ":id", doc: nil) { context in
            try context.store.write { tx in tx.delete("counters", context.request.pathParameter("id")) }
            return .noContent()
        }
        return routes.routes
    }
}

@Suite(.serialized) struct ConditionalRequestTests {
    let directory = NSTemporaryDirectory() + "conditional-\(UUID().uuidString)"
    let application: Application

    let family = CounterFamily()

    init() throws {
        let families: [any APIFamily] = [family]
        application = Application(
            families: families, store: try Store(directory: directory, indexes: Application.indexes(of: families)))
        try application.store.write { tx in tx.put("counters", "c", ["id": "c", "value": 1]) }
    }

    func request(_ method: HTTPMethod, _ headers: HTTPFields = [:], body: String = "") -> HTTPResponse {
        application.handle(
            HTTPRequest(method: method, path: "/api/counters/c", headers: headers, body: Array(body.utf8)))
    }

    func etag(_ response: HTTPResponse) -> String? { response.headers[.eTag] }

    @Test func aGetCarriesAStrongTagAndTheSameTagGets304() throws {
        let first = request(.get)
        let tag = try #require(etag(first))
        #expect(tag.hasPrefix("\"") && tag.hasSuffix("\"") && tag.count == 34)
        #expect(etag(request(.head)) == tag, "HEAD carries the GET's tag")
        let again = request(.get, [.ifNoneMatch: tag])
        #expect(again.status == .notModified && again.body.isEmpty && etag(again) == tag)
        #expect(
            request(.get, [.ifNoneMatch: "W/\(tag), \"other\""]).status == .notModified,
            "weak comparison for If-None-Match")
        #expect(request(.get, [.ifNoneMatch: "\"other\""]).status == .ok)
        _ = request(.patch, body: #"{"value":2}"#)
        let changed = request(.get, [.ifNoneMatch: tag])
        #expect(changed.status == .ok && etag(changed) != tag)
    }

    @Test func aStaleIfMatchIsRefusedAndChangesNothing() throws {
        let tag = try #require(etag(request(.get)))
        #expect(request(.patch, [.ifMatch: tag], body: #"{"value":2}"#).status == .ok)
        let stale = request(.patch, [.ifMatch: tag], body: #"{"value":3}"#)
        #expect(stale.status == .preconditionFailed)
        #expect(application.store.get("counters", "c")?["value"] == 2)
        #expect(
            request(.patch, [.ifMatch: "W/\(try #require(etag(request(.get))))"], body: #"{"value":4}"#).status
                == .preconditionFailed,
            "a weak tag never matches If-Match")
        #expect(request(.delete, [.ifMatch: tag]).status == .preconditionFailed)
        #expect(request(.patch, [.ifMatch: "*"], body: #"{"value":5}"#).status == .ok)
        #expect(request(.delete, [.ifMatch: try #require(etag(request(.get)))]).status == .noContent)
        #expect(
            request(.patch, [.ifMatch: "*"], body: #"{"value":6}"#).status == .preconditionFailed,
            "no current representation")
    }

    /// The check runs under the write lock, against the store at that moment: a change another
    /// process makes after the handler read the record but before it writes is seen.
    @Test func theIfMatchCheckIsAtomicWithTheWrite() throws {
        let tag = try #require(etag(request(.get)))
        let otherProcess = try Store(directory: directory)
        family.window.betweenReadAndWrite = {
            try otherProcess.write { tx in tx.put("counters", "c", ["id": "c", "value": 100]) }
        }
        let response = request(.patch, [.ifMatch: tag], body: #"{"value":2}"#)
        family.window.betweenReadAndWrite = nil
        #expect(response.status == .preconditionFailed)
        try application.store.refresh()
        #expect(application.store.get("counters", "c")?["value"] == 100)
    }
}
