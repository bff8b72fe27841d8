import APICore
import JSON
import LeadProviderAPI
import PartnersAPI
import TestClient
import Testing

/// The Lead Provider API's rules through the whole application in-process (no nginx, no worker):
/// reference data through the staff endpoints, then the lead provider's view of it.
@Suite struct LeadProviderRulesTests {
    let client: TestClient
    let staff: String

    init() throws {
        client = try TestClient()
        staff = try client.token(for: Staff(name: "test staff"))
        for (year, opens) in [("2025", "2024-06-01T00:00:00Z"), ("2026", "2025-06-01T00:00:00Z")] {
            try admin(
                "cohorts",
                ["year": .string(year), "registration_opens_at": .string(opens), "registration_closes_at": .null])
        }
    }

    @discardableResult
    func admin(_ path: String, _ body: JSON) throws -> JSON {
        let response = client.send(.post, "/api/v3/admin/\(path)", token: staff, json: body)
        #expect(response.status == 201, "\(path): \(response.json?.text ?? "")")
        return try #require(response.json?["data"])
    }

    /// A lead provider linked with a delivery partner in both cohorts, a school eligible in both.
    func world() throws -> (provider: String, partner: String, school: String) {
        let provider = try #require(try admin("lead-providers", ["name": "Provider"])["id"]?.stringValue)
        let partner = try #require(try admin("delivery-partners", ["name": "Hub"])["id"]?.stringValue)
        for year in ["2025", "2026"] {
            try admin(
                "delivery-partner-links",
                [
                    "lead_provider_id": .string(provider), "delivery_partner_id": .string(partner),
                    "cohort": .string(year),
                ])
        }
        let school = try #require(
            try admin(
                "schools", ["urn": "100001", "name": "Ashford Primary", "funding_eligible_cohorts": ["2025", "2026"]])[
                    "id"]?.stringValue)
        return (provider, partner, school)
    }

    static func create(_ cohort: String, _ school: String, _ partner: String) -> JSON {
        [
            "data": [
                "type": "partnership",
                "attributes": [
                    "cohort": .string(cohort), "school_id": .string(school), "delivery_partner_id": .string(partner),
                ],
            ]
        ]
    }

    @Test func theRouterAsksForTheRightPrincipalBeforeAnyHandlerRuns() throws {
        let (provider, _, _) = try world()
        let leadProvider = try client.token(for: LeadProviderPrincipal.leadProvider(id: provider))
        let partnersUser = try client.token(for: PartnersPrincipal.user(id: 1))

        #expect(client.get("/api/v3/partnerships").json == ["error": "HTTP Token: Access denied"])
        #expect(client.get("/api/v3/partnerships").status == 401)
        // Another family's token is no credential here, whatever its scheme.
        #expect(client.get("/api/v3/partnerships", token: partnersUser).status == 401)
        // Staff may not use the lead providers' endpoints, nor lead providers the staff ones.
        #expect(client.get("/api/v3/partnerships", token: staff).status == 403)
        #expect(client.get("/api/v3/admin/cohorts", token: leadProvider).status == 403)
        #expect(client.get("/api/v3/partnerships", token: leadProvider).status == 200)
        #expect(client.get("/api/v3/admin/cohorts", token: staff).json?["data"]?.arrayValue?.count == 2)
    }

    @Test func aProviderConfirmsOnePartnershipPerSchoolAndCohort() throws {
        let (provider, partner, school) = try world()
        let token = try client.token(for: LeadProviderPrincipal.leadProvider(id: provider))
        let first = client.send(.post, "/api/v3/partnerships", token: token, json: Self.create("2025", school, partner))
        #expect(first.status == 200)
        #expect(first.json?["data"]?["attributes"]?["school_id"]?.stringValue == school)
        let again = client.send(.post, "/api/v3/partnerships", token: token, json: Self.create("2025", school, partner))
        #expect(again.status == 422)
        #expect(
            again.json?["errors"]?.arrayValue?.first?["detail"]?.stringValue
                == "You are already in a confirmed partnership with this school for the entered cohort.")
        #expect(
            client.send(.post, "/api/v3/partnerships", token: token, json: Self.create("2026", school, partner)).status
                == 200)
        #expect(
            client.get("/api/v3/partnerships?filter[cohort]=2026", token: token).json?["data"]?.arrayValue?.count == 1)
    }

    @Test func anotherProvidersPartnershipIsNotFound() throws {
        let (provider, partner, school) = try world()
        let owner = try client.token(for: LeadProviderPrincipal.leadProvider(id: provider))
        let id = try #require(
            client.send(.post, "/api/v3/partnerships", token: owner, json: Self.create("2025", school, partner))
                .json?["data"]?["id"]?.stringValue)
        let other = try #require(try admin("lead-providers", ["name": "Other"])["id"]?.stringValue)
        let stranger = try client.token(for: LeadProviderPrincipal.leadProvider(id: other))
        #expect(client.get("/api/v3/partnerships/\(id)", token: owner).status == 200)
        #expect(client.get("/api/v3/partnerships/\(id)", token: stranger).status == 404)
        #expect(client.get("/api/v3/partnerships", token: stranger).json?["data"] == [])
    }
}
