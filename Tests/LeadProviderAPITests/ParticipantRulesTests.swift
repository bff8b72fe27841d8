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
