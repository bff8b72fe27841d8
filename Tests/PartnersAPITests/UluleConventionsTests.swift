import APICore
import HTTP
import JSON
import Store
import TestClient
import Testing

@testable import PartnersAPI

/// Ulule's v1 conventions around the Partnership page, through the whole application in-process:
/// anonymous reads of public data, time-cursor pages, the documented filters and extra fields,
/// the project resource, `Ulule-Version`, who counts as a partner user.
@Suite struct UluleConventionsTests {
    let client: TestClient
    let staff: String

    init() throws {
        client = try TestClient()
        staff = try client.token(for: Staff(name: "test staff"))
    }

    func admin(_ path: String, _ body: JSON, method: HTTPMethod = .post) throws -> JSON {
        let response = client.send(method, "/v1/admin/\(path)", token: staff, json: body)
        #expect((200...201).contains(response.status), "\(path): \(response.json?.text ?? "")")
        return response.json ?? .null
    }

    func id(_ value: JSON) throws -> Int { try #require(value["id"]?.intValue) }

    func get(_ path: String, token: String? = nil, version: String? = nil, host: String? = nil) -> TestResponse {
        var headers = HTTPFields()
        if let version { headers.append(HTTPField(name: HTTPField.Name("Ulule-Version")!, value: version)) }
        if let host { headers.append(HTTPField(name: HTTPField.Name("Host")!, value: host)) }
        return client.send(.get, path, token: token, headers: headers)
    }

    /// A partner (its own user `chief`, one member), an online and a pending project of `owner`,
    /// each in partnership with the partner.
    struct World {
        var chief: Int, member: Int, owner: Int, partner: Int, slug: String
        var online: Int, pending: Int, partnerships: [Int]
    }

    func world() throws -> World {
        let chief = try id(try admin("users", ["name": "Chief", "email": "chief@example.org"]))
        let member = try id(try admin("users", ["name": "Member", "email": "member@example.org"]))
        let owner = try id(try admin("users", ["name": "Owner", "email": "owner@example.org"]))
        let partner = try id(try admin("partners", ["name": "Partner", "slug": "partner", "user_id": .int(chief)]))
        _ = try admin("partners/\(partner)/members", ["user_id": .int(member)])
        var projects: [Int] = [], partnerships: [Int] = []
        for (slug, status) in [("garden", "online"), ("library", "pending")] {
            let project = try id(
                try admin(
                    "projects",
                    [
                        "name": .string("P \(slug)"), "slug": .string(slug), "owner_id": .int(owner),
                        "status": .string(status),
                    ]))
            projects.append(project)
            let created = client.send(
                .post, "/v1/projects/\(project)/partnerships", token: staff, json: ["partner_id": .int(partner)])
            partnerships.append(try id(try #require(created.json)))
        }
        return World(
            chief: chief, member: member, owner: owner, partner: partner, slug: "partner", online: projects[0],
            pending: projects[1], partnerships: partnerships)
    }

    func error(_ response: TestResponse) -> JSON? { response.json?.arrayValue?.first }

    // MARK: anonymous reads

    @Test func publicDataIsReadableWithoutATokenAndNothingElseIs() throws {
        let w = try world()
        let project = get("/v1/projects/\(w.online)")
        #expect(project.status == 200)
        #expect(project.json?["owner"]?["name"] == "Owner")
        #expect(project.json?["owner"]?["email"] == nil, "an owner's email is private")
        #expect(get("/v1/partners/\(w.partner)").status == 200)
        #expect(get("/v1/partners/\(w.slug)").json?["id"]?.intValue == w.partner)
        let online = get("/v1/partners/\(w.slug)/projects?status=online")
        #expect(online.status == 200)
        #expect(online.json?["projects"]?.arrayValue?.compactMap { $0["id"]?.intValue } == [w.online])
        // Not public: 401 (credentials may help), in the list format.
        for path in [
            "/v1/projects/\(w.pending)", "/v1/partners/\(w.slug)/projects",
            "/v1/partners/\(w.slug)/projects?status=pending",
            "/v1/partnerships/\(w.partnerships[0])", "/v1/projects/\(w.online)/partnerships",
        ] {
            let refused = get(path)
            #expect(refused.status == 401, "\(path)")
            #expect(error(refused)?["classification"] == "PermissionError", "\(path)")
            #expect(refused.header("WWW-Authenticate") == "APIKey, Bearer", "\(path)")
        }
        #expect(client.send(.post, "/v1/admin/users", json: ["name": "X"]).status == 401)
        // extra_fields=partnerships is private: left out for nobody.
        #expect(get("/v1/projects/\(w.online)?extra_fields=partnerships").json?["partnerships"] == nil)
    }

    @Test func theOwnerEmailIsShownToTheOwnerAndStaffOnly() throws {
        let w = try world()
        let path = "/v1/projects/\(w.online)"
        #expect(get(path, token: staff).json?["owner"]?["email"] == "owner@example.org")
        #expect(
            get(path, token: try client.token(for: PartnersPrincipal.user(id: w.owner))).json?["owner"]?["email"]
                == "owner@example.org")
        #expect(
            get(path, token: try client.token(for: PartnersPrincipal.user(id: w.member))).json?["owner"]?["email"]
                == nil)
    }

    @Test func invalidCredentialsOnPublicDataAre401SinceVersion20201007() throws {
        let w = try world()
        let path = "/v1/projects/\(w.online)"
        #expect(get(path, token: "ptk_unknown").status == 401)
        #expect(get(path, token: "ptk_unknown", version: "2020-10-07").status == 401)
        let before = get(path, token: "ptk_unknown", version: "2020-10-06")
        #expect(before.status == 200)
        #expect(before.json?["owner"]?["email"] == nil, "read anonymously")
        // Operations that need a caller still refuse whatever the version.
        #expect(get("/v1/partnerships/\(w.partnerships[0])", token: "ptk_unknown", version: "2020-10-06").status == 401)
    }

    // MARK: pagination

    @Test func listsAreNewestFirstAndSinceIsAUnixTimestamp() throws {
        let w = try world()
        // Dates a client can reason about: the two projects an hour apart.
        try client.store.write { tx in
            for (project, seconds) in [(w.online, 1_600_000_000), (w.pending, 1_600_003_600)] {
                var record = try #require(tx.get(Collection.projects, String(project)))
                record["created_at"] = .string(Timestamp(microseconds: seconds * 1_000_000).storageText)
                tx.put(Collection.projects, String(project), record)
            }
        }
        let path = "/v1/partners/\(w.slug)/projects"
        let all = get(path, token: staff).json?["projects"]?.arrayValue?.compactMap { $0["id"]?.intValue }
        #expect(all == [w.pending, w.online])
        let before = get("\(path)?since=1600003600", token: staff).json?["projects"]?.arrayValue
        #expect(before?.compactMap { $0["id"]?.intValue } == [w.online])
        let first = get("\(path)?limit=1&status=pending", token: staff).json
        #expect(first?["meta"]?["next"] == .null)
        let paged = get("\(path)?limit=1", token: staff).json
        #expect(paged?["meta"]?["next"] == .string("?limit=1&since=1600003600&since_id=\(w.pending)"))
        let second = get(path + (paged?["meta"]?["next"]?.stringValue ?? ""), token: staff).json
        #expect(second?["projects"]?.arrayValue?.compactMap { $0["id"]?.intValue } == [w.online])
        let wrong = get("\(path)?since=2020-01-01", token: staff)
        #expect(wrong.status == 400)
        #expect(
            error(wrong) == [
                "classification": "TypeError", "fieldNames": ["since"],
                "message": "since must be a Unix timestamp in seconds.",
            ])
    }

    // MARK: filters and extra fields

    @Test func partnerProjectFiltersAreTheDocumentedOnesAndUnknownValuesAreRefused() throws {
        let w = try world()
        _ = try admin("projects/\(w.online)", ["is_winner": true], method: .patch)
        let path = "/v1/partners/\(w.slug)/projects"
        func ids(_ query: String) -> [Int]? {
            get("\(path)?\(query)", token: staff).json?["projects"]?.arrayValue?.compactMap { $0["id"]?.intValue }
        }
        #expect(ids("is_winner=true") == [w.online])
        #expect(ids("is_winner=false") == [w.pending])
        #expect(ids("status=pending") == [w.pending])
        #expect(ids("status=online&is_winner=false") == [])
        // An anonymous caller sees the online prizewinners.
        #expect(get("\(path)?status=online&is_winner=true").json?["projects"]?.arrayValue?.count == 1)
        for (query, field) in [
            ("status=finished", "status"), ("status=ONLINE", "status"), ("is_winner=yes", "is_winner"),
        ] {
            let refused = get("\(path)?\(query)", token: staff)
            #expect(refused.status == 400, "\(query)")
            #expect(error(refused)?["classification"] == "ValueError", "\(query)")
            #expect(error(refused)?["fieldNames"] == [.string(field)], "\(query)")
        }
        #expect(
            error(get("\(path)?status=finished"))?["message"]?.stringValue?.hasPrefix(
                "Unknown status \"finished\": expected one of new, pending") == true)
    }

    @Test func unknownExtraFieldsAreRefusedSinceVersion20190307() throws {
        let w = try world()
        let path = "/v1/projects/\(w.online)?extra_fields=partnerships,rewards"
        let refused = get(path, token: staff)
        #expect(refused.status == 400)
        #expect(
            error(refused) == [
                "classification": "ValueError", "fieldNames": ["extra_fields"],
                "message": "Unknown extra field \"rewards\": this endpoint serves partnerships.",
            ])
        #expect(get("/v1/partners/\(w.slug)/projects?extra_fields=rewards", token: staff).status == 400)
        let before = get(path, token: staff, version: "2019-03-06")
        #expect(before.status == 200)
        #expect(before.json?["partnerships"]?.arrayValue?.count == 1)
        // On a list, embedded per project, and kept in `next`.
        let listed = get("/v1/partners/\(w.slug)/projects?extra_fields=partnerships&limit=1", token: staff).json
        #expect(listed?["projects"]?.arrayValue?.first?["partnerships"]?.arrayValue?.count == 1)
        #expect(listed?["meta"]?["next"]?.stringValue?.hasSuffix("&extra_fields=partnerships") == true)
    }

    @Test func aPartnerIDThatIsNoPartnerIsNamedAsGiven() throws {
        let w = try world()
        let create = "/v1/projects/\(w.pending)/partnerships"
        for (given, message) in [
            ("0", "Partner 0 does not exist."), ("-4", "Partner -4 does not exist."),
            ("9007199254740991", "Partner 9007199254740991 does not exist."),
            ("9007199254740992", "Expected an integer from -9007199254740991 to 9007199254740991."),
            ("1e300", "Expected an integer from -9007199254740991 to 9007199254740991."),
        ] {
            let body = try JSON.parse(Array("{\"partner_id\": \(given)}".utf8))
            let refused = client.send(.post, create, token: staff, json: body)
            #expect(refused.status == 400, "\(given)")
            #expect(
                error(refused) == [
                    "classification": "ValueError", "fieldNames": ["partner_id"], "message": .string(message),
                ])
        }
    }

    // MARK: the project resource

    @Test func theProjectIsUlulesProjectResource() throws {
        let w = try world()
        _ = try admin(
            "projects/\(w.online)",
            ["slug": "café-été", "goal": 1000, "amount_raised": 1500, "currency": "EUR", "type": "presale"],
            method: .patch)
        let project = try #require(get("/v1/projects/\(w.online)", host: "api.example.org:8443").json)
        #expect(project["name"] == ["en": "P garden"])
        #expect(project["absolute_url"] == "https://api.example.org:8443/projects/caf%C3%A9-%C3%A9t%C3%A9")
        #expect(project["resource_uri"] == .string("https://api.example.org:8443/v1/projects/\(w.online)"))
        #expect(
            project["owner"] == [
                "id": .int(w.owner), "name": "Owner",
                "absolute_url": .string("https://api.example.org:8443/users/\(w.owner)"),
            ])
        #expect(project["goal"] == 1000 && project["amount_raised"] == 1500 && project["currency"] == "EUR")
        #expect(project["goal_raised"] == true && project["percent"] == 150 && project["type"] == "presale")
        #expect(project["is_online"] == true && project["finished"] == false && project["main_image"] == [:])
        #expect(project["date_start"] == .null && project["date_end"] == .null)
        let dated = try admin(
            "projects/\(w.online)",
            ["date_start": "2026-05-01T10:00:00.250Z", "date_end": "2026-06-01T12:30:00+02:00"],
            method: .patch)
        #expect(dated["date_start"] == "2026-05-01T10:00:00Z" && dated["date_end"] == "2026-06-01T10:30:00Z")
        let undated = client.send(.patch, "/v1/admin/projects/\(w.online)", token: staff, json: ["date_end": "June"])
        #expect(undated.status == 400 && error(undated)?["fieldNames"] == ["date_end"])
        // A forged Host is not echoed.
        #expect(
            get("/v1/projects/\(w.online)", host: "evil.org/x").json?["absolute_url"]?.stringValue?.hasPrefix(
                "https://localhost/") == true)
        // Translations: the project's language, or all of them with lang=all.
        try client.store.write { tx in
            var record = try #require(tx.get(Collection.projects, String(w.online)))
            record["name"] = ["en": "Garden", "fr": "Jardin"]
            tx.put(Collection.projects, String(w.online), record)
        }
        #expect(get("/v1/projects/\(w.online)").json?["name"] == ["en": "Garden"])
        #expect(get("/v1/projects/\(w.online)?lang=all").json?["name"] == ["en": "Garden", "fr": "Jardin"])
        #expect(get("/v1/projects/\(w.online)", version: "2017-09-14").json?["name"] == "Garden")
        #expect(get("/v1/projects/\(w.online)", version: "2020-04-07").json?["main_image"] == .null)
        // A staff write with a status Ulule does not document is refused.
        let refused = client.send(.patch, "/v1/admin/projects/\(w.online)", token: staff, json: ["status": "finished"])
        #expect(refused.status == 400)
    }

    @Test func projectsStoredInAnEarlierShapeAreMigratedOnRead() throws {
        let w = try world()
        try client.store.write { tx in
            var record = try #require(tx.get(Collection.projects, String(w.pending)))
            record["name"] = "Old name"
            record["status"] = "finished"
            record["lang"] = "fr"
            tx.put(Collection.projects, String(w.pending), record)
        }
        let project = get("/v1/projects/\(w.pending)").json
        #expect(project?["status"] == "online" && project?["finished"] == true && project?["is_online"] == true)
        #expect(project?["name"] == ["fr": "Old name"])
        #expect(get("/v1/partners/\(w.slug)/projects?status=online").json?["projects"]?.arrayValue?.count == 2)
        // A staff update keeps it in today's shape.
        let updated = try admin("projects/\(w.pending)", ["name": "Nouveau nom"], method: .patch)
        #expect(updated["name"] == ["fr": "Nouveau nom"] && updated["status"] == "online")
    }

    // MARK: Ulule-Version

    @Test func aMalformedUluleVersionIsRefusedEverywhere() throws {
        let w = try world()
        for (path, token) in [
            ("/v1/projects/\(w.online)", nil), ("/v1/partnerships/\(w.partnerships[0])", staff),
            ("/v1/partners/\(w.partner)", nil),
        ] as [(String, String?)] {
            let refused = get(path, token: token, version: "2018-9-3")
            #expect(refused.status == 400, "\(path)")
            #expect(
                error(refused) == [
                    "classification": "ValueError", "fieldNames": ["Ulule-Version"],
                    "message": "Ulule-Version must be a date written YYYY-MM-DD, such as 2020-11-10.",
                ])
        }
        #expect(get("/v1/partners/\(w.partner)", version: "2031-01-01").status == 200)
    }

    @Test func thePartnershipShowsItsProjectAsPresaleBeforeVersion20180903() throws {
        let w = try world()
        let path = "/v1/partnerships/\(w.partnerships[0])"
        let current = try #require(get(path, token: staff, version: "2018-09-03").json?.objectValue)
        #expect(current.keys == ["id", "is_default", "is_support", "partner", "project"])
        let before = try #require(get(path, token: staff, version: "2018-09-02").json?.objectValue)
        #expect(before.keys == ["id", "is_default", "is_support", "partner", "presale"])
        #expect(before["presale"]?["id"]?.intValue == w.online)
    }

    @Test func aProjectNotOnlineIsReadableByEveryUserSinceVersion20181004() throws {
        let w = try world()
        let stranger = try id(try admin("users", ["name": "Stranger"]))
        let token = try client.token(for: PartnersPrincipal.user(id: stranger))
        let path = "/v1/projects/\(w.pending)"
        #expect(get(path, token: token).status == 200)
        #expect(get(path, token: token, version: "2018-10-03").status == 403)
        #expect(
            get(path, token: try client.token(for: PartnersPrincipal.user(id: w.member)), version: "2018-10-03").status
                == 200)
        #expect(get(path).status == 401)
    }

    // MARK: partner users

    @Test func thePartnersOwnUserIsAPartnerUser() throws {
        let w = try world()
        let chief = try client.token(for: PartnersPrincipal.user(id: w.chief))
        #expect(get("/v1/partnerships/\(w.partnerships[0])", token: chief).status == 200)
        #expect(get("/v1/partners/\(w.slug)/projects", token: chief).status == 200)
        #expect(get("/v1/projects/\(w.pending)/partnerships", token: chief).status == 200)
    }

    @Test func anotherPartnersPartnershipIs403AndAnUnknownOne404() throws {
        let w = try world()
        let outsider = try id(try admin("users", ["name": "Outsider"]))
        let other = try id(try admin("partners", ["name": "Other", "slug": "other", "user_id": .int(outsider)]))
        let token = try client.token(for: PartnersPrincipal.user(id: outsider))
        let theirs = client.send(
            .post, "/v1/projects/\(w.online)/partnerships", token: staff, json: ["partner_id": .int(other)])
        #expect(get("/v1/partnerships/\(try id(try #require(theirs.json)))", token: token).status == 200)
        let forbidden = get("/v1/partnerships/\(w.partnerships[0])", token: token)
        #expect(forbidden.status == 403)
        #expect(error(forbidden)?["classification"] == "PermissionError")
        let unknown = get("/v1/partnerships/999999", token: token)
        #expect(unknown.status == 404)
        #expect(
            error(unknown) == [
                "classification": "ValueError", "fieldNames": [], "message": "Partnership 999999 does not exist.",
            ])
    }

    // MARK: partner images

    @Test func staffSetAPartnersLogoAndRibbonFromAURL() throws {
        let w = try world()
        let path = "partners/\(w.partner)"
        let set = try admin(
            path,
            [
                "logo": ["url": "https://cdn.example.org/acme/logo.png?v=2"],
                "ribbon": ["url": "https://cdn.example.org/r.svg"],
            ],
            method: .patch)
        let version: JSON = ["url": "https://cdn.example.org/acme/logo.png?v=2", "width": .null, "height": .null]
        #expect(set["logo"]?["name"] == "logo.png" && set["logo"]?["type"] == "logo")
        #expect(set["logo"]?["url"] == "https://cdn.example.org/acme/logo.png?v=2")
        #expect(set["logo"]?["versions"] == ["small": version, "medium": version, "large": version, "full": version])
        #expect(set["ribbon"]?["type"] == "ribbon" && set["ribbon"]?["id"] != set["logo"]?["id"])
        #expect(get("/v1/partners/\(w.slug)").json == set)
        for (body, field, classification) in [
            (["logo": ["url": "ftp://cdn.example.org/x.png"]] as JSON, "logo.url", "ValueError"),
            (["logo": [:]], "logo.url", "RequiredError"),
            (["ribbon": ["url": "https://x.org/a.png", "size": 3]], "ribbon.size", "UnknownFieldError"),
            (["logo": "https://x.org/a.png"], "logo", "TypeError"),
        ] {
            let refused = client.send(.patch, "/v1/admin/\(path)", token: staff, json: body)
            #expect(refused.status == 400, "\(body)")
            #expect(error(refused)?["classification"] == .string(classification), "\(body)")
            #expect(error(refused)?["fieldNames"] == [.string(field)], "\(body)")
        }
        #expect(try admin(path, ["logo": .null], method: .patch)["logo"] == .null)
        #expect(get("/v1/partners/\(w.slug)").json?["ribbon"] == set["ribbon"])
    }
}
