import APICore
import HTTP
import JSON
import Store

/// Tiers (Platinum, Gold, ...) and which entries are in them. An entry's `tier` field is the link.
enum Tiers {
    static func entries(in tier: String, _ store: Store) -> [(JSON, EntryKind)] {
        Entries.kinds.flatMap { kind in
            store.lookupRecords(kind.collection, index: "by_tier", key: tier).map { ($0, kind) }
        }
    }

    static func entriesURL(_ tier: JSON) -> String {
        Wire.base
            + "/directories/\(tier["directory_id"]?.stringValue ?? "")/tiers/\(tier["id"]?.stringValue ?? "")/entries/"
    }

    @Sendable static func computed(_ tier: JSON, _ store: Store) -> [String: JSON] {
        let id = tier["id"]?.stringValue ?? ""
        let count = Entries.kinds.reduce(0) { $0 + store.lookup($1.collection, index: "by_tier", key: id).count }
        return ["entries_count": .int(count), "entries_list_url": .string(entriesURL(tier))]
    }

    /// The tier as a partner entry embeds it (the seed's shape), or null.
    static func summary(_ id: String?, _ store: Store) -> JSON {
        guard let id, let tier = store.get(Catalogue.tiers.collection, id) else { return .null }
        return Catalogue.tiers.response(tier, store)
    }

    static func defaultTier(directory: String, _ tx: Transaction) -> String? {
        tx.lookup(Catalogue.tiers.collection, index: Collections.byDirectory, key: directory)
            .compactMap { tx.get(Catalogue.tiers.collection, $0) }
            .filter { $0["default"]?.boolValue == true }
            .sorted { ($0["order"]?.intValue ?? 0) < ($1["order"]?.intValue ?? 0) }
            .first?["id"]?.stringValue
    }

    static let assignment = ResourceSchema(
        "TierAssignment",
        [
            Field(
                "assign", .array(.uuid),
                "Entry ids (partner or app) to put in this tier; they leave their previous tier."),
            Field("unassign", .array(.uuid), "Entry ids to take out of this tier."),
        ])

    static func register(_ routes: inout OperationGroup<Caller>) {
        let path = "directories/:directory_id/tiers/:tier_id/entries/"
        let summary: JSON = ["type": "object"]
        let tag = "Directory: Tiers"
        routes.on(
            .get, path, access: .role(.permission(.read, "tiers")),
            doc: OperationDoc(
                "Get all entries assigned to a tier", tag: tag, parameters: OpenAPIShapes.pageParameters,
                responses: [.init(200, "A page of entries.", schema: OpenAPIShapes.page(of: summary))],
                errors: [400, 403, 404])
        ) { context in
            let directory = try context.directory()
            let tier = try tierRecord(context, directory)
            return .json(try Wire.page(listed(tier, context.store), context.request) { $1.listItem($0, context.store) })
        }
        routes.on(
            .post, path, access: .role(.permission(.update, "tiers")),
            doc: OperationDoc(
                "Assign or unassign entries to a tier", tag: tag,
                requestBody: OpenAPIShapes.casing(assignment.openAPI(writableOnly: true), camel: true),
                responses: [
                    .init(200, "The tier's entries after the change.", schema: OpenAPIShapes.page(of: summary))
                ], errors: [400, 403, 404])
        ) { context in
            let directory = try context.directory()
            let tier = try tierRecord(context, directory)
            let body = try Wire.payload(context.request, assignment, partial: false)
            let assign = (body["assign"]?.arrayValue ?? []).compactMap(\.stringValue)
            let unassign = (body["unassign"]?.arrayValue ?? []).compactMap(\.stringValue)
            guard !assign.isEmpty || !unassign.isEmpty else {
                throw APIErrors([Wire.invalid("assign", "Give entry ids to assign or unassign.")])
            }
            if let both = Set(assign).intersection(unassign).first {
                throw APIErrors([Wire.invalid("unassign", "Entry \(both) is both assigned and unassigned.")])
            }
            let tierID = tier["id"]?.stringValue ?? ""
            try context.store.write { tx in
                var problems: [APIError] = []
                var changes: [(EntryKind, String, JSON)] = []
                for (field, ids) in [("assign", assign), ("unassign", unassign)] {
                    for id in ids {
                        guard
                            let kind = Entries.kinds.first(where: {
                                tx.get($0.collection, id)?["directory_id"] == directory["id"]
                            })
                        else {
                            problems.append(Wire.invalid(field, "Invalid pk \"\(id)\" - object does not exist."))
                            continue
                        }
                        // A partner entry's tier is part of the live entry: not a way around the approval flow.
                        try ApprovalFlow.refuseDirectEdit(of: kind, by: context.principal, in: directory)
                        var entry = tx.get(kind.collection, id)!
                        if field == "assign" {
                            entry["tier"] = .string(tierID)
                        } else if entry["tier"]?.stringValue == tierID {
                            entry["tier"] = .null
                        } else {
                            continue
                        }
                        entry["modified"] = .string(Timestamp.now().storageText)
                        changes.append((kind, id, entry))
                    }
                }
                if !problems.isEmpty { throw APIErrors(problems) }
                for (kind, id, entry) in changes { tx.put(kind.collection, id, entry) }
            }
            return .json(try Wire.page(listed(tier, context.store), context.request) { $1.listItem($0, context.store) })
        }
    }

    static func tierRecord(_ context: Context, _ directory: JSON) throws -> JSON {
        guard let tier = context.store.get(Catalogue.tiers.collection, context.request.pathParameter("tier_id")),
            tier["directory_id"] == directory["id"]
        else { throw Wire.notFound() }
        return tier
    }

    /// The tier's entries in recommended order.
    static func listed(_ tier: JSON, _ store: Store) -> [(JSON, EntryKind)] {
        let found = entries(in: tier["id"]?.stringValue ?? "", store)
        let order = Dictionary(
            uniqueKeysWithValues: Entries.sorted(found.map(\.0)).enumerated().map { ($1["id"]?.stringValue ?? "", $0) })
        return found.sorted { order[$0.0["id"]?.stringValue ?? ""] ?? 0 < order[$1.0["id"]?.stringValue ?? ""] ?? 0 }
    }
}
