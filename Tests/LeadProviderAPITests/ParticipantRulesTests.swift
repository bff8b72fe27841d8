import APICore
import HTTP
import JSON
import LeadProviderAPI
import TestClient
import Testing

@testable import LeadProviderAPI

/// Schedules, participants, their actions, transfers and unfunded mentors through the whole
/// application in-process: records loaded through the staff endpoints, then a provider's view.
@Suite struct ParticipantRulesTests {
    let client: TestClient
    let staff: String

    init() throws {
        client = try TestClient()
        staff = try client.token(for: Staff(name: "test staff"))
    }

    @discardableResult
    func admin(_ path: String, _ body: JSON, method: HTTPMethod = .post, status: Int = 201) throws -> JSON {
        let response = client.send(method, "/api/v3/admin/\(path)", token: staff, json: body)
        #expect(response.status == status, "\(path): \(response.json?.text ?? "")")
        return try #require(response.json?["data"])
    }

    func cohort(_ year: String) throws {
        try admin(
            "cohorts",
            ["year": .string(year), "registration_opens_at": "2020-06-01T00:00:00Z", "registration_closes_at": .null])
    }

    struct World {
        var providerA: String
        var providerB: String
        var partnerA: String
        var partnerB: String
        var schools: [String]
        var tokenA: String
        var tokenB: String
    }

    /// Cohorts 2024-2026, providers A and B each linked with a delivery partner, three schools with
    /// A's partnership at the first two and B's at the third, in 2025.
    func world() throws -> World {
        for year in ["2024", "2025", "2026"] { try cohort(year) }
        var ids: [String] = []
        for name in ["Provider A", "Provider B"] {
            ids.append(try #require(try admin("lead-providers", ["name": .string(name)])["id"]?.stringValue))
        }
        var partners: [String] = []
        for (index, name) in ["Hub A", "Hub B"].enumerated() {
            let partner = try #require(try admin("delivery-partners", ["name": .string(name)])["id"]?.stringValue)
            partners.append(partner)
            for year in ["2024", "2025", "2026"] {
                try admin(
                    "delivery-partner-links",
                    [
                        "lead_provider_id": .string(ids[index]), "delivery_partner_id": .string(partner),
                        "cohort": .string(year),
                    ])
            }
        }
        var schools: [String] = []
        for urn in ["100001", "100002", "100003"] {
            schools.append(
                try #require(
                    try admin(
                        "schools",
                        [
                            "urn": .string(urn), "name": .string("School \(urn)"),
                            "funding_eligible_cohorts": ["2024", "2025", "2026"],
                        ])["id"]?.stringValue))
        }
        let tokens = try ids.map { try client.token(for: LeadProviderPrincipal.leadProvider(id: $0)) }
        for (school, provider) in [(0, 0), (1, 0), (2, 1)] {
            let created = client.send(
                .post, "/api/v3/partnerships", token: tokens[provider],
                json: [
                    "data": [
                        "type": "partnership",
                        "attributes": [
                            "cohort": "2025", "school_id": .string(schools[school]),
                            "delivery_partner_id": .string(partners[provider]),
                        ],
                    ]
                ])
            #expect(created.status == 200, "\(created.json?.text ?? "")")
        }
        return World(
            providerA: ids[0], providerB: ids[1], partnerA: partners[0], partnerB: partners[1], schools: schools,
            tokenA: tokens[0], tokenB: tokens[1])
    }

    /// Registers a training record through the staff endpoint; its attributes and id.
    @discardableResult
    func register(_ body: JSONObject) throws -> (id: String, attributes: JSON) {
        let data = try admin("participants", .object(body))
        #expect(data["type"] == "training-record")
        return (try #require(data["id"]?.stringValue), try #require(data["attributes"]))
    }

    func registrationErrors(_ body: JSONObject) -> JSON? {
        let response = client.send(.post, "/api/v3/admin/participants", token: staff, json: .object(body))
        #expect(response.status == 422, "\(response.json?.text ?? "")")
        return response.json?["errors"]
    }

    // MARK: staff registration

    @Test func staffRegisterATeachersTrainingWithItsDefaults() throws {
        let w = try world()
        let ect = try register([
            "full_name": "Ada Lovelace", "trn": "1234567", "email": "ada@example.org",
            "school_id": .string(w.schools[0]),
            "cohort": "2025", "lead_provider_id": .string(w.providerA), "training_programme": "provider_led",
            "started_on": "2025-09-01",
        ])
        let teacher = try #require(ect.attributes["teacher_id"]?.stringValue)
        #expect(ect.attributes["full_name"] == "Ada Lovelace")
        #expect(ect.attributes["participant_type"] == "ect")
        #expect(ect.attributes["delivery_partner_id"]?.stringValue == w.partnerA)
        #expect(ect.attributes["schedule_identifier"] == "ecf-standard-september")
        #expect(ect.attributes["training_status"] == "active")
        #expect(ect.attributes["status"] == "active")
        #expect(ect.attributes["pupil_premium_uplift"] == false)
        #expect(ect.attributes["eligible_for_funding"] == .null)
        // The same teacher mentors elsewhere; a January start; a date in the future: joining.
        let mentor = try register([
            "teacher_id": .string(teacher.uppercased()), "participant_type": "mentor",
            "school_id": .string(w.schools[2]),
            "cohort": "2025", "training_programme": "provider_led", "started_on": "2099-01-05",
        ])
        #expect(mentor.attributes["teacher_id"]?.stringValue == teacher)
        #expect(mentor.attributes["lead_provider_id"]?.stringValue == w.providerB)
        #expect(mentor.attributes["delivery_partner_id"]?.stringValue == w.partnerB)
        #expect(mentor.attributes["schedule_identifier"] == "ecf-standard-january")
        #expect(mentor.attributes["status"] == "joining")
        // A finished_on in the past: the school reported them left.
        let left = try register([
            "full_name": "Grace Hopper", "school_id": .string(w.schools[1]), "cohort": "2024",
            "training_programme": "provider_led", "lead_provider_id": .string(w.providerA),
            "started_on": "2024-04-10", "finished_on": "2025-01-31",
        ])
        #expect(left.attributes["status"] == "left")
        #expect(left.attributes["schedule_identifier"] == "ecf-standard-april")
        // No partnership in 2024: no delivery partner.
        #expect(left.attributes["delivery_partner_id"] == .null)
        #expect(client.store.count("lp_teachers") == 2)
    }

    @Test func aRecordWithoutATeacherIsTheBareRecordOfBefore() throws {
        let w = try world()
        let bare = try register([
            "school_id": .string(w.schools[0]), "cohort": "2025", "training_programme": "provider_led",
        ])
        #expect(bare.attributes["lead_provider_id"]?.stringValue == w.providerA)
        #expect(bare.attributes["teacher_id"] == .null)
        #expect(bare.attributes["participant_type"] == .null)
        #expect(client.store.count("lp_teachers") == 0)
        let changed = client.send(
            .patch, "/api/v3/admin/participants/\(bare.id)", token: staff, json: ["mentor_id": .null])
        #expect(
            changed.json?["errors"]
                == [["title": "mentor_id", "detail": "'#/mentor_id' needs a training record with a teacher."]])
        #expect(
            client.send(.patch, "/api/v3/admin/participants/\(bare.id)", token: staff, json: ["status": "left"]).status
                == 200)
    }

    @Test func registrationsThatCannotBeAreRefused() throws {
        let w = try world()
        let base: JSONObject = [
            "school_id": .string(w.schools[0]), "cohort": "2025", "training_programme": "provider_led",
            "started_on": "2025-09-01",
        ]
        func with(_ extra: JSONObject) -> JSONObject {
            var body = base
            for (key, value) in extra { body[key] = value }
            return body
        }
        #expect(
            registrationErrors(with(["full_name": .null, "teacher_id": .null])) == [
                ["title": "full_name", "detail": "Enter a '#/full_name'."]
            ])
        #expect(
            registrationErrors(with(["teacher_id": "7d6c3b52-55f8-4c49-8f0b-6a3e1c2f9a10"]))
                == [["title": "teacher_id", "detail": "'#/teacher_id' does not exist."]])
        #expect(
            registrationErrors(
                with([
                    "full_name": "A", "participant_type": "mentor",
                    "mentor_id": "7d6c3b52-55f8-4c49-8f0b-6a3e1c2f9a10",
                ])) == [["title": "mentor_id", "detail": "Only an ECT has a mentor."]])
        #expect(
            registrationErrors(with(["full_name": "A", "mentor_id": "7d6c3b52-55f8-4c49-8f0b-6a3e1c2f9a10"]))
                == [["title": "mentor_id", "detail": "'#/mentor_id' does not exist."]])
        #expect(
            registrationErrors(with(["full_name": "A", "finished_on": "2025-08-31"]))
                == [["title": "finished_on", "detail": "The end date must be later than the start date (2025-09-01)."]])
        #expect(
            registrationErrors(with(["full_name": "A", "status": "leaving"]))
                == [["title": "finished_on", "detail": "A school reporting a participant leaving gives the date."]])
        #expect(
            registrationErrors(with(["full_name": "A", "training_status": "withdrawn"]))
                == [["title": "withdrawal", "detail": "A withdrawn training status needs its '#/withdrawal'."]])
        #expect(
            registrationErrors(with(["full_name": "A", "withdrawal": ["reason": "bored", "date": "2025-10-01"]]))
                == [["title": "withdrawal.reason", "detail": "'#/withdrawal.reason' has an invalid value."]])
        // Nothing was written by the refused registrations.
        #expect(client.store.count("lp_teachers") == 0)
    }

    @Test func staffChangesMoveTheTeacherOnAndCannotChangeAnotherTraining() throws {
        let w = try world()
        let ect = try register([
            "full_name": "Ada", "school_id": .string(w.schools[0]), "cohort": "2025",
            "training_programme": "provider_led", "started_on": "2025-09-01",
        ])
        let teacherID = try #require(ect.attributes["teacher_id"]?.stringValue)
        let before = try #require(client.store.get("lp_teachers", teacherID)?["updated_at"]?.stringValue)
        let changed = client.send(
            .patch, "/api/v3/admin/participants/\(ect.id.uppercased())", token: staff,
            json: [
                "finished_on": "2099-07-31", "full_name": "Ada King", "eligible_for_funding": true,
                "deferral": ["reason": "career-break", "date": "2025-10-01T09:00:00Z"], "training_status": "deferred",
            ])
        #expect(changed.status == 200, "\(changed.json?.text ?? "")")
        let attributes = try #require(changed.json?["data"]?["attributes"])
        #expect(attributes["status"] == "leaving")
        #expect(attributes["full_name"] == "Ada King")
        #expect(attributes["deferral"] == ["reason": "career-break", "date": "2025-10-01T09:00:00Z"])
        let after = try #require(client.store.get("lp_teachers", teacherID)?["updated_at"]?.stringValue)
        #expect(after > before)
        let refused = client.send(
            .patch, "/api/v3/admin/participants/\(ect.id)", token: staff,
            json: ["school_id": .string(w.schools[1]), "cohort": "2026"])
        #expect(
            refused.json?["errors"]
                == [
                    ["title": "cohort", "detail": "'#/cohort' cannot change: register another training record."],
                    ["title": "school_id", "detail": "'#/school_id' cannot change: register another training record."],
                ])
    }

    // MARK: schedules

    func milestones(_ cohort: String, _ identifier: String) throws -> [JSON] {
        let response = client.get("/api/v3/admin/schedules/\(cohort)/\(identifier)", token: staff)
        #expect(response.status == 200)
        return try #require(response.json?["data"]?["attributes"]?["milestones"]?.arrayValue)
    }

    @Test func aNewCohortGetsTheRealStandardSchedules() throws {
        for year in ["2024", "2025", "2026", "2030"] { try cohort(year) }
        // 2024: the seeds date the standard schedules milestone by milestone.
        let september2024 = try milestones("2024", "ecf-standard-september")
        #expect(september2024.count == 6)
        #expect(
            september2024.first
                == ["declaration_type": "started", "start_date": "2024-06-01", "milestone_date": "2024-12-31"])
        #expect(
            september2024.last
                == ["declaration_type": "completed", "start_date": "2026-04-01", "milestone_date": "2026-07-31"])
        #expect(try milestones("2024", "ecf-standard-april")[2]["start_date"] == "2026-01-01")
        // The others start with the schedule and have no milestone date; extended ones run to extended-3.
        let extended = try milestones("2025", "ecf-extended-january")
        #expect(extended.count == 9)
        #expect(extended.allSatisfy { $0["start_date"] == "2026-01-01" && $0["milestone_date"] == .null })
        #expect(try milestones("2025", "ecf-standard-september").first?["start_date"] == "2025-06-01")
        #expect(try milestones("2026", "ecf-reduced-september").first?["start_date"] == "2026-09-01")
        // A year the seeds do not list follows their pattern.
        #expect(try milestones("2030", "ecf-standard-september").first?["start_date"] == "2030-06-01")
        #expect(try milestones("2030", "ecf-replacement-april").count == 6)
        #expect(try milestones("2030", "ecf-replacement-april").first?["start_date"] == "2031-04-01")
        #expect(client.store.count("lp_schedules") == 4 * 12)
    }

    @Test func theStandardScheduleFollowsTheStartMonth() {
        #expect(ScheduleCatalog.standardIdentifier(startingOn: "2025-06-01") == "ecf-standard-september")
        #expect(ScheduleCatalog.standardIdentifier(startingOn: "2025-10-31") == "ecf-standard-september")
        #expect(ScheduleCatalog.standardIdentifier(startingOn: "2025-11-01") == "ecf-standard-january")
        #expect(ScheduleCatalog.standardIdentifier(startingOn: "2026-02-28") == "ecf-standard-january")
        #expect(ScheduleCatalog.standardIdentifier(startingOn: "2026-03-01") == "ecf-standard-april")
        #expect(ScheduleCatalog.standardIdentifier(startingOn: "2026-05-31") == "ecf-standard-april")
    }

    @Test func staffReplaceAScheduleAsTheRealMilestoneModelAllows() throws {
        try cohort("2025")
        let path = "schedules/2025/ecf-standard-january"
        let replaced = try admin(
            path,
            [
                "milestones": [
                    ["declaration_type": "retained-1", "start_date": "2026-04-01", "milestone_date": "2026-07-31"],
                    ["declaration_type": "started", "start_date": "2026-01-01", "milestone_date": "2026-03-31"],
                ]
            ], method: .put, status: 200)
        // Kept in declaration order.
        #expect(
            replaced["attributes"]?["milestones"]
                == [
                    ["declaration_type": "started", "start_date": "2026-01-01", "milestone_date": "2026-03-31"],
                    ["declaration_type": "retained-1", "start_date": "2026-04-01", "milestone_date": "2026-07-31"],
                ])
        #expect(try milestones("2025", "ecf-standard-january").count == 2)

        let refused = client.send(
            .put, "/api/v3/admin/\(path)", token: staff,
            json: [
                "milestones": [
                    ["declaration_type": "started", "start_date": "2025-05-31", "milestone_date": "2025-05-31"],
                    ["declaration_type": "started", "start_date": "2025-07-01"],
                ]
            ])
        #expect(refused.status == 422)
        #expect(
            refused.json?["errors"]
                == [
                    [
                        "title": "milestones[0].milestone_date",
                        "detail": "Milestone date must be after the start date",
                    ],
                    [
                        "title": "milestones[0].start_date",
                        "detail": "The start date must be on or after the 1 June 2025",
                    ],
                    ["title": "milestones[1].declaration_type", "detail": "Can be used once per schedule"],
                ])
        let badType = client.send(
            .put, "/api/v3/admin/\(path)", token: staff,
            json: ["milestones": [["declaration_type": "paid", "start_date": "2025-07-01"]]])
        #expect(badType.status == 422)
        #expect(badType.json?["errors"]?.arrayValue?.first?["title"] == "milestones[0].declaration_type")
        let unknown = client.send(
            .put, "/api/v3/admin/schedules/2025/ecf-fast-june", token: staff, json: ["milestones": []])
        #expect(unknown.json?["errors"] == [["title": "identifier", "detail": "Choose an identifier from the list"]])
        let noCohort = client.send(
            .put, "/api/v3/admin/schedules/2031/ecf-standard-april", token: staff, json: ["milestones": []])
        #expect(noCohort.status == 404)
        // The unchanged schedule of the refused requests.
        #expect(try milestones("2025", "ecf-standard-january").count == 2)
    }
}
