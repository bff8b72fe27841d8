import APICore
import HTTP
import JSON
import Store
import TestClient
import Testing

@testable import LeadProviderAPI

/// A lead provider with a delivery partner and a school, another provider, cohorts 2024-2026 with
/// the standard schedule, and participants put straight into the store (lp_teachers,
/// lp_participants, lp_schedules as TrainingRecords.swift describes them).
struct DeclarationWorld {
    let client: TestClient
    let staff: String
    let provider: String
    let other: String
    let partner: String
    let school: String
    let token: String
    let otherToken: String

    init() throws {
        client = try TestClient()
        staff = try client.token(for: Staff(name: "test staff"))
        var ids: [String] = []
        for year in ["2024", "2025", "2026"] {
            try Self.post(
                client, staff, "cohorts",
                ["year": .string(year), "registration_opens_at": "2023-06-01T00:00:00Z", "registration_closes_at": nil])
        }
        for name in ["Provider", "Other provider"] {
            ids.append(
                try #require(try Self.post(client, staff, "lead-providers", ["name": .string(name)])["id"]?.stringValue)
            )
        }
        (provider, other) = (ids[0], ids[1])
        partner = try #require(try Self.post(client, staff, "delivery-partners", ["name": "Hub"])["id"]?.stringValue)
        school = try #require(
            try Self.post(client, staff, "schools", ["urn": "100001", "name": "Ashford Primary"])["id"]?.stringValue)
        token = try client.token(for: LeadProviderPrincipal.leadProvider(id: provider))
        otherToken = try client.token(for: LeadProviderPrincipal.leadProvider(id: other))
        for year in [2024, 2025, 2026] { try putSchedule(cohort: year) }
    }

    @discardableResult
    static func post(_ client: TestClient, _ staff: String, _ path: String, _ body: JSON) throws -> JSON {
        let response = client.send(.post, "/api/v3/admin/\(path)", token: staff, json: body)
        #expect(response.status == 201, "\(path): \(response.json?.text ?? "")")
        return try #require(response.json?["data"])
    }

    /// The standard windows: started Jun..Mar, retained-1 Sep..Aug, the rest open-ended.
    func putSchedule(
        cohort year: Int, identifier: String = "ecf-standard-september", omitting: Set<String> = []
    )
        throws
    {
        let windows: [(String, String, String?)] = [
            ("started", "\(year)-06-01", "\(year + 1)-03-31"), ("retained-1", "\(year)-09-01", "\(year + 1)-08-31"),
            ("retained-2", "\(year + 1)-01-01", nil), ("retained-3", "\(year + 1)-01-01", nil),
            ("retained-4", "\(year + 1)-01-01", nil), ("completed", "\(year)-06-01", nil),
            ("extended-1", "\(year + 1)-01-01", nil), ("extended-2", "\(year + 1)-01-01", nil),
            ("extended-3", "\(year + 1)-01-01", nil),
        ]
        let milestones = windows.filter { !omitting.contains($0.0) }.map { type, start, end -> JSON in
            ["declaration_type": .string(type), "start_date": .string(start), "milestone_date": JSON(end)]
        }
        let id = ScheduleLookup.id(cohort: String(year), identifier: identifier)
        try client.store.write { tx in
            tx.put(
                Collection.schedules, id,
                [
                    "id": .string(id), "cohort": .string(String(year)), "identifier": .string(identifier),
                    "milestones": .array(milestones),
                ])
        }
    }

    /// A teacher (new, or `teacher`) with a training record; returns (teacher id, training record id).
    @discardableResult
    func putParticipant(
        cohort: String = "2025", course: Course = .induction, provider: String? = nil, teacher: String? = nil,
        eligible: Bool = true, fields: JSONObject = [:], createdAt: String = Timestamp.now().storageText
    ) throws -> (teacher: String, record: String) {
        let teacherID = teacher ?? Crypto.uuid()
        let recordID = Crypto.uuid()
        var record: JSONObject = [
            "id": .string(recordID), "teacher_id": .string(teacherID), "school_id": .string(school),
            "cohort": .string(cohort), "lead_provider_id": .string(provider ?? self.provider),
            "delivery_partner_id": .string(partner), "training_programme": "provider_led", "status": "active",
            "participant_type": .string(course.participantType), "email": "someone@example.org",
            "training_status": "active", "schedule_identifier": "ecf-standard-september",
            "eligible_for_funding": .bool(eligible), "pupil_premium_uplift": false, "sparsity_uplift": false,
            "started_on": .string("\(cohort)-09-01"), "created_at": .string(createdAt),
            "updated_at": .string(createdAt),
        ]
        for (key, value) in fields { record[key] = value }
        try client.store.write { tx in
            if tx.get(Collection.teachers, teacherID) == nil {
                tx.put(
                    Collection.teachers, teacherID,
                    [
                        "id": .string(teacherID), "full_name": "Sam Patel", "trn": "1234567", "id_changes": [],
                        "created_at": .string(createdAt), "updated_at": .string(createdAt),
                    ])
            }
            tx.put(Collection.participants, recordID, .object(record))
        }
        return (teacherID, recordID)
    }

    /// A statement through the staff endpoint; its id.
    @discardableResult
    func statement(
        provider: String? = nil, cohort: String = "2025", month: String = "January", year: String = "2090",
        cutOff: String = "2089-12-31", payment: String = "2090-01-25", status: String = "open"
    ) throws -> String {
        try #require(
            try Self.post(
                client, staff, "statements",
                [
                    "lead_provider_id": .string(provider ?? self.provider), "cohort": .string(cohort),
                    "month": .string(month), "year": .string(year), "cut_off_date": .string(cutOff),
                    "payment_date": .string(payment), "status": .string(status),
                ])["id"]?.stringValue)
    }

    static func body(_ attributes: JSON, type: JSON = "participant-declaration") -> JSON {
        ["data": ["type": type, "attributes": attributes]]
    }

    func declare(
        _ teacher: String, _ type: String = "started", on date: String = "2025-10-01T10:00:00Z",
        course: Course = .induction, evidence: String? = "training-event-attended", token: String? = nil
    ) -> TestResponse {
        var attributes: JSONObject = [
            "participant_id": .string(teacher), "declaration_type": .string(type), "declaration_date": .string(date),
            "course_identifier": .string(course.rawValue),
        ]
        if let evidence { attributes["evidence_held"] = .string(evidence) }
        return client.send(
            .post, "/api/v3/participant-declarations", token: token ?? self.token, json: Self.body(.object(attributes)))
    }

    func patchStatement(_ id: String, _ body: JSON) -> TestResponse {
        client.send(.patch, "/api/v3/admin/statements/\(id)", token: staff, json: body)
    }
}

/// (title, detail) pairs of an error answer.
func errorPairs(_ response: TestResponse) -> [[String]] {
    (response.json?["errors"]?.arrayValue ?? []).map {
        [$0["title"]?.stringValue ?? "", $0["detail"]?.stringValue ?? ""]
    }
}

/// The declaration rules with a fixed clock, straight on the store.
@Suite struct DeclarationRulesTests {
    let world: DeclarationWorld
    /// 2026-03-15: inside the 2025 cohort's started window (2025-06-01 to 2026-03-31).
    let now = Timestamp.parse("2026-03-15T12:00:00Z")!

    init() throws { world = try DeclarationWorld() }

    func errors(_ request: DeclarationRequest, provider: String? = nil) -> [[String]] {
        switch DeclarationRules.validate(
            request, provider: provider ?? world.provider, now: now, in: world.client.store)
        {
        case .success: return []
        case .failure(let errors): return errors.errors.map { [$0.title, $0.detail] }
        }
    }

    func request(
        _ teacher: String?, _ type: String? = "started", _ date: String? = "2025-10-01T10:00:00Z",
        course: String? = "ecf-induction", evidence: String? = "training-event-attended"
    ) -> DeclarationRequest {
        DeclarationRequest(
            participantID: teacher, declarationType: type, declarationDate: date, courseIdentifier: course,
            evidenceHeld: evidence)
    }

    func create(_ request: DeclarationRequest) throws -> JSON {
        try world.client.store.write { tx in
            try DeclarationRules.create(&tx, request, provider: world.provider, now: now)
        }
    }

    @Test func aValidRequestPassesAndPresenceIsCheckedOneAttributeAtATime() throws {
        let (teacher, _) = try world.putParticipant(eligible: false)
        #expect(errors(request(teacher)) == [])
        #expect(errors(request(nil)) == [["participant_id", ParticipantFailure.participantMissing]])
        #expect(errors(request(teacher, course: nil)) == [["course_identifier", ParticipantFailure.courseMissing]])
        // An unknown course is no course: the real service derives the participant type from it.
        #expect(
            errors(request(teacher, course: "npq-leading")) == [
                ["course_identifier", ParticipantFailure.courseMissing]
            ])
        #expect(errors(request(teacher, nil)) == [["declaration_type", DeclarationFailure.typeMissing]])
        #expect(errors(request(teacher, "started-1")) == [["declaration_type", DeclarationFailure.typeInvalid]])
        #expect(errors(request(teacher, "started", nil)) == [["declaration_date", DeclarationFailure.dateMissing]])
    }

    @Test func theParticipantMustTrainWithTheProviderOnTheCourse() throws {
        let (teacher, _) = try world.putParticipant(eligible: false)
        let (strangers, _) = try world.putParticipant(provider: world.other, eligible: false)
        #expect(errors(request(Crypto.uuid())) == [["participant_id", ParticipantFailure.participantUnknown]])
        #expect(errors(request(strangers)) == [["participant_id", ParticipantFailure.participantUnknown]])
        #expect(
            errors(request(teacher, course: "ecf-mentor")) == [["course_identifier", ParticipantFailure.courseUnknown]])
        // Ids compare whatever their case.
        #expect(errors(request(teacher.uppercased())) == [])
    }

    @Test func theDateIsRFC3339NotInTheFutureAndInsideTheMilestone() throws {
        let (teacher, _) = try world.putParticipant(eligible: false)
        #expect(
            errors(request(teacher, "started", "2025-10-01")) == [["declaration_date", DeclarationFailure.dateFormat]])
        #expect(
            errors(request(teacher, "started", "2025-10-01 10:00:00")) == [
                ["declaration_date", DeclarationFailure.dateFormat]
            ])
        #expect(errors(request(teacher, "started", "soon")) == [["declaration_date", DeclarationFailure.dateFormat]])
        #expect(
            errors(request(teacher, "started", "2026-03-16T00:00:00Z")) == [
                ["declaration_date", DeclarationFailure.dateInFuture]
            ])
        #expect(
            errors(request(teacher, "started", "2025-05-31T23:59:59Z"))
                == [["declaration_date", DeclarationFailure.beforeMilestone]])
        #expect(errors(request(teacher, "started", "2025-06-01T00:00:00Z")) == [])
        #expect(errors(request(teacher, "retained-1", "2025-10-01T10:00:00+01")) == [])
        // The milestone date is the last day: up to its end.
        let (late, _) = try world.putParticipant(cohort: "2024", eligible: false)
        #expect(errors(request(late, "started", "2025-03-31T23:59:59Z")) == [])
        #expect(
            errors(request(late, "started", "2025-04-01T00:00:00Z"))
                == [["declaration_date", DeclarationFailure.afterMilestone]])
    }

    @Test func aTypeTheScheduleLacksIsRefused() throws {
        try world.putSchedule(cohort: 2025, identifier: "ecf-reduced-september", omitting: ["retained-4"])
        let (teacher, _) = try world.putParticipant(
            eligible: false, fields: ["schedule_identifier": "ecf-reduced-september"])
        #expect(
            errors(request(teacher, "retained-4", "2026-02-01T10:00:00Z"))
                == [["declaration_type", DeclarationFailure.milestoneMissing]])
    }

    @Test func evidenceFollowsTheCohortAndType() throws {
        let (before2025, _) = try world.putParticipant(cohort: "2024", eligible: false)
        let (ect, _) = try world.putParticipant(cohort: "2025", eligible: false)
        let (mentor, _) = try world.putParticipant(cohort: "2025", course: .mentor, eligible: false)
        // Up to 2024: started needs none (what is sent is dropped), the others need a simple one.
        #expect(errors(request(before2025, "started", "2024-10-01T10:00:00Z", evidence: "not-a-kind")) == [])
        #expect(
            errors(request(before2025, "retained-1", "2024-10-01T10:00:00Z", evidence: nil))
                == [["evidence_held", DeclarationFailure.evidenceMissing]])
        #expect(
            errors(
                request(before2025, "retained-1", "2024-10-01T10:00:00Z", evidence: "materials-engaged-with-offline"))
                == [["evidence_held", DeclarationFailure.evidenceInvalid]])
        // From 2025: every type needs one from its own list.
        #expect(errors(request(ect, evidence: nil)) == [["evidence_held", DeclarationFailure.evidenceMissing]])
        #expect(errors(request(ect, evidence: "materials-engaged-with-offline")) == [])
        #expect(
            errors(request(ect, "retained-2", "2026-02-01T10:00:00Z", evidence: "training-event-attended"))
                == [["evidence_held", DeclarationFailure.evidenceInvalid]])
        #expect(errors(request(ect, "retained-2", "2026-02-01T10:00:00Z", evidence: "75-percent-engagement-met")) == [])
        #expect(errors(request(ect, "completed", "2026-02-01T10:00:00Z", evidence: "one-term-induction")) == [])
        // Mentors from 2025: started and completed only.
        #expect(
            errors(request(mentor, "retained-1", "2025-10-01T10:00:00Z", course: "ecf-mentor"))
                == [["declaration_type", DeclarationFailure.mentorStartedOrCompletedOnly]])
        #expect(
            errors(
                request(
                    mentor, "completed", "2026-02-01T10:00:00Z", course: "ecf-mentor", evidence: "one-term-induction"))
                == [["evidence_held", DeclarationFailure.evidenceInvalid]])
        // Before 2025 a mentor's retained declarations are fine.
        let (oldMentor, _) = try world.putParticipant(cohort: "2024", course: .mentor, eligible: false)
        #expect(errors(request(oldMentor, "retained-1", "2024-10-01T10:00:00Z", course: "ecf-mentor")) == [])
    }

    @Test func withdrawnBeforeTheDateIsRefusedDeferredIsNot() throws {
        let withdrawal: JSON = ["reason": "moved-school", "date": "2025-09-30T08:00:00Z"]
        let (withdrawn, _) = try world.putParticipant(
            eligible: false, fields: ["training_status": "withdrawn", "withdrawal": withdrawal])
        #expect(
            errors(request(withdrawn))
                == [["participant_id", DeclarationFailure.withdrawn(on: "2025-09-30T08:00:00Z")]])
        #expect(errors(request(withdrawn, "started", "2025-09-29T10:00:00Z")) == [])
        let (deferred, _) = try world.putParticipant(
            eligible: false,
            fields: [
                "training_status": "deferred", "deferral": ["reason": "bereavement", "date": "2025-09-01T00:00:00Z"],
            ])
        #expect(errors(request(deferred)) == [])
        // Several attributes fail: the answer lists them in the order they first failed.
        #expect(
            errors(request(withdrawn, "started", "2026-04-01T10:00:00Z"))
                == [
                    ["declaration_date", DeclarationFailure.dateInFuture],
                    ["participant_id", DeclarationFailure.withdrawn(on: "2025-09-30T08:00:00Z")],
                ])
    }

    @Test func anEligibleParticipantNeedsAnOpenOutputStatement() throws {
        let (teacher, _) = try world.putParticipant()
        #expect(errors(request(teacher)) == [["cohort", DeclarationFailure.noOutputStatement("2025")]])
        // Not eligible for funding: no statement needed.
        let (unfunded, _) = try world.putParticipant(eligible: false)
        #expect(errors(request(unfunded)) == [])
        // A payable statement, a service-fee one, another cohort's or another provider's: still none.
        try world.statement(
            month: "April", year: "2026", cutOff: "2026-03-31", payment: "2026-04-25", status: "payable")
        try world.statement(month: "February", year: "2026", cutOff: "2026-03-20", payment: "2026-04-25")
        try world.statement(cohort: "2024", month: "April", year: "2026", cutOff: "2026-03-31", payment: "2026-04-25")
        try world.statement(
            provider: world.other, month: "April", year: "2026", cutOff: "2026-03-31", payment: "2026-04-25")
        #expect(errors(request(teacher)) == [["cohort", DeclarationFailure.noOutputStatement("2025")]])
        let later = try world.statement(month: "August", year: "2026", cutOff: "2026-07-31", payment: "2026-08-25")
        let sooner = try world.statement(month: "November", year: "2026", cutOff: "2026-03-15", payment: "2026-11-25")
        let declaration = try create(request(teacher))
        #expect(declaration["state"] == "eligible")
        #expect(declaration["statement_id"]?.stringValue == sooner)
        #expect(later != sooner)
    }

    @Test func aNotEligibleParticipantsDeclarationIsSubmittedWithoutAStatement() throws {
        let (teacher, record) = try world.putParticipant(eligible: false)
        let declaration = try create(request(teacher))
        #expect(declaration["state"] == "submitted")
        #expect(declaration["statement_id"] == .null)
        #expect(declaration["training_record_id"]?.stringValue == record)
        #expect(declaration["delivery_partner_id"]?.stringValue == world.partner)
        #expect(declaration["evidence_held"] == "training-event-attended")
    }

    @Test func aSecondDeclarationOfATypeIsRefusedUntilTheFirstIsVoided() throws {
        let (teacher, _) = try world.putParticipant(eligible: false)
        let first = try create(request(teacher))
        #expect(errors(request(teacher)) == [["declaration_type", DeclarationFailure.duplicate]])
        // Also when another provider made it (the participant moved).
        try world.putParticipant(provider: world.other, teacher: teacher, eligible: false)
        #expect(
            errors(request(teacher), provider: world.other) == [["declaration_type", DeclarationFailure.duplicate]])
        _ = try world.client.store.write { tx in
            try DeclarationRules.void(&tx, id: first["id"]?.stringValue ?? "", provider: world.provider, now: now)
        }
        #expect(errors(request(teacher)) == [])
    }

    @Test func from2025DeclarationsFollowTheMilestoneOrder() throws {
        let (teacher, _) = try world.putParticipant(eligible: false)
        _ = try create(request(teacher, "started", "2025-10-01T10:00:00Z"))
        #expect(
            errors(request(teacher, "completed", "2025-09-30T10:00:00Z", evidence: "75-percent-engagement-met"))
                == [["declaration_date", DeclarationFailure.outOfSequence]])
        #expect(
            errors(request(teacher, "completed", "2026-02-01T10:00:00Z", evidence: "75-percent-engagement-met")) == [])
        // Before 2025 the order is not checked.
        let (earlier, _) = try world.putParticipant(cohort: "2024", eligible: false)
        _ = try create(request(earlier, "retained-1", "2025-08-01T10:00:00Z"))
        #expect(errors(request(earlier, "started", "2025-03-01T10:00:00Z")) == [])
    }

    @Test func the2021And2022ContractsHaveEnded() throws {
        #expect(CohortContract("2022").paymentsFrozen(today: "2025-06-16"))
        #expect(!CohortContract("2022").paymentsFrozen(today: "2025-06-15"))
        #expect(!CohortContract("2023").paymentsFrozen(today: "2030-01-01"))
        let (teacher, _) = try world.putParticipant(eligible: false)
        // The same teacher's ongoing training in a frozen cohort (with any provider) blocks them.
        try world.client.store.write { tx in
            tx.put(Collection.cohorts, "2022", ["id": "2022", "year": "2022"])
        }
        try world.putParticipant(
            cohort: "2022", provider: world.other, teacher: teacher, eligible: false,
            fields: ["started_on": "2025-01-01"])
        #expect(errors(request(teacher)) == [["cohort", DeclarationFailure.paymentsFrozen("2022")]])
    }

    @Test func startedDeclarationsUpTo2024KeepTheUplifts() throws {
        let (teacher, _) = try world.putParticipant(cohort: "2024", eligible: false, fields: ["sparsity_uplift": true])
        let started = try create(request(teacher, "started", "2024-10-01T10:00:00Z"))
        #expect(started["sparsity_uplift"] == true)
        #expect(started["uplift_paid"] == false)
        #expect(started["evidence_held"] == .null)
        let (later, _) = try world.putParticipant(cohort: "2025", eligible: false, fields: ["sparsity_uplift": true])
        #expect(try create(request(later))["sparsity_uplift"] == false)
    }

    @Test func aMentorsCompletedDeclarationEndsTheirFundingUntilVoided() throws {
        let (mentor, record) = try world.putParticipant(course: .mentor, eligible: false)
        let completed = try create(
            request(
                mentor, "completed", "2026-02-01T10:00:00Z", course: "ecf-mentor", evidence: "75-percent-engagement-met"
            ))
        var stored = try #require(world.client.store.get(Collection.participants, record))
        #expect(stored["mentor_funding_end_date"] == "2026-02-01")
        #expect(stored["mentor_ineligible_for_funding_reason"] == "completed_declaration_received")
        _ = try world.client.store.write { tx in
            try DeclarationRules.void(&tx, id: completed["id"]?.stringValue ?? "", provider: world.provider, now: now)
        }
        stored = try #require(world.client.store.get(Collection.participants, record))
        #expect(stored["mentor_funding_end_date"] == .null)
        #expect(stored["mentor_ineligible_for_funding_reason"] == .null)
    }

    @Test func rfc3339IsTheRealValidatorsShape() {
        for good in [
            "2025-10-01T10:00:00Z", "2025-10-01t10:00:00z", "2025-10-01T10:00:00.123Z", "2025-10-01T10:00:00,5+01:00",
            "2025-10-01T10:00:00+0100", "2025-10-01T10:00:00-01", "2025-10-01T10:00:00",
        ] {
            #expect(DeclarationRules.rfc3339(good) != nil, "\(good)")
        }
        for bad in [
            "2025-10-01", "2025-10-01 10:00:00Z", "2025-10-01T10:00Z", "2025-13-01T10:00:00Z", "2025-10-01T10:00:00+1",
            "2025-10-01T10:00:00Zjunk", "2025-10-01T10:00:00.Z", "",
        ] {
            #expect(DeclarationRules.rfc3339(bad) == nil, "\(bad)")
        }
        #expect(DeclarationRules.rfc3339("2025-10-01T10:00:00+01")?.secondsText == "2025-10-01T09:00:00Z")
    }

    @Test func theCalendarIsTheSeedsCalendar() {
        let months = StatementCalendar.months(cohort: 2025)
        #expect(months.count == 34)
        #expect(months.first! == (2025, 11))
        #expect(months.last! == (2028, 8))
        #expect(StatementCalendar.cutOff(2026, 1) == "2025-12-31")
        #expect(StatementCalendar.cutOff(2028, 3) == "2028-02-29")
        #expect(StatementCalendar.paymentDate(2026, 1) == "2026-01-25")
        #expect(StatementCalendar.status(2026, 1, today: "2026-03-26") == "paid")
        #expect(StatementCalendar.status(2026, 1, today: "2026-03-25") == "payable")
        #expect(StatementCalendar.status(2026, 1, today: "2026-01-01") == "payable")
        #expect(StatementCalendar.status(2026, 1, today: "2025-12-31") == "open")
        #expect(StatementCalendar.status(2026, 11, today: "2027-01-26") == "paid")
    }
}

/// The declaration and statement operations through the whole application (real clock: the
/// milestone windows are in the past, the statements' cut-offs far ahead).
@Suite struct DeclarationEndpointTests {
    let world: DeclarationWorld

    init() throws { world = try DeclarationWorld() }

    var client: TestClient { world.client }

    @Test func theRequestMustBeTheOfficialShape() throws {
        let (teacher, _) = try world.putParticipant(eligible: false)
        let attributes: JSON = [
            "participant_id": .string(teacher), "declaration_type": "started",
            "declaration_date": "2025-10-01T10:00:00Z", "course_identifier": "ecf-induction",
            "evidence_held": "training-event-attended",
        ]
        let bad = [
            DeclarationWorld.body(attributes, type: "partnership"), DeclarationWorld.body(attributes, type: .null),
            ["data": ["attributes": attributes]], DeclarationWorld.body([:]), DeclarationWorld.body(["unknown": 1]),
            ["data": ["type": "participant-declaration"]], ["participant_id": .string(teacher)],
        ]
        for body in bad {
            let response = client.send(.post, "/api/v3/participant-declarations", token: world.token, json: body)
            #expect(response.status == 400, "\(body.text)")
            #expect(
                errorPairs(response) == [
                    ["Bad request", "Correct json data structure required. See API docs for reference."]
                ])
        }
        // Attributes the request does not define are ignored, as in the real service.
        var extra = attributes.objectValue!
        extra["state"] = "paid"
        let response = client.send(
            .post, "/api/v3/participant-declarations", token: world.token, json: DeclarationWorld.body(.object(extra)))
        #expect(response.status == 200)
        #expect(response.json?["data"]?["attributes"]?["state"] == "submitted")
    }

    @Test func aDeclarationIsAnsweredWithEveryOfficialAttribute() throws {
        let statement = try world.statement()
        let mentor = try world.putParticipant(course: .mentor, eligible: false).teacher
        let (teacher, _) = try world.putParticipant(fields: ["mentor_id": .string(mentor)])
        let response = world.declare(teacher.uppercased())
        #expect(response.status == 200, "\(response.json?.text ?? "")")
        let data = try #require(response.json?["data"])
        #expect(data["type"] == "participant-declaration")
        let attributes = try #require(data["attributes"]?.objectValue)
        #expect(
            Array(attributes.keys) == [
                "participant_id", "declaration_type", "declaration_date", "course_identifier", "state", "updated_at",
                "created_at", "delivery_partner_id", "statement_id", "clawback_statement_id",
                "ineligible_for_funding_reason", "mentor_id", "uplift_paid", "evidence_held", "lead_provider_name",
            ])
        #expect(attributes["participant_id"]?.stringValue == teacher)
        #expect(attributes["declaration_date"] == "2025-10-01T10:00:00Z")
        #expect(attributes["state"] == "eligible")
        #expect(attributes["statement_id"]?.stringValue == statement)
        #expect(attributes["mentor_id"]?.stringValue == mentor)
        #expect(attributes["lead_provider_name"] == "Provider")
        #expect(attributes["delivery_partner_id"]?.stringValue == world.partner)
        let id = try #require(data["id"]?.stringValue)
        #expect(
            client.get("/api/v3/participant-declarations/\(id.uppercased())", token: world.token).json?["data"] == data)
        #expect(client.get("/api/v3/participant-declarations/\(id)", token: world.otherToken).status == 404)
        #expect(client.get("/api/v3/participant-declarations", token: world.otherToken).json?["data"] == [])
        #expect(client.send(.put, "/api/v3/participant-declarations/\(id)/void", token: world.otherToken).status == 404)
    }

    @Test func paymentVoidAndClawbackMoveTheStates() throws {
        let first = try world.statement(cohort: "2024")
        let later = try world.statement(
            cohort: "2024", month: "April", year: "2090", cutOff: "2090-03-31", payment: "2090-04-25")
        let (teacher, _) = try world.putParticipant(cohort: "2024", fields: ["pupil_premium_uplift": true])
        let created = world.declare(teacher, on: "2024-10-01T10:00:00Z")
        let id = try #require(created.json?["data"]?["id"]?.stringValue)
        func attributes() -> JSON? {
            client.get("/api/v3/participant-declarations/\(id)", token: world.token).json?["data"]?["attributes"]
        }
        #expect(attributes()?["state"] == "eligible")
        #expect(attributes()?["uplift_paid"] == false)
        #expect(world.patchStatement(first, ["status": "payable"]).status == 200)
        #expect(attributes()?["state"] == "payable")
        #expect(world.patchStatement(first, ["status": "paid"]).json?["data"]?["attributes"]?["paid"] == true)
        #expect(attributes()?["state"] == "paid")
        #expect(attributes()?["uplift_paid"] == true)
        // A paid statement changes no more; statuses never go back.
        #expect(world.patchStatement(first, ["cut_off_date": "2089-12-30"]).status == 422)
        #expect(world.patchStatement(later, ["status": "payable"]).status == 200)
        #expect(world.patchStatement(later, ["status": "open"]).status == 422)
        let third = try world.statement(
            cohort: "2024", month: "August", year: "2090", cutOff: "2090-07-31", payment: "2090-08-25")
        // Voiding a paid declaration claws it back on the next output statement not paid yet (payable or not).
        let voided = client.send(.put, "/api/v3/participant-declarations/\(id)/void", token: world.token)
        #expect(voided.json?["data"]?["attributes"]?["state"] == "awaiting-clawback")
        #expect(voided.json?["data"]?["attributes"]?["clawback_statement_id"]?.stringValue == later)
        #expect(voided.json?["data"]?["attributes"]?["statement_id"]?.stringValue == first)
        let again = client.send(.put, "/api/v3/participant-declarations/\(id)/void", token: world.token)
        #expect(errorPairs(again) == [["participant_declaration_id", DeclarationFailure.alreadyRefunded]])
        #expect(world.patchStatement(later, ["status": "paid"]).status == 200)
        #expect(attributes()?["state"] == "clawed-back")
        #expect(third != later)
    }

    @Test func voidingBeforePaymentAndWithoutAStatementToClawBackOn() throws {
        let statement = try world.statement()
        let (teacher, _) = try world.putParticipant()
        let id = try #require(world.declare(teacher).json?["data"]?["id"]?.stringValue)
        let voided = client.send(.put, "/api/v3/participant-declarations/\(id.uppercased())/void", token: world.token)
        #expect(voided.json?["data"]?["attributes"]?["state"] == "voided")
        #expect(voided.json?["data"]?["attributes"]?["statement_id"] == .null)
        #expect(
            errorPairs(client.send(.put, "/api/v3/participant-declarations/\(id)/void", token: world.token))
                == [["participant_declaration_id", DeclarationFailure.alreadyVoided]])
        // A paid declaration whose cohort has no output statement left to pay cannot be clawed back.
        let paid = try #require(world.declare(teacher).json?["data"]?["id"]?.stringValue)
        #expect(world.patchStatement(statement, ["status": "paid"]).status == 200)
        let refused = client.send(.put, "/api/v3/participant-declarations/\(paid)/void", token: world.token)
        #expect(refused.status == 422)
        #expect(
            errorPairs(refused) == [["participant_declaration_id", DeclarationFailure.noClawbackStatement("2025")]])
    }

    @Test func listsFilterAndPage() throws {
        try world.statement()
        try world.statement(cohort: "2024")
        let (a, _) = try world.putParticipant()
        let (b, _) = try world.putParticipant(cohort: "2024")
        let ids = [
            world.declare(a), world.declare(b, on: "2024-10-01T10:00:00Z"),
            world.declare(a, "retained-1", on: "2025-11-01T10:00:00Z"),
        ].compactMap { $0.json?["data"]?["id"]?.stringValue }
        #expect(ids.count == 3)
        func listed(_ query: String) -> [String] {
            (client.get("/api/v3/participant-declarations\(query)", token: world.token).json?["data"]?.arrayValue ?? [])
                .compactMap { $0["id"]?.stringValue }
        }
        #expect(listed("") == ids)
        #expect(listed("?filter[cohort]=2024") == [ids[1]])
        #expect(listed("?filter[cohort]=2024,2025") == ids)
        #expect(listed("?filter[cohort]=abc") == [])
        #expect(listed("?filter[cohort]=") == ids)
        #expect(listed("?filter[participant_id]=\(a.uppercased())") == [ids[0], ids[2]])
        #expect(listed("?filter[participant_id]=nope") == [])
        #expect(listed("?filter[delivery_partner_id]=\(world.partner)") == ids)
        #expect(listed("?filter[delivery_partner_id]=\(Crypto.uuid())") == [])
        #expect(listed("?filter[updated_since]=2999-01-01T00:00:00Z") == [])
        #expect(listed("?page[per_page]=2&page[page]=2") == [ids[2]])
        #expect(
            client.get("/api/v3/participant-declarations?filter[updated_since]=soon", token: world.token).status == 400)
        #expect(client.get("/api/v3/participant-declarations?page[page]=0", token: world.token).status == 400)
    }

    @Test func aProviderSeesTheBillableDeclarationsOfParticipantsWhoMovedToIt() throws {
        try world.statement()
        let (teacher, _) = try world.putParticipant(createdAt: "2025-09-01T00:00:00.000000Z")
        let id = try #require(world.declare(teacher).json?["data"]?["id"]?.stringValue)
        #expect(client.get("/api/v3/participant-declarations/\(id)", token: world.otherToken).status == 404)
        try world.putParticipant(provider: world.other, teacher: teacher, eligible: false)
        #expect(client.get("/api/v3/participant-declarations/\(id)", token: world.otherToken).status == 200)
        #expect(
            client.get("/api/v3/participant-declarations", token: world.otherToken).json?["data"]?.arrayValue?.count
                == 1)
        // Seen, but not theirs to void.
        #expect(client.send(.put, "/api/v3/participant-declarations/\(id)/void", token: world.otherToken).status == 404)
        // Voided, it is no longer billable: no longer shown to them.
        #expect(client.send(.put, "/api/v3/participant-declarations/\(id)/void", token: world.token).status == 200)
        #expect(client.get("/api/v3/participant-declarations/\(id)", token: world.otherToken).status == 404)
    }

    @Test func providersReadTheirOwnOutputStatements() throws {
        let output = try world.statement()
        let service = try world.statement(month: "February", year: "2090", cutOff: "2090-01-31", payment: "2090-02-25")
        let older = try world.statement(
            cohort: "2024", month: "November", year: "2089", cutOff: "2089-10-31", payment: "2089-11-25")
        let theirs = try world.statement(provider: world.other)
        func listed(_ query: String, _ token: String) -> [String] {
            (client.get("/api/v3/statements\(query)", token: token).json?["data"]?.arrayValue ?? []).compactMap {
                $0["id"]?.stringValue
            }
        }
        #expect(listed("", world.token) == [older, output])
        #expect(listed("?filter[cohort]=2025", world.token) == [output])
        #expect(listed("?page[per_page]=1&page[page]=2", world.token) == [output])
        #expect(listed("", world.otherToken) == [theirs])
        let shown = client.get("/api/v3/statements/\(output.uppercased())", token: world.token).json?["data"]
        #expect(
            shown?["attributes"]
                == [
                    "month": "January", "year": "2090", "cohort": "2025", "cut_off_date": "2089-12-31",
                    "payment_date": "2090-01-25", "paid": false,
                    "created_at": shown?["attributes"]?["created_at"] ?? .null,
                    "updated_at": shown?["attributes"]?["updated_at"] ?? .null,
                ])
        #expect(client.get("/api/v3/statements/\(service)", token: world.token).status == 404)
        #expect(client.get("/api/v3/statements/\(theirs)", token: world.token).status == 404)
    }

    @Test func staffLoadACalendarAndKeepStatementsConsistent() throws {
        let body: JSON = ["lead_provider_id": .string(world.provider), "cohort": "2026"]
        let calendar = client.send(.post, "/api/v3/admin/statements/calendar", token: world.staff, json: body)
        #expect(calendar.status == 201)
        let statements = calendar.json?["data"]?.arrayValue ?? []
        #expect(statements.count == 34)
        #expect(statements.first?["attributes"]?["month"] == "November")
        #expect(statements.first?["attributes"]?["cut_off_date"] == "2026-10-31")
        #expect(statements.first?["attributes"]?["output_fee"] == true)
        #expect(statements.last?["attributes"]?["payment_date"] == "2029-08-25")
        // Again: the same statements.
        let again = client.send(.post, "/api/v3/admin/statements/calendar", token: world.staff, json: body)
        #expect(again.json?["data"] == calendar.json?["data"])
        let duplicate = client.send(
            .post, "/api/v3/admin/statements", token: world.staff,
            json: [
                "lead_provider_id": .string(world.provider), "cohort": "2026", "month": "November", "year": "2026",
                "cut_off_date": "2026-10-31", "payment_date": "2026-11-25",
            ])
        #expect(duplicate.status == 422)
        let backwards = client.send(
            .post, "/api/v3/admin/statements", token: world.staff,
            json: [
                "lead_provider_id": .string(world.provider), "cohort": "2025", "month": "May", "year": "2026",
                "cut_off_date": "2026-05-31", "payment_date": "2026-05-25",
            ])
        #expect(
            errorPairs(backwards) == [
                ["payment_date", "The '#/payment_date' must be later than the '#/cut_off_date'."]
            ])
        #expect(
            client.send(.post, "/api/v3/admin/statements/calendar", token: world.token, json: body).status == 403)
    }

    @Test func theDailyStepMarksDueStatementsPayable() throws {
        let due = try world.statement(month: "January", year: "2026", cutOff: "2025-12-31", payment: "2026-01-25")
        try world.statement()
        let (teacher, _) = try world.putParticipant(eligible: true)
        _ = try world.client.store.write { tx in
            try DeclarationRules.create(
                &tx,
                DeclarationRequest(
                    participantID: teacher, declarationType: "started", declarationDate: "2025-10-01T00:00:00Z",
                    courseIdentifier: "ecf-induction", evidenceHeld: "training-event-attended"),
                provider: world.provider, now: Timestamp.parse("2025-10-02T00:00:00Z")!)
        }
        let marked = client.send(.post, "/api/v3/admin/statements/mark-payable", token: world.staff)
        #expect((marked.json?["data"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue } == [due])
        let listed = client.get("/api/v3/participant-declarations", token: world.token).json?["data"]?.arrayValue
        #expect(listed?.first?["attributes"]?["state"] == "payable")
    }

    @Test func theDemoDataDeclaresWhatItsStatementsHaveReached() throws {
        for index in 0..<8 {
            try world.putParticipant(
                cohort: index % 2 == 0 ? "2024" : "2025", course: index % 3 == 0 ? .mentor : .induction,
                eligible: index != 5)
        }
        let (statements, declarations) = try DeclarationDemoData.load(into: client.store)
        #expect(statements == 3 * 2 * 34)
        #expect(declarations > 6)
        let listed = client.get("/api/v3/participant-declarations", token: world.token).json?["data"]?.arrayValue ?? []
        #expect(listed.count == declarations)
        let expected = ["open": "eligible", "payable": "payable", "paid": "paid"]
        for declaration in listed {
            let attributes = declaration["attributes"]
            guard let statement = attributes?["statement_id"]?.stringValue else {
                #expect(["submitted", "voided"].contains(attributes?["state"]?.stringValue ?? ""))
                continue
            }
            let status = StatementStatus(try #require(client.store.get(Collection.statements, statement)))
            if attributes?["state"] == "awaiting-clawback" {
                #expect(status == .paid)
                #expect(attributes?["clawback_statement_id"]?.stringValue != nil)
            } else {
                #expect(attributes?["state"]?.stringValue == expected[status.rawValue])
            }
        }
    }

    @Test func theCommandLineMakesTheSameChecks() throws {
        var fields: JSONObject = [
            "lead_provider_id": .string(world.provider.uppercased()), "cohort": "2025", "month": "May", "year": "2031",
            "cut_off_date": "2031-04-30", "payment_date": "2031-05-25",
        ]
        let record = try StatementAdministration.create(in: client.store, fields)
        let id = try #require(record["id"]?.stringValue)
        #expect(
            StatementAdministration.line(record)
                == "\(id)\t\(world.provider)\t2025\tMay 2031\t2031-04-30\t2031-05-25\topen\tservice")
        fields["month"] = "Mayo"
        #expect(throws: StatementAdministration.Refused.self) {
            try StatementAdministration.create(in: client.store, fields)
        }
        #expect(
            try StatementAdministration.change(in: client.store, id: id.uppercased(), ["status": "paid"])["paid"]
                == true)
        do {
            _ = try StatementAdministration.change(in: client.store, id: id, ["cut_off_date": "2031-04-01"])
            Issue.record("a paid statement changed")
        } catch let refused as StatementAdministration.Refused {
            #expect(refused.description == "status: This statement has been paid: it can no longer change.")
        }
        #expect(
            try StatementAdministration.calendar(in: client.store, leadProvider: world.provider, cohort: "2026").count
                == 34)
        #expect(
            StatementAdministration.list(in: client.store, leadProvider: world.provider, cohort: "2026").count == 34)
    }
}
