import APICore
import FastCGI
import HTTP
import Store
import WorkerPool

/// Per worker: the wire bytes of recent answers to GETs whose operation declares
/// `ResponseCaching.untilStoreChanges`, so that asking again costs a hash and a copy instead of
/// routing, authentication, record decoding and JSON serialization (issue 15: ~200k instructions
/// a GET one, ~20k from here).
///
/// An answer is kept with what its making read (`Store.readLog`: records, index keys, collections)
/// and dropped as soon as the store applies a change to any of them (`Store.changeObserver`): a
/// write by this worker, or by another process once `Store.refresh()` catches up with it, which
/// happens before a kept answer is looked up. A compaction or restore drops them all. So an
/// answer is never older than what the full path would give. Keys hold the SHA-256 of the `Authorization`
/// header, never the header itself (no plaintext credential in memory), so one caller's answer is
/// never another's. Bounded by bytes: two generations of entries (the recent one and the one
/// before it), the older dropped when the recent one is full; an entry found in the older is
/// moved to the recent one, which keeps the answers asked for often.
public final class ResponseCache {
    /// A kept answer is made again at least this often: authentication runs again then (it records
    /// `last_used_at`, within its own 5-minute resolution).
    public static let maximumAgeNanoseconds = 30_000_000_000

    struct Key: Hashable {
        let path: String
        let query: String
        let credential: SHA256Digest?
        /// The values of the headers some kept operation varies on (`ResponseCaching.varyingOn`).
        let varying: [String?]
    }

    struct Answer {
        /// Monotonic nanoseconds after which it is made again.
        let expiresAt: Int
        let entityTag: String
        /// `Status: 200 OK` and the fields (ETag and Content-Length among them), each line ended;
        /// X-Request-Id and the blank line are added per request.
        let head: [UInt8]
        /// The 304's head for a client that has the tag already (RFC 9110 15.4.5: the ETag, and
        /// Cache-Control and Vary when the 200 had them).
        let notModifiedHead: [UInt8]
        let body: [UInt8]
        let dependencies: [StoreDependency]

        var cost: Int { head.count + notModifiedHead.count + body.count + 160 + dependencies.count * 64 }
    }

    let generationCapacity: Int
    private var recent: [Key: Answer] = [:]
    private var older: [Key: Answer] = [:]
    /// The keys of the kept answers (recent and older) that read each dependency.
    private var dependents: [StoreDependency: Set<Key>] = [:]
    private(set) var recentBytes = 0
    public private(set) var hits = 0

    /// `capacityBytes` bounds the bytes of every kept answer together (0: keep nothing).
    public init(capacityBytes: Int) {
        generationCapacity = capacityBytes / 2
    }

    var isEnabled: Bool { generationCapacity > 0 }
    var count: Int { recent.count + older.count }

    static func key(path: String, query: String, authorization: String?, varying: [String?] = []) -> Key {
        guard var authorization else { return Key(path: path, query: query, credential: nil, varying: varying) }
        return Key(
            path: path, query: query, credential: authorization.withUTF8 { Crypto.sha256($0) }, varying: varying)
    }

    /// The answer kept for `key`, if any (the store caught up first: see `Application.keptAnswer`).
    func answer(for key: Key, now: Int) -> Answer? {
        guard isEnabled else { return nil }
        if let found = recent[key] {
            guard now < found.expiresAt else {
                drop(key)
                return nil
            }
            hits += 1
            return found
        }
        if let found = older.removeValue(forKey: key) {
            guard now < found.expiresAt else {
                unregister(key, found)
                return nil
            }
            insert(found, for: key)  // still registered under its dependencies
            hits += 1
            return found
        }
        return nil
    }

    /// Keeps a 200 answer (with its ETag) made under `madeUnder` from the reads in `dependencies`,
    /// unless the store moved on while it was made (a change then was not seen by `invalidate`).
    func keep(
        _ response: HTTPResponse, for key: Key, dependencies: [StoreDependency], madeUnder: Store.Version,
        current: Store.Version, now: Int, lifetime: Int? = nil
    ) {
        // `lifetime`: nanoseconds until the caller's credential expires, when it does.
        let lifetime = min(lifetime ?? Self.maximumAgeNanoseconds, Self.maximumAgeNanoseconds)
        guard isEnabled, response.status == .ok, madeUnder == current, lifetime > 0,
            let entityTag = response.headers[.eTag]
        else { return }
        let head = CGIResponse.head(
            status: 200, reason: "OK", headers: response.headers, contentLength: response.body.count)
        let notModified = CGIResponse.head(
            status: 304, reason: "Not Modified",
            headers: ConditionalRequest.notModifiedFields(of: response, entityTag: entityTag), contentLength: nil)
        let answer = Answer(
            expiresAt: now + lifetime, entityTag: entityTag, head: head, notModifiedHead: notModified,
            body: response.body, dependencies: Array(Set(dependencies)))
        guard answer.cost <= generationCapacity else { return }
        drop(key)
        insert(answer, for: key)
        register(key, answer)
    }

    /// Into the recent generation; when it is full, the older one is dropped and the recent one
    /// takes its place. A key is in one generation at most.
    private func insert(_ answer: Answer, for key: Key) {
        if recentBytes + answer.cost > generationCapacity {
            for (dropped, droppedAnswer) in older { unregister(dropped, droppedAnswer) }
            older = recent
            recent = [:]
            recent.reserveCapacity(older.count)
            recentBytes = 0
        }
        recent[key] = answer
        recentBytes += answer.cost
    }

    /// `dependents` lists exactly the kept answers (recent and older) under each dependency.
    private func register(_ key: Key, _ answer: Answer) {
        for dependency in answer.dependencies { dependents[dependency, default: []].insert(key) }
    }

    private func unregister(_ key: Key, _ answer: Answer) {
        for dependency in answer.dependencies {
            dependents[dependency]?.remove(key)
            if dependents[dependency]?.isEmpty == true { dependents[dependency] = nil }
        }
    }

    private func drop(_ key: Key) {
        if let dropped = recent.removeValue(forKey: key) {
            recentBytes -= dropped.cost
            unregister(key, dropped)
        }
        if let dropped = older.removeValue(forKey: key) { unregister(key, dropped) }
    }

    /// What the store applied: the answers that read any of it are dropped.
    func invalidate(_ change: StoreChange) {
        guard isEnabled, !recent.isEmpty || !older.isEmpty else { return }
        switch change {
        case .everything:
            recent.removeAll(keepingCapacity: true)
            older.removeAll()
            dependents.removeAll()
            recentBytes = 0
        case .affected(let dependencies):
            for dependency in dependencies {
                guard let keys = dependents[dependency] else { continue }
                for key in keys { drop(key) }
            }
        }
    }

    /// Dependencies with at least one kept answer listed (for tests: it stays bounded).
    var dependencyCount: Int { dependents.count }
    /// Which generation holds `key` (for tests).
    func holds(_ key: Key) -> (recent: Bool, older: Bool) { (recent[key] != nil, older[key] != nil) }

    /// The wire bytes for one request: the 200 (a HEAD without its body) or, when `ifNoneMatch`
    /// names the tag, the 304.
    static func wireBytes(of answer: Answer, head isHead: Bool, ifNoneMatch: String?, requestID: String) -> [UInt8] {
        let notModified = ifNoneMatch.map { ConditionalRequest.listMatches($0, answer.entityTag, weak: true) } ?? false
        let head = notModified ? answer.notModifiedHead : answer.head
        let sendsBody = !notModified && !isHead
        var out: [UInt8] = []
        out.reserveCapacity(head.count + requestID.utf8.count + 20 + (sendsBody ? answer.body.count : 0))
        out.append(contentsOf: head)
        CGIResponse.appendField(HTTPField.Name.requestID.rawName, requestID, to: &out)
        out.append(contentsOf: [0x0D, 0x0A])
        if sendsBody { out.append(contentsOf: answer.body) }
        return out
    }
}
