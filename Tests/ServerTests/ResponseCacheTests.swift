import APICore
import Foundation
import HTTP
import JSON
import Testing

@testable import Server
@testable import Store

/// A staff-only family whose GET one declares `ResponseCaching.untilStoreChanges`; the answer names
/// the caller, so a kept answer given to the wrong caller would show.
struct KeptNotesFamily: APIFamily {
    struct Caller: Principal {
        let name: String
        static func authenticate(_ context: RequestContext) throws -> Caller {
            Caller(name: try Staff.fromToken(context, schemes: ["Bearer"], otherwise: .unauthorized()).name)
        }
    }

    let name = "notes"
    static let version = HTTPField.Name("Note-Version")!
    let pathPrefix = "/api/notes"
    let errorFormatter: any ErrorFormatter = PlainErrorFormatter()
    let storeIndexes: [IndexDefinition] = []

    var routes: [Route] {
        var routes = OperationGroup<Caller>("/api/notes", access: .authenticated)
        routes.on(.get, ":id", caching: .untilStoreChanges, doc: nil) { context in
            guard let note = context.store.get("notes", context.request.pathParameter("id")) else {
                throw APIError.notFound()
            }
            var response = HTTPResponse.json(["note": note, "caller": .string(context.principal.name)])
            response.headers[.cacheControl] = "private"
            return response
        }
        routes.on(.get, ":id/versioned", caching: .untilStoreChanges(varyingOn: [Self.version]), doc: nil) { context in
            .json(["version": JSON(context.request.header(Self.version))])
        }
        routes.on(.get, ":id/uncached", doc: nil) { context in
            .json(context.store.get("notes", context.request.pathParameter("id")) ?? .null)
        }
        routes.on(.put, ":id", doc: nil) { context in
            let id = context.request.pathParameter("id")
            let body = context.request.jsonBody() ?? .null
            try context.store.write { tx in tx.put("notes", id, body) }
            return .json(body)
        }
        return routes.routes
    }
}

/// What a worker does with a GET: first the kept answer (`WorkerLoop.serveKeptAnswer`), else the
/// full path, which keeps its answer for the next time.
@Suite(.serialized) struct ResponseCacheTests {
    let directory = NSTemporaryDirectory() + "response-cache-\(UUID().uuidString)"
    let application: Application
    let alice: String
    let bob: String

    init() throws {
        let families: [any APIFamily] = [KeptNotesFamily()]
        let store = try Store(directory: directory, indexes: Application.indexes(of: families))
        application = Application(families: families, store: store, responseCacheBytes: 1 << 20)
        alice = try Tokens.create(in: store, principal: Staff(name: "alice"), name: "a").token
        bob = try Tokens.create(in: store, principal: Staff(name: "bob"), name: "b").token
        try store.write { tx in tx.put("notes", "n1", ["text": "first"]) }
        // A token's first use records its `last_used_at` (a write: nothing made before it is kept).
        for token in [alice, bob] { _ = fullPath(.get, "/api/notes/n1/uncached", token: token) }
    }

    /// The full path, as the worker takes it when nothing is kept.
    func fullPath(
        _ method: HTTPMethod, _ path: String, token: String?, headers: HTTPFields = [:], body: JSON? = nil
    ) -> HTTPResponse {
        var fields = headers
        if let token { fields[.authorization] = "Bearer \(token)" }
        let parts = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let response = application.handle(
            HTTPRequest(
                method: method, path: String(parts[0]), query: QueryParameters(parts.count > 1 ? String(parts[1]) : ""),
                headers: fields, body: body?.serialized() ?? [], requestID: "full"))
        _ = application.store.flushDeferredWrites()
        return response
    }

    func kept(
        _ path: String, token: String?, head: Bool = false, ifNoneMatch: String? = nil, version: String? = nil
    ) -> KeptAnswer? {
        let parts = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        return application.keptAnswer(
            head: head, path: String(parts[0]), query: parts.count > 1 ? String(parts[1]) : "",
            authorization: token.map { "Bearer \($0)" }, varying: [version], ifNoneMatch: ifNoneMatch,
            requestID: "kept-1"
        ).map(KeptAnswer.init)
    }

    @Test func aSecondGetIsTheKeptAnswerByteForByte() throws {
        #expect(kept("/api/notes/n1", token: alice) == nil, "nothing kept before the first GET")
        let first = fullPath(.get, "/api/notes/n1", token: alice)
        #expect(first.status == .ok)
        let again = try #require(kept("/api/notes/n1", token: alice))
        #expect(again.status == "200 OK")
        #expect(again.body == first.body)
        #expect(again.fields["etag"] == first.headers[.eTag])
        #expect(again.fields["x-request-id"] == "kept-1", "the request's own id, not the first one's")
        #expect(again.fields["content-length"] == String(first.body.count))
        #expect(again.fields["cache-control"] == "private")
        #expect(application.responseCache.hits == 1)
    }

    @Test func anotherCallerOrNoCredentialNeverGetsTheKeptAnswer() throws {
        _ = fullPath(.get, "/api/notes/n1", token: alice)
        #expect(kept("/api/notes/n1", token: bob) == nil)
        #expect(kept("/api/notes/n1", token: nil) == nil)
        #expect(kept("/api/notes/n1?x=1", token: alice) == nil, "the query is part of the key")
        let bobs = fullPath(.get, "/api/notes/n1", token: bob)
        #expect(try JSON.parse(bobs.body)["caller"] == "bob")
        #expect(try JSON.parse(try #require(kept("/api/notes/n1", token: bob)).body)["caller"] == "bob")
        #expect(try JSON.parse(try #require(kept("/api/notes/n1", token: alice)).body)["caller"] == "alice")
        #expect(fullPath(.get, "/api/notes/n1", token: "wrong").status == .unauthorized)
        #expect(kept("/api/notes/n1", token: "wrong") == nil, "a 401 is never kept")
    }

    @Test func aWriteToWhatTheAnswerReadEndsItOtherWritesDoNot() throws {
        _ = fullPath(.get, "/api/notes/n1", token: alice)
        #expect(kept("/api/notes/n1", token: alice) != nil)
        #expect(fullPath(.put, "/api/notes/n2", token: alice, body: ["text": "other"]).status == .ok)
        #expect(kept("/api/notes/n1", token: alice) != nil, "another record's write leaves it")
        #expect(fullPath(.put, "/api/notes/n1", token: alice, body: ["text": "mine"]).status == .ok)
        #expect(kept("/api/notes/n1", token: alice) == nil, "its own record's write ends it")
        _ = fullPath(.get, "/api/notes/n1", token: alice)
        // Another process's write, seen through the refresh the kept path makes first.
        let otherProcess = try Store(directory: directory)
        try otherProcess.write { tx in tx.put("notes", "n1", ["text": "changed"]) }
        #expect(kept("/api/notes/n1", token: alice) == nil)
        let fresh = fullPath(.get, "/api/notes/n1", token: alice)
        #expect(try JSON.parse(fresh.body)["note"]?["text"] == "changed")
        // A deletion, and a compaction (which replaces the view), end it too.
        try otherProcess.write { tx in tx.delete("notes", "n1") }
        #expect(kept("/api/notes/n1", token: alice) == nil)
        #expect(fullPath(.get, "/api/notes/n1", token: alice).status == .notFound)
        try otherProcess.write { tx in tx.put("notes", "n1", ["text": "again"]) }
        _ = fullPath(.get, "/api/notes/n1", token: alice)
        #expect(kept("/api/notes/n1", token: alice) != nil)
        _ = try otherProcess.compact()
        #expect(kept("/api/notes/n1", token: alice) == nil)
    }

    /// The answer read the caller's token record: a write to it (another token's does not) ends it.
    @Test func theCallersOwnTokenRecordIsADependency() throws {
        _ = fullPath(.get, "/api/notes/n1", token: alice)
        _ = fullPath(.get, "/api/notes/n1", token: bob)
        let bobsID = try #require(Tokens.list(in: application.store).first { $0.name == "b" }?.id)
        let otherProcess = try Store(directory: directory)
        try otherProcess.write { tx in
            guard var record = tx.get(Tokens.collection, bobsID) else { return }
            record["last_used_at"] = "2030-01-01T00:00:00.000000Z"
            tx.put(Tokens.collection, bobsID, record)
        }
        #expect(kept("/api/notes/n1", token: bob) == nil)
        #expect(kept("/api/notes/n1", token: alice) != nil)
    }

    @Test func aRevokedTokenLosesItsKeptAnswers() throws {
        let token = try Tokens.create(in: application.store, principal: Staff(name: "carol"), name: "c")
        _ = fullPath(.get, "/api/notes/n1", token: token.token)  // its first use records last_used_at
        _ = fullPath(.get, "/api/notes/n1", token: token.token)
        #expect(kept("/api/notes/n1", token: token.token) != nil)
        try Tokens.revoke(in: try Store(directory: directory), id: token.id)
        #expect(kept("/api/notes/n1", token: token.token) == nil)
        #expect(fullPath(.get, "/api/notes/n1", token: token.token).status == .unauthorized)
    }

    @Test func headAndIfNoneMatchAreAnsweredFromTheKeptAnswer() throws {
        let first = fullPath(.get, "/api/notes/n1", token: alice)
        let tag = try #require(first.headers[.eTag])
        let head = try #require(kept("/api/notes/n1", token: alice, head: true))
        #expect(head.status == "200 OK" && head.body.isEmpty)
        #expect(head.fields["content-length"] == String(first.body.count), "HEAD brings the GET's length")
        let notModified = try #require(kept("/api/notes/n1", token: alice, ifNoneMatch: "W/\(tag)"))
        #expect(notModified.status == "304 Not Modified" && notModified.body.isEmpty)
        #expect(notModified.fields["etag"] == tag && notModified.fields["cache-control"] == "private")
        #expect(notModified.fields["content-length"] == nil)
        let full304 = fullPath(.get, "/api/notes/n1", token: alice, headers: [.ifNoneMatch: tag])
        #expect(full304.status == .notModified && full304.headers[.eTag] == tag)
        #expect(kept("/api/notes/n1", token: alice, ifNoneMatch: "\"other\"")?.status == "200 OK")
    }

    @Test func anAnswerThatVariesOnAHeaderIsKeptPerValue() throws {
        #expect(application.varyingHeaders == [KeptNotesFamily.version])
        let one = fullPath(.get, "/api/notes/n1/versioned", token: alice, headers: [KeptNotesFamily.version: "1"])
        #expect(try JSON.parse(one.body)["version"] == "1")
        #expect(kept("/api/notes/n1/versioned", token: alice, version: "1")?.body == one.body)
        #expect(kept("/api/notes/n1/versioned", token: alice, version: "2") == nil)
        #expect(kept("/api/notes/n1/versioned", token: alice) == nil, "no header is a value of its own")
        _ = fullPath(.get, "/api/notes/n1/versioned", token: alice)
        #expect(try JSON.parse(try #require(kept("/api/notes/n1/versioned", token: alice)).body)["version"] == .null)
    }

    @Test func onlyDeclaredOperationsAndSuccessesAreKept() throws {
        _ = fullPath(.get, "/api/notes/n1/uncached", token: alice)
        #expect(kept("/api/notes/n1/uncached", token: alice) == nil)
        #expect(fullPath(.get, "/api/notes/missing", token: alice).status == .notFound)
        #expect(kept("/api/notes/missing", token: alice) == nil)
    }

    @Test func keptAnswersExpireAndStayWithinTheirBytes() throws {
        let small = SmallCache(version: application.store.version)
        let (cache, response, version) = (small.cache, small.response, small.version)
        func key(_ index: Int) -> ResponseCache.Key { small.key(index) }
        func keep(_ index: Int, madeUnder: Store.Version? = nil) { small.keep(index, madeUnder: madeUnder) }
        for index in 0..<100 { keep(index) }
        #expect(cache.count < 16, "two generations of at most 4 KiB of ~700-byte answers")
        #expect(cache.answer(for: key(99), now: 1) != nil)
        #expect(cache.answer(for: key(99), now: ResponseCache.maximumAgeNanoseconds) == nil, "too old")
        keep(98)
        cache.invalidate(.affected([.record(collection: "n", id: "97"), .collection("other")]))
        #expect(cache.answer(for: key(98), now: 1) != nil)
        cache.invalidate(.affected([.record(collection: "n", id: "98")]))
        #expect(cache.answer(for: key(98), now: 1) == nil)
        // A credential that expires bounds the answer's life (an OAuth2 access token's expiry).
        cache.keep(
            response, for: key(60), dependencies: [], madeUnder: version, current: version, now: 0, lifetime: 1_000)
        #expect(cache.answer(for: key(60), now: 999) != nil)
        #expect(cache.answer(for: key(60), now: 1_000) == nil, "not after the credential expired")
        cache.keep(
            response, for: key(61), dependencies: [], madeUnder: version, current: version, now: 0, lifetime: -5)
        #expect(cache.answer(for: key(61), now: 0) == nil, "an expired credential's answer is not kept")
        keep(50, madeUnder: Store.Version(generation: 9, epoch: 1, journalLength: 0))
        #expect(cache.answer(for: key(50), now: 1) == nil, "the store moved on while it was made: not kept")
    }
}

extension ResponseCacheTests {
    /// An answer asked for again moves from the older generation to the recent one; when that move
    /// fills the recent one, it must still be dropped by a change to what it read.
    @Test func aPromotedAnswerIsStillDroppedByItsDependencies() throws {
        let small = SmallCache(version: application.store.version)
        let cache = small.cache
        func key(_ index: Int) -> ResponseCache.Key { small.key(index) }
        func keep(_ index: Int) { small.keep(index) }
        keep(0)
        let cost = cache.recentBytes
        var index = 1
        while !cache.holds(key(0)).older {  // a rotation moves answer 0 to the older generation
            keep(index)
            index += 1
        }
        while cache.recentBytes + cost <= cache.generationCapacity {  // the recent one is full again
            keep(index)
            index += 1
        }
        #expect(cache.answer(for: key(0), now: 1) != nil)  // promoted: the recent generation rotates
        #expect(cache.holds(key(0)) == (true, false))
        cache.invalidate(.affected([.record(collection: "n", id: "0")]))
        #expect(cache.answer(for: key(0), now: 1) == nil, "a change to what it read drops it")
    }

    /// Making the same answer again and again (every 30 s, or after each change) lists it once.
    @Test func dependenciesStayBoundedWhenAnswersAreMadeAgain() throws {
        let cache = ResponseCache(capacityBytes: 1 << 20)
        let version = application.store.version
        let response = ConditionalRequest.withTag(HTTPResponse.json(["text": "x"]))
        let key = ResponseCache.key(path: "/n/1", query: "", authorization: nil)
        for round in 0..<1_000 {
            cache.keep(
                response, for: key,
                dependencies: [.record(collection: "tokens", id: "t"), .record(collection: "n", id: "\(round % 3)")],
                madeUnder: version, current: version, now: 0)
        }
        #expect(cache.count == 1)
        #expect(cache.dependencyCount == 2, "the token and the last record read, nothing left over")
    }
}

/// A kept answer's wire bytes, read back: the CGI status, the fields by lower-case name, the body.
struct KeptAnswer: Equatable {
    var status = ""
    var fields: [String: String] = [:]
    var body: [UInt8] = []

    init(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        let parts = text.components(separatedBy: "\r\n\r\n")
        for line in parts[0].components(separatedBy: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased(), value = line[line.index(colon, offsetBy: 2)...]
            if name == "status" { status = String(value) } else { fields[name] = String(value) }
        }
        body = Array(parts.dropFirst().joined(separator: "\r\n\r\n").utf8)
    }
}

/// A cache of 8 KiB (two generations of 4 KiB) filled with ~700-byte answers, each reading one
/// record of collection "n": the unit tests' view of `ResponseCache` without an application.
struct SmallCache {
    let cache = ResponseCache(capacityBytes: 8 * 1024)
    let version: Store.Version
    let response = ConditionalRequest.withTag(
        HTTPResponse.json(["text": .string(String(repeating: "x", count: 500))]))

    func key(_ index: Int) -> ResponseCache.Key {
        ResponseCache.key(path: "/n/\(index)", query: "", authorization: nil)
    }

    func keep(_ index: Int, madeUnder: Store.Version? = nil) {
        cache.keep(
            response, for: key(index), dependencies: [.record(collection: "n", id: "\(index)")],
            madeUnder: madeUnder ?? version, current: version, now: 0)
    }
}
