import APICore
import HTTP
import JSON
import Store

/// Partner and app entries: what both kinds share is described once by `EntryKind`.
struct EntryKind {
    let name: String  // "partner", "app"
    let segment: String  // "partners", "apps"
    let collection: String
    let permission: String
    let fields: [Field]  // writable, snake_case
    let references: [String: String]
    let listFilters: [String]
    let embedded: [(key: String, spec: ResourceSpec)]
    /// Sub-resource lists that an entry's own create/update may replace inline (the seed's update
    /// example sends resources, verifications, media, callouts and keywords).
    let nested: [(key: String, spec: ResourceSpec)]
    /// The response: these keys in this order; everything else writable follows.
    let responseOrder: [String]

    /// Built once, when the kind is declared: validation and every response use them.
    private(set) var writeSchema = ResourceSchema("", [])
    private(set) var responseSchema = ResourceSchema("", [])

    init(
        name: String, segment: String, collection: String, permission: String, fields: [Field],
        references: [String: String],
        listFilters: [String], embedded: [(key: String, spec: ResourceSpec)],
        nested: [(key: String, spec: ResourceSpec)],
        responseOrder: [String]
    ) {
        self.name = name
        self.segment = segment
        self.collection = collection
        self.permission = permission
        self.fields = fields
        self.references = references
        self.listFilters = listFilters
        self.embedded = embedded
        self.nested = nested
        self.responseOrder = responseOrder
        writeSchema = makeWriteSchema()
        responseSchema = makeResponseSchema()
    }

    var collectionPath: String { "directories/:directory_id/entries/\(segment)/" }
    var itemPath: String { collectionPath + ":entry_id/" }
    var tag: String { "\(name.prefix(1).uppercased() + name.dropFirst()) entry" }

    func makeWriteSchema() -> ResourceSchema {
        ResourceSchema(
            tag.replacingSpaces,
            fields
                + nested.map {
                    Field(
                        $0.key, .array(.object),
                        "Replaces the entry's \($0.key.replacingUnderscores): an item whose id is one of them updates it, "
                            + "other items are created, and those left out are deleted.")
                })
    }

    /// The response fields in order, the writable ones taken from `fields` so both stay one definition.
    func makeResponseSchema() -> ResourceSchema {
        let byName = Dictionary(uniqueKeysWithValues: fields.map { ($0.name, $0) })
        let computed: [String: Field] = [
            "id": Field("id", .uuid, readOnly: true),
            "href": Field("href", .string, readOnly: true),
            "metadata": Field("metadata", .object, readOnly: true, "{external_id}"),
            "tracking": Field("tracking", .object, readOnly: true, "{umami_website_id, umami_share_id}"),
            "tier": Field("tier", .object, nullable: true, readOnly: true, "The tier, with its entry count."),
            "review": Field(
                "review", .object, nullable: true, readOnly: true,
                "The edit held for approval: {status, changes, submitted_at, reviewed_at, reason}."),
            "created": Field("created", .dateTime, readOnly: true),
            "modified": Field("modified", .dateTime, readOnly: true),
        ].merging(embedded.map { ($0.key, Field($0.key, .array(.object), readOnly: true)) }) { a, _ in a }
        var ordered: [Field] = []
        var seen = Set<String>()
        for name in responseOrder + fields.map(\.name) + ["review", "created", "modified"]
        where seen.insert(name).inserted {
            // In responses the tier is an object (computed wins) and external_id lives in metadata.
            if name == "external_id" && seen.contains("metadata") { continue }
            if let field = computed[name] ?? byName[name] { ordered.append(field) }
        }
        return ResourceSchema(tag.replacingSpaces + "Response", ordered)
    }

    func response(_ record: JSON, _ store: Store) -> JSON {
        let id = record["id"]?.stringValue ?? ""
        let directory = record["directory_id"]?.stringValue ?? ""
        var values: [String: JSON] = [:]
        for field in fields {
            values[field.name] = record[field.name] ?? (field.nullable ? .null : defaultValue(field))
        }
        values["id"] = .string(id)
        values["href"] = .string(Wire.base + "/directories/\(directory)/entries/\(segment)/\(id)/")
        values["metadata"] = ["external_id": record["external_id"] ?? .null]
        values["tracking"] = ["umami_website_id": .string(id), "umami_share_id": .string(String(id.prefix(7)))]
        values["tier"] = Tiers.summary(record["tier"]?.stringValue, store)
        values["review"] = ApprovalFlow.reviewResponse(record["review"])
        values["created"] = record["created"] ?? .null
        values["modified"] = record["modified"] ?? .null
        for (key, spec) in embedded {
            values[key] = .array(CRUD.children(spec, of: id, store).map { spec.response($0, store) })
        }
        return responseSchema.serialize(values)
    }

    func defaultValue(_ field: Field) -> JSON {
        switch field.type {
        case .boolean: return false
        case .array: return []
        case .enumeration(let values): return .string(values[0])
        default: return .null
        }
    }

    func listItem(_ record: JSON, _ store: Store) -> JSON {
        let id = record["id"]?.stringValue ?? ""
        return [
            "id": .string(id), "type": .string(name), "title": record["title"] ?? .null,
            "slug": record["slug"] ?? .null,
            "status": record["status"] ?? .null, "featured": record["featured"] ?? false,
            // The same shape as in the entry itself (the seed's), not a bare id.
            "tier": Tiers.summary(record["tier"]?.stringValue, store),
            "recommended_order": record["recommended_order"] ?? .null,
            "href": .string(
                Wire.base + "/directories/\(record["directory_id"]?.stringValue ?? "")/entries/\(segment)/\(id)/"),
        ]
    }
}

enum Entries {
    static let statuses = ["hidden", "public"]
    /// Made from the title when not given; unique among the directory's partner and app entries.
    static let slugField = Field(
        "slug", .string, maxLength: 100,
        "Lowercase letters, digits and single hyphens; made from the title when not given; unique among the "
            + "directory's partner and app entries.")
    typealias C = Catalogue

    static let partner = EntryKind(
        name: "partner", segment: "partners", collection: Collections.partnerEntries, permission: "partner_entries",
        fields: [
            C.required("title"), C.text("headline", 500), Field("type", .string, nullable: true, maxLength: 50),
            C.text("description", 10000), C.text("integration_description", 10000), C.link("icon"), C.link("image"),
            C.link("award"),
            slugField, C.text("custom_slug", 100), Field("status", .enumeration(statuses)),
            C.flag("featured"),
            Field(
                "owner", .uuid, nullable: true,
                "The organization that owns the entry. Also accepted as an object (the seed's example): {\"id\": …} "
                    + "sets it, an object without id leaves it unchanged."),
            C.link("website"), C.text("location", 500), C.link("call_to_action_url"),
            C.text("call_to_action_label", 200),
            C.link("internal_point_of_contact_cta_url"), C.text("internal_point_of_contact_cta_label", 200),
            C.link("internal_channel_contact_cta_url"), C.text("internal_channel_contact_cta_label", 200),
            C.link("external_url"), C.text("external_id", 200),
            Field("support_email", .email, nullable: true, maxLength: 200),
            C.text("developer_name", 200), C.flag("display_on_internal_directory"),
            C.text("internal_description", 10000),
            Field("user_assigned_filter_options", .array(.uuid), "Ids of filter options of the directory."),
            Field("tier", .uuid, nullable: true, "Id of a tier of the directory."),
            Field("recommended_order", .integer, nullable: true, "Lower comes first in lists."),
        ],
        references: ["user_assigned_filter_options": C.filterOptions.collection, "tier": C.tiers.collection],
        listFilters: ["status", "featured", "tier"],
        embedded: C.embeddedInPartnerEntry,
        nested: [
            ("resources", C.entryResources), ("verifications", C.entryVerifications), ("media", C.entryMedia),
            ("callouts", C.entryCallouts), ("keywords", C.entryKeywords),
        ],
        responseOrder: [
            "id", "href", "title", "headline", "description", "icon", "image", "slug", "custom_slug", "status",
            "featured",
            "owner", "website", "location", "call_to_action_url", "call_to_action_label", "external_url",
            "support_email",
            "developer_name", "metadata", "award", "use_cases", "callouts", "media", "resources", "special_offers",
            "clients", "testimonials", "certifications", "verifications", "tracking", "display_on_internal_directory",
            "tier",
        ])

    static let app = EntryKind(
        name: "app", segment: "apps", collection: Collections.appEntries, permission: "app_entries",
        fields: [
            C.required("title"), C.text("headline", 500), C.text("description", 10000), C.link("icon"), C.link("image"),
            slugField, Field("status", .enumeration(statuses)), C.flag("featured"), C.link("website"),
            C.text("developer_name", 200), Field("support_email", .email, nullable: true, maxLength: 200),
            C.text("external_id", 200),
            Field("tier", .uuid, nullable: true, "Id of a tier of the directory."),
            Field("recommended_order", .integer, nullable: true, "Lower comes first in lists."),
        ],
        references: ["tier": C.tiers.collection],
        listFilters: ["status", "featured", "tier"],
        embedded: [("callouts", C.appCallouts)],
        nested: [("callouts", C.appCallouts)],
        responseOrder: [
            "id", "href", "title", "headline", "description", "icon", "image", "slug", "status", "featured", "website",
            "developer_name", "support_email", "metadata", "callouts", "tier",
        ])

    static let kinds = [partner, app]

    static func kind(of entryID: String, _ store: Store) -> (EntryKind, JSON)? {
        for kind in kinds { if let record = store.get(kind.collection, entryID) { return (kind, record) } }
        return nil
    }

    /// Recommended order first (unset last), then title.
    static func sorted(_ records: [JSON]) -> [JSON] {
        records.sorted {
            let a = $0["recommended_order"]?.intValue ?? Int.max, b = $1["recommended_order"]?.intValue ?? Int.max
            if a != b { return a < b }
            return ($0["title"]?.stringValue ?? "") < ($1["title"]?.stringValue ?? "")
        }
    }

    static func entries(_ kind: EntryKind, _ directory: JSON, _ store: Store) -> [JSON] {
        Collections.records(kind.collection, of: directory, store)
    }

    static func entry(_ kind: EntryKind, _ context: Context, _ directory: JSON) throws -> JSON {
        guard let record = context.store.get(kind.collection, context.request.pathParameter("entry_id")),
            record["directory_id"] == directory["id"]
        else { throw Wire.notFound() }
        return record
    }

    /// The list filters (the same fields in both kinds) and `filter_option`, every bad value reported at once.
    static func filtered(_ records: [JSON], _ request: HTTPRequest, listFilters: [String]) throws -> [JSON] {
        var problems: [APIError] = []
        let option = Filtering.value("filter_option", as: .uuid, request, &problems)
        var result: [JSON] = []
        do {
            result = try Filtering.apply(listFilters, of: partner.fields, to: records, request)
        } catch let errors as APIErrors {
            problems = errors.errors + problems
        }
        if !problems.isEmpty { throw APIErrors(problems) }
        if let option {
            result = result.filter { ($0["user_assigned_filter_options"]?.arrayValue ?? []).contains(option) }
        }
        return result
    }

    static let entryType = FieldType.enumeration(kinds.map(\.name))

    /// A slug from the title, unique in the directory ("acme", "acme-2", ...).
    static func slug(
        for title: String, directory: String, excluding id: String, _ tx: Transaction, kind: EntryKind
    ) -> String {
        var base = slugBase(title)
        if base.isEmpty { base = kind.name }
        let taken = takenSlugs(directory: directory, excluding: id, tx)
        var candidate = base
        var n = 2
        while taken.contains(candidate) {
            candidate = "\(base)-\(n)"
            n += 1
        }
        return candidate
    }

    /// Partner and app entries share the directory's slugs (both are shown by slug in one listing).
    static func takenSlugs(directory: String, excluding id: String, _ tx: Transaction) -> Set<String> {
        takenSlugs(excluding: id) { collection in
            tx.lookup(collection, index: Collections.byDirectory, key: directory).compactMap { tx.get(collection, $0) }
        }
    }

    static func takenSlugs(directory: String, excluding id: String, _ store: Store) -> Set<String> {
        takenSlugs(excluding: id) { store.lookupRecords($0, index: Collections.byDirectory, key: directory) }
    }

    /// `records`: a collection's records in the directory.
    static func takenSlugs(excluding id: String, _ records: (String) -> [JSON]) -> Set<String> {
        Set(
            kinds.flatMap { kind in
                records(kind.collection).compactMap { $0["id"]?.stringValue == id ? nil : $0["slug"]?.stringValue }
            })
    }

    static let slugTaken = "A partner or app entry with this slug already exists in the directory."

    static func slugBase(_ title: String) -> String {
        var base = ""
        for character in title.lowercased() {
            if character.isLetter || character.isNumber {
                base.append(character)
            } else if !base.hasSuffix("-") {
                base.append("-")
            }
        }
        return String(base.trimming("-").prefix(90))
    }

    typealias NestedItem = (id: String?, fields: JSONObject)

    /// The items of inline sub-resource lists, each checked as that sub-resource's own create
    /// payload. Problems name the list and the item's position.
    static func nestedItems(_ changes: JSONObject, kind: EntryKind) throws -> [String: [NestedItem]] {
        let (result, problems) = parseNested(changes, kind: kind)
        if !problems.isEmpty { throw APIErrors(problems) }
        return result
    }

    static func parseNested(_ changes: JSONObject, kind: EntryKind) -> ([String: [NestedItem]], [APIError]) {
        var result: [String: [NestedItem]] = [:]
        var problems: [APIError] = []
        for (key, spec) in kind.nested {
            guard let items = changes[key]?.arrayValue else { continue }
            var parsed: [NestedItem] = []
            for (index, item) in items.enumerated() {
                guard let object = item.objectValue else { continue }  // the schema already refused non-objects
                var fields = JSONObject()
                for (name, value) in object { fields[Wire.snake(name)] = value }
                let id = fields["id"]?.stringValue
                fields["id"] = nil
                for problem in spec.schema.validate(fields, partial: false) {
                    let type = spec.schema.fields.first { $0.name == problem.field }?.type
                    problems.append(
                        Wire.invalid(
                            Wire.camel(key),
                            "Item \(index + 1): \(Wire.camel(problem.field)) \(describe(problem, type))."))
                }
                parsed.append((id, spec.schema.normalized(fields)))
            }
            result[key] = parsed
        }
        return (result, problems)
    }

    static func describe(_ problem: ResourceSchema.Problem, _ type: FieldType?) -> String {
        switch problem {
        case .missing: return "is required"
        case .wrongType(_, let expected): return "must be of type \(expected)"
        case .notAllowed: return "is not a field of this item"
        case .tooLong(_, let limit): return "must have no more than \(limit) characters"
        case .invalidValue: return "must be \(Wire.expectation(type))"
        case .outOfRange: return "must be an integer \(ResourceSchema.Problem.integerRange)"
        }
    }

    /// An entry's create or update body (also a submitted edit), with every problem at once: the
    /// schema's, the inline lists' items, the slug rule and ids naming no record of the directory.
    static func payload(
        _ kind: EntryKind, _ context: Context, directory: String, partial: Bool, current: JSON? = nil
    ) throws -> JSONObject {
        try Wire.payload(
            context.request, kind.writeSchema, partial: partial,
            adapt: { sent in adapted(sent, kind: kind, current: current.map { kind.response($0, context.store) }) }
        ) { accepted in
            var problems = parseNested(accepted, kind: kind).1
            if let slug = accepted["slug"]?.stringValue {
                if !isSlug(slug) {
                    problems.append(Wire.invalid("slug", slugRule))
                } else if takenSlugs(
                    directory: directory, excluding: current?["id"]?.stringValue ?? "", context.store
                ).contains(slug) {
                    problems.append(Wire.invalid("slug", slugTaken))
                }
            }
            return problems
                + References.problems(kind.references, accepted, directory: directory) { context.store.get($0, $1) }
        }
    }

    /// Two shapes an integrator sends besides ours. The seed's own update example sends `owner` as an
    /// object: `{"id": …}` names the owner, an object without `id` (the seed's placeholder
    /// properties) leaves it unchanged. And an entry fetched with GET may be sent back whole: a field
    /// this body may not write (read-only, or the response's shape of it, such as `tier` as an
    /// object) is ignored when it equals what `current` (the entry's response) shows.
    static func adapted(_ sent: JSONObject, kind: EntryKind, current: JSON?) -> JSONObject {
        var body = Wire.ignoringUnchanged(sent, kind.writeSchema, current: current)
        if case .object(let owner)? = sent["owner"] { body["owner"] = owner["id"] }
        return body
    }

    static let slugRule =
        "Enter a valid slug: lowercase letters, digits and single hyphens (e.g. \"the-best-partner\")."

    /// Lowercase letters and digits in words joined by single hyphens: what `slugBase` makes of a title.
    static func isSlug(_ text: String) -> Bool {
        !text.isEmpty
            && text.split(separator: "-", omittingEmptySubsequences: false).allSatisfy { word in
                !word.isEmpty && word.allSatisfy { ($0.isLetter && $0.lowercased() == String($0)) || $0.isNumber }
            }
    }

    /// Applies validated changes to an entry inside a write: references, inline lists, slug
    /// uniqueness, timestamps.
    static func apply(
        _ changes: JSONObject, to record: inout JSON, kind: EntryKind, directory: String, _ tx: inout Transaction
    ) throws {
        try References.check(kind.references, changes, directory: directory, tx)
        let nestedKeys = Set(kind.nested.map(\.key))
        for (key, value) in changes where !nestedKeys.contains(key) { record[key] = value }
        let id = record["id"]?.stringValue ?? ""
        let lists = try nestedItems(changes, kind: kind)
        for (key, spec) in kind.nested {
            guard let items = lists[key] else { continue }
            try replaceChildren(spec, of: id, with: items, directory: directory, &tx)
        }
        if let wanted = changes["slug"]?.stringValue {
            if takenSlugs(directory: directory, excluding: id, tx).contains(wanted) {
                throw APIErrors([Wire.invalid("slug", slugTaken)])
            }
        } else if record["slug"]?.stringValue == nil {
            let title = record["title"]?.stringValue ?? ""
            record["slug"] = .string(slug(for: title, directory: directory, excluding: id, tx, kind: kind))
        }
        record["modified"] = .string(Timestamp.now().storageText)
    }

    /// Makes the entry's `spec` children exactly `items`: known ids are updated in place, the rest
    /// created; children left out are deleted. Without an explicit `order`, an item's position is its order.
    static func replaceChildren(
        _ spec: ResourceSpec, of entry: String, with items: [NestedItem], directory: String,
        _ tx: inout Transaction
    ) throws {
        let existing = Set(tx.lookup(spec.collection, index: Collections.byParent, key: entry))
        var kept = Set<String>()
        let now = Timestamp.now().storageText
        for (position, item) in items.enumerated() {
            try References.check(spec.references, item.fields, directory: directory, tx)
            var fields = item.fields
            if spec.hasOrder && fields["order"] == nil { fields["order"] = .int(position) }
            var record: JSON
            if let id = item.id, existing.contains(id), !kept.contains(id), let current = tx.get(spec.collection, id) {
                record = current
                kept.insert(id)
            } else {
                record = [
                    "id": .string(Crypto.uuid()), "directory_id": .string(directory), spec.parentKey: .string(entry),
                    "created": .string(now),
                ]
                for field in spec.fields where !field.readOnly { record[field.name] = spec.defaultValue(field) }
            }
            for (key, value) in fields { record[key] = value }
            record["modified"] = .string(now)
            tx.put(spec.collection, record["id"]?.stringValue ?? "", record)
        }
        for id in existing.subtracting(kept) { CRUD.deleteCascading(spec.collection, id, &tx) }
    }

    static func register(_ routes: inout OperationGroup<Caller>) {
        for kind in kinds { register(kind, &routes) }
        let summary: JSON = [
            "type": "object",
            "properties": [
                "id": ["type": "string", "format": "uuid"], "type": ["type": "string", "enum": ["partner", "app"]],
                "title": ["type": "string"], "slug": ["type": ["string", "null"]], "status": ["type": "string"],
                "featured": ["type": "boolean"],
                "tier": ["oneOf": [Catalogue.tiers.responseOpenAPI(), ["type": "null"]]],
                "recommended_order": ["type": ["integer", "null"]],
                "href": ["type": "string"],
            ],
        ]
        routes.on(
            .get, "directories/:directory_id/entries/", access: .role(.permission(.read, "entries")),
            doc: OperationDoc(
                "Get all entries", tag: "Entries",
                description: "Partner and app entries together, in recommended order.",
                parameters: OpenAPIShapes.pageParameters + [
                    OperationDoc.Parameter("type", schema: ["type": "string", "enum": ["partner", "app"]]),
                    OperationDoc.Parameter(
                        "status", schema: ["type": "string", "enum": .array(statuses.map(JSON.string))]),
                    OperationDoc.Parameter("featured", schema: ["type": "boolean"]),
                    OperationDoc.Parameter("tier", schema: ["type": "string"]),
                    OperationDoc.Parameter(
                        "filter_option", schema: ["type": "string"], "Partner entries carrying this filter option."),
                ],
                responses: [.init(200, "A page of entries.", schema: OpenAPIShapes.page(of: summary))],
                errors: [400, 403, 404])
        ) { context in
            let directory = try context.directory()
            var problems: [APIError] = []
            let wanted = Filtering.value("type", as: entryType, context.request, &problems)?.stringValue
            if !problems.isEmpty { throw APIErrors(problems) }
            var items: [(JSON, EntryKind)] = []
            for kind in kinds where wanted == nil || wanted == kind.name {
                items += try filtered(
                    entries(kind, directory, context.store), context.request, listFilters: kind.listFilters
                ).map { ($0, kind) }
            }
            let order = Dictionary(
                uniqueKeysWithValues: sorted(items.map(\.0)).enumerated().map { ($1["id"]?.stringValue ?? "", $0) })
            items.sort { order[$0.0["id"]?.stringValue ?? ""] ?? 0 < order[$1.0["id"]?.stringValue ?? ""] ?? 0 }
            return .json(try Wire.page(items, context.request) { $1.listItem($0, context.store) })
        }
        ApprovalFlow.register(&routes)
        Invites.register(&routes)
    }

    static func register(_ kind: EntryKind, _ routes: inout OperationGroup<Caller>) {
        let item = kind.responseSchema.openAPI()
        let request = OpenAPIShapes.casing(kind.writeSchema.openAPI(writableOnly: true), camel: true)
        let tag = kind.tag
        routes.on(
            .get, kind.collectionPath, access: .role(.permission(.read, kind.permission)),
            doc: OperationDoc(
                "Get all \(kind.name) entries", tag: tag,
                parameters: OpenAPIShapes.pageParameters + kind.listFilters.map { OperationDoc.Parameter($0) }
                    + (kind.name == "partner"
                        ? [OperationDoc.Parameter("filter_option", "Entries carrying this filter option id.")] : []),
                responses: [.init(200, "A page of entries.", schema: OpenAPIShapes.page(of: item))],
                errors: [400, 403, 404])
        ) { context in
            let directory = try context.directory()
            let records = sorted(
                try filtered(entries(kind, directory, context.store), context.request, listFilters: kind.listFilters))
            return .json(try Wire.page(records, context.request) { kind.response($0, context.store) })
        }
        routes.on(
            .get, kind.itemPath, access: .role(.permission(.read, kind.permission)), caching: .untilStoreChanges,
            doc: OperationDoc(
                "Get a \(kind.name) entry", tag: tag, responses: [.init(200, "The entry.", schema: item)],
                errors: [403, 404])
        ) { context in
            let directory = try context.directory()
            return .json(kind.response(try entry(kind, context, directory), context.store))
        }
        routes.on(
            .post, kind.collectionPath, access: .role(.permission(.create, kind.permission)),
            doc: OperationDoc(
                "Create a \(kind.name) entry", tag: tag,
                description: kind.collection == Entries.partner.collection
                    ? "With the directory's require_edit_approval on, a key without "
                        + "generic_directory:approve_partner_entries may create hidden entries only (403 for public)."
                    : "",
                requestBody: request,
                responses: [.init(201, "The entry.", schema: item)],
                errors: [400, 403, 404])
        ) { context in
            let directory = try context.directory()
            let directoryID = directory["id"]?.stringValue ?? ""
            let body = try payload(kind, context, directory: directoryID, partial: false)
            if body["status"]?.stringValue == "public" {
                // Publishing is an edit like any other: a key that cannot approve one creates the
                // entry hidden and submits the status change for review.
                try ApprovalFlow.refuseDirectEdit(of: kind, by: context.principal, in: directory)
            }
            let saved = try context.store.write { tx -> JSON in
                let now = Timestamp.now().storageText
                var record: JSON = [
                    "id": .string(Crypto.uuid()), "directory_id": .string(directoryID), "created": .string(now),
                ]
                for field in kind.fields { record[field.name] = field.nullable ? .null : kind.defaultValue(field) }
                if body["tier"] == nil, let tier = Tiers.defaultTier(directory: directoryID, tx) {
                    record["tier"] = .string(tier)
                }
                try apply(body, to: &record, kind: kind, directory: directoryID, &tx)
                tx.put(kind.collection, record["id"]!.stringValue!, record)
                return record
            }
            return .json(kind.response(saved, context.store), status: .created)
        }
        routes.on(
            .patch, kind.itemPath, access: .role(.permission(.update, kind.permission)),
            doc: OperationDoc(
                "Update a \(kind.name) entry", tag: tag,
                description:
                    "Partial update: at least one field. Applies at once, unless the directory requires edit approval "
                    + "and the key lacks generic_directory:approve_partner_entries: then the changes are held for "
                    + "review exactly as review/submit/ holds them (202, the live entry unchanged; 409 if an edit is "
                    + "already waiting).",
                requestBody: OpenAPIShapes.optional(request),
                responses: [.init(200, "The entry.", schema: item)]
                    + (kind.collection == Entries.partner.collection
                        ? [.init(202, "The changes are held for approval; the entry with its review.", schema: item)]
                        : []),
                errors: kind.collection == Entries.partner.collection ? [400, 403, 404, 409] : [400, 403, 404])
        ) { context in
            let directory = try context.directory()
            let current = try entry(kind, context, directory)
            let id = current["id"]?.stringValue ?? ""
            let directoryID = directory["id"]?.stringValue ?? ""
            let body = try payload(kind, context, directory: directoryID, partial: true, current: current)
            let held = ApprovalFlow.holdsEdits(of: kind, by: context.principal, in: directory)
            let saved = try context.store.write { tx -> JSON in
                guard var record = tx.get(kind.collection, id) else { throw Wire.notFound() }
                if held {
                    try ApprovalFlow.hold(body, in: &record, directory: directoryID, tx)
                } else {
                    try apply(body, to: &record, kind: kind, directory: directoryID, &tx)
                }
                tx.put(kind.collection, id, record)
                return record
            }
            return .json(kind.response(saved, context.store), status: held ? .accepted : .ok)
        }
        routes.on(
            .delete, kind.itemPath, access: .role(.permission(.delete, kind.permission)),
            doc: OperationDoc(
                "Delete a \(kind.name) entry", tag: tag,
                description: "Deletes its sub-resources, invites and reviews too.",
                responses: [.init(204, "Deleted.")], errors: [403, 404])
        ) { context in
            let directory = try context.directory()
            let id = try entry(kind, context, directory)["id"]?.stringValue ?? ""
            let directoryID = directory["id"]?.stringValue ?? ""
            try context.store.write { tx in
                guard tx.get(kind.collection, id) != nil else { throw Wire.notFound() }
                // What visitors sent about this entry goes with it: each erasure is in the audit log.
                let actor = Reviews.actor(context.principal)
                for request in tx.lookup(Collections.contactRequests, index: Collections.byDirectory, key: directoryID)
                where tx.get(Collections.contactRequests, request)?["entry"]?.stringValue == id {
                    Erasure.log(Collections.contactRequests, request, directory: directoryID, by: actor, &tx)
                }
                // This deletes those contact requests too (their entry is required).
                CRUD.deleteCascading(kind.collection, id, &tx)
                for invite in tx.lookup(Collections.invites, index: Collections.byParent, key: id) {
                    tx.delete(Collections.invites, invite)
                }
                for review in tx.lookup(Collections.reviews, index: "by_entry", key: id) {
                    tx.delete(Collections.reviews, review)
                    Erasure.log(Collections.reviews, review, directory: directoryID, by: actor, &tx)
                }
            }
            return .noContent()
        }
        let orderSchema = ResourceSchema(
            "RecommendedOrder", [Field("order", .integer, required: true, "0 or more; lower comes first.")])
        routes.on(
            .post, kind.itemPath + "recommended-order/", access: .role(.permission(.update, kind.permission)),
            doc: OperationDoc(
                "Update the recommended order of a \(kind.name) entry", tag: tag,
                requestBody: orderSchema.openAPI(writableOnly: true),
                responses: [.init(200, "The entry.", schema: item)], errors: [400, 403, 404])
        ) { context in
            let directory = try context.directory()
            let id = try entry(kind, context, directory)["id"]?.stringValue ?? ""
            try ApprovalFlow.refuseDirectEdit(of: kind, by: context.principal, in: directory)
            let body = try Wire.payload(context.request, orderSchema, partial: false)
            guard let order = body["order"]?.intValue, order >= 0 else {
                throw APIErrors([Wire.invalid("order", "Ensure this value is greater than or equal to 0.")])
            }
            let saved = try context.store.write { tx -> JSON in
                guard var record = tx.get(kind.collection, id) else { throw Wire.notFound() }
                record["recommended_order"] = .int(order)
                record["modified"] = .string(Timestamp.now().storageText)
                tx.put(kind.collection, id, record)
                return record
            }
            return .json(kind.response(saved, context.store))
        }
    }
}
