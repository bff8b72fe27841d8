import APICore
import Foundation
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

    // MARK: participants

    /// An ECT (with provider A at school 0) and the teacher's id.
    func ect(_ w: World, _ extra: JSONObject = [:], name: String = "Ada Lovelace") throws -> String {
        var body: JSONObject = [
            "full_name": .string(name), "trn": "1234567", "email": "ada@example.org",
            "school_id": .string(w.schools[0]), "cohort": "2025", "lead_provider_id": .string(w.providerA),
            "training_programme": "provider_led", "started_on": "2025-09-01",
        ]
        for (key, value) in extra { body[key] = value }
        return try #require(try register(body).attributes["teacher_id"]?.stringValue)
    }

    func participant(_ id: String, token: String) -> TestResponse {
        client.get("/api/v3/participants/\(id)", token: token)
    }

    func action(_ id: String, _ path: String, _ attributes: JSON, type: String? = nil, token: String) -> TestResponse {
        client.send(
            .put, "/api/v3/participants/\(id)/\(path)", token: token,
            json: ["data": ["type": .string(type ?? "participant-\(path)"), "attributes": attributes]])
    }

    func enrolment(_ response: TestResponse, _ index: Int = 0) -> JSON? {
        response.json?["data"]?["attributes"]?["ecf_enrolments"]?.arrayValue?.dropFirst(index).first
    }

    @Test func aProviderSeesOnlyItsOwnTrainingOfAParticipant() throws {
        let w = try world()
        let teacher = try ect(w, ["working_pattern": "part_time", "eligible_for_funding": true])
        try register([
            "teacher_id": .string(teacher), "participant_type": "mentor", "school_id": .string(w.schools[2]),
            "cohort": "2025", "training_programme": "provider_led", "started_on": "2025-09-01",
            "mentor_funding_end_date": "2026-07-31",
            "mentor_ineligible_for_funding_reason": "completed_declaration_received",
        ])
        let asA = participant(teacher.uppercased(), token: w.tokenA)
        #expect(asA.status == 200)
        let attributes = try #require(asA.json?["data"]?["attributes"])
        #expect(asA.json?["data"]?["type"] == "participant")
        #expect(asA.json?["data"]?["id"]?.stringValue == teacher)
        #expect(
            attributes.objectValue?.keys.map { $0 } == [
                "full_name", "teacher_reference_number", "ecf_enrolments", "participant_id_changes", "updated_at",
            ])
        #expect(attributes["ecf_enrolments"]?.arrayValue?.count == 1)
        let shown = try #require(enrolment(asA))
        #expect(
            shown.objectValue?.keys.map { $0 }
                == [
                    "training_record_id", "email", "mentor_id", "school_urn", "participant_type", "working_pattern",
                    "cohort", "training_status", "participant_status", "eligible_for_funding", "pupil_premium_uplift",
                    "sparsity_uplift", "schedule_identifier", "delivery_partner_id", "withdrawal", "deferral",
                    "created_at", "induction_end_date", "most_recent_induction_period_end_date",
                    "overall_induction_start_date", "mentor_funding_end_date", "cohort_changed_after_payments_frozen",
                    "mentor_ineligible_for_funding_reason",
                ])
        #expect(shown["participant_type"] == "ect")
        #expect(shown["school_urn"] == "100001")
        #expect(shown["working_pattern"] == "part_time")
        #expect(shown["eligible_for_funding"] == true)
        #expect(shown["delivery_partner_id"]?.stringValue == w.partnerA)
        #expect(shown["schedule_identifier"] == "ecf-standard-september")
        #expect(shown["participant_status"] == "active")
        #expect(shown["email"] == "ada@example.org")
        #expect(shown["cohort_changed_after_payments_frozen"] == false)
        // B sees the mentor training only, with the mentor's own fields.
        let asB = participant(teacher, token: w.tokenB)
        #expect(asB.json?["data"]?["attributes"]?["ecf_enrolments"]?.arrayValue?.count == 1)
        let mentor = try #require(enrolment(asB))
        #expect(mentor["participant_type"] == "mentor")
        #expect(mentor["working_pattern"] == .null)
        #expect(mentor["mentor_funding_end_date"] == "2026-07-31")
        #expect(mentor["mentor_ineligible_for_funding_reason"] == "completed_declaration_received")
        #expect(mentor["school_urn"] == "100003")
        // A teacher with no training record with A: 404, in the list too.
        let other = try register([
            "full_name": "Grace", "school_id": .string(w.schools[2]), "cohort": "2025",
            "training_programme": "provider_led", "started_on": "2025-09-01",
        ])
        let otherTeacher = try #require(other.attributes["teacher_id"]?.stringValue)
        #expect(participant(otherTeacher, token: w.tokenA).status == 404)
        #expect(
            participant(otherTeacher, token: w.tokenA).json?["errors"]?.arrayValue?.first?["title"]
                == "Resource not found")
        let listedByA = client.get("/api/v3/participants", token: w.tokenA).json?["data"]?.arrayValue ?? []
        #expect(listedByA.compactMap { $0["id"]?.stringValue } == [teacher])
        let listedByB = client.get("/api/v3/participants", token: w.tokenB).json?["data"]?.arrayValue ?? []
        #expect(Set(listedByB.compactMap { $0["id"]?.stringValue }) == [teacher, otherTeacher])
    }

    @Test func theListFiltersSortsAndPagesAsTheOfficialDocumentSays() throws {
        let w = try world()
        let first = try ect(w, name: "First")
        let second = try ect(w, ["cohort": "2024", "started_on": "2024-09-01"], name: "Second")
        // A training no partnership holds yet is no API participant (the real serializer reads its
        // delivery partner through the partnership); confirming the partnership takes it in.
        #expect(participant(second, token: w.tokenA).status == 404)
        let confirmed = client.send(
            .post, "/api/v3/partnerships", token: w.tokenA,
            json: [
                "data": [
                    "type": "partnership",
                    "attributes": [
                        "cohort": "2024", "school_id": .string(w.schools[0]),
                        "delivery_partner_id": .string(w.partnerA),
                    ],
                ]
            ])
        #expect(confirmed.status == 200, "\(confirmed.json?.text ?? "")")
        let enrolments = participant(second, token: w.tokenA).json?["data"]?["attributes"]?["ecf_enrolments"]
        #expect(enrolments?.arrayValue?.first?["delivery_partner_id"]?.stringValue == w.partnerA)
        let third = try ect(
            w, ["training_status": "deferred", "deferral": ["reason": "bereavement", "date": "2025-10-01T00:00:00Z"]],
            name: "Third")
        let merged = "3f1e8c6a-2b4d-4e5f-8a9b-0c1d2e3f4a5b"
        try client.store.write { tx in
            var teacher = try #require(tx.get("lp_teachers", first))
            teacher["id_changes"] = [
                [
                    "from_participant_id": .string(merged), "to_participant_id": .string(first),
                    "changed_at": "2025-01-02T03:04:05.000000Z",
                ]
            ]
            tx.put("lp_teachers", first, teacher)
        }
        func ids(_ query: String) -> [String] {
            let response = client.get("/api/v3/participants\(query)", token: w.tokenA)
            #expect(response.status == 200, "\(query): \(response.json?.text ?? "")")
            return (response.json?["data"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
        }
        #expect(ids("") == [first, second, third])
        #expect(ids("?sort=-created_at") == [third, second, first])
        #expect(ids("?filter[cohort]=2024") == [second])
        #expect(ids("?filter[cohort]=2024,2025") == [first, second, third])
        #expect(ids("?filter[cohort]=abc") == [])
        #expect(ids("?filter[training_status]=deferred") == [third])
        #expect(ids("?filter[training_status]=active") == [first, second])
        #expect(ids("?filter[training_status]=paused") == [])
        #expect(ids("?filter[from_participant_id]=\(merged.uppercased())") == [first])
        #expect(ids("?page[per_page]=2&page[page]=2") == [third])
        let changes = client.get("/api/v3/participants/\(first)", token: w.tokenA).json?["data"]?["attributes"]?[
            "participant_id_changes"]
        #expect(
            changes == [
                [
                    "from_participant_id": .string(merged), "to_participant_id": .string(first),
                    "changed_at": "2025-01-02T03:04:05Z",
                ]
            ])
        // updated_since: a staff change moves the teacher on.
        Thread.sleep(forTimeInterval: 1.1)
        let since = Timestamp.now().secondsText
        #expect(ids("?filter[updated_since]=\(since)") == [])
        let record = try #require(
            TrainingRecordLookup.current(teacher: second, provider: w.providerA, course: .induction, in: client.store)?[
                "id"]?.stringValue)
        #expect(
            client.send(.patch, "/api/v3/admin/participants/\(record)", token: staff, json: ["sparsity_uplift": true])
                .status == 200)
        #expect(ids("?filter[updated_since]=\(since)") == [second])
        #expect(ids("?sort=-updated_at").first == second)
        #expect(client.get("/api/v3/participants?filter[updated_since]=soon", token: w.tokenA).status == 400)
        #expect(client.get("/api/v3/participants?page[page]=0", token: w.tokenA).status == 400)
    }

    @Test func participantStatusFollowsTheRealSerializer() {
        let today = "2026-06-15"
        func status(_ fields: JSONObject) -> String { ParticipantStatus.participant(.object(fields), today: today) }
        #expect(status(["started_on": "2025-09-01"]) == "active")
        #expect(status(["started_on": "2026-09-01"]) == "joining")
        #expect(status(["started_on": "2025-09-01", "finished_on": "2026-07-31"]) == "leaving")
        #expect(status(["started_on": "2025-09-01", "finished_on": "2026-06-15"]) == "left")
        // A withdrawal ends the training on its day.
        let withdrawn: JSONObject = [
            "started_on": "2025-09-01", "finished_on": "2026-07-31", "training_status": "withdrawn",
            "withdrawal": ["reason": "other", "date": "2026-06-15T10:00:00.000000Z"],
        ]
        #expect(status(withdrawn) == "left")
        // A completed induction keeps them active, unless it came after the training ended.
        #expect(
            status(["started_on": "2025-09-01", "finished_on": "2026-01-31", "induction_end_date": "2026-01-15"])
                == "active")
        #expect(
            status(["started_on": "2025-09-01", "finished_on": "2026-01-31", "induction_end_date": "2026-03-15"])
                == "left")
        #expect(
            status([
                "participant_type": "mentor", "started_on": "2025-09-01", "finished_on": "2026-01-31",
                "mentor_funding_end_date": "2025-12-01",
            ])
                == "active")
        // Records loaded without dates keep what the school reported.
        #expect(status(["status": "left"]) == "left")
    }

    // MARK: actions

    @Test func actionsNeedTheirOwnRequestShape() throws {
        let w = try world()
        let teacher = try ect(w)
        let badRequest: JSON = [
            ["title": "Bad request", "detail": "Correct json data structure required. See API docs for reference."]
        ]
        let reasons: JSON = ["reason": "other", "course_identifier": "ecf-induction"]
        for (path, type, attributes) in [
            ("withdraw", "participant-defer", reasons), ("withdraw", "", reasons), ("defer", "participant-defer", [:]),
            ("resume", "participant-resume", ["unknown": 1]), ("resume", "participant-resume", .null),
        ] {
            let response = action(teacher, path, attributes, type: type, token: w.tokenA)
            #expect(response.status == 400, "\(path) \(type)")
            #expect(response.json?["errors"] == badRequest)
        }
        let noType = client.send(
            .put, "/api/v3/participants/\(teacher)/withdraw", token: w.tokenA, json: ["data": ["attributes": reasons]])
        #expect(noType.status == 400)
        // Another provider's participant, or none: 404 after the shape is checked.
        #expect(action(teacher, "withdraw", reasons, token: w.tokenB).status == 404)
        #expect(action("8a1f0c2e-1111-4222-8333-944455566677", "withdraw", reasons, token: w.tokenA).status == 404)
        #expect(action(teacher, "withdraw", reasons, type: "participant-defer", token: w.tokenB).status == 400)
    }

    @Test func withdrawAndDeferFollowTheRealRules() throws {
        let w = try world()
        let teacher = try ect(w)
        func errors(_ path: String, _ attributes: JSON, _ id: String? = nil) -> JSON? {
            let response = action(id ?? teacher, path, attributes, token: w.tokenA)
            #expect(response.status == 422, "\(response.json?.text ?? "")")
            return response.json?["errors"]
        }
        #expect(
            errors("withdraw", ["reason": "", "course_identifier": "ecf-other"])
                == [
                    ["title": "course_identifier", "detail": "Enter a '#/course_identifier'."],
                    ["title": "reason", "detail": "Enter a '#/reason'."],
                ])
        #expect(
            errors("withdraw", ["reason": "bored", "course_identifier": "ecf-mentor"])
                == [
                    [
                        "title": "course_identifier",
                        "detail":
                            "The entered '#/course_identifier' is not recognised for the given participant. Check details and try again.",
                    ],
                    [
                        "title": "reason",
                        "detail":
                            "The entered '#/reason' is not recognised for the given participant. Check details and try again.",
                    ],
                ])
        #expect(
            errors("withdraw", ["reason": "mentor-no-longer-being-mentor", "course_identifier": "ecf-induction"])
                == [
                    [
                        "title": "reason",
                        "detail": "You cannot withdraw an ECT for this reason. The ECT is not a mentor.",
                    ]
                ])
        #expect(
            errors("defer", ["reason": "left-teaching-profession", "course_identifier": "ecf-induction"])
                == [
                    [
                        "title": "reason",
                        "detail":
                            "The entered '#/reason' is not recognised for the given participant. Check details and try again.",
                    ]
                ])
        let before = try #require(
            participant(teacher, token: w.tokenA).json?["data"]?["attributes"]?["updated_at"]?.stringValue)
        Thread.sleep(forTimeInterval: 1.05)
        let deferred = action(
            teacher, "defer", ["reason": "career-break", "course_identifier": "ecf-induction"], token: w.tokenA)
        #expect(deferred.status == 200, "\(deferred.json?.text ?? "")")
        let shown = try #require(enrolment(deferred))
        #expect(shown["training_status"] == "deferred")
        #expect(shown["deferral"]?["reason"] == "career-break")
        #expect(shown["withdrawal"] == .null)
        #expect(shown["participant_status"] == "left")
        let after = try #require(deferred.json?["data"]?["attributes"]?["updated_at"]?.stringValue)
        #expect(after > before)
        #expect(
            errors("defer", ["reason": "other", "course_identifier": "ecf-induction"])
                == [["title": "participant_id", "detail": "The '#/participant_id' is already deferred."]])
        let withdrawn = action(
            teacher, "withdraw", ["reason": "moved-school", "course_identifier": "ecf-induction"], token: w.tokenA)
        #expect(withdrawn.status == 200)
        #expect(enrolment(withdrawn)?["withdrawal"]?["reason"] == "moved-school")
        #expect(enrolment(withdrawn)?["deferral"] == .null)
        #expect(
            errors("withdraw", ["reason": "other", "course_identifier": "ecf-induction"])
                == [["title": "participant_id", "detail": "The '#/participant_id' is already withdrawn."]])
        #expect(
            errors("defer", ["reason": "other", "course_identifier": "ecf-induction"])
                == [["title": "participant_id", "detail": "The '#/participant_id' is already withdrawn."]])
        // Training that starts later, or today.
        let later = try ect(w, ["started_on": "2099-09-01"], name: "Later")
        #expect(
            errors("withdraw", ["reason": "other", "course_identifier": "ecf-induction"], later)
                == [
                    [
                        "title": "participant_id",
                        "detail":
                            "You cannot withdraw #/participant_id. This is because they have not been training with you for at least one day.",
                    ]
                ])
        #expect(
            errors("defer", ["reason": "other", "course_identifier": "ecf-induction"], later)?.arrayValue?.first?[
                "detail"]
                == "You cannot defer #/participant_id. This is because they have not been training with you for at least one day."
        )
        let today = try ect(w, ["started_on": .string(Day.today())], name: "Today")
        #expect(
            errors("defer", ["reason": "other", "course_identifier": "ecf-induction"], today)
                == [
                    [
                        "title": "participant_id",
                        "detail":
                            "You cannot defer or withdraw this participant today. You need to try again tomorrow as the training was recently changed for this participant.",
                    ]
                ])
    }

    @Test func resumeFollowsTheRealRules() throws {
        let w = try world()
        let active = try ect(w)
        let body: JSON = ["course_identifier": "ecf-induction"]
        func errors(_ id: String) -> JSON? {
            let response = action(id, "resume", body, token: w.tokenA)
            #expect(response.status == 422, "\(response.json?.text ?? "")")
            return response.json?["errors"]
        }
        #expect(errors(active) == [["title": "participant_id", "detail": "The '#/participant_id' is already active."]])
        #expect(
            action(active, "defer", ["reason": "other", "course_identifier": "ecf-induction"], token: w.tokenA).status
                == 200)
        #expect(
            errors(active)
                == [
                    [
                        "title": "participant_id",
                        "detail":
                            "You cannot resume a participant on the same day they were withdrawn or deferred. Resume them tomorrow or later.",
                    ]
                ])
        let deferral: JSON = ["reason": "parental-leave", "date": "2025-12-01T00:00:00Z"]
        let deferred = try ect(w, ["training_status": "deferred", "deferral": deferral], name: "Deferred")
        let resumed = action(deferred, "resume", body, token: w.tokenA)
        #expect(resumed.status == 200, "\(resumed.json?.text ?? "")")
        #expect(enrolment(resumed)?["training_status"] == "active")
        #expect(enrolment(resumed)?["deferral"] == .null)
        #expect(enrolment(resumed)?["participant_status"] == "active")
        // The school reported them gone.
        let gone = try ect(
            w, ["training_status": "deferred", "deferral": deferral, "finished_on": "2026-01-31"], name: "Gone")
        #expect(
            errors(gone)
                == [
                    [
                        "title": "participant_id",
                        "detail":
                            "The participant is no longer at the school. Please contact the induction tutor to resolve.",
                    ]
                ])
        // Training with B at the same school meanwhile.
        let moved = try ect(
            w,
            [
                "training_status": "withdrawn",
                "withdrawal": ["reason": "changed-lead-provider", "date": "2025-12-01T00:00:00Z"],
            ], name: "Moved")
        try register([
            "teacher_id": .string(moved), "school_id": .string(w.schools[0]), "cohort": "2025",
            "lead_provider_id": .string(w.providerB), "training_programme": "provider_led", "started_on": "2025-12-02",
        ])
        #expect(
            errors(moved)
                == [
                    [
                        "title": "participant_id",
                        "detail":
                            "This participant cannot be resumed because they are already active with another provider.",
                    ]
                ])
    }

    @Test func changeScheduleFollowsTheRealRules() throws {
        let w = try world()
        let teacher = try ect(w)
        func change(_ attributes: JSON, _ id: String? = nil, token: String? = nil) -> TestResponse {
            action(id ?? teacher, "change-schedule", attributes, token: token ?? w.tokenA)
        }
        func errors(_ attributes: JSON, _ id: String? = nil) -> JSON? {
            let response = change(attributes, id)
            #expect(response.status == 422, "\(response.json?.text ?? "")")
            return response.json?["errors"]
        }
        func only(_ title: String, _ detail: String) -> JSON { [["title": .string(title), "detail": .string(detail)]] }
        let invalid = "The property '#/schedule_identifier' must be present and correspond to a valid schedule."
        #expect(
            errors(["course_identifier": "ecf-induction", "cohort": "2025"]) == only("schedule_identifier", invalid))
        #expect(
            errors(["schedule_identifier": "ecf-fast", "course_identifier": "ecf-induction"])
                == only("schedule_identifier", "Enter a valid schedule identifier."))
        #expect(
            errors(["schedule_identifier": "ecf-standard-september", "course_identifier": "ecf-induction"])
                == only("schedule_identifier", "Selected schedule is already on the profile"))
        #expect(
            errors(["schedule_identifier": "ecf-replacement-april", "course_identifier": "ecf-induction"])
                == only("schedule_identifier", "Selected schedule is not valid for the course_identifier"))
        // An unknown cohort reads as the participant's own, as there.
        #expect(
            errors([
                "schedule_identifier": "ecf-standard-september", "course_identifier": "ecf-induction", "cohort": "1999",
            ])
                == only("schedule_identifier", "Selected schedule is already on the profile"))
        // A cohort without a partnership with the school.
        #expect(
            errors([
                "schedule_identifier": "ecf-standard-september", "course_identifier": "ecf-induction", "cohort": "2026",
            ])
                == only(
                    "cohort",
                    "You cannot change a participant to this contract_period as you do not have a partnership with the school for the contract_period. Contact the DfE for assistance."
                ))
        // Declarations still counted must fit the new schedule's milestones.
        let record = try #require(
            TrainingRecordLookup.current(teacher: teacher, provider: w.providerA, course: .induction, in: client.store))
        let recordID = try #require(record["id"]?.stringValue)
        try client.store.write { tx in
            tx.put(
                "lp_declarations", "d1",
                [
                    "id": "d1", "lead_provider_id": .string(w.providerA), "teacher_id": .string(teacher),
                    "training_record_id": .string(recordID), "declaration_type": "started",
                    "declaration_date": "2025-10-01T10:00:00.000000Z", "state": "eligible",
                ])
        }
        #expect(
            errors(["schedule_identifier": "ecf-standard-april", "course_identifier": "ecf-induction"])
                == only(
                    "schedule_identifier",
                    "Changing schedule would invalidate existing declarations. Please void them first."))
        try client.store.write { tx in
            var declaration = try #require(tx.get("lp_declarations", "d1"))
            declaration["state"] = "voided"
            tx.put("lp_declarations", "d1", declaration)
        }
        let changed = change(["schedule_identifier": "ecf-standard-april", "course_identifier": "ecf-induction"])
        #expect(changed.status == 200, "\(changed.json?.text ?? "")")
        #expect(enrolment(changed)?["schedule_identifier"] == "ecf-standard-april")
        #expect(enrolment(changed)?["training_record_id"]?.stringValue == recordID)
        // With A's partnership in 2026, the training moves there.
        let moved = client.send(
            .post, "/api/v3/partnerships", token: w.tokenA,
            json: [
                "data": [
                    "type": "partnership",
                    "attributes": [
                        "cohort": "2026", "school_id": .string(w.schools[0]),
                        "delivery_partner_id": .string(w.partnerA),
                    ],
                ]
            ])
        #expect(moved.status == 200)
        let nextCohort = change([
            "schedule_identifier": "ecf-extended-september", "course_identifier": "ecf-induction", "cohort": 2026,
        ])
        #expect(nextCohort.status == 200, "\(nextCohort.json?.text ?? "")")
        #expect(enrolment(nextCohort)?["cohort"] == "2026")
        #expect(enrolment(nextCohort)?["schedule_identifier"] == "ecf-extended-september")
        // Who cannot change.
        let mentor = try register([
            "teacher_id": .string(teacher), "participant_type": "mentor", "school_id": .string(w.schools[1]),
            "cohort": "2025", "training_programme": "provider_led", "started_on": "2025-09-01",
        ])
        #expect(mentor.attributes["lead_provider_id"]?.stringValue == w.providerA)
        #expect(
            errors(["schedule_identifier": "ecf-reduced-april", "course_identifier": "ecf-mentor"])
                == only(
                    "schedule_identifier",
                    "Mentors cannot be placed on a reduced schedule. Assign them to a different schedule."))
        let withdrawn = try ect(
            w, ["training_status": "withdrawn", "withdrawal": ["reason": "other", "date": "2099-01-01T00:00:00Z"]],
            name: "W")
        #expect(
            errors(["schedule_identifier": "ecf-standard-april", "course_identifier": "ecf-induction"], withdrawn)
                == only("participant_id", "Cannot perform actions on a withdrawn participant"))
        let left = try ect(w, ["finished_on": "2026-01-31"], name: "Left")
        #expect(
            errors(["schedule_identifier": "ecf-standard-april", "course_identifier": "ecf-induction"], left)
                == only(
                    "participant_id",
                    "You cannot change this participant's schedule. This is because the participant has a 'left' participant_status, so they are not training with you currently."
                ))
        let completed = try ect(w, ["induction_end_date": "2026-07-01"], name: "Done")
        #expect(
            errors(["schedule_identifier": "ecf-standard-april", "course_identifier": "ecf-induction"], completed)
                == only(
                    "participant_id",
                    "You cannot change this participant's schedule as they have completed their training or induction.")
        )
        // An ECT who completed induction may still move to a reduced schedule.
        #expect(
            change(["schedule_identifier": "ecf-reduced-september", "course_identifier": "ecf-induction"], completed)
                .status == 200)
        let future = try ect(w, name: "Future")
        try register([
            "teacher_id": .string(future), "school_id": .string(w.schools[2]), "cohort": "2025",
            "training_programme": "provider_led", "started_on": "2099-01-01",
        ])
        #expect(
            errors(["schedule_identifier": "ecf-standard-april", "course_identifier": "ecf-induction"], future)
                == only(
                    "participant_id",
                    "You cannot change this participant's schedule as they are due to start with another lead provider in the future."
                ))
    }

    // MARK: transfers and unfunded mentors

    @Test func transfersAreDerivedFromTheMovesBetweenSchools() throws {
        let w = try world()
        // Leaves school 0 (A) and joins school 2 with B: a new provider, complete.
        let mover = try ect(w, ["finished_on": "2025-12-31"], name: "Mover")
        try register([
            "teacher_id": .string(mover), "school_id": .string(w.schools[2]), "cohort": "2025",
            "training_programme": "provider_led", "started_on": "2026-01-05",
        ])
        // Leaves school 0 for school 1, both with A, joining later: new school, incomplete.
        let stayer = try ect(w, ["finished_on": "2025-12-31"], name: "Stayer")
        try register([
            "teacher_id": .string(stayer), "school_id": .string(w.schools[1]), "cohort": "2025",
            "lead_provider_id": .string(w.providerA), "training_programme": "provider_led", "started_on": "2099-01-05",
        ])
        // Leaves, nowhere to go yet: unknown. And one who does not move.
        let leaver = try ect(w, ["finished_on": "2099-12-31"], name: "Leaver")
        _ = try ect(w, name: "Settled")
        func transfers(_ token: String) -> [String: JSON] {
            let response = client.get("/api/v3/participants/transfers", token: token)
            #expect(response.status == 200)
            var found: [String: JSON] = [:]
            for item in response.json?["data"]?.arrayValue ?? [] {
                #expect(item["type"] == "participant-transfer")
                found[item["id"]?.stringValue ?? ""] = item["attributes"]?["transfers"]?.arrayValue?.first
            }
            return found
        }
        let seenByA = transfers(w.tokenA)
        #expect(Set(seenByA.keys) == [mover, stayer, leaver])
        #expect(seenByA[mover]?["transfer_type"] == "new_provider")
        #expect(seenByA[mover]?["status"] == "complete")
        #expect(seenByA[mover]?["leaving"] == ["school_urn": "100001", "provider": "Provider A", "date": "2025-12-31"])
        #expect(seenByA[mover]?["joining"] == ["school_urn": "100003", "provider": "Provider B", "date": "2026-01-05"])
        #expect(seenByA[stayer]?["transfer_type"] == "new_school")
        #expect(seenByA[stayer]?["status"] == "incomplete")
        #expect(seenByA[leaver]?["transfer_type"] == "unknown")
        #expect(seenByA[leaver]?["joining"] == .null)
        #expect(seenByA[leaver]?["status"] == "incomplete")
        // B sees only the transfer it joins.
        #expect(Set(transfers(w.tokenB).keys) == [mover])
        let one = client.get("/api/v3/participants/\(mover.uppercased())/transfers", token: w.tokenB)
        #expect(one.status == 200)
        #expect(one.json?["data"]?["attributes"]?["transfers"]?.arrayValue?.count == 1)
        #expect(client.get("/api/v3/participants/\(stayer)/transfers", token: w.tokenB).status == 404)
        // updated_since follows the records of the transfer.
        let earlier = Timestamp(microseconds: Timestamp.now().microseconds - 60_000_000).secondsText
        #expect(
            client.get("/api/v3/participants/transfers?filter[updated_since]=\(earlier)", token: w.tokenA).json?[
                "data"]?.arrayValue?
                .count == 3)
        let since = Timestamp(microseconds: Timestamp.now().microseconds + 2_000_000).secondsText
        #expect(
            client.get("/api/v3/participants/transfers?filter[updated_since]=\(since)", token: w.tokenA).json?["data"]
                == [])
    }

    @Test func unfundedMentorsAreYourECTsMentorsWhoDoNotTrainWithYou() throws {
        let w = try world()
        let mentor = try #require(
            try register([
                "full_name": "Mentor Elsewhere", "trn": "7654321", "participant_type": "mentor",
                "email": "mentor@school3.example", "school_id": .string(w.schools[2]), "cohort": "2025",
                "training_programme": "provider_led", "started_on": "2025-09-01",
            ]).attributes["teacher_id"]?.stringValue)
        let trainedMentor = try ect(w, ["participant_type": "mentor"], name: "Mentor With A")
        _ = try ect(w, ["mentor_id": .string(mentor)], name: "ECT One")
        _ = try ect(w, ["mentor_id": .string(trainedMentor)], name: "ECT Two")
        let listed = client.get("/api/v3/unfunded-mentors", token: w.tokenA)
        #expect(listed.status == 200)
        let items = listed.json?["data"]?.arrayValue ?? []
        #expect(items.compactMap { $0["id"]?.stringValue } == [mentor])
        #expect(items.first?["type"] == "unfunded-mentor")
        let attributes = items.first?["attributes"]
        #expect(attributes?["full_name"] == "Mentor Elsewhere")
        #expect(attributes?["email"] == "mentor@school3.example")
        #expect(attributes?["teacher_reference_number"] == "7654321")
        #expect(client.get("/api/v3/unfunded-mentors/\(mentor.uppercased())", token: w.tokenA).status == 200)
        #expect(client.get("/api/v3/unfunded-mentors/\(trainedMentor)", token: w.tokenA).status == 404)
        // B has no ECT they mentor: nothing, and 404.
        #expect(client.get("/api/v3/unfunded-mentors", token: w.tokenB).json?["data"] == [])
        #expect(client.get("/api/v3/unfunded-mentors/\(mentor)", token: w.tokenB).status == 404)
        let earlier = Timestamp(microseconds: Timestamp.now().microseconds - 60_000_000).secondsText
        #expect(
            client.get("/api/v3/unfunded-mentors?filter[updated_since]=\(earlier)", token: w.tokenA).json?["data"]?
                .arrayValue?
                .count == 1)
        let since = Timestamp(microseconds: Timestamp.now().microseconds + 2_000_000).secondsText
        #expect(
            client.get("/api/v3/unfunded-mentors?filter[updated_since]=\(since)", token: w.tokenA).json?["data"] == [])
    }

    // MARK: demo data

    @Test func theDemoDataAnswersEveryParticipantOperationForEveryProvider() throws {
        _ = try LeadProviderDemoData.load(into: client.store)
        #expect(client.store.count("lp_schedules") == 4 * 12)
        for provider in client.store.all("lp_lead_providers").compactMap({ $0["id"]?.stringValue }) {
            let token = try client.token(for: LeadProviderPrincipal.leadProvider(id: provider))
            let participants =
                client.get("/api/v3/participants?page[per_page]=3000", token: token).json?["data"]?.arrayValue ?? []
            let enrolments = participants.flatMap { $0["attributes"]?["ecf_enrolments"]?.arrayValue ?? [] }
            let statuses = Set(enrolments.compactMap { $0["training_status"]?.stringValue })
            let participantStatuses = Set(enrolments.compactMap { $0["participant_status"]?.stringValue })
            #expect(statuses == ["active", "deferred", "withdrawn"])
            #expect(participantStatuses.isSuperset(of: ["active", "left", "leaving"]))
            #expect(Set(enrolments.compactMap { $0["participant_type"]?.stringValue }) == ["ect", "mentor"])
            #expect(enrolments.contains { $0["delivery_partner_id"] != .null })
            let transfers = client.get("/api/v3/participants/transfers", token: token).json?["data"]?.arrayValue ?? []
            let types = Set(
                transfers.flatMap { $0["attributes"]?["transfers"]?.arrayValue ?? [] }.compactMap {
                    $0["transfer_type"]?.stringValue
                })
            #expect(types.isSuperset(of: ["new_school", "new_provider"]), "\(types)")
            let mentors = client.get("/api/v3/unfunded-mentors", token: token).json?["data"]?.arrayValue ?? []
            #expect(!mentors.isEmpty)
            let someone = try #require(participants.first?["id"]?.stringValue)
            #expect(client.get("/api/v3/participants/\(someone)", token: token).status == 200)
        }
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
