import APICore
import JSON

/// The participant side's resources and payloads, one schema each (serialization, validation and
/// the OpenAPI document): the official `Participant` with its enrolments, the action requests,
/// transfers, unfunded mentors, and the staff training record.
enum ParticipantSchemas {
    /// The real `TrainingPeriod.withdrawal_reasons`, dasherized as the API shows them.
    static let withdrawalReasons = [
        "left-teaching-profession", "moved-school", "mentor-no-longer-being-mentor", "switched-to-school-led",
        "changed-lead-provider", "other",
    ]
    /// The reason only a mentor can be withdrawn for (`TrainingPeriod::MENTOR_ONLY_WITHDRAWAL_REASONS`).
    static let mentorOnlyWithdrawalReason = "mentor-no-longer-being-mentor"
    /// The real `TrainingPeriod.deferral_reasons`, dasherized.
    static let deferralReasons = ["bereavement", "long-term-sickness", "parental-leave", "career-break", "other"]
    static let trainingStatuses = ["active", "deferred", "withdrawn"]
    static let participantStatuses = ["active", "joining", "leaving", "left"]
    static let courses = Course.allCases.map(\.rawValue)
    static let mentorIneligibilityReasons = [
        "completed_declaration_received", "completed_during_early_roll_out", "started_not_completed",
    ]

    static func statusChange(_ name: String, reasons: [String]) -> ResourceSchema {
        ResourceSchema(
            name,
            [
                Field("reason", .enumeration(reasons), required: true),
                Field("date", .dateTime, required: true, "When the lead provider reported it."),
            ])
    }
    static let withdrawal = statusChange("Withdrawal", reasons: withdrawalReasons)
    static let deferral = statusChange("Deferral", reasons: deferralReasons)

    /// The official `ParticipantECFEnrolment`: one per course the participant trains on with you.
    static let enrolment = ResourceSchema(
        "ParticipantECFEnrolment",
        [
            Field("training_record_id", .uuid, "This training record's id (the course's latest with you)."),
            Field("email", .email, nullable: true),
            Field("mentor_id", .uuid, nullable: true, "The ECT's mentor's participant id; null for mentors."),
            Field("school_urn", .string),
            Field("participant_type", .enumeration(["ect", "mentor"])),
            Field("working_pattern", .enumeration(["full_time", "part_time"]), nullable: true),
            Field("cohort", .yearString),
            Field("training_status", .enumeration(trainingStatuses)),
            Field(
                "participant_status", .enumeration(participantStatuses),
                "From the dates: joining before the training starts, leaving before it ends, left after; a withdrawal or deferral ends it."
            ),
            Field("eligible_for_funding", .boolean, nullable: true),
            Field("pupil_premium_uplift", .boolean),
            Field("sparsity_uplift", .boolean),
            Field("schedule_identifier", .enumeration(ScheduleCatalog.identifiers)),
            Field(
                "delivery_partner_id", .uuid, nullable: true,
                "From your partnership with the school in the cohort; null without one."),
            Field("withdrawal", .nested(withdrawal), nullable: true, "Set while the training status is withdrawn."),
            Field("deferral", .nested(deferral), nullable: true, "Set while the training status is deferred."),
            Field("created_at", .dateTime),
            Field("induction_end_date", .date, nullable: true),
            Field("most_recent_induction_period_end_date", .date, nullable: true, "Not recorded here: null."),
            Field("overall_induction_start_date", .date, nullable: true, "Not recorded here: null."),
            Field("mentor_funding_end_date", .date, nullable: true),
            Field(
                "cohort_changed_after_payments_frozen", .boolean,
                "Cohorts with frozen payments are not modelled here: false."),
            Field("mentor_ineligible_for_funding_reason", .enumeration(mentorIneligibilityReasons), nullable: true),
        ])

    static let idChange = ResourceSchema(
        "ParticipantIDChange",
        [
            Field("from_participant_id", .uuid),
            Field("to_participant_id", .uuid),
            Field("changed_at", .dateTime),
        ])

    /// The official `Participant` attributes.
    static let participant = ResourceSchema(
        "ParticipantAttributes",
        [
            Field("full_name", .string),
            Field("teacher_reference_number", .string, nullable: true),
            Field("ecf_enrolments", .array(.nested(enrolment)), "Your latest training record of each course."),
            Field("participant_id_changes", .array(.nested(idChange))),
            Field("updated_at", .dateTime),
        ])

    // MARK: actions

    static let course = Field("course_identifier", .enumeration(courses), required: true)

    /// The attributes of each action's request, as its official `Participant…Request` documents them.
    static let withdrawRequest = ResourceSchema(
        "ParticipantWithdrawAttributes",
        [Field("reason", .enumeration(withdrawalReasons), required: true), course])
    static let deferRequest = ResourceSchema(
        "ParticipantDeferAttributes",
        [Field("reason", .enumeration(deferralReasons), required: true), course])
    static let resumeRequest = ResourceSchema("ParticipantResumeAttributes", [course])
    static let changeScheduleRequest = ResourceSchema(
        "ParticipantChangeScheduleAttributes",
        [
            Field("schedule_identifier", .enumeration(ScheduleCatalog.identifiers), required: true),
            course,
            Field(
                "cohort", .string,
                "Moves the training to this cohort when you have a partnership with the school in it."),
        ])

    // MARK: transfers and unfunded mentors

    static func transferSide(_ name: String, _ what: String) -> ResourceSchema {
        ResourceSchema(
            name,
            [
                Field("school_urn", .string, "The URN of the school the participant is \(what)."),
                Field("provider", .string, nullable: true, "The lead provider's name; null for school-led training."),
                Field("date", .date, nullable: true, "The day the training there ends (leaving) or starts (joining)."),
            ])
    }

    static let transfer = ResourceSchema(
        "ParticipantTransfersTransfer",
        [
            Field("training_record_id", .uuid, "The training record the participant is leaving."),
            Field("transfer_type", .enumeration(["new_school", "new_provider", "unknown"])),
            Field("status", .enumeration(["incomplete", "complete"])),
            Field(
                "created_at", .date,
                "The day the training being left was registered: a date, as the official document says (the real serializer writes its time)."
            ),
            Field("leaving", .nested(transferSide("TransferLeaving", "leaving"))),
            Field("joining", .nested(transferSide("TransferJoining", "joining")), nullable: true),
        ])

    static let participantTransfer = ResourceSchema(
        "ParticipantTransferAttributes",
        [
            Field("transfers", .array(.nested(transfer))),
            Field("updated_at", .dateTime),
        ])

    static let unfundedMentor = ResourceSchema(
        "UnfundedMentorAttributes",
        [
            Field("full_name", .string),
            Field("email", .email, nullable: true),
            Field("teacher_reference_number", .string, nullable: true),
            Field("created_at", .dateTime),
            Field("updated_at", .dateTime),
        ])

    // MARK: staff

    /// A training record as staff register it (`POST /admin/participants`) and see it. With a
    /// teacher (`teacher_id` or `full_name`) it is an API participant's training; without one, a
    /// bare record that counts only for partnerships and schools (as before issue 16).
    static let trainingRecord = ResourceSchema(
        "TrainingRecord",
        [
            Field(
                "teacher_id", .uuid, nullable: true,
                "The participant id of an existing teacher, or a new teacher's id when `full_name` is sent too."),
            Field(
                "full_name", .string, nullable: true, maxLength: 200,
                "A new teacher's name (changes an existing one's)."),
            Field("trn", .string, nullable: true, maxLength: 20, "Teacher reference number."),
            Field("email", .email, nullable: true, maxLength: 200),
            Field("school_id", .uuid, required: true),
            Field("cohort", .yearString, required: true),
            Field(
                "lead_provider_id", .uuid, nullable: true,
                "Absent or null on a provider-led participant: the school's confirmed partnership's provider."),
            Field(
                "delivery_partner_id", .uuid, nullable: true, readOnly: true,
                "From the provider's partnership with the school in the cohort."),
            Field("training_programme", .enumeration(["provider_led", "school_led"]), required: true),
            Field(
                "status", .enumeration(participantStatuses),
                "As the school reports it; with `finished_on`, leaving or left follows from the date."),
            Field(
                "participant_type", .enumeration(["ect", "mentor"]), nullable: true,
                "Default ect; null on a bare record."),
            Field("mentor_id", .uuid, nullable: true, "An ECT's mentor: a teacher's participant id."),
            Field(
                "schedule_identifier", .enumeration(ScheduleCatalog.identifiers), nullable: true,
                "Default: the cohort's standard schedule for the month training starts."),
            Field("started_on", .date, nullable: true, "When training at the school starts; default today."),
            Field("finished_on", .date, nullable: true, "When the school reports it ends."),
            Field("training_status", .enumeration(trainingStatuses), nullable: true, "Default active."),
            Field("withdrawal", .nested(withdrawal), nullable: true, "Required with training_status withdrawn."),
            Field("deferral", .nested(deferral), nullable: true, "Required with training_status deferred."),
            Field("eligible_for_funding", .boolean, nullable: true),
            Field("pupil_premium_uplift", .boolean, nullable: true, "Default false."),
            Field("sparsity_uplift", .boolean, nullable: true, "Default false."),
            Field("working_pattern", .enumeration(["full_time", "part_time"]), nullable: true),
            Field("induction_end_date", .date, nullable: true),
            Field("mentor_funding_end_date", .date, nullable: true),
            Field("mentor_ineligible_for_funding_reason", .enumeration(mentorIneligibilityReasons), nullable: true),
            Field("created_at", .dateTime, readOnly: true),
            Field("updated_at", .dateTime, readOnly: true),
        ])
}
