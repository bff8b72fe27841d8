import HTTP
import JSON
import Store
import Synchronization

/// How a family's principal is kept in a token's record: a JSON object whose `kind` names it
/// ("lead_provider", "partners_user", ...). Tokens are shared by every family; only the family
/// that owns a kind reads it, so a token of one family is no credential in another.
public protocol TokenPrincipal: Sendable {
    var stored: JSON { get }
    /// nil for a stored principal of another kind (another family's token).
    init?(stored: JSON)
}

extension TokenPrincipal {
    /// The principal behind the request's token for the family's scheme words, or `refusal` (the
    /// family's 401) when there is none, it is unknown or revoked, or it is another family's.
    public static func fromToken(
        _ context: RequestContext, schemes: [String], allowBare: Bool = false, otherwise refusal: APIError
    ) throws -> Self {
        guard
            let stored = Tokens.authenticate(
                context.request, store: context.store, schemes: schemes, allowBare: allowBare),
            let principal = Self(stored: stored)
        else { throw refusal }
        return principal
    }
}

/// Staff: DfE or platform operators, honoured by the families that have staff operations.
public struct Staff: TokenPrincipal, Equatable {
    public static let kind = "staff"
    public let name: String
    public init(name: String) { self.name = name }
    public init?(stored: JSON) {
        guard stored["kind"]?.stringValue == Self.kind else { return nil }
        name = stored["name"]?.stringValue ?? ""
    }
    public var stored: JSON { ["kind": .string(Self.kind), "name": .string(name)] }
}

/// API tokens shared by every family. Only the SHA-256 of a token is stored; the token itself is
/// shown once, at creation. Lookup goes through an index on the hash, and the final comparison is
/// constant-time.
public enum Tokens {
    public static let collection = "api_tokens"
    public static let indexes = [
        IndexDefinition(collection: collection, name: "by_hash") { [$0["token_hash"]?.stringValue ?? ""] }
    ]
    /// `last_used_at` is written at most this often per token: a store write per request would
    /// cost an fsync per request.
    public static let lastUsedResolutionMicroseconds = 300 * 1_000_000

    public struct Info: Sendable {
        public var id: String
        public var name: String
        /// As stored (see `TokenPrincipal`); `describe` renders it for people.
        public var principal: JSON
        public var createdAt: String
        public var lastUsedAt: String?
        public var revokedAt: String?
    }

    /// Creates a token; returns its id and the token text (shown once).
    public static func create(
        in store: Store, principal: any TokenPrincipal, name: String
    ) throws -> (id: String, token: String) {
        let token = "ptk_" + Crypto.base64URL(Crypto.randomBytes(32))
        let id = Crypto.uuid()
        let now = Timestamp.now().storageText
        try store.write { tx in
            tx.put(
                collection, id,
                [
                    "id": .string(id), "name": .string(name), "token_hash": .string(Crypto.sha256Hex(token)),
                    "principal": principal.stored, "created_at": .string(now), "last_used_at": .null,
                    "revoked_at": .null,
                ])
        }
        return (id, token)
    }

    /// Marks a token revoked; false if there is no such token.
    @discardableResult
    public static func revoke(in store: Store, id: String) throws -> Bool {
        try markRevoked(collection, id, in: store)
    }

    /// Stamps `revoked_at` on a credential's record (a token, an OAuth2 client); false if there is none.
    public static func markRevoked(_ collection: String, _ id: String, in store: Store) throws -> Bool {
        try store.write { tx in
            guard var record = tx.get(collection, id) else { return false }
            record["revoked_at"] = .string(Timestamp.now().storageText)
            tx.put(collection, id, record)
            return true
        }
    }

    public static func list(in store: Store) -> [Info] {
        store.all(collection).compactMap(info)
    }

    static func info(_ record: JSON) -> Info? {
        guard let id = record["id"]?.stringValue, let principal = record["principal"],
            principal["kind"]?.stringValue != nil
        else { return nil }
        return Info(
            id: id, name: record["name"]?.stringValue ?? "", principal: principal,
            createdAt: record["created_at"]?.stringValue ?? "", lastUsedAt: record["last_used_at"]?.stringValue,
            revokedAt: record["revoked_at"]?.stringValue)
    }

    /// "lead provider 7f3c...", "staff alice": a stored principal's kind and values, for people.
    public static func describe(_ principal: JSON) -> String {
        guard let object = principal.objectValue else { return "?" }
        let kind = (object["kind"]?.stringValue ?? "?").split(separator: "_").joined(separator: " ")
        let values = zip(object.keys, object.values).filter { $0.0 != "kind" }.map { _, value -> String in
            switch value {
            case .string(let text): return text
            case .array(let items): return "[" + items.compactMap(\.stringValue).joined(separator: ", ") + "]"
            default: return value.text
            }
        }
        return ([kind] + values).joined(separator: " ")
    }

    /// The stored principal behind the request's `Authorization` credential for the given scheme
    /// words, or nil (none, unknown, revoked). Families turn it into their own principal type.
    public static func authenticate(
        _ request: HTTPRequest, store: Store, schemes: [String], allowBare: Bool = false
    ) -> JSON? {
        guard let token = credential(from: request.header(.authorization), schemes: schemes, allowBare: allowBare)
        else { return nil }
        return authenticate(token, store: store)
    }

    /// The stored principal behind a presented token, or nil (unknown, revoked).
    public static func authenticate(_ token: String, store: Store) -> JSON? {
        guard !token.isEmpty, token.utf8.count <= 256 else { return nil }
        // Hashed on every request: a cache keyed by the token would keep plaintext tokens in memory
        // and compare them with ordinary (not constant-time) string equality.
        let hash = Crypto.sha256Hex(token)
        // The records with their lookup: one read, not two (a round trip each on PostgreSQL). A
        // token record carries its own id.
        for record in store.lookupRecords(collection, index: "by_hash", key: hash) {
            guard let id = record["id"]?.stringValue, let stored = record["token_hash"]?.stringValue,
                Crypto.constantTimeEquals(stored, hash), record["revoked_at"]?.isNull ?? true,
                let principal = record["principal"]
            else { continue }
            touch(id: id, record: record, store: store)
            return principal
        }
        return nil
    }

    private static func touch(id: String, record: JSON, store: Store) {
        let now = Timestamp.now()
        let stored = record["last_used_at"]?.stringValue
        if let last = recent.withLock({ $0.lastUsed(id: id, stored: stored) }),
            now.microseconds - last.microseconds < lastUsedResolutionMicroseconds
        {
            return
        }
        // After the request's own writes (see `Store.writeLater`): a failure to record usage must
        // not fail the request, and this write must not consume the request's If-Match check.
        store.writeLater { tx in
            guard var fresh = tx.get(collection, id) else { return }
            fresh["last_used_at"] = .string(now.storageText)
            tx.put(collection, id, fresh)
        }
    }

    /// Per process: the parsed `last_used_at` of the token records seen lately (keyed by record id,
    /// never by the token). Parsing it on every request was a visible part of a GET. Bounded: cleared when full.
    private static let recent = Mutex(RecentTokens())

    struct RecentTokens: ~Copyable {
        static let capacity = 256
        private var lastUsed: [String: (text: String, time: Timestamp)] = [:]

        /// The record's `last_used_at`, parsed once per value seen.
        mutating func lastUsed(id: String, stored: String?) -> Timestamp? {
            guard let stored else { return nil }
            if let cached = lastUsed[id], cached.text == stored { return cached.time }
            guard let time = Timestamp.parse(stored) else { return nil }
            if lastUsed.count >= Self.capacity { lastUsed.removeAll(keepingCapacity: true) }
            lastUsed[id] = (stored, time)
            return time
        }
    }

    /// The credential of an `Authorization` header for the given scheme words (`Bearer`,
    /// `APIKey`); with `allowBare`, a header holding only the key (the Directory API's style).
    public static func credential(from header: String?, schemes: [String], allowBare: Bool = false) -> String? {
        guard let header = header?.trimmingSpaces, !header.isEmpty else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        if parts.count == 2, schemes.contains(where: { asciiCaseInsensitiveEquals($0, parts[0]) }) {
            let value = String(parts[1]).trimmingSpaces
            return value.isEmpty ? nil : value
        }
        if allowBare && parts.count == 1 { return String(parts[0]) }
        return nil
    }
}

/// Scheme words are ASCII: compared without building lowercased copies on every request.
private func asciiCaseInsensitiveEquals(_ a: String, _ b: Substring) -> Bool {
    guard a.utf8.count == b.utf8.count else { return false }
    func folded(_ byte: UInt8) -> UInt8 { (65...90).contains(byte) ? byte + 32 : byte }
    return zip(a.utf8, b.utf8).allSatisfy { folded($0) == folded($1) }
}

extension StringProtocol {
    /// Without `character` at either end: `"--a-b--".trimming("-")` is `"a-b"`.
    public func trimming(_ character: Character) -> SubSequence {
        var s = self[...]
        while s.first == character { s = s.dropFirst() }
        while s.last == character { s = s.dropLast() }
        return s
    }
}

extension String {
    /// Without spaces and tabs at either end (a header value's optional whitespace, RFC 9110 5.6.3).
    public var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return String(s)
    }
}
