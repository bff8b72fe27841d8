import APICore
import JSON
import Store

// The stored shape of participants, schedules, statements and declarations: what the participant
// operations (Participants.swift, Transfers.swift, UnfundedMentors.swift) and the declaration
// operations (Declarations.swift, Statements.swift) share. Records keep storage timestamps
// (`Timestamp.storageText`); dates are `YYYY-MM-DD` strings.
//
// lp_teachers — one per person; the id is the API's participant id.
//   full_name, trn (String?), id_changes: [{from_participant_id, to_participant_id, changed_at}],
//   created_at, updated_at (moves whenever anything shown about the participant changes, including
//   one of their training records, so that `filter[updated_since]` sees it). Added: email? (the
//   contact staff registered, shown for an unfunded mentor without a training record).
//
// lp_participants — one per training record; the id is the API's `training_record_id`.
//   Before issue 16: school_id, cohort, lead_provider_id?, delivery_partner_id?, training_programme
//   (provider_led | school_led), status (the API's participant_status: active | joining | leaving |
//   left), created_at, updated_at. Records without a teacher_id (older stores, bench seeds) still
//   count for the partnership and school answers, but are no API participant.
//   Added: teacher_id, participant_type (ect | mentor), email, mentor_id (a teacher id; ECTs only),
//   training_status (active | deferred | withdrawn), withdrawal {reason, date}?, deferral
//   {reason, date}?, schedule_identifier, eligible_for_funding (Bool?), pupil_premium_uplift,
//   sparsity_uplift, working_pattern (full_time | part_time)?, induction_end_date?,
//   mentor_funding_end_date?, mentor_ineligible_for_funding_reason?, started_on (date the training
//   at this school began), finished_on (date it ended or will end)?.
//
// lp_schedules — id `year|identifier`: cohort, identifier, milestones [{declaration_type,
//   start_date, milestone_date?}]. Added: created_at, updated_at.
//
// lp_statements — lead_provider_id, cohort, month ("May"), year ("2022"), cut_off_date,
//   payment_date, paid (Bool), output_fee (Bool: declarations are attached to it), created_at,
//   updated_at.
//   Added (declarations): status (open | payable | paid: the real model's states; `paid` is status == paid).
//
// lp_declarations — lead_provider_id, teacher_id (the API's participant_id), training_record_id,
//   declaration_type, declaration_date, course_identifier, state, evidence_held?,
//   delivery_partner_id, statement_id?, clawback_statement_id?, ineligible_for_funding_reason?,
//   mentor_id?, uplift_paid (Bool), created_at, updated_at.
//   Added (declarations): pupil_premium_uplift, sparsity_uplift (Bool: the training record's, kept on started declarations in uplift cohorts).

/// What both the store (a request's reads) and a transaction (a write's reads) can answer, so that
/// a rule is written once for both.
protocol RecordReader {
    func get(_ collection: String, _ id: String) -> JSON?
    func lookup(_ collection: String, index: String, key: String) -> [String]
}

extension Store: RecordReader {}
extension Transaction: RecordReader {}

extension RecordReader {
    func records(_ collection: String, index: String, key: String) -> [JSON] {
        lookup(collection, index: index, key: key).compactMap { get(collection, $0) }
    }
}

/// The API's `course_identifier`: which of a teacher's trainings a request means.
enum Course: String, CaseIterable {
    case induction = "ecf-induction"
    case mentor = "ecf-mentor"

    /// The `participant_type` of the training records this course is.
    var participantType: String { self == .induction ? "ect" : "mentor" }

    init?(participantType: String) {
        switch participantType {
        case "ect": self = .induction
        case "mentor": self = .mentor
        default: return nil
        }
    }
}

/// The real service's texts for a participant or course a request names, shared by the
/// participant actions and the declarations (after its `config/api_error_mappings.yml`).
enum ParticipantFailure {
    static let participantMissing = "Enter a '#/participant_id'."
    static let participantUnknown =
        "Your update cannot be made as the '#/participant_id' is not recognised. Check participant details and try again."
    static let courseMissing = "Enter a '#/course_identifier'."
    static let courseUnknown =
        "The entered '#/course_identifier' is not recognised for the given participant. Check details and try again."
}

/// A teacher's training records as a lead provider sees them.
enum TrainingRecordLookup {
    /// Whether `provider` sees a training record: its own, held by a confirmed partnership. The
    /// real serializer reads the delivery partner through the training's school partnership, so a
    /// training no partnership holds yet (an expression of interest) is no API participant until
    /// the provider confirms one (`attachToPartnership`).
    static func isShown(_ record: JSON, to provider: String) -> Bool {
        record["lead_provider_id"]?.stringValue == provider && record["delivery_partner_id"]?.stringValue != nil
    }

    /// The teacher's training records `provider` sees, oldest first.
    static func all(teacher: String, provider: String, in reader: some RecordReader) -> [JSON] {
        reader.records(Collection.participants, index: "by_teacher", key: teacher)
            .filter { isShown($0, to: provider) }
            .sorted { ($0["created_at"]?.stringValue ?? "") < ($1["created_at"]?.stringValue ?? "") }
    }

    /// The training record a course names: the teacher's latest with `provider` of that type.
    static func current(teacher: String, provider: String, course: Course, in reader: some RecordReader) -> JSON? {
        all(teacher: teacher, provider: provider, in: reader)
            .last(where: { $0["participant_type"]?.stringValue == course.participantType })
    }
}

extension TrainingRecordLookup {
    /// A partnership confirmed for a school and cohort takes in the trainings registered there
    /// with its provider that no partnership held yet: they get its delivery partner, and their
    /// teachers' `updated_at` moves (they now appear in the provider's participants).
    static func attachToPartnership(
        _ tx: inout Transaction, provider: String, school: String, cohort: String, deliveryPartner: String,
        now: String
    ) {
        let key = Collection.schoolCohortKey(.string(school), .string(cohort))
        for var record in tx.records(Collection.participants, index: "by_school_cohort", key: key)
        where record["lead_provider_id"]?.stringValue == provider && record["delivery_partner_id"]?.stringValue == nil {
            guard let id = record["id"]?.stringValue else { continue }
            record["delivery_partner_id"] = .string(deliveryPartner)
            record["updated_at"] = .string(now)
            tx.put(Collection.participants, id, record)
            if let teacherID = record["teacher_id"]?.stringValue, var teacher = tx.get(Collection.teachers, teacherID) {
                teacher["updated_at"] = .string(now)
                tx.put(Collection.teachers, teacherID, teacher)
            }
        }
    }
}

/// Schedules are records (staff load them; demo data and new cohorts get the standard set).
enum ScheduleLookup {
    static func id(cohort: String, identifier: String) -> String { "\(cohort)|\(identifier)" }

    static func find(cohort: String, identifier: String, in reader: some RecordReader) -> JSON? {
        reader.get(Collection.schedules, id(cohort: cohort, identifier: identifier))
    }

    /// The milestone of `declarationType` in a schedule record, if the schedule has one.
    static func milestone(_ schedule: JSON, declarationType: String) -> JSON? {
        schedule["milestones"]?.arrayValue?.first { $0["declaration_type"]?.stringValue == declarationType }
    }
}
