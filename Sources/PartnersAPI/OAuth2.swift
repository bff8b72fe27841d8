import APICore
import HTTP
import JSON
import Store

/// OAuth2 as Ulule documents it: a registered client (id and secret, made with
/// `partnerships token oauth-client create`) posts to `/oauth2/token/` with HTTP Basic client
/// credentials and gets a Bearer access token that expires after 10 hours, with a refresh token
/// that gets new ones. A client acts as the principal it was registered for (staff, or a partner
/// user). Secrets and tokens are stored as SHA-256 hashes only, as API keys are.
public enum OAuth2 {
    static let clients = "pa_oauth_clients"
    static let tokens = "pa_oauth_tokens"
    static let indexes = [
        IndexDefinition(collection: tokens, name: "by_hash") { [$0["token_hash"]?.stringValue ?? ""] }
    ]
    /// Ulule: "Access tokens expire after 10 hours."
    static let accessLifetimeSeconds = 36_000
    /// Where clients get tokens (Ulule's path, trailing slash included).
    public static let tokenPath = "/oauth2/token/"

    /// Registers a client acting as `principal`; returns its id and secret (shown once).
    public static func registerClient(
        in store: Store, principal: PartnersPrincipal, name: String
    ) throws -> (id: String, secret: String) {
        let id = "pcl_" + Crypto.base64URL(Crypto.randomBytes(12))
        let secret = "pcs_" + Crypto.base64URL(Crypto.randomBytes(32))
        try store.write { tx in
            tx.put(
                clients, id,
                [
                    "id": .string(id), "name": .string(name), "secret_hash": .string(Crypto.sha256Hex(secret)),
                    "principal": principal.stored, "created_at": .string(Timestamp.now().storageText),
                    "revoked_at": .null,
                ])
        }
        return (id, secret)
    }

    /// Revokes a client: its tokens stop working on the next request. False if there is no such client.
    @discardableResult
    public static func revokeClient(in store: Store, id: String) throws -> Bool {
        try Tokens.markRevoked(clients, id, in: store)
    }

    /// "pcl_… Acme app (partners user 4), created …, active".
    public static func listClients(in store: Store) -> [String] {
        store.all(clients).map { record in
            let state = record["revoked_at"]?.stringValue.map { "revoked \($0)" } ?? "active"
            return
                "\(record["id"]?.stringValue ?? "?")  \"\(record["name"]?.stringValue ?? "")\"  \(Tokens.describe(record["principal"] ?? .null))  created \(record["created_at"]?.stringValue ?? "")  \(state)"
        }
    }

    /// An active client whose secret matches, or nil.
    static func client(id: String, secret: String, _ store: Store) -> JSON? {
        guard id.utf8.count <= 100, secret.utf8.count <= 256, let record = store.get(clients, id),
            let stored = record["secret_hash"]?.stringValue,
            Crypto.constantTimeEquals(stored, Crypto.sha256Hex(secret)), record["revoked_at"]?.isNull ?? true
        else { return nil }
        return record
    }

    static func isActiveClient(_ id: String?, _ store: Store) -> Bool {
        guard let id, let record = store.get(clients, id) else { return false }
        return record["revoked_at"]?.isNull ?? true
    }

    /// An OAuth2 access token's stored principal; nil when the text is no access token of ours.
    /// An expired one, or one of a revoked client, is the 401 with a message that says so.
    static func principal(
        accessToken token: String, _ store: Store, now: Timestamp = .now()
    ) throws -> (principal: JSON, expires: Timestamp)? {
        guard token.hasPrefix("pat_"), let record = record(token, kind: "access", store) else { return nil }
        guard isActiveClient(record["client_id"]?.stringValue, store) else { throw Failure.unauthorized }
        let expires = record["expires_at"]?.stringValue.flatMap(Timestamp.parse) ?? Timestamp(microseconds: 0)
        guard now < expires else {
            throw APIError(
                .unauthorized, status: .unauthorized, title: "Unauthorized",
                detail: "The access token has expired: get a new one from \(tokenPath).")
        }
        guard let principal = record["principal"] else { return nil }
        return (principal, expires)
    }

    static func record(_ token: String, kind: String, _ store: Store) -> JSON? {
        guard token.utf8.count <= 256 else { return nil }
        let hash = Crypto.sha256Hex(token)
        return store.lookupRecords(tokens, index: "by_hash", key: hash).first {
            $0["kind"]?.stringValue == kind && Crypto.constantTimeEquals($0["token_hash"]?.stringValue ?? "", hash)
        }
    }

    // MARK: the token endpoint

    /// `POST /oauth2/token/`: answers in OAuth2's own format (RFC 6749 section 5), which OAuth2
    /// client libraries read, not in the v1 error list.
    static func token(_ context: RequestContext) throws -> HTTPResponse {
        let request = context.request
        guard let (id, secret) = basicCredentials(request.header(.authorization)),
            let client = client(id: id, secret: secret, context.store)
        else {
            var response = failure(
                "invalid_client", "Client authentication failed: send HTTP Basic client_id:client_secret.",
                status: .unauthorized)
            response.headers[.wwwAuthenticate] = "Basic realm=\"partnerships\""
            return response
        }
        let form = QueryParameters(String(decoding: request.body, as: UTF8.self))
        switch form["grant_type"] {
        case nil:
            return failure("invalid_request", "grant_type is required.")
        case "client_credentials":
            return granted(try issue(client, refresh: nil, context.store))
        case "refresh_token":
            guard let text = form["refresh_token"], let refresh = record(text, kind: "refresh", context.store),
                refresh["client_id"] == client["id"], refresh["revoked_at"]?.isNull ?? true
            else { return failure("invalid_grant", "The refresh token is not valid for this client.") }
            return granted(try issue(client, refresh: text, context.store))
        case let other?:
            return failure(
                "unsupported_grant_type",
                "grant_type \"\(other)\" is not offered: use client_credentials or refresh_token.")
        }
    }

    /// A new access token for the client, and a refresh token: a new one for client credentials,
    /// the same one on a refresh (it stays valid, as Ulule's refresh example expects).
    static func issue(_ client: JSON, refresh: String?, _ store: Store) throws -> (access: String, refresh: String) {
        let access = "pat_" + Crypto.base64URL(Crypto.randomBytes(32))
        let refreshToken = refresh ?? "prt_" + Crypto.base64URL(Crypto.randomBytes(32))
        let now = Timestamp.now()
        let expires = Timestamp(microseconds: now.microseconds + accessLifetimeSeconds * 1_000_000)
        try store.write { tx in
            var issued: [(String, String, JSON)] = [(access, "access", .string(expires.storageText))]
            if refresh == nil { issued.append((refreshToken, "refresh", .null)) }
            for (token, kind, expiresAt) in issued {
                let id = Crypto.uuid()
                tx.put(
                    tokens, id,
                    [
                        "id": .string(id), "kind": .string(kind), "token_hash": .string(Crypto.sha256Hex(token)),
                        "client_id": client["id"] ?? .null, "principal": client["principal"] ?? .null,
                        "created_at": .string(now.storageText), "expires_at": expiresAt, "revoked_at": .null,
                    ])
            }
        }
        return (access, refreshToken)
    }

    /// (`Cache-Control: no-store`, which RFC 6749 asks of these answers, is nginx's on every API
    /// response: snippets/no-store.conf.)
    static func granted(_ tokens: (access: String, refresh: String)) -> HTTPResponse {
        HTTPResponse.json([
            "access_token": .string(tokens.access), "expires_in": .int(accessLifetimeSeconds),
            "refresh_token": .string(tokens.refresh), "scope": "read write", "token_type": "Bearer",
        ])
    }

    static func failure(_ code: String, _ description: String, status: HTTPStatus = .badRequest) -> HTTPResponse {
        HTTPResponse.json(["error": .string(code), "error_description": .string(description)], status: status)
    }

    /// `Basic base64(id:secret)` → (id, secret).
    static func basicCredentials(_ header: String?) -> (String, String)? {
        guard let encoded = Tokens.credential(from: header, schemes: ["Basic"]),
            let decoded = base64Decoded(encoded).map({ String(decoding: $0, as: UTF8.self) }),
            let colon = decoded.firstIndex(of: ":")
        else { return nil }
        return (String(decoded[..<colon]), String(decoded[decoded.index(after: colon)...]))
    }

    /// Standard base64 (RFC 4648 section 4, padding optional); nil for anything else.
    static func base64Decoded(_ text: String) -> [UInt8]? {
        var value: UInt32 = 0, bits = 0
        var bytes: [UInt8] = []
        let body = text.utf8.prefix { $0 != UInt8(ascii: "=") }
        guard text.utf8.dropFirst(body.count).allSatisfy({ $0 == UInt8(ascii: "=") }) else { return nil }
        for byte in body {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): digit = byte - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): digit = byte - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"): digit = 62
            case UInt8(ascii: "/"): digit = 63
            default: return nil
            }
            value = value << 6 | UInt32(digit)
            bits += 6
            if bits >= 8 {
                bits -= 8
                bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(bits)))
            }
        }
        return bytes
    }
}
