import APICore
import JSON
import Store

/// One declarative description per resource of the Directory API: from it come the routes, the
/// payload validation, the stored record, the response and the OpenAPI schemas. The many similar
/// sub-resources of the seed (callouts, badges, certifications, testimonials, ...) are one line each
/// in `Catalogue`.
struct ResourceSpec {
    /// Where the resource hangs in the path.
    enum Parent {
        case directory, partnerEntry, appEntry, filter

        var pathPrefix: String {
            switch self {
            case .directory: return "directories/:directory_id"
            case .partnerEntry: return "directories/:directory_id/entries/partners/:entry_id"
            case .appEntry: return "directories/:directory_id/entries/apps/:entry_id"
            case .filter: return "directories/:directory_id/filters/:filter_id"
            }
        }
        var key: String {
            switch self {
            case .directory: return "directory_id"
            case .partnerEntry, .appEntry: return "entry_id"
            case .filter: return "filter_id"
            }
        }
        /// nil: the directory itself.
        var collection: String? {
            switch self {
            case .directory: return nil
            case .partnerEntry: return Collections.partnerEntries
            case .appEntry: return Collections.appEntries
            case .filter: return Catalogue.filters.collection
            }
        }
        var tagPrefix: String {
            switch self {
            case .directory: return "Directory"
            case .partnerEntry: return "Partner entry"
            case .appEntry: return "App entry"
            case .filter: return "Directory"
            }
        }
    }

    /// Singular, human: "Callout", "Industry certification".
    let title: String
    /// The path segment of the collection: "callouts", "industry-certifications".
    let segment: String
    let parent: Parent
    /// The fields clients write and read, snake_case. `id` is added in front.
    let fields: [Field]
    /// `generic_directory:<action>_<permission>`.
    let permission: String
    /// The seed shows some sub-resources (callouts, media, tiers) with camelCase keys in responses.
    let camelCaseResponse: Bool
    /// Fields holding ids (or lists of ids) of records that must exist in the same directory.
    let references: [String: String]
    /// Fields a list may be filtered on by equality (`?featured=true`).
    let listFilters: [String]
    /// Read-only fields computed at response time (a tier's entry count), and how.
    var computedFields: [Field] = []
    var compute: (@Sendable (JSON, Store) -> [String: JSON])? = nil
    /// Boolean fields at most one record under a parent may have true (a directory's default tier):
    /// setting one on a record clears it on the others.
    var exclusiveFlags: [String] = []

    init(
        _ title: String, _ segment: String, under parent: Parent, permission: String, camelCase: Bool = false,
        references: [String: String] = [:], filters: [String] = [], _ fields: [Field]
    ) {
        self.title = title
        self.segment = segment
        self.parent = parent
        self.permission = permission
        self.camelCaseResponse = camelCase
        self.references = references
        self.listFilters = filters
        self.fields = fields
        self.schema = Self.makeSchema(Self.schemaName(parent, title), fields, [])
    }

    var collection: String {
        let owner: String
        switch parent {
        case .directory: owner = ""
        case .partnerEntry: owner = "partner_entry_"
        case .appEntry: owner = "app_entry_"
        case .filter: owner = "filter_"
        }
        return "dir_" + owner + segment.replacingHyphens
    }
    var parentKey: String { parent.key }
    var collectionPath: String { parent.pathPrefix + "/" + segment + "/" }
    var itemParameter: String { segment.replacingHyphens.singularized + "_id" }
    var itemPath: String { parent.pathPrefix + "/" + segment + "/:" + itemParameter + "/" }
    var schemaName: String { Self.schemaName(parent, title) }
    static func schemaName(_ parent: Parent, _ title: String) -> String {
        parent.tagPrefix.replacingSpaces + title.replacingSpaces
    }
    var tag: String {
        parent == .directory || parent == .filter
            ? "Directory: \(title.pluralTitle)" : "\(parent.tagPrefix): \(title.pluralTitle)"
    }
    var hasOrder: Bool { fields.contains { $0.name == "order" } }

    /// Validation and serialization share this schema (`id` is read-only); built once, not per request.
    private(set) var schema: ResourceSchema

    static func makeSchema(_ name: String, _ fields: [Field], _ computed: [Field]) -> ResourceSchema {
        ResourceSchema(name, [Field("id", .uuid, readOnly: true)] + fields + computed)
    }

    func computing(_ fields: [Field], _ compute: @escaping @Sendable (JSON, Store) -> [String: JSON]) -> ResourceSpec {
        var copy = self
        copy.computedFields = fields
        copy.schema = Self.makeSchema(schemaName, self.fields, fields)
        copy.compute = compute
        return copy
    }

    func exclusive(_ flag: String) -> ResourceSpec {
        var copy = self
        copy.exclusiveFlags.append(flag)
        return copy
    }

    /// After `record` was written: the `exclusiveFlags` it has set are cleared on its siblings.
    func clearExclusiveFlags(besides record: JSON, _ tx: inout Transaction) {
        let id = record["id"]?.stringValue ?? ""
        for flag in exclusiveFlags where record[flag]?.boolValue == true {
            for other in tx.lookup(collection, index: Collections.byParent, key: record[parentKey]?.stringValue ?? "")
            where other != id {
                guard var sibling = tx.get(collection, other), sibling[flag]?.boolValue == true else { continue }
                sibling[flag] = false
                sibling["modified"] = .string(Timestamp.now().storageText)
                tx.put(collection, other, sibling)
            }
        }
    }

    func response(_ record: JSON, _ store: Store) -> JSON {
        var values: [String: JSON] = [:]
        for field in schema.fields { values[field.name] = record[field.name] ?? defaultValue(field) }
        if let compute { values.merge(compute(record, store)) { $1 } }
        let object = schema.serialize(values)
        return camelCaseResponse ? Wire.camelKeys(object) : object
    }

    func defaultValue(_ field: Field) -> JSON {
        if field.nullable { return .null }
        switch field.type {
        case .boolean: return false
        case .integer: return 0
        case .array: return []
        case .string, .url, .email: return ""
        default: return .null
        }
    }

    func responseOpenAPI() -> JSON { OpenAPIShapes.casing(schema.openAPI(), camel: camelCaseResponse) }
    func requestOpenAPI() -> JSON { OpenAPIShapes.casing(schema.openAPI(writableOnly: true), camel: true) }
}

enum OpenAPIShapes {
    /// Renames the properties (and `required`) of an object schema.
    static func casing(_ schema: JSON, camel: Bool) -> JSON {
        guard camel, case .object(var object) = schema, let properties = object["properties"]?.objectValue else {
            return schema
        }
        object["properties"] = .object(JSONObject(properties.map { (Wire.camel($0.key), $0.value) }))
        if let required = object["required"]?.arrayValue {
            object["required"] = .array(required.map { .string(Wire.camel($0.stringValue ?? "")) })
        }
        return .object(object)
    }

    static func page(of item: JSON) -> JSON {
        [
            "type": "object",
            "properties": [
                "count": ["type": "integer"], "next": ["type": ["string", "null"]],
                "previous": ["type": ["string", "null"]],
                "results": ["type": "array", "items": item],
            ],
            "required": ["count", "next", "previous", "results"],
        ]
    }

    static let pageParameters: [OperationDoc.Parameter] = [
        OperationDoc.Parameter("page", schema: ["type": "integer", "minimum": 1], "1-based page number."),
        OperationDoc.Parameter(
            "page_size", schema: ["type": "integer", "minimum": 1],
            "Items per page (default \(Wire.defaultPageSize), larger values are capped at \(Wire.maximumPageSize))."),
    ]
}

extension String {
    var replacingHyphens: String { String(map { $0 == "-" ? "_" : $0 }) }
    var replacingUnderscores: String { String(map { $0 == "_" ? " " : $0 }) }
    var replacingSpaces: String {
        split(separator: " ").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }
    /// "use_cases" -> "use_case", "media" -> "media", "special_offers" -> "special_offer".
    var singularized: String {
        if hasSuffix("ies") { return String(dropLast(3)) + "y" }
        if hasSuffix("s") { return String(dropLast()) }
        return self
    }
    var pluralTitle: String {
        if hasSuffix("y") { return String(dropLast()) + "ies" }
        if hasSuffix("ia") || hasSuffix("s") { return self }
        return self + "s"
    }
}
