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
        #expect(errors(request(nil)) == [["participant_id", DeclarationFailure.participantMissing]])
        #expect(errors(request(teacher, course: nil)) == [["course_identifier", DeclarationFailure.courseMissing]])
        // An unknown course is no course: the real service derives the participant type from it.
        #expect(
            errors(request(teacher, course: "npq-leading")) == [
                ["course_identifier", DeclarationFailure.courseMissing]
            ])
        #expect(errors(request(teacher, nil)) == [["declaration_type", DeclarationFailure.typeMissing]])
        #expect(errors(request(teacher, "started-1")) == [["declaration_type", DeclarationFailure.typeInvalid]])
        #expect(errors(request(teacher, "started", nil)) == [["declaration_date", DeclarationFailure.dateMissing]])
    }

    @Test func theParticipantMustTrainWithTheProviderOnTheCourse() throws {
        let (teacher, _) = try world.putParticipant(eligible: false)
        let (strangers, _) = try world.putParticipant(provider: world.other, eligible: false)
        #expect(errors(request(Crypto.uuid())) == [["participant_id", DeclarationFailure.participantUnknown]])
        #expect(errors(request(strangers)) == [["participant_id", DeclarationFailure.participantUnknown]])
        #expect(
            errors(request(teacher, course: "ecf-mentor")) == [["course_identifier", DeclarationFailure.courseUnknown]])
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
