import APICore
import JSON
import LeadProviderAPI
import PartnersAPI
import TestClient
import Testing

/// The Partners API's roles and its one-default rule through the whole application in-process.
@Suite struct PartnersRulesTests {
    let client: TestClient
    let staff: String

    init() throws {
        client = try TestClient()
        staff = try client.token(for: Staff(name: "test staff"))
    }

    func admin(_ path: String, _ body: JSON) throws -> JSON {
        let response = client.send(.post, "/v1/admin/\(path)", token: staff, scheme: "Bearer", json: body)
        #expect(response.status == 201, "\(path): \(response.json?.text ?? "")")
        return response.json ?? .null
    }

    /// A partner with one member, a project owned by another user, and two partnerships of the project.
    func world() throws -> (member: Int, owner: Int, project: Int, partnerships: [Int]) {
        let member = try #require(try admin("users", ["name": "Member"])["id"]?.intValue)
        let owner = try #require(try admin("users", ["name": "Owner"])["id"]?.intValue)
        let partner = try #require(try admin("partners", ["name": "Partner", "slug": "partner"])["id"]?.intValue)
        let other = try #require(try admin("partners", ["name": "Other", "slug": "other"])["id"]?.intValue)
        _ = try admin("partners/\(partner)/members", ["user_id": .int(member)])
        let project = try #require(
            try admin("projects", ["name": "Project", "slug": "project", "owner_id": .int(owner)])["id"]?.intValue)
        var partnerships: [Int] = []
        for (id, isDefault) in [(partner, true), (other, false)] {
            let created = client.send(
                .post, "/v1/projects/\(project)/partnerships", token: staff, scheme: "Bearer",
                json: ["partner_id": .int(id), "is_default": .bool(isDefault)])
            #expect(created.status == 201)
            partnerships.append(try #require(created.json?["id"]?.intValue))
        }
        return (member, owner, project, partnerships)
    }

    @Test func rolesAreCheckedBeforeTheRecordIsLookedUp() throws {
        let (member, _, project, partnerships) = try world()
        let memberToken = try client.token(for: PartnersPrincipal.user(id: member))
        let leadProviderToken = try client.token(for: LeadProviderPrincipal.leadProvider(id: "lp"))
        #expect(client.get("/v1/partnerships/\(partnerships[0])").status == 401)
        #expect(client.get("/v1/partnerships/\(partnerships[0])", token: leadProviderToken).status == 401)
        #expect(client.get("/v1/partnerships/\(partnerships[0])", token: memberToken, scheme: "APIKey").status == 200)
        // The member's partner is not in the second partnership: 403, not its content.
        #expect(client.get("/v1/partnerships/\(partnerships[1])", token: memberToken, scheme: "APIKey").status == 403)
        // Staff only: refused before the (missing) record is looked up.
        let refused = client.send(.delete, "/v1/partnerships/999999", token: memberToken, scheme: "APIKey")
        #expect(refused.status == 403)
        #expect(refused.json?.arrayValue?.first?["classification"] == "PermissionError")
        #expect(client.get("/v1/projects/\(project)/partnerships", token: memberToken, scheme: "APIKey").status == 200)
    }

    @Test func makingAPartnershipTheDefaultClearsThePreviousDefault() throws {
        let (_, _, project, partnerships) = try world()
        let changed = client.send(
            .patch, "/v1/partnerships/\(partnerships[1])", token: staff, scheme: "Bearer", json: ["is_default": true])
        #expect(changed.status == 200)
        let listed =
            client.get("/v1/projects/\(project)/partnerships", token: staff, scheme: "APIKey").json?["partnerships"]?
            .arrayValue ?? []
        let defaults = listed.filter { $0["is_default"]?.boolValue == true }.map { $0["id"]?.intValue }
        #expect(defaults == [partnerships[1]])
    }
}
