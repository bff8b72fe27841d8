import APICore
import HTTP
import JSON
import Store

/// The public (unauthenticated) listing of a directory, as real directories publish it: only
/// entries with status `public`, only fields meant for visitors, paged with `page`/`page_size`.
/// A directory opts out with the `public_listing` setting; then it answers 404 like an unknown one.
enum PublicListing {
    static let base = "/api/directory/public/v1alpha"

    static let entry = ResourceSchema(
        "PublicEntry",
        [
            Field("id", .uuid, readOnly: true), Field("type", .enumeration(["partner", "app"]), readOnly: true),
            Field("title", .string, readOnly: true), Field("headline", .string, nullable: true, readOnly: true),
            Field("description", .string, nullable: true, readOnly: true),
            Field("slug", .string, nullable: true, readOnly: true),
            Field("icon", .url, nullable: true, readOnly: true), Field("image", .url, nullable: true, readOnly: true),
            Field("website", .url, nullable: true, readOnly: true), Field("featured", .boolean, readOnly: true),
            Field("tier", .string, nullable: true, readOnly: true, "The tier's title (Platinum, Gold, ...)."),
            Field("filter_options", .array(.uuid), readOnly: true),
        ])

    static func register(_ routes: inout OperationGroup<Caller>) {
        routes.onPublic(
            .get, "directories/:directory_slug/entries/",
            doc: OperationDoc(
                "List a directory's public entries", tag: "Public listing",
                description: "No key needed. Entries with status public, in recommended order.",
                parameters: OpenAPIShapes.pageParameters + [
                    OperationDoc.Parameter("featured", schema: ["type": "boolean"]),
                    OperationDoc.Parameter("tier", "A tier title, e.g. Gold."),
                    OperationDoc.Parameter("filter_option", "A filter option id."),
                ],
                responses: [.init(200, "A page of public entries.", schema: OpenAPIShapes.page(of: entry.openAPI()))],
                errors: [400, 404])
        ) { context in
            let directory = try listedDirectory(context)
            var items: [(JSON, EntryKind)] = []
            for kind in Entries.kinds {
                let visible = Entries.entries(kind, directory, context.store).filter {
                    $0["status"]?.stringValue == "public"
                }
                items += try Entries.filtered(visible, context.request, listFilters: ["featured"]).map { ($0, kind) }
            }
            if let tier = context.request.query["tier"] {
                items = items.filter { tierTitle($0.0, context.store) == tier }
            }
            let ordered = Entries.sorted(items.map(\.0))
            let kinds = Dictionary(items.map { ($0.0["id"]?.stringValue ?? "", $0.1) }) { a, _ in a }
            return .json(
                try Wire.page(ordered, context.request) {
                    shown($0, kinds[$0["id"]?.stringValue ?? ""] ?? Entries.partner, context.store)
                })
        }
        routes.onPublic(
            .get, "directories/:directory_slug/entries/:entry_slug/",
            doc: OperationDoc(
                "Get a public entry by its slug", tag: "Public listing",
                description: "No key needed. A partner or app entry with status public, with the listing's fields.",
                responses: [.init(200, "The entry.", schema: entry.openAPI())], errors: [404])
        ) { context in
            let directory = try listedDirectory(context)
            let slug = context.request.pathParameter("entry_slug")
            for kind in Entries.kinds {
                if let record = Entries.entries(kind, directory, context.store).first(where: {
                    $0["slug"]?.stringValue == slug && $0["status"]?.stringValue == "public"
                }) {
                    return .json(shown(record, kind, context.store))
                }
            }
            throw Wire.notFound()
        }
        registerFilters(&routes)
    }

    static let filter = ResourceSchema(
        "PublicFilter",
        [
            Field("id", .uuid, readOnly: true), Field("name", .string, readOnly: true),
            Field("slug", .string, nullable: true, readOnly: true),
            Field("description", .string, nullable: true, readOnly: true),
            Field(
                "options", .array(.object), readOnly: true, "{id, name, slug}: the ids entries' filter_options hold."),
        ])

    /// The filters a directory publishes (`external`), with their options: what turns the ids in an
    /// entry's `filter_options` into names for visitors.
    static func registerFilters(_ routes: inout OperationGroup<Caller>) {
        routes.onPublic(
            .get, "directories/:directory_slug/filters/",
            doc: OperationDoc(
                "List a directory's public filters", tag: "Public listing",
                description: "No key needed. Filters marked external, in order, each with its options.",
                parameters: OpenAPIShapes.pageParameters,
                responses: [.init(200, "A page of filters.", schema: OpenAPIShapes.page(of: filter.openAPI()))],
                errors: [400, 404])
        ) { context in
            let directory = try listedDirectory(context)
            let filters = CRUD.sorted(
                Collections.records(Catalogue.filters.collection, of: directory, context.store).filter {
                    $0["external"]?.boolValue == true
                })
            return .json(
                try Wire.page(
                    filters.map { record in
                        let options = CRUD.children(
                            Catalogue.filterOptions, of: record["id"]?.stringValue ?? "", context.store)
                        return filter.serialize([
                            "id": record["id"] ?? .null, "name": record["name"] ?? .null,
                            "slug": record["slug"] ?? .null,
                            "description": record["description"] ?? .null,
                            "options": .array(
                                options.map {
                                    ["id": $0["id"] ?? .null, "name": $0["name"] ?? .null, "slug": $0["slug"] ?? .null]
                                }),
                        ])
                    }, context.request))
        }
    }

    /// The directory of the path's slug, if it publishes its listing; otherwise 404 like an unknown slug.
    static func listedDirectory(_ context: RequestContext) throws -> JSON {
        let slug = context.request.pathParameter("directory_slug")
        guard
            let directory = context.store.lookupRecords(Collections.directories, index: "by_slug", key: slug).first,
            Directories.setting("public_listing", of: directory).boolValue != false
        else { throw Wire.notFound() }
        return directory
    }

    /// An entry with the visitor fields only.
    static func shown(_ record: JSON, _ kind: EntryKind, _ store: Store) -> JSON {
        var values: [String: JSON] = [:]
        for field in entry.fields { values[field.name] = record[field.name] ?? .null }
        values["type"] = .string(kind.name)
        values["featured"] = record["featured"] ?? false
        values["tier"] = tierTitle(record, store).map(JSON.string) ?? .null
        values["filter_options"] = record["user_assigned_filter_options"] ?? []
        return entry.serialize(values)
    }

    static func tierTitle(_ record: JSON, _ store: Store) -> String? {
        record["tier"]?.stringValue.flatMap { store.get(Catalogue.tiers.collection, $0)?["title"]?.stringValue }
    }
}
