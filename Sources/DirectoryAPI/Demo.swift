import APICore
import JSON
import Store

extension DirectoryAdmin {
    public struct DemoResult {
        public let organization: String
        public let directory: String
        public let key: String
        public let summary: String
    }

    /// A realistic small directory: tiers, filters with options, partner and app entries with
    /// sub-resources, a review; and an all-permissions key for it (printed once by the command).
    public static func demo(_ store: Store) throws -> DemoResult {
        let organization = try createOrganization(store, name: "Northwind Cloud", domain: "northwind.example")
        let directory = try createDirectory(store, organization: organization, name: "Northwind Partner Directory")
        try createOrganization(store, name: "Contoso Consulting", domain: "contoso.example")
        let now = Timestamp.now().storageText
        var partnerCount = 0
        try store.write { tx in
            func put(_ collection: String, _ fields: JSONObject) -> String {
                let id = Crypto.uuid()
                var record = fields
                record["id"] = .string(id)
                record["directory_id"] = .string(directory)
                record["created"] = .string(now)
                record["modified"] = .string(now)
                tx.put(collection, id, .object(record))
                return id
            }
            let tiers = ["Platinum", "Gold", "Silver", "Bronze"].enumerated().map { order, title in
                put(
                    Catalogue.tiers.collection,
                    [
                        "title": .string(title), "default": .bool(title == "Bronze"), "image": .null,
                        "order": .int(order),
                    ])
            }
            var options: [String] = []
            for (order, (filter, values)) in [
                ("Industry", ["Retail", "Finance", "Healthcare", "Manufacturing"]),
                ("Region", ["EMEA", "Americas", "APAC"]),
            ].enumerated() {
                let filterID = put(
                    Catalogue.filters.collection,
                    [
                        "name": .string(filter), "slug": .string(filter.lowercased()),
                        "description": .null, "internal": true, "external": true, "order": .int(order),
                    ])
                for (n, value) in values.enumerated() {
                    options.append(
                        put(
                            Catalogue.filterOptions.collection,
                            [
                                "filter_id": .string(filterID), "name": .string(value),
                                "slug": .string(value.lowercased()), "order": .int(n),
                            ]))
                }
            }
            for (order, title) in ["Verified partner", "Certified expert"].enumerated() {
                _ = put(
                    Catalogue.verifications.collection,
                    ["title": .string(title), "description": .null, "image": .null, "order": .int(order)])
            }
            let names = [
                "Bluebird Integrations", "Cedar Analytics", "Delta Commerce", "Evergreen Health IT", "Falcon Security",
                "Granite Manufacturing Systems", "Harbor Payments", "Ivy Retail Labs", "Juniper Data",
                "Kestrel Logistics",
                "Lumen Consulting", "Maple Cloud Services",
            ]
            for (n, name) in names.enumerated() {
                let slug = Entries.slugBase(name)
                let entry = put(
                    Collections.partnerEntries,
                    [
                        "title": .string(name), "headline": .string("\(name): partner of Northwind Cloud"),
                        "description": .string("\(name) helps customers get more out of Northwind Cloud."),
                        "type": "partner",
                        "slug": .string(slug), "custom_slug": .null, "status": n % 5 == 4 ? "hidden" : "public",
                        "featured": .bool(n < 3),
                        "owner": .null, "website": .string("https://\(slug).example"), "location": "Dublin, Ireland",
                        "support_email": .string("support@\(slug).example"), "developer_name": .string(name),
                        "display_on_internal_directory": true,
                        "user_assigned_filter_options": [.string(options[n % 4]), .string(options[4 + n % 3])],
                        "tier": .string(tiers[n % 4]), "recommended_order": n < 6 ? .int(n) : .null,
                        "external_id": .string("ext-\(n + 1)"),
                    ])
                partnerCount += 1
                _ = put(
                    Catalogue.entryUseCases.collection,
                    [
                        "entry_id": .string(entry), "title": "Onboarding", "description": "From trial to production.",
                        "order": 0,
                    ])
                _ = put(
                    Catalogue.entryCallouts.collection,
                    [
                        "entry_id": .string(entry), "name": "Top rated", "text_color": "635BFF",
                        "background_color": "E8E6FF", "order": 0,
                    ])
                _ = put(
                    Catalogue.entryTestimonials.collection,
                    [
                        "entry_id": .string(entry), "author_name": "Sam Lee", "position": "CTO",
                        "company_name": "Globex", "testimonial_text": "They delivered on time.", "order": 0,
                    ])
            }
            for (n, name) in ["Northwind Slack App", "Northwind Mobile"].enumerated() {
                _ = put(
                    Collections.appEntries,
                    [
                        "title": .string(name), "slug": .string(Entries.slugBase(name)), "status": "public",
                        "featured": .bool(n == 0), "headline": .null, "description": .null, "tier": .string(tiers[1]),
                        "recommended_order": .int(n),
                    ])
            }
        }
        let key = try createKey(
            store, organization: organization, permissions: [Caller.wildcard], name: "demo key (all permissions)")
        return DemoResult(
            organization: organization, directory: directory, key: key.key,
            summary: "1 directory, 4 tiers, 2 filters with 7 options, \(partnerCount) partner entries, 2 app entries")
    }
}
