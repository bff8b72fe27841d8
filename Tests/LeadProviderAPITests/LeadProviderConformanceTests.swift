import APICore
import HTTP
import JSON
import TestClient
import Testing

@testable import LeadProviderAPI

/// Where the served operations follow the real service rather than the official document's
/// examples (issue 16): ids compare as its uuid columns do, the request envelope is read as its
/// `params.require(:data).expect(attributes: [...])` reads it, its 401 and its timestamps.
extension LeadProviderRulesTests {
    static let badJSON: JSON = [
        "errors": [
            ["title": "Bad request", "detail": "Correct json data structure required. See API docs for reference."]
        ]
    ]

    @Test func idsAreCanonicalisedAsRailsCastsAUUID() {
        let id = "0b4f3c2a-9d1e-4f5a-8b7c-6d5e4f3a2b1c"
        for sent in [
            id, id.uppercased(), "0B4F3C2A-9d1e-4F5A-8b7c-6D5E4F3A2B1C", "{\(id)}",
            id.replacingOccurrences(of: "-", with: ""),
            "0b4f-3c2a-9d1e-4f5a-8b7c-6d5e-4f3a-2b1c", "{0B4F3C2A9D1E4F5A8B7C6D5E4F3A2B1C}",
        ] {
            #expect(LeadProviderID.canonical(sent) == id, "\(sent)")
        }
        // Not a uuid to Rails either: left as sent, so it matches no uuid.
        for sent in [
            "", "x", "{\(id)", "\(id)}", id + "0", String(id.dropLast()), "0b4f3c2a_9d1e_4f5a_8b7c_6d5e4f3a2b1c",
            "2025",
        ] {
            #expect(LeadProviderID.canonical(sent) == sent, "\(sent)")
        }
        #expect(LeadProviderID.canonicalList(" \(id.uppercased()) ,x") == [id, "x"])
    }

    @Test func upperCaseIdsFindTheSameRecordsAndAnswersShowTheStoredId() throws {
        let (provider, partner, school) = try world()
        let second = try #require(try admin("delivery-partners", ["name": "Second hub"])["id"]?.stringValue)
        try admin(
            "delivery-partner-links",
            [
                "lead_provider_id": .string(provider.uppercased()), "delivery_partner_id": .string(second),
                "cohort": "2025",
            ])
        let token = try client.token(for: LeadProviderPrincipal.leadProvider(id: provider))

        // In a body.
        let created = client.send(
            .post, "/api/v3/partnerships", token: token,
            json: Self.create("2025", school.uppercased(), partner.uppercased()))
        #expect(created.status == 200, "\(created.json?.text ?? "")")
        let attributes = try #require(created.json?["data"]?["attributes"])
        #expect(attributes["school_id"]?.stringValue == school)
        #expect(attributes["delivery_partner_id"]?.stringValue == partner)
        let id = try #require(created.json?["data"]?["id"]?.stringValue)

        // In a path.
        let shown = client.get("/api/v3/partnerships/\(id.uppercased())", token: token)
        #expect(shown.status == 200)
        #expect(shown.json?["data"]?["id"]?.stringValue == id)
        #expect(client.get("/api/v3/partnerships/{\(id)}", token: token).status == 200)
        #expect(client.get("/api/v3/delivery-partners/\(partner.uppercased())", token: token).status == 200)
        let schoolShown = client.get("/api/v3/schools/\(school.uppercased())?filter[cohort]=2025", token: token)
        #expect(schoolShown.status == 200)
        #expect(schoolShown.json?["data"]?["id"]?.stringValue == school)

        // In a filter.
        let filtered = client.get(
            "/api/v3/partnerships?filter[delivery_partner_id]=\(partner.uppercased())", token: token)
        #expect(filtered.json?["data"]?.arrayValue?.count == 1)

        // In a path and a body together.
        for method in [HTTPMethod.put, .patch] {
            let target = method == .put ? second : partner
            let changed = client.send(
                method, "/api/v3/partnerships/\(id.uppercased())", token: token,
                json: [
                    "data": [
                        "type": "partnership", "attributes": ["delivery_partner_id": .string(target.uppercased())],
                    ]
                ])
            #expect(changed.status == 200, "\(changed.json?.text ?? "")")
            #expect(changed.json?["data"]?["attributes"]?["delivery_partner_id"]?.stringValue == target)
        }

        // Staff paths and bodies too.
        let renamed = client.send(
            .patch, "/api/v3/admin/schools/\(school.uppercased())", token: staff, json: ["name": "Renamed"])
        #expect(renamed.status == 200)
        #expect(renamed.json?["data"]?["id"]?.stringValue == school)
        let participant = client.send(
            .post, "/api/v3/admin/participants", token: staff,
            json: [
                "school_id": .string(school.uppercased()), "cohort": "2025",
                "lead_provider_id": .string(provider.uppercased()),
                "training_programme": "provider_led",
            ])
        #expect(participant.status == 201)
        #expect(participant.json?["data"]?["attributes"]?["lead_provider_id"]?.stringValue == provider)
    }

    @Test func aBodyWithoutAttributesIsTheReferences400() throws {
        let (provider, partner, school) = try world()
        let token = try client.token(for: LeadProviderPrincipal.leadProvider(id: provider))
        let id = try #require(
            client.send(.post, "/api/v3/partnerships", token: token, json: Self.create("2025", school, partner))
                .json?["data"]?["id"]?.stringValue)
        let shapes: [JSON] = [
            [:], ["data": .null], ["data": "partnership"], ["data": [:]], ["data": ["type": "partnership"]],
            ["data": ["type": "partnership", "attributes": .null]],
            ["data": ["type": "partnership", "attributes": [:]]],
            ["data": ["type": "partnership", "attributes": []]], ["data": ["type": "partnership", "attributes": "x"]],
            // Only attributes the operation does not take, or values that are not scalars: nothing is left.
            ["data": ["type": "partnership", "attributes": ["urn": "100001", "unknown": 1]]],
            ["data": ["type": "partnership", "attributes": ["delivery_partner_id": [.string(partner)]]]],
            ["data": ["type": "partnership", "attributes": ["delivery_partner_id": ["id": .string(partner)]]]],
        ]
        for body in shapes {
            for (method, path) in [(HTTPMethod.post, "/api/v3/partnerships"), (.put, "/api/v3/partnerships/\(id)")] {
                let response = client.send(method, path, token: token, json: body)
                #expect(response.status == 400, "\(method) \(body.text)")
                #expect(response.json == Self.badJSON, "\(method) \(body.text)")
            }
        }
        // A change takes only delivery_partner_id: the create's other attributes leave nothing.
        let cohortOnly = client.send(
            .patch, "/api/v3/partnerships/\(id)", token: token,
            json: ["data": ["type": "partnership", "attributes": ["cohort": "2025", "school_id": .string(school)]]])
        #expect(cohortOnly.json == Self.badJSON)
        // Another provider's id is still a 404 first, as there.
        #expect(client.send(.put, "/api/v3/partnerships/\(provider)", token: token, json: [:]).status == 404)

        // Sent but null or empty: the field errors (422), one per attribute.
        let nulls = client.send(
            .post, "/api/v3/partnerships", token: token,
            json: [
                "data": [
                    "type": "partnership",
                    "attributes": ["cohort": .null, "school_id": "", "delivery_partner_id": .null],
                ]
            ])
        #expect(nulls.status == 422)
        #expect(
            nulls.json?["errors"]?.arrayValue?.compactMap { $0["title"]?.stringValue } == [
                "cohort", "school_id", "delivery_partner_id",
            ])
        // One non-scalar among others: that one is missing.
        let listCohort = client.send(
            .post, "/api/v3/partnerships", token: token,
            json: [
                "data": [
                    "type": "partnership",
                    "attributes": [
                        "cohort": ["2026"], "school_id": .string(school), "delivery_partner_id": .string(partner),
                    ],
                ]
            ])
        #expect(listCohort.json == ["errors": [["title": "cohort", "detail": "Enter a '#/cohort'."]]])
        let numericPartner = client.send(
            .patch, "/api/v3/partnerships/\(id)", token: token,
            json: ["data": ["type": "partnership", "attributes": ["delivery_partner_id": 5]]])
        #expect(numericPartner.status == 422)
        #expect(
            numericPartner.json?["errors"]?.arrayValue?.first?["detail"]?.stringValue?.hasPrefix(
                "The '#/delivery_partner_id' you have entered is invalid") == true)
    }

    @Test func theTypeMustBeTheDocumentedOneAndANumericCohortIsAYear() throws {
        let (provider, partner, school) = try world()
        let token = try client.token(for: LeadProviderPrincipal.leadProvider(id: provider))
        func create(type: JSON?) -> TestResponse {
            var data: JSONObject = [
                "attributes": ["cohort": 2025, "school_id": .string(school), "delivery_partner_id": .string(partner)]
            ]
            if let type { data["type"] = type }
            return client.send(.post, "/api/v3/partnerships", token: token, json: ["data": .object(data)])
        }
        // The official document requires data.type (the real controller does not read it).
        for wrong: JSON? in [nil, "school", "", .null, 1] {
            let refused = create(type: wrong)
            #expect(refused.status == 400, "\(String(describing: wrong))")
            #expect(refused.json == Self.badJSON)
        }
        #expect(client.store.count("lp_partnerships") == 0)
        let created = create(type: "partnership")
        #expect(created.status == 200)
        #expect(created.json?["data"]?["attributes"]?["cohort"] == "2025")
        let id = try #require(created.json?["data"]?["id"]?.stringValue)
        let wrongType = client.send(
            .patch, "/api/v3/partnerships/\(id)", token: token,
            json: ["data": ["type": "school", "attributes": ["delivery_partner_id": .string(partner)]]])
        #expect(wrongType.status == 400)
        #expect(wrongType.json == Self.badJSON)
    }

    @Test func blankFiltersAreNoFiltersAndAFilterThatIsNoHashIsRefusedAsInTheRealService() throws {
        let (provider, partner, school) = try world()
        let token = try client.token(for: LeadProviderPrincipal.leadProvider(id: provider))
        #expect(
            client.send(.post, "/api/v3/partnerships", token: token, json: Self.create("2025", school, partner)).status
                == 200)
        func count(_ path: String) -> Int? { client.get(path, token: token).json?["data"]?.arrayValue?.count }
        for blank in [
            "filter[cohort]=", "filter[cohort]=%20", "filter[delivery_partner_id]=", "filter[updated_since]=",
        ] {
            #expect(count("/api/v3/partnerships?\(blank)") == 1, "\(blank)")
        }
        #expect(count("/api/v3/partnerships?filter[cohort]=,") == 0)
        #expect(count("/api/v3/delivery-partners?filter[cohort]=") == 1)
        #expect(count("/api/v3/schools?filter[cohort]=2025&filter[urn]=&filter[updated_since]=") == 1)
        // A blank required cohort is sent: a cohort that does not exist, not the missing filter's 400.
        #expect(client.get("/api/v3/schools?filter[cohort]=", token: token).json == ["data": []])
        #expect(client.get("/api/v3/schools/\(school)?filter[cohort]=", token: token).status == 404)
        let notAHash: JSON = ["errors": [["title": "Bad parameter", "detail": "Filter must be a hash"]]]
        for path in [
            "/api/v3/partnerships?filter=2025", "/api/v3/delivery-partners?filter[]=2025",
            "/api/v3/schools?filter=2025", "/api/v3/schools/\(school)?filter=2025",
        ] {
            let response = client.get(path, token: token)
            #expect(response.status == 400, "\(path)")
            #expect(response.json == notAHash, "\(path)")
        }
    }

    @Test func integerColumnsReadTextAsRailsCastsIt() {
        for (sent, read) in [
            ("2025", 2025), (" 2025", 2025), ("+2025", 2025), ("-3", -3), ("2025,2026", 2025),
            ("100001,invalid", 100001),
            ("0100001", 100001), ("2025.9", 2025),
        ] {
            #expect(RailsInteger.read(sent) == read, "\(sent)")
        }
        for sent in ["", " ", "invalid", "x2025", "+", "- 1", "99999999999999999999999"] {
            #expect(RailsInteger.read(sent) == nil, "\(sent)")
        }
    }

    @Test func theSchoolsCohortAndUrnFiltersAreReadAsTheRealServicesIntegerColumns() throws {
        let (provider, _, school) = try world()
        let token = try client.token(for: LeadProviderPrincipal.leadProvider(id: provider))
        let urn = try #require(
            client.get("/api/v3/schools?filter[cohort]=2025", token: token)
                .json?["data"]?.arrayValue?.first?["attributes"]?["urn"]?.stringValue)
        func listed(_ query: String) -> [JSON]? {
            client.get("/api/v3/schools?\(query)", token: token).json?["data"]?.arrayValue
        }
        for query in [
            "filter[cohort]=2025,2026", "filter[cohort]=%202025", "filter[cohort]=2025&filter[urn]=\(urn),invalid",
        ] {
            #expect(listed(query)?.count == 1, "\(query)")
            #expect(listed(query)?.first?["attributes"]?["cohort"] == "2025", "\(query)")
        }
        for query in ["filter[cohort]=invalid", "filter[cohort]=2025&filter[urn]=invalid"] {
            #expect(listed(query)?.count == 0, "\(query)")
        }
        #expect(client.get("/api/v3/schools/\(school)?filter[cohort]=2025,2026", token: token).status == 200)
    }

    @Test func the401NamesTheBearerScheme() throws {
        let response = client.get("/api/v3/partnerships", token: "ptk_unknown")
        #expect(response.status == 401)
        #expect(response.header("WWW-Authenticate") == #"Bearer realm="Application""#)
        #expect(response.json == ["error": "HTTP Token: Access denied"])
    }

    @Test func timestampsAreShownToTheSecondAsTheRealServiceSerializesThem() throws {
        let (provider, partner, school) = try world()
        let token = try client.token(for: LeadProviderPrincipal.leadProvider(id: provider))
        let created = client.send(
            .post, "/api/v3/partnerships", token: token, json: Self.create("2025", school, partner))
        let attributes = try #require(created.json?["data"]?["attributes"])
        for name in ["created_at", "updated_at"] {
            // Its serializers write `time.utc.rfc3339`: `2021-05-31T02:22:32Z`, no fraction.
            let text = try #require(attributes[name]?.stringValue)
            #expect(text.utf8.count == 20 && text.hasSuffix("Z") && Timestamp.parse(text) != nil, "\(text)")
        }
    }
}
