import APICore
import HTTP
import JSON
import Store

/// List, get, create, update (PATCH) and delete for any `ResourceSpec`, with the spec's permission,
/// parent scoping, references and list filters.
enum CRUD {
    static func register(_ spec: ResourceSpec, _ routes: inout OperationGroup<Caller>) {
        let item = spec.responseOpenAPI()
        let notFound = [400, 403, 404]
        routes.on(
            .get, spec.collectionPath, access: .role(.permission(.read, spec.permission)),
            doc: OperationDoc(
                "List \(spec.title.lowercased().pluralTitle)", tag: spec.tag,
                parameters: OpenAPIShapes.pageParameters
                    + spec.listFilters.map { OperationDoc.Parameter($0, schema: ["type": "boolean"]) },
                responses: [
                    .init(
                        200, "A page of \(spec.title.lowercased().pluralTitle).", schema: OpenAPIShapes.page(of: item))
                ], errors: notFound)
        ) { try list(spec, $0) }
        routes.on(
            .post, spec.collectionPath, access: .role(.permission(.create, spec.permission)),
            doc: OperationDoc(
                "Create a \(spec.title.lowercased())", tag: spec.tag, requestBody: spec.requestOpenAPI(),
                responses: [.init(201, "Created.", schema: item)], errors: notFound)
        ) { try create(spec, $0) }
        routes.on(
            .get, spec.itemPath, access: .role(.permission(.read, spec.permission)),
            doc: OperationDoc(
                "Get a \(spec.title.lowercased())", tag: spec.tag,
                responses: [.init(200, "The \(spec.title.lowercased()).", schema: item)],
                errors: [403, 404])
        ) { try show(spec, $0) }
        routes.on(
            .patch, spec.itemPath, access: .role(.permission(.update, spec.permission)),
            doc: OperationDoc(
                "Update a \(spec.title.lowercased())", tag: spec.tag,
                description: "Partial update: at least one field.",
                requestBody: OpenAPIShapes.optional(spec.requestOpenAPI()),
                responses: [.init(200, "The updated \(spec.title.lowercased()).", schema: item)], errors: notFound)
        ) { try update(spec, $0) }
        routes.on(
            .delete, spec.itemPath, access: .role(.permission(.delete, spec.permission)),
            doc: OperationDoc(
                "Delete a \(spec.title.lowercased())", tag: spec.tag, responses: [.init(204, "Deleted.")],
                errors: [403, 404])
        ) { try delete(spec, $0) }
    }

    /// The parent record's id after checking it exists in the caller's directory.
    static func parentID(_ spec: ResourceSpec, _ context: Context, directory: JSON) throws -> String {
        let directoryID = directory["id"]?.stringValue ?? ""
        guard let collection = spec.parent.collection else { return directoryID }
        let id = context.request.pathParameter(spec.parent.key)
        guard let parent = context.store.get(collection, id), parent["directory_id"]?.stringValue == directoryID else {
            throw Wire.notFound()
        }
        return id
    }

    static func record(_ spec: ResourceSpec, _ context: Context, parent: String) throws -> JSON {
        let id = context.request.pathParameter(spec.itemParameter)
        guard let record = context.store.get(spec.collection, id), record[spec.parentKey]?.stringValue == parent else {
            throw Wire.notFound()
        }
        return record
    }

    /// Children in list order: `order`, then creation.
    static func children(_ spec: ResourceSpec, of parent: String, _ store: Store) -> [JSON] {
        sorted(store.lookupRecords(spec.collection, index: Collections.byParent, key: parent))
    }

    static func sorted(_ records: [JSON]) -> [JSON] {
        records.sorted {
            let a = $0["order"]?.intValue ?? 0, b = $1["order"]?.intValue ?? 0
            if a != b { return a < b }
            return ($0["created"]?.stringValue ?? "") < ($1["created"]?.stringValue ?? "")
        }
    }

    static func list(_ spec: ResourceSpec, _ context: Context) throws -> HTTPResponse {
        let directory = try context.directory()
        let parent = try parentID(spec, context, directory: directory)
        var records = children(spec, of: parent, context.store)
        records = try Filtering.apply(spec.listFilters, of: spec.fields, to: records, context.request)
        return .json(try Wire.page(records, context.request) { spec.response($0, context.store) })
    }

    static func show(_ spec: ResourceSpec, _ context: Context) throws -> HTTPResponse {
        let directory = try context.directory()
        let parent = try parentID(spec, context, directory: directory)
        return .json(spec.response(try record(spec, context, parent: parent), context.store))
    }

    static func create(_ spec: ResourceSpec, _ context: Context) throws -> HTTPResponse {
        let directory = try context.directory()
        try ApprovalFlow.refuseDirectEdit(of: spec, by: context.principal, in: directory)
        let parent = try parentID(spec, context, directory: directory)
        let directoryID = directory["id"]?.stringValue ?? ""
        let body = try payload(spec, context, directory: directoryID, partial: false)
        let saved = try context.store.write { tx -> JSON in
            try References.check(spec.references, body, directory: directoryID, tx)
            let now = Timestamp.now().storageText
            var record: JSONObject = ["id": .string(Crypto.uuid()), "directory_id": .string(directoryID)]
            if spec.parentKey != "directory_id" { record[spec.parentKey] = .string(parent) }
            for field in spec.fields where !field.readOnly {
                record[field.name] = body[field.name] ?? spec.defaultValue(field)
            }
            record["created"] = .string(now)
            record["modified"] = .string(now)
            let value = JSON.object(record)
            tx.put(spec.collection, record["id"]!.stringValue!, value)
            spec.clearExclusiveFlags(besides: value, &tx)
            return value
        }
        return .json(spec.response(saved, context.store), status: .created)
    }

    static func update(_ spec: ResourceSpec, _ context: Context) throws -> HTTPResponse {
        let directory = try context.directory()
        try ApprovalFlow.refuseDirectEdit(of: spec, by: context.principal, in: directory)
        let parent = try parentID(spec, context, directory: directory)
        let current = try record(spec, context, parent: parent)
        let id = current["id"]?.stringValue ?? ""
        let body = try payload(
            spec, context, directory: directory["id"]?.stringValue ?? "", partial: true,
            current: spec.response(current, context.store))
        let saved = try context.store.write { tx -> JSON in
            guard var record = tx.get(spec.collection, id) else { throw Wire.notFound() }
            try References.check(spec.references, body, directory: directory["id"]?.stringValue ?? "", tx)
            for (key, value) in body { record[key] = value }
            record["modified"] = .string(Timestamp.now().storageText)
            tx.put(spec.collection, id, record)
            spec.clearExclusiveFlags(besides: record, &tx)
            return record
        }
        return .json(spec.response(saved, context.store))
    }

    /// The body checked against the spec, references included, every problem at once (the write
    /// checks the references again, under the lock).
    static func payload(
        _ spec: ResourceSpec, _ context: Context, directory: String, partial: Bool, current: JSON? = nil
    ) throws -> JSONObject {
        try Wire.payload(
            context.request, spec.schema, partial: partial,
            adapt: { Wire.ignoringUnchanged($0, spec.schema, current: current) },
            checks: { accepted in
                References.problems(spec.references, accepted, directory: directory) { context.store.get($0, $1) }
            })
    }

    static func delete(_ spec: ResourceSpec, _ context: Context) throws -> HTTPResponse {
        let directory = try context.directory()
        try ApprovalFlow.refuseDirectEdit(of: spec, by: context.principal, in: directory)
        let parent = try parentID(spec, context, directory: directory)
        let id = try record(spec, context, parent: parent)["id"]?.stringValue ?? ""
        try context.store.write { tx in
            guard tx.get(spec.collection, id) != nil else { throw Wire.notFound() }
            deleteCascading(spec.collection, id, &tx)
        }
        return .noContent()
    }

    /// Deletes a record and, recursively, every sub-resource that hangs under it; records that
    /// refer to a deleted one lose the reference (or, where it is required, go too).
    static func deleteCascading(_ collection: String, _ id: String, _ tx: inout Transaction) {
        guard let record = tx.get(collection, id) else { return }
        for child in Catalogue.children(of: collection) {
            for childID in tx.lookup(child.collection, index: Collections.byParent, key: id) {
                deleteCascading(child.collection, childID, &tx)
            }
        }
        tx.delete(collection, id)
        References.detach(collection, id, directory: record["directory_id"]?.stringValue ?? "", &tx)
    }
}

/// Ids in a payload that must name records of the same directory.
enum References {
    /// Who may refer to what: every spec's and entry kind's `references`, with whether the field is required.
    struct Referrer {
        let collection: String
        let field: String
        let required: Bool
    }

    static let referrers: [String: [Referrer]] = {
        var result: [String: [Referrer]] = [:]
        let owners =
            Catalogue.all.map { ($0.collection, $0.fields, $0.references) }
            + Entries.kinds.map { ($0.collection, $0.fields, $0.references) }
            + [
                (Collections.contactRequests, ContactRequests.schema.fields, ContactRequests.references),
                (Collections.matchmaking, Matchmaking.schema.fields, Matchmaking.references),
            ]
        for (collection, fields, references) in owners {
            for (field, target) in references {
                let required = fields.first { $0.name == field }?.required ?? false
                result[target, default: []].append(Referrer(collection: collection, field: field, required: required))
            }
        }
        return result
    }()

    /// After `id` of `collection` was deleted: lists drop it, optional fields become null, and
    /// records that require it are deleted.
    static func detach(_ collection: String, _ id: String, directory: String, _ tx: inout Transaction) {
        for referrer in referrers[collection] ?? [] {
            for other in tx.lookup(referrer.collection, index: Collections.byDirectory, key: directory) {
                guard var record = tx.get(referrer.collection, other), let value = record[referrer.field] else {
                    continue
                }
                if case .array(let ids) = value, ids.contains(.string(id)) {
                    record[referrer.field] = .array(ids.filter { $0 != .string(id) })
                } else if value == .string(id) {
                    if referrer.required {
                        CRUD.deleteCascading(referrer.collection, other, &tx)
                        continue
                    }
                    record[referrer.field] = .null
                } else {
                    continue
                }
                record["modified"] = .string(Timestamp.now().storageText)
                tx.put(referrer.collection, other, record)
            }
        }
    }

    static func check(_ references: [String: String], _ body: JSONObject, directory: String, _ tx: Transaction) throws {
        let problems = problems(references, body, directory: directory) { tx.get($0, $1) }
        if !problems.isEmpty { throw APIErrors(problems) }
    }

    /// The ids in `body` that name no record of the directory (`get` reads a transaction or the store).
    static func problems(
        _ references: [String: String], _ body: JSONObject, directory: String, _ get: (String, String) -> JSON?
    ) -> [APIError] {
        var problems: [APIError] = []
        for (field, collection) in references.sorted(by: { $0.key < $1.key }) {
            guard let value = body[field], !value.isNull else { continue }
            let ids = value.arrayValue?.compactMap(\.stringValue) ?? value.stringValue.map { [$0] } ?? []
            for id in ids where get(collection, id)?["directory_id"]?.stringValue != directory {
                problems.append(Wire.invalid(Wire.camel(field), "Invalid pk \"\(id)\" - object does not exist."))
            }
        }
        return problems
    }
}

/// Equality filters from the query string: `?status=public&featured=true`. A value its field
/// cannot hold (`status=pubic`, `featured=yes`) is a 400 naming the rule, not an empty page.
enum Filtering {
    static func apply(
        _ names: [String], of fields: [Field], to records: [JSON], _ request: HTTPRequest
    ) throws
        -> [JSON]
    {
        var result = records
        var problems: [APIError] = []
        for name in names {
            let type = fields.first { $0.name == name }?.type ?? .string
            guard let target = value(name, as: type, request, &problems) else { continue }
            result = result.filter { record in
                let value = record[name] ?? .null
                if case .bool = target { return value == target || (value.isNull && target == false) }
                return value == target
            }
        }
        if !problems.isEmpty { throw APIErrors(problems) }
        return result
    }

    /// The query parameter `name` (or its camelCase form) read as a value of `type`; nil when absent
    /// or when it is not one (then a problem is added).
    static func value(
        _ name: String, as type: FieldType, _ request: HTTPRequest, _ problems: inout [APIError]
    )
        -> JSON?
    {
        let sent = request.query[name] != nil ? name : Wire.camel(name)
        guard let text = request.query[sent] else { return nil }
        switch type {
        case .boolean:
            switch text.lowercased() {
            case "true": return true
            case "false": return false
            default: problems.append(Wire.invalid(sent, "Enter true or false."))
            }
        case .enumeration(let values):
            if values.contains(text) { return .string(text) }
            problems.append(Wire.invalid(sent, Wire.invalidValueMessage(type, .string(text))))
        case .uuid:
            if Wire.isUUID(text) { return .string(text) }
            problems.append(Wire.invalid(sent, "Must be a valid UUID."))
        default:
            return .string(text)
        }
        return nil
    }
}

extension OpenAPIShapes {
    /// A PATCH body: the same properties, none required.
    static func optional(_ schema: JSON) -> JSON {
        guard case .object(var object) = schema else { return schema }
        object["required"] = nil
        object["minProperties"] = 1
        return .object(object)
    }
}
