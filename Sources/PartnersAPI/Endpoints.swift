import APICore
import HTTP
import JSON
import Store

enum Resources {
    static func image(_ value: JSON?) -> JSON {
        guard let value, !value.isNull else { return .null }
        return value
    }

    static func partner(_ record: JSON) -> JSON {
        Schemas.partner.serialize([
            "id": record["id"] ?? .null, "name": record["name"] ?? .null, "slug": record["slug"] ?? .null,
            "url": record["url"] ?? .null, "user_id": record["user_id"] ?? .null,
            "logo": image(record["logo"]), "ribbon": image(record["ribbon"]),
        ])
    }

    static func project(_ record: JSON, _ store: Store) -> JSON {
        let ownerID = record["owner_id"]?.intValue ?? 0
        let owner = store.get(Collection.users, String(ownerID))
        let slug = record["slug"]?.stringValue ?? ""
        return .object(
            JSONObject([
                ("id", record["id"] ?? .null), ("slug", .string(slug)), ("name", record["name"] ?? .null),
                ("owner", ["id": .int(ownerID), "name": owner?["name"] ?? .null]),
                ("status", record["status"] ?? "new"), ("lang", record["lang"] ?? "en"),
                ("absolute_url", .string("/projects/\(slug)")),
            ]))
    }

    static func partnership(_ record: JSON, _ store: Store) -> JSON {
        let partner = store.get(Collection.partners, String(record["partner_id"]?.intValue ?? 0))
        let project = store.get(Collection.projects, String(record["project_id"]?.intValue ?? 0))
        return Schemas.partnership.serialize([
            "id": record["id"] ?? .null, "is_default": record["is_default"] ?? false,
            "is_support": record["is_support"] ?? false,
            "partner": partner.map(Resources.partner) ?? .null,
            "project": project.map { Resources.project($0, store) } ?? .null,
        ])
    }
}

enum Endpoints {
    static func project(_ context: Context) throws -> JSON {
        let text = context.request.pathParameter("id")
        guard let record = context.store.get(Collection.projects, String(try intID(text, "Project"))) else {
            throw Failure.notFound("Project", text)
        }
        return record
    }

    static func partnershipRecord(_ context: Context) throws -> JSON {
        let text = context.request.pathParameter("id")
        guard let record = context.store.get(Collection.partnerships, String(try intID(text, "Partnership"))) else {
            throw Failure.notFound("Partnership", text)
        }
        return record
    }

    static func showPartnership(_ context: Context) throws -> HTTPResponse {
        let caller = context.principal
        let record = try partnershipRecord(context)
        guard caller.isStaff || caller.isMember(of: record["partner_id"]?.intValue ?? 0, context.store) else {
            throw Failure.forbidden("Only users of this partnership's partner may see it.")
        }
        return .json(Resources.partnership(record, context.store))
    }

    /// Making `keep` the default clears every other default of the project, in the same write.
    static func clearOtherDefaults(_ tx: inout Transaction, project: Int, keep: Int) {
        for id in tx.lookup(Collection.partnerships, index: "by_project", key: String(project)) where id != String(keep)
        {
            guard var other = tx.get(Collection.partnerships, id), other["is_default"]?.boolValue == true else {
                continue
            }
            other["is_default"] = false
            tx.put(Collection.partnerships, id, other)
        }
    }

    static func createPartnership(_ context: Context) throws -> HTTPResponse {
        let projectRecord = try project(context)
        let body = try payload(context.request, Schemas.partnershipCreate, partial: false)
        let projectID = projectRecord["id"]?.intValue ?? 0
        let partnerID = body["partner_id"]?.intValue ?? 0
        let record = try context.store.write { tx -> JSON in
            guard tx.get(Collection.projects, String(projectID)) != nil else {
                throw Failure.notFound("Project", String(projectID))
            }
            guard tx.get(Collection.partners, String(partnerID)) != nil else {
                throw Failure.value("partner_id", "Partner \(partnerID) does not exist.")
            }
            let existing = tx.lookup(Collection.partnerships, index: "by_project", key: String(projectID)).compactMap {
                tx.get(Collection.partnerships, $0)
            }
            guard !existing.contains(where: { $0["partner_id"]?.intValue == partnerID }) else {
                throw Failure.value(
                    "partner_id", "This partner is already in partnership with this project.", status: .conflict)
            }
            let id = tx.nextSequence(Collection.partnerships)
            let isDefault = body["is_default"]?.boolValue ?? false
            let record: JSON = [
                "id": .int(id), "partner_id": .int(partnerID), "project_id": .int(projectID),
                "is_default": .bool(isDefault), "is_support": .bool(body["is_support"]?.boolValue ?? false),
            ]
            tx.put(Collection.partnerships, String(id), record)
            if isDefault { clearOtherDefaults(&tx, project: projectID, keep: id) }
            return record
        }
        return .json(Resources.partnership(record, context.store), status: .created)
    }

    static func updatePartnership(_ context: Context) throws -> HTTPResponse {
        let existing = try partnershipRecord(context)
        let body = try payload(context.request, Schemas.partnershipUpdate, partial: true)
        let id = existing["id"]?.intValue ?? 0
        let record = try context.store.write { tx -> JSON in
            guard var record = tx.get(Collection.partnerships, String(id)) else {
                throw Failure.notFound("Partnership", String(id))
            }
            for key in ["is_default", "is_support"] { if let value = body[key] { record[key] = value } }
            tx.put(Collection.partnerships, String(id), record)
            if record["is_default"]?.boolValue == true {
                clearOtherDefaults(&tx, project: record["project_id"]?.intValue ?? 0, keep: id)
            }
            return record
        }
        return .json(Resources.partnership(record, context.store))
    }

    static func deletePartnership(_ context: Context) throws -> HTTPResponse {
        let id = try partnershipRecord(context)["id"]?.intValue ?? 0
        try context.store.write { tx in
            guard tx.get(Collection.partnerships, String(id)) != nil else {
                throw Failure.notFound("Partnership", String(id))
            }
            tx.delete(Collection.partnerships, String(id))
        }
        return .noContent()
    }

    static func listProjectPartnerships(_ context: Context) throws -> HTTPResponse {
        let caller = context.principal
        let record = try project(context)
        guard caller.canListPartnerships(of: record, context.store) else {
            throw Failure.forbidden("Only the project owner and users of its partners may list its partnerships.")
        }
        let page = try CursorPage(context.request.query)
        let all = context.store.lookupRecords(
            Collection.partnerships, index: "by_project", key: String(record["id"]?.intValue ?? 0))
        let (items, meta) = page.page(all)
        return .json(["partnerships": .array(items.map { Resources.partnership($0, context.store) }), "meta": meta])
    }

    static func showProject(_ context: Context) throws -> HTTPResponse {
        let caller = context.principal
        let record = try project(context)
        var body = Resources.project(record, context.store)
        let extra = Set((context.request.query["extra_fields"] ?? "").split(separator: ",").map(String.init))
        if extra.contains("partnerships") && caller.canListPartnerships(of: record, context.store) {
            let partnerships = context.store.lookupRecords(
                Collection.partnerships, index: "by_project", key: String(record["id"]?.intValue ?? 0)
            )
            .sorted { ($0["id"]?.intValue ?? 0) < ($1["id"]?.intValue ?? 0) }
            body["partnerships"] = .array(partnerships.map { Resources.partnership($0, context.store) })
        }
        return .json(body)
    }

    static func partner(byIDOrSlug text: String, _ store: Store) -> JSON? {
        if let id = Int(text), let record = store.get(Collection.partners, String(id)) { return record }
        return store.lookupRecords(Collection.partners, index: "by_slug", key: text).first
    }

    static func showPartner(_ context: Context) throws -> HTTPResponse {
        let text = context.request.pathParameter("partner")
        guard let id = Int(text), let record = context.store.get(Collection.partners, String(id)) else {
            throw Failure.notFound("Partner", text)
        }
        return .json(Resources.partner(record))
    }

    static func partnerProjects(_ context: Context) throws -> HTTPResponse {
        let caller = context.principal
        let text = context.request.pathParameter("partner")
        guard let partner = partner(byIDOrSlug: text, context.store) else { throw Failure.notFound("Partner", text) }
        let partnerID = partner["id"]?.intValue ?? 0
        let status = context.request.query["status"]
        guard caller.isStaff || caller.isMember(of: partnerID, context.store) || status == "online" else {
            throw Failure.forbidden("Only users of this partner may list its projects, unless status=online.")
        }
        let page = try CursorPage(context.request.query)
        var projects = context.store.lookupRecords(Collection.partnerships, index: "by_partner", key: String(partnerID))
            .compactMap { context.store.get(Collection.projects, String($0["project_id"]?.intValue ?? 0)) }
        if let status { projects = projects.filter { ($0["status"]?.stringValue ?? "new") == status } }
        let (items, meta) = page.page(projects, extraQuery: status.map { "&status=\($0)" } ?? "")
        return .json(["projects": .array(items.map { Resources.project($0, context.store) }), "meta": meta])
    }
}
