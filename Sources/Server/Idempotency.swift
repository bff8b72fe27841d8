import APICore
import HTTP
import JSON
import Store

/// `Idempotency-Key` on POST, for every family at once. The first request with a key runs; its
/// writes and a record of its answer (status, body, location) become one journal line, so a crash
/// can never leave the change without the record or the record without the change. A retry with
/// the same key and the same request gets that answer again (`Idempotent-Replayed: true`); the
/// same key with another request gets 422. Keys are scoped by credential (the `Authorization`
/// header's hash: one tenant's key never meets another's) and kept 24 hours.
enum Idempotency {
    static let collection = "idempotency_keys"
    static let retentionMicroseconds = 24 * 3600 * 1_000_000
    static let indexes = [
        IndexDefinition(collection: collection, name: "by_scope", order: { $0["created_at"]?.stringValue ?? "" }) {
            [$0["scope"]?.stringValue ?? ""]
        }
    ]

    struct Key {
        let recordID: String
        let scope: String
        let fingerprint: String
    }

    enum Found {
        case replay(HTTPResponse)
        case reusedWithAnotherRequest
    }

    /// Thrown from inside the write lock when a concurrent request with the same key got there
    /// first: this one must not run.
    struct AlreadyUsed: Error {
        let found: Found
    }

    /// The request's key, nil without the header, or the error for an unusable one.
    static func key(for request: HTTPRequest) throws(APIError) -> Key? {
        guard let text = request.header(.idempotencyKey) else { return nil }
        guard (1...255).contains(text.utf8.count), text.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) else {
            throw APIError.badRequest(
                "The Idempotency-Key header must be 1 to 255 visible ASCII characters (a UUID, say).")
        }
        let scope = Crypto.sha256Hex(request.header(.authorization) ?? "")
        var fingerprint = Array(
            "\(request.method.rawValue) \(request.path)?\(request.query.pairs.map { "\($0.name)=\($0.value)" }.joined(separator: "&"))\n"
                .utf8)
        fingerprint += request.body
        return Key(
            recordID: Crypto.sha256Hex(scope + "\n" + text), scope: scope, fingerprint: Crypto.sha256Hex(fingerprint))
    }

    /// What an earlier request with this key left, if it is still kept.
    static func lookup(_ key: Key, _ get: (String, String) -> JSON?, now: Timestamp) -> Found? {
        guard let record = get(collection, key.recordID), !isExpired(record, now: now) else { return nil }
        guard record["fingerprint"]?.stringValue == key.fingerprint else { return .reusedWithAnotherRequest }
        var headers: HTTPFields = [
            .contentType: record["content_type"]?.stringValue ?? "application/json; charset=utf-8",
            .idempotentReplayed: "true",
        ]
        if let location = record["location"]?.stringValue {
            headers[.location] = location
        }
        return .replay(
            HTTPResponse(
                status: HTTPStatus(code: record["status"]?.intValue ?? 200), headers: headers,
                body: Array((record["body"]?.stringValue ?? "").utf8)))
    }

    /// Records the answer (in the transaction of the request's own writes) and forgets a few of
    /// this credential's expired keys, so they never pile up.
    static func remember(
        _ key: Key, _ response: HTTPResponse, in transaction: inout Transaction, store: Store, now: Timestamp
    ) {
        var expired: [String] = []
        // Oldest first; under the write lock the store's view is current.
        store.forEach(collection, index: "by_scope", key: key.scope) { record in
            guard isExpired(record, now: now), let id = record["id"]?.stringValue else { return false }
            expired.append(id)
            return expired.count < 8
        }
        for id in expired where id != key.recordID { transaction.delete(collection, id) }
        let header = { (name: HTTPField.Name) in response.headers.first { $0.name == name }?.value }
        var record: JSONObject = [
            "id": .string(key.recordID), "scope": .string(key.scope), "fingerprint": .string(key.fingerprint),
            "created_at": .string(now.storageText), "status": .int(response.status.code),
            "body": .string(String(decoding: response.body, as: UTF8.self)),
        ]
        if let type = header(.contentType) { record["content_type"] = .string(type) }
        if let location = header(.location) { record["location"] = .string(location) }
        transaction.put(collection, key.recordID, .object(record))
    }

    private static func isExpired(_ record: JSON, now: Timestamp) -> Bool {
        guard let text = record["created_at"]?.stringValue, let created = Timestamp.parse(text) else { return true }
        return now.microseconds - created.microseconds > retentionMicroseconds
    }
}
