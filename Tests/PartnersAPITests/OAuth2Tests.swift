import APICore
import HTTP
import JSON
import Store
import TestClient
import Testing

@testable import PartnersAPI

/// OAuth2 as Ulule documents it: client credentials at /oauth2/token/ (HTTP Basic), Bearer
/// access tokens that expire, refresh tokens, API keys that only read.
@Suite struct OAuth2Tests {
    let client: TestClient
    let staffKey: String
    let app: (id: String, secret: String)

    init() throws {
        client = try TestClient()
        staffKey = try client.token(for: Staff(name: "test staff"))
        app = try OAuth2.registerClient(in: client.store, principal: .staff(Staff(name: "app")), name: "Staff app")
    }

    /// A form-encoded POST to the token endpoint, as Ulule's examples send it.
    /// The token endpoint's answer (TestClient.send speaks JSON bodies only).
    struct Answer {
        let response: HTTPResponse
        var status: Int { response.status.code }
        var json: JSON? { try? JSON.parse(response.body) }
        func header(_ name: String) -> String? { response.headers[HTTPField.Name(name)!] }
    }

    func token(_ form: String, id: String? = nil, secret: String? = nil) -> Answer {
        var headers = HTTPFields()
        let credentials = Array("\(id ?? app.id):\(secret ?? app.secret)".utf8)
        headers[.authorization] = "Basic " + base64(credentials)
        headers[.contentType] = "application/x-www-form-urlencoded"
        let request = HTTPRequest(
            method: .post, path: "/oauth2/token/", query: QueryParameters(""), headers: headers, body: Array(form.utf8),
            requestID: "oauth")
        let response = client.application.handle(request)
        _ = client.store.flushDeferredWrites()
        return Answer(response: response)
    }

    func base64(_ bytes: [UInt8]) -> String {
        Crypto.base64URL(bytes).replacingSlashes() + String(repeating: "=", count: (3 - bytes.count % 3) % 3)
    }

    func project() throws -> Int {
        let owner = client.send(.post, "/v1/admin/users", token: staffKey, json: ["name": "Owner"]).json?["id"]
        let created = client.send(
            .post, "/v1/admin/projects", token: staffKey,
            json: ["name": "P", "slug": "p", "owner_id": owner ?? .null, "status": "online"])
        return try #require(created.json?["id"]?.intValue)
    }

    @Test func clientCredentialsGiveABearerTokenThatWritesAndAnAPIKeyOnlyReads() throws {
        let granted = token("grant_type=client_credentials")
        #expect(granted.status == 200)
        let body = try #require(granted.json)
        #expect(body["token_type"] == "Bearer" && body["expires_in"] == 36000 && body["scope"] == "read write")
        let access = try #require(body["access_token"]?.stringValue)
        #expect(body["refresh_token"]?.stringValue?.hasPrefix("prt_") == true)
        let written = client.send(
            .post, "/v1/admin/users", token: access, scheme: "Bearer", json: ["name": "Via OAuth"])
        #expect(written.status == 201)
        // The API key reads, and may not write with the APIKey word.
        let projectID = try project()
        #expect(client.get("/v1/projects/\(projectID)/partnerships", token: staffKey, scheme: "APIKey").status == 200)
        let refused = client.send(.post, "/v1/admin/users", token: staffKey, scheme: "APIKey", json: ["name": "No"])
        #expect(refused.status == 403)
        #expect(
            refused.json?.arrayValue?.first?["message"]
                == "An API key only reads: writes need an OAuth2 access token (Authorization: Bearer <token>).")
        // An access token is no API key.
        #expect(client.get("/v1/projects/\(projectID)/partnerships", token: access, scheme: "APIKey").status == 401)
        // Secrets and tokens are stored hashed only.
        let stored = (client.store.all(OAuth2.tokens) + client.store.all(OAuth2.clients)).map { $0.text }.joined()
        #expect(!stored.contains(access) && !stored.contains(app.secret))
    }

    @Test func aRefreshTokenGetsNewAccessTokensForItsClientOnly() throws {
        let first = try #require(token("grant_type=client_credentials").json)
        let refresh = try #require(first["refresh_token"]?.stringValue)
        let renewed = token("grant_type=refresh_token&refresh_token=\(refresh)")
        #expect(renewed.status == 200)
        #expect(renewed.json?["refresh_token"]?.stringValue == refresh, "the refresh token stays valid")
        #expect(renewed.json?["access_token"] != first["access_token"])
        let access = try #require(renewed.json?["access_token"]?.stringValue)
        #expect(client.send(.post, "/v1/admin/users", token: access, json: ["name": "Renewed"]).status == 201)
        let other = try OAuth2.registerClient(in: client.store, principal: .user(id: 1), name: "Other app")
        let stolen = token("grant_type=refresh_token&refresh_token=\(refresh)", id: other.id, secret: other.secret)
        #expect(stolen.status == 400 && stolen.json?["error"] == "invalid_grant")
        // An access token is not a refresh token.
        #expect(token("grant_type=refresh_token&refresh_token=\(access)").json?["error"] == "invalid_grant")
    }

    @Test func theTokenEndpointAnswersInOAuth2sErrorFormat() {
        let wrong = token("grant_type=client_credentials", secret: "pcs_wrong")
        #expect(wrong.status == 401 && wrong.json?["error"] == "invalid_client")
        #expect(wrong.header("WWW-Authenticate") == "Basic realm=\"partnerships\"")
        #expect(token("").status == 400 && token("").json?["error"] == "invalid_request")
        let password = token("grant_type=password&username=a&password=b")
        #expect(password.status == 400 && password.json?["error"] == "unsupported_grant_type")
        #expect(OAuth2.base64Decoded("YWJjOmRlZg==") == Array("abc:def".utf8))
        #expect(OAuth2.base64Decoded("YWJj*") == nil && OAuth2.base64Decoded("YW=Jj") == nil)
    }

    @Test func anExpiredAccessTokenOrARevokedClientIsRefused() throws {
        let access = try #require(token("grant_type=client_credentials").json?["access_token"]?.stringValue)
        try client.store.write { tx in
            let record = try #require(OAuth2.record(access, kind: "access", client.store))
            var expired = record
            expired["expires_at"] = .string(Timestamp(microseconds: Timestamp.now().microseconds - 1).storageText)
            tx.put(OAuth2.tokens, record["id"]?.stringValue ?? "", expired)
        }
        let refused = client.send(.post, "/v1/admin/users", token: access, json: ["name": "Late"])
        #expect(refused.status == 401)
        #expect(
            refused.json?.arrayValue?.first?["message"]
                == "The access token has expired: get a new one from /oauth2/token/.")
        let fresh = try #require(token("grant_type=client_credentials").json?["access_token"]?.stringValue)
        try OAuth2.revokeClient(in: client.store, id: app.id)
        #expect(client.send(.post, "/v1/admin/users", token: fresh, json: ["name": "Gone"]).status == 401)
        #expect(token("grant_type=client_credentials").status == 401)
    }
}

extension String {
    /// base64url back to base64's alphabet.
    fileprivate func replacingSlashes() -> String {
        String(map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 })
    }
}
