import APICore
import HTTP
import JSON
import Store

/// Store collections of this family and the indexes its queries use.
enum Collection {
    static let cohorts = "lp_cohorts"
    static let leadProviders = "lp_lead_providers"
    static let deliveryPartners = "lp_delivery_partners"
    static let links = "lp_delivery_partner_links"
    static let schools = "lp_schools"
    /// One record per training record (a teacher's training at one school in one cohort, as an ECT
    /// or a mentor); its id is the API's `training_record_id`. Stored fields: TrainingRecords.swift.
    static let participants = "lp_participants"
    /// One record per person; its id is the API's participant id.
    static let teachers = "lp_teachers"
    /// Schedules and their milestones, one record per cohort and identifier (id `year|identifier`).
    static let schedules = "lp_schedules"
    static let statements = "lp_statements"
    static let declarations = "lp_declarations"
    static let partnerships = "lp_partnerships"
    /// Per school and cohort: the derived values whose changes move the school's `updated_at`.
    static let schoolCohortState = "lp_school_cohort_state"

    static let indexes: [IndexDefinition] = [
        // Kept in created_at order: the default list pages straight from it (PublicEndpoints).
        IndexDefinition(
            collection: partnerships, name: "by_lead_provider", order: { $0["created_at"]?.stringValue ?? "" }
        ) {
            [$0["lead_provider_id"]?.stringValue ?? ""]
        },
        // The same, one list per cohort: `filter[cohort]` pages straight from it too.
        IndexDefinition(
            collection: partnerships, name: "by_lead_provider_cohort", order: { $0["created_at"]?.stringValue ?? "" }
        ) {
            [providerCohortKey($0["lead_provider_id"], $0["cohort"])]
        },
        // In updated_at order: `sort=updated_at` pages from it, `filter[updated_since]` finds its matches.
        IndexDefinition(
            collection: partnerships, name: "by_lead_provider_updated", order: { $0["updated_at"]?.stringValue ?? "" }
        ) {
            [$0["lead_provider_id"]?.stringValue ?? ""]
        },
        IndexDefinition(collection: partnerships, name: "by_school_cohort") {
            [schoolCohortKey($0["school_id"], $0["cohort"])]
        },
        IndexDefinition(collection: partnerships, name: "by_school") { [$0["school_id"]?.stringValue ?? ""] },
        IndexDefinition(collection: partnerships, name: "by_cohort") { [$0["cohort"]?.stringValue ?? ""] },
        IndexDefinition(collection: links, name: "by_lead_provider") { [$0["lead_provider_id"]?.stringValue ?? ""] },
        IndexDefinition(collection: schools, name: "by_urn") { [$0["urn"]?.stringValue ?? ""] },
        IndexDefinition(collection: schools, name: "by_eligible_cohort") {
            ($0["funding_eligible_cohorts"]?.arrayValue ?? []).compactMap(\.stringValue)
        },
        IndexDefinition(collection: participants, name: "by_school_cohort") {
            [schoolCohortKey($0["school_id"], $0["cohort"])]
        },
        IndexDefinition(collection: participants, name: "by_teacher") { [$0["teacher_id"]?.stringValue ?? ""] },
        // A provider's training records, oldest first.
        IndexDefinition(
            collection: participants, name: "by_lead_provider", order: { $0["created_at"]?.stringValue ?? "" }
        ) {
            [$0["lead_provider_id"]?.stringValue ?? ""]
        },
        IndexDefinition(collection: participants, name: "by_mentor") { [$0["mentor_id"]?.stringValue ?? ""] },
        IndexDefinition(
            collection: statements, name: "by_lead_provider", order: { $0["payment_date"]?.stringValue ?? "" }
        ) {
            [$0["lead_provider_id"]?.stringValue ?? ""]
        },
        IndexDefinition(
            collection: declarations, name: "by_lead_provider", order: { $0["created_at"]?.stringValue ?? "" }
        ) {
            [$0["lead_provider_id"]?.stringValue ?? ""]
        },
        IndexDefinition(collection: declarations, name: "by_training_record") {
            [$0["training_record_id"]?.stringValue ?? ""]
        },
        IndexDefinition(collection: declarations, name: "by_statement") {
            [$0["statement_id"]?.stringValue, $0["clawback_statement_id"]?.stringValue].compactMap { $0 }
        },
        // The open statements the daily "mark as payable" step looks at.
        IndexDefinition(collection: statements, name: "by_status") { [$0["status"]?.stringValue ?? "open"] },
    ]

    static func schoolCohortKey(_ school: JSON?, _ cohort: JSON?) -> String {
        schoolCohortKey(school?.stringValue, cohort?.stringValue)
    }

    static func schoolCohortKey(_ school: String?, _ cohort: String?) -> String { "\(school ?? "")|\(cohort ?? "")" }

    static func providerCohortKey(_ provider: JSON?, _ cohort: JSON?) -> String {
        "\(provider?.stringValue ?? "")|\(cohort?.stringValue ?? "")"
    }

    static func linkID(leadProvider: String, deliveryPartner: String, cohort: String) -> String {
        "\(leadProvider)|\(deliveryPartner)|\(cohort)"
    }
}

/// The reference's exact error texts.
enum Failure {
    static let notFound = APIError(
        .notFound, status: .notFound, title: "Resource not found",
        detail: "Nothing could be found for the provided details")
    static let badJSON = APIError(
        .malformedBody, status: .badRequest, title: "Bad request",
        detail: "Correct json data structure required. See API docs for reference.")
    static let cohortFilterMissing = APIError(
        .badRequest, status: .badRequest, title: "Bad parameter",
        detail: "The filter '#/cohort' must be included in your request")
    static let filterNotAHash = APIError(
        .badRequest, status: .badRequest, title: "Bad parameter", detail: "Filter must be a hash")
    static let updatedSinceInvalid = APIError(
        .badRequest, status: .badRequest, title: "Bad request",
        detail: "The filter '#/updated_since' must be a valid ISO 8601 date")
    static let pageInvalid = APIError(
        .badRequest, status: .badRequest, title: "Bad request",
        detail: "The '#/page[page]' and '#/page[per_page]' parameter values must be a valid positive number")
    static let staffOnly = APIError(
        .forbidden, status: .forbidden, title: "Forbidden", detail: "This endpoint is for DfE staff tokens only.")
    static let leadProvidersOnly = APIError(
        .forbidden, status: .forbidden, title: "Forbidden", detail: "This endpoint is for lead provider tokens.")

    static func field(_ name: String, _ detail: String) -> APIError {
        APIError(.validation, status: .unprocessableContent, title: name, detail: detail, field: name)
    }

    static func missing(_ name: String) -> APIError { field(name, "Enter a '#/\(name)'.") }
    static let cohortInvalid = field(
        "cohort", "The '#/cohort' you have entered is invalid. Check cohort details and try again.")
    static let cohortFuture = field("cohort", "You cannot create a partnership for a future cohort.")
    static let cohortClosed = field("cohort", "You cannot create this partnership as the cohort is closed.")
    static let schoolInvalid = field(
        "school_id",
        "The '#/school_id' you have entered is invalid. Check school details and try again. Contact the DfE for support if you are unable to find the '#/school_id'."
    )
    static let schoolIneligible = field(
        "school_id",
        "The school you have entered is currently ineligible for DfE funding. Contact the school for more information.")
    static let duplicate = field(
        "school_id", "You are already in a confirmed partnership with this school for the entered cohort.")
    static let schoolLed = field(
        "school_id", "This school has only registered school-led participants. Contact the school for more information."
    )
    static let deliveryPartnerInvalid = field(
        "delivery_partner_id",
        "The '#/delivery_partner_id' you have entered is invalid. Check delivery partner details and try again.")
    static let deliveryPartnerNotLinked = field(
        "delivery_partner_id",
        "The entered delivery partner is not recognised to be working in partnership with you for the given cohort. Contact the DfE for more information."
    )
    static let deliveryPartnerAlready = field(
        "delivery_partner_id",
        "We are unable to process this request. You are already confirmed to be in partnership with the entered delivery partner. Contact the DfE for support."
    )
}

/// `{"errors":[{"title","detail"}]}`, except 401, which the real service answers with
/// `{"error":"HTTP Token: Access denied"}`. Its 401 carries no `WWW-Authenticate` (its
/// `render_unauthorized` never calls Rails' `request_http_token_authentication`, whose challenge
/// would be `Token realm="Application"`); HTTP requires one on a 401, so ours names the scheme the
/// API takes, in Rails' words: `Bearer realm="Application"` (RFC 6750).
struct LeadProviderErrorFormatter: ErrorFormatter {
    static let challenge = "Bearer realm=\"Application\""

    func response(for errors: [APIError]) -> HTTPResponse {
        if errors[0].kind == .unauthorized {
            var response = HTTPResponse.json(["error": "HTTP Token: Access denied"], status: .unauthorized)
            response.headers[.wwwAuthenticate] = Self.challenge
            return response
        }
        let rendered = errors.map { error -> JSON in
            let shown = error.kind == .notFound ? Failure.notFound : error
            return ["title": .string(shown.title), "detail": .string(shown.detail)]
        }
        return .json(["errors": .array(rendered)], status: errors[0].status)
    }
}

/// The resources as clients see them; each schema also produces the OpenAPI components.
enum Schemas {
    static let partnership = ResourceSchema(
        "PartnershipAttributes",
        [
            Field("cohort", .yearString, required: true, "The cohort's year."),
            Field("urn", .string, readOnly: true, "The school's unique reference number."),
            Field("school_id", .uuid, required: true),
            Field("delivery_partner_id", .uuid, required: true),
            Field("delivery_partner_name", .string, readOnly: true),
            Field("induction_tutor_name", .string, nullable: true, readOnly: true, "The school's induction tutor."),
            Field("induction_tutor_email", .email, nullable: true, readOnly: true),
            Field(
                "participants_currently_training", .integer, readOnly: true,
                "Active participants at the school in this cohort registered with this lead provider."),
            Field("created_at", .dateTime, readOnly: true),
            Field("updated_at", .dateTime, readOnly: true),
        ])

    static let school = ResourceSchema(
        "SchoolAttributes",
        [
            Field("name", .string, readOnly: true),
            Field("urn", .string, readOnly: true),
            Field("cohort", .yearString, readOnly: true, "The requested cohort."),
            Field(
                "in_partnership", .boolean, readOnly: true,
                "Any lead provider has a partnership with the school in the cohort."),
            Field(
                "induction_programme_choice", .enumeration(["school_led", "provider_led", "not_yet_known"]),
                readOnly: true),
            Field(
                "expression_of_interest", .boolean, readOnly: true,
                "The school registered participants with you, or you have a partnership there."),
            Field(
                "induction_tutor_name", .string, nullable: true, readOnly: true,
                "Only when expression_of_interest is true."),
            Field(
                "induction_tutor_email", .email, nullable: true, readOnly: true,
                "Only when expression_of_interest is true."),
            Field("created_at", .dateTime, readOnly: true),
            Field("updated_at", .dateTime, readOnly: true),
        ])

    static let deliveryPartner = ResourceSchema(
        "DeliveryPartnerAttributes",
        [
            Field("name", .string, readOnly: true),
            Field("created_at", .dateTime, readOnly: true),
            Field("updated_at", .dateTime, readOnly: true),
            Field("cohort", .array(.yearString), readOnly: true, "Years in which you work with this delivery partner."),
        ])

    // Staff (admin) payloads.
    static let cohort = ResourceSchema(
        "Cohort",
        [
            Field("year", .yearString, required: true),
            Field("registration_opens_at", .dateTime, required: true),
            Field("registration_closes_at", .dateTime, nullable: true),
            Field("status", .enumeration(["not_yet_open", "open", "closed"]), readOnly: true),
            Field("created_at", .dateTime, readOnly: true),
            Field("updated_at", .dateTime, readOnly: true),
        ])
    static let named = ResourceSchema(
        "NamedRecord",
        [
            Field("name", .string, required: true, maxLength: 200),
            Field("created_at", .dateTime, readOnly: true),
            Field("updated_at", .dateTime, readOnly: true),
        ])
    static let link = ResourceSchema(
        "DeliveryPartnerLink",
        [
            Field("lead_provider_id", .uuid, required: true),
            Field("delivery_partner_id", .uuid, required: true),
            Field("cohort", .yearString, required: true),
            Field("created_at", .dateTime, readOnly: true),
        ])
    static let adminSchool = ResourceSchema(
        "AdminSchool",
        [
            Field("urn", .string, required: true, maxLength: 20),
            Field("name", .string, required: true, maxLength: 200),
            Field("funding_eligible_cohorts", .array(.yearString)),
            Field("induction_tutor_name", .string, nullable: true, maxLength: 200),
            Field("induction_tutor_email", .email, nullable: true, maxLength: 200),
            Field("created_at", .dateTime, readOnly: true),
            Field("updated_at", .dateTime, readOnly: true),
        ])
    static let adminPartnership = ResourceSchema(
        "AdminPartnership",
        [
            Field("lead_provider_id", .uuid, required: true),
            Field("school_id", .uuid, required: true),
            Field("delivery_partner_id", .uuid, required: true),
            Field("cohort", .yearString, required: true),
        ])
    static let rollover = ResourceSchema(
        "Rollover",
        [
            Field("school_id", .uuid, required: true),
            Field("cohort", .yearString, required: true),
        ])
}

/// A year given as "2025" or 2025.
func yearText(_ value: JSON?) -> String? {
    switch value {
    case .string(let s)?: return s.isEmpty ? nil : s
    case .int(let i)?: return String(i)
    default: return nil
    }
}

/// Stored timestamps carry microseconds; the API shows seconds.
func shown(_ stored: JSON?) -> JSON { shown(stored?.stringValue) }

/// `shown` of a stored timestamp given as its JSON text (a record's member, `JSONObjectText`): in
/// the storage form, the seconds text is cut from it without decoding; anything else is decoded
/// and shown.
func shown(text stored: ArraySlice<UInt8>?) -> ResourceSchema.Written {
    guard let stored else { return .value(.null) }
    let quote = UInt8(ascii: "\"")
    if stored.count == 29, stored.first == quote, stored.last == quote,
        stored.withUnsafeBufferPointer({ Timestamp.isStorageText(UnsafeBufferPointer(rebasing: $0[1..<28])) })
    {
        var text: [UInt8] = []
        text.reserveCapacity(22)
        text.append(contentsOf: stored.prefix(20))  // the quote and the date and time to the second
        text.append(UInt8(ascii: "Z"))
        text.append(quote)
        return .text(text[...])
    }
    return .value(shown(stored.withUnsafeBufferPointer { try? JSON.parseTrusted($0) }))
}

/// `shown` of a stored timestamp's text.
func shown(_ stored: String?) -> JSON {
    guard let text = stored else { return .null }
    if let seconds = Timestamp.secondsText(ofStorageText: text) { return .string(seconds) }
    guard let time = Timestamp.parse(text) else { return .null }
    return .string(time.secondsText)
}
