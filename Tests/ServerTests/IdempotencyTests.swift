import APICore
import Foundation
import HTTP
import JSON
import Store
import Testing

@testable import Server

@Suite(.serialized) struct IdempotencyTests {
    let directory = NSTemporaryDirectory() + "idempotency-\(UUID().uuidString)"
    let application: Application
    let family = CounterFamily()
    let families: [any APIFamily]

    init() throws {
        families = [family]
        application = Application(
            families: families, store: try Store(directory: directory, indexes: Application.indexes(of: families)))
    }

    func create(
        _ app: Application? = nil, key: String?, value: Int = 1, as credential: String = "Bearer one"
    ) -> HTTPResponse {
        var headers: HTTPFields = [.authorization: credential]
        if let key { headers[.idempotencyKey] = key }
        return (app ?? application).handle(
            HTTPRequest(
                method: .post, path: "/api/counters", headers: headers,
                body: Array(#"{"value":\#(value)}"#.utf8)))
    }

    func header(_ response: HTTPResponse, _ name: String) -> String? {
        response.headers.first { $0.name.rawName == name }?.value
    }

    @Test func theSameKeyAndRequestReplayTheFirstAnswer() throws {
        let first = create(key: "k-1")
        #expect(first.status == .created)
        let again = create(key: "k-1")
        #expect(
            again.status == .created && again.body == first.body
                && header(again, "Location") == header(first, "Location"))
        #expect(header(again, "Idempotent-Replayed") == "true" && header(first, "Idempotent-Replayed") == nil)
        #expect(application.store.count("counters") == 1)
        #expect(create(key: "k-2").body != first.body, "another key is another request")
        #expect(
            create(key: nil).status == .created && create(key: nil).status == .created,
            "without a key nothing is remembered")
        #expect(application.store.count("counters") == 4)
    }

    @Test func theSameKeyWithAnotherRequestIsRefused() throws {
        #expect(create(key: "k", value: 1).status == .created)
        let other = create(key: "k", value: 2)
        #expect(other.status == .unprocessableContent)
        #expect(String(decoding: other.body, as: UTF8.self).contains("Idempotency-Key"))
        #expect(create(key: "k", value: 1, as: "Bearer two").status == .created, "keys are per credential")
        #expect(create(key: "", value: 1).status == .badRequest)
        #expect(create(key: String(repeating: "x", count: 256), value: 1).status == .badRequest)
        #expect(application.store.count("counters") == 2)
    }

    /// The change and the key's record are one journal line: no crash can keep one without the other.
    @Test func theRecordIsWrittenWithTheChange() throws {
        #expect(create(key: "atomic").status == .created)
        let journal = try String(contentsOfFile: directory + "/journal-0.jsonl", encoding: .utf8)
        // (After the last entry: the zeros written ahead of the journal's end.)
        let last = try #require(journal.split(separator: "\n").last { !$0.hasPrefix("\0") })
        #expect(last.contains(#""c":"counters""#) && last.contains(#""c":"idempotency_keys""#))
    }

    /// A retry that arrives while the first request runs (here: another worker answers it in the
    /// window between the first request's reads and its write) never makes a second record.
    @Test func aConcurrentRetryDoesNotRunTwice() throws {
        let otherWorker = Application(
            families: families, store: try Store(directory: directory, indexes: Application.indexes(of: families)))
        var retried: HTTPResponse?
        family.window.betweenReadAndWrite = { [family] in
            family.window.betweenReadAndWrite = nil
            try otherWorker.store.refresh()
            retried = create(otherWorker, key: "race")
        }
        let first = create(key: "race")
        #expect(retried?.status == .created)
        #expect(
            first.status == .created && first.body == retried?.body,
            "the slower request answers what the faster one did")
        try application.store.refresh()
        #expect(application.store.count("counters") == 1)
    }

    @Test func aFailedRequestIsNotRemembered() throws {
        let bad = application.handle(
            HTTPRequest(
                method: .post, path: "/api/counters", headers: [.idempotencyKey: "f"],
                body: Array(#"{"nope":1}"#.utf8)))
        #expect(bad.status == .unprocessableContent)
        #expect(application.store.count(Idempotency.collection) == 0)
    }
}
