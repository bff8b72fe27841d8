import APICore

/// Every generic resource of the Directory API, one declaration each. Entries, tiers' assignment,
/// forms, reviews, contact and matchmaking requests have behaviour of their own (see their files)
/// but describe their fields the same way.
enum Catalogue {
    // Field shorthands: optional fields are nullable so a response always carries every key.
    static func required(_ name: String, _ max: Int = 200) -> Field {
        Field(name, .string, required: true, maxLength: max)
    }
    static func text(_ name: String, _ max: Int = 2000) -> Field {
        Field(name, .string, nullable: true, maxLength: max)
    }
    static func link(_ name: String) -> Field { Field(name, .url, nullable: true, maxLength: 2000) }
    static let order = Field("order", .integer, "Position in lists (ascending).")
    static func flag(_ name: String, _ description: String = "") -> Field { Field(name, .boolean, description) }
    static func reference(_ name: String, required: Bool = false) -> Field {
        Field(name, .uuid, nullable: !required, required: required, "Id of a record in the same directory.")
    }

    // MARK: directory-level

    static let callouts = ResourceSpec(
        "Callout", "callouts", under: .directory, permission: "callouts", camelCase: true,
        [
            required("name", 100), text("text_color", 20), text("background_color", 20), order,
        ])
    static let badges = ResourceSpec(
        "Badge", "badges", under: .directory, permission: "badges",
        [
            required("title"), text("description"), link("image"), order,
        ])
    static let certifications = ResourceSpec(
        "Certification", "certifications", under: .directory, permission: "certifications",
        [
            required("title"), text("description"), link("image"), order,
        ])
    static let verifications = ResourceSpec(
        "Verification", "verifications", under: .directory, permission: "verifications",
        [
            required("title"), text("description"), link("image"), order,
        ])
    static let tiers = ResourceSpec(
        "Tier", "tiers", under: .directory, permission: "tiers", camelCase: true,
        [
            required("title", 100), flag("default", "The tier new entries get; one at a time."), link("image"), order,
        ]
    ).exclusive("default").computing(
        [Field("entries_count", .integer, readOnly: true), Field("entries_list_url", .string, readOnly: true)],
        Tiers.computed)
    static let filters = ResourceSpec(
        "Filter", "filters", under: .directory, permission: "filters", filters: ["internal", "external"],
        [
            required("name", 100), text("slug", 100), text("description"),
            flag("internal", "Shown on the internal directory."),
            flag("external", "Shown on the external (public) directory."), order,
        ])
    static let filterOptions = ResourceSpec(
        "Filter option", "options", under: .filter, permission: "filters",
        [
            required("name", 100), text("slug", 100), order,
        ])
    static let filterMaps = ResourceSpec(
        "Filter option mapping", "filter-maps", under: .directory, permission: "filters",
        references: ["filter_option": filterOptions.collection], filters: ["external"],
        [
            reference("filter_option", required: true), required("external_name"), text("external_value"),
            flag("external", "Published to the external directory."),
        ])

    // MARK: partner entry sub-resources

    static func entryTitled(_ title: String, _ segment: String, extra: [Field] = []) -> ResourceSpec {
        ResourceSpec(
            title, segment, under: .partnerEntry, permission: "partner_entries", [required("title")] + extra + [order])
    }
    static let linkFields = [link("url"), text("file", 2000)]

    static let entryBadges = ResourceSpec(
        "Badge", "badges", under: .partnerEntry, permission: "partner_entries",
        references: ["badge": badges.collection], [reference("badge", required: true), order])
    static let entryCallouts = ResourceSpec(
        "Callout", "callouts", under: .partnerEntry, permission: "partner_entries", camelCase: true,
        callouts.fields)
    static let entryCertifications = entryTitled(
        "Certification", "certifications", extra: [Field("quantity", .integer)])
    static let entryIndustryCertifications = entryTitled(
        "Industry certification", "industry-certifications",
        extra: [text("industry", 200), Field("quantity", .integer)])
    static let entrySegmentCertifications = entryTitled(
        "Segment certification", "segment-certifications",
        extra: [text("segment", 200), Field("quantity", .integer)])
    static let entryClients = entryTitled("Client", "clients", extra: linkFields)
    static let entryKeywords = ResourceSpec(
        "Keyword", "keywords", under: .partnerEntry, permission: "partner_entries", [required("name", 100)])
    static let entryLocations = ResourceSpec(
        "Location", "locations", under: .partnerEntry, permission: "partner_entries",
        [
            required("name"), text("address", 500), text("city", 200), text("region", 200), text("country", 200),
            text("postal_code", 20),
        ])
    static let entryMedia = ResourceSpec(
        "Media", "media", under: .partnerEntry, permission: "partner_entries", camelCase: true,
        [
            required("title"), text("description"), order, link("pdf_file_thumbnail_url"), link("url"), link("file"),
            text("type", 20),
        ])
    static let entryResources = entryTitled("Resource", "resources", extra: linkFields)
    static let entryInternalResources = entryTitled("Internal resource", "internal-resources", extra: linkFields)
    static let entrySpecialOffers = entryTitled(
        "Special offer", "special-offers", extra: [text("description")] + linkFields)
    static let testimonialFields = [
        required("author_name"), text("position", 200), text("company_name", 200),
        Field("testimonial_text", .string, required: true, maxLength: 5000), order,
    ]
    static let entryTestimonials = ResourceSpec(
        "Testimonial", "testimonials", under: .partnerEntry, permission: "partner_entries", testimonialFields)
    static let entryInternalTestimonials = ResourceSpec(
        "Internal testimonial", "internal-testimonials", under: .partnerEntry,
        permission: "partner_entries", testimonialFields)
    static let entryUseCases = entryTitled("Use case", "use-cases", extra: [text("description", 5000)])
    static let entryInternalUseCases = entryTitled(
        "Internal use case", "internal-use-cases", extra: [text("description", 5000)])
    static let entryVerifications = ResourceSpec(
        "Verification", "verifications", under: .partnerEntry, permission: "partner_entries",
        references: ["verification": verifications.collection],
        [required("title"), reference("verification")])

    // MARK: app entry sub-resources

    static let appCallouts = ResourceSpec(
        "Callout", "callouts", under: .appEntry, permission: "app_entries", camelCase: true, callouts.fields)

    static let all: [ResourceSpec] = [
        callouts, badges, certifications, verifications, tiers, filters, filterOptions, filterMaps,
        entryBadges, entryCallouts, entryCertifications, entryIndustryCertifications, entrySegmentCertifications,
        entryClients,
        entryKeywords, entryLocations, entryMedia, entryResources, entryInternalResources, entrySpecialOffers,
        entryTestimonials,
        entryInternalTestimonials, entryUseCases, entryInternalUseCases, entryVerifications, appCallouts,
    ]

    /// What a partner entry's response embeds, under the seed's keys.
    static let embeddedInPartnerEntry: [(key: String, spec: ResourceSpec)] = [
        ("use_cases", entryUseCases), ("callouts", entryCallouts), ("media", entryMedia), ("resources", entryResources),
        ("special_offers", entrySpecialOffers), ("clients", entryClients), ("testimonials", entryTestimonials),
        ("certifications", entryCertifications), ("verifications", entryVerifications),
    ]

    /// Specs whose records hang under records of `collection` (deleted with them).
    static func children(of collection: String) -> [ResourceSpec] {
        all.filter { $0.parent.collection == collection }
    }
}
