import APICore
import DirectoryAPI
import HTTP
import JSON
import TestClient
import Testing

/// The directory's settings and rules (issue 17), in-process: each test fails without its rule.
@Suite struct DirectoryRulesTests {
    let client: TestClient
    let organization: String
    let directory: String
    let staff: String

    init() throws {
        client = try TestClient()
        organization = try DirectoryAdmin.createOrganization(client.store, name: "Northwind", domain: "northwind.test")
        directory = try DirectoryAdmin.createDirectory(client.store, organization: organization, name: "Partners")
        staff = try DirectoryAdmin.createKey(
            client.store, organization: organization, permissions: ["generic_directory:*"], name: "staff"
        ).key
    }

    func key(_ permissions: [String]) throws -> String {
        try DirectoryAdmin.createKey(client.store, organization: organization, permissions: permissions, name: "t").key
    }

    var base: String { "/api/directory/private/v1alpha/directories/\(directory)/" }

    @discardableResult
    func call(_ method: HTTPMethod, _ path: String, _ body: JSON? = nil, key: String? = nil) -> TestResponse {
        client.send(method, base + path, token: key ?? staff, scheme: nil, json: body)
    }

    @Test func withApprovalRequiredAnEditorsPatchIsHeldNotApplied() throws {
        let editor = try key([
            "generic_directory:read_partner_entries", "generic_directory:update_partner_entries",
            "generic_directory:create_partner_entries",
        ])
        call(.patch, "settings/", ["requireEditApproval": true])
        let id = try #require(call(.post, "entries/partners/", ["title": "Quiet", "status": "hidden"]).json?["id"])
        let path = "entries/partners/\(id.stringValue ?? "")/"
        let held = call(.patch, path, ["status": "public"], key: editor)
        #expect(held.status == 202)
        #expect(held.json?["review"]?["status"] == "submitted")
        #expect(call(.get, path).json?["status"] == "hidden")
        #expect(call(.post, path + "callouts/", ["name": "Sneaky"], key: editor).status == 403)
        #expect(call(.patch, path, ["headline": "Staff"]).status == 200)
    }

    @Test func markingATierDefaultUnsetsTheOldOne() throws {
        let first = try #require(call(.post, "tiers/", ["title": "Gold", "default": true]).json?["id"]?.stringValue)
        let second = try #require(call(.post, "tiers/", ["title": "Silver", "default": true]).json?["id"]?.stringValue)
        #expect(call(.get, "tiers/\(first)/").json?["default"] == false)
        #expect(call(.post, "entries/apps/", ["title": "New"]).json?["tier"]?["id"] == .string(second))
    }

    @Test func aMisspeltFilterValueIsA400NamingTheChoices() {
        let response = call(.get, "entries/partners/?status=pubic")
        #expect(response.status == 400)
        #expect(response.json?["errors"]?["status"] == ["\"pubic\" is not a valid choice: use one of hidden, public."])
    }

    @Test func formFieldDefinitionsTakeOnlyTheKnownProperties() {
        let response = call(
            .post, "forms/contact-requests/",
            ["name": "Evil", "fields": [["name": "a", "type": "text", "onload": "<script>", "required": "yes"]]])
        #expect(response.status == 400)
        #expect(response.json?["errors"]?["fields"]?.arrayValue?.count == 2)
    }

    @Test func matchmakingIsRefusedWhileTurnedOff() {
        call(.patch, "settings/", ["matchmakingEnabled": false])
        let response = call(
            .post, "matchmaking-requests/", ["firstName": "Li", "lastName": "Wu", "email": "li@example.com"])
        #expect(response.status == 403)
    }

    @Test func organizationMatchesNameNoOtherTenant() throws {
        try DirectoryAdmin.createOrganization(client.store, name: "Contoso", domain: "contoso.test")
        let id = try #require(
            call(.post, "entries/partners/", ["title": "Probe", "website": "https://contoso.test"]).json?["id"]?
                .stringValue)
        #expect(call(.get, "entries/partners/\(id)/invites/organization-matches/").json?["results"] == [])
    }

    @Test func theContactRequestFormIsConfiguredWithoutAnID() {
        let configured = call(
            .put, "forms/contact-requests/", ["name": "Sales", "fields": [["name": "note", "type": "text"]]])
        #expect(configured.status == 200, "\(String(decoding: configured.body, as: UTF8.self))")
        #expect(call(.get, "forms/contact-requests/active/").json?["id"] == configured.json?["id"])
        #expect(call(.delete, "forms/contact-requests/").status == 204)
        #expect(call(.get, "forms/contact-requests/active/").json?["id"] == .null)
    }

    @Test func anErasureIsDeletedAndLoggedWithoutThePersonalData() throws {
        let entry = try #require(call(.post, "entries/partners/", ["title": "Erased"]).json?["id"]?.stringValue)
        let sent = call(
            .post, "contact-requests/",
            ["entry": .string(entry), "firstName": "Ana", "lastName": "Diaz", "email": "ana@example.com"])
        let request = try #require(sent.json?["id"]?.stringValue)
        #expect(call(.delete, "contact-requests/\(request)/").status == 204)
        #expect(call(.get, "contact-requests/\(request)/").status == 404)
        let log = call(.get, "audit-log/")
        #expect(log.json?["results"]?.arrayValue?.first?["record_id"] == .string(request))
        #expect(!String(decoding: log.body, as: UTF8.self).contains("ana@example.com"))
    }

    @Test func aFetchedEntryCanBeSentBackAsAnUpdate() throws {
        let id = try #require(call(.post, "entries/partners/", ["title": "Round"]).json?["id"]?.stringValue)
        let path = "entries/partners/\(id)/"
        let current = call(.get, path)
        var fetched = try #require(current.json)
        fetched["headline"] = "Changed"
        let updated = call(.patch, path, fetched)
        #expect(updated.status == 200, "\(String(decoding: updated.body, as: UTF8.self))")
        #expect(updated.json?["headline"] == "Changed")
    }
}
