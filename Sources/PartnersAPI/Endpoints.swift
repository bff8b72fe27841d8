import APICore
import HTTP
import JSON
import Store

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
        // An existing partnership of another partner is a 403, an unknown id a 404: Ulule's
        // permissions are per endpoint and reported as PermissionError, not hidden behind a 404.
        guard caller.isStaff || caller.isMember(of: record["partner_id"]?.intValue ?? 0, context.store) else {
            throw Failure.forbidden("Only users of this partnership's partner may see it.")
        }
        return .json(Resources.partnership(record, Presentation(context)))
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
            guard partnerID > 0, tx.get(Collection.partners, String(partnerID)) != nil else {
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
                "created_at": .string(Timestamp.now().storageText),
            ]
            tx.put(Collection.partnerships, String(id), record)
            if isDefault { clearOtherDefaults(&tx, project: projectID, keep: id) }
            return record
        }
        return .json(Resources.partnership(record, Presentation(context)), status: .created)
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
        return .json(Resources.partnership(record, Presentation(context)))
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
            throw caller.refusal("Only the project owner and users of its partners may list its partnerships.")
        }
        let page = try CursorPage(context.request.query)
        let view = Presentation(context)
        let (items, meta) = page.page(partnerships(of: record, context.store), extraQuery: view.query)
        return .json(["partnerships": .array(Resources.partnerships(Array(items), view)), "meta": meta])
    }

    static func partnerships(of project: JSON, _ store: Store) -> [JSON] {
        store.lookupRecords(Collection.partnerships, index: "by_project", key: String(project["id"]?.intValue ?? 0))
    }

    /// The `extra_fields` a project shows (Ulule's list names many more; we serve these).
    static let projectExtraFields: Set<String> = ["partnerships"]

    /// The requested extra fields. An unknown one is a 400 since version 2019-03-07, ignored before.
    static func extraFields(_ context: Context) throws -> Set<String> {
        let requested = (context.request.query["extra_fields"] ?? "").split(separator: ",").map {
            String($0).trimmingSpaces
        }
        let unknown = requested.filter { !$0.isEmpty && !projectExtraFields.contains($0) }
        if let first = unknown.first, context.version >= .validatesExtraFields {
            throw Failure.value(
                "extra_fields",
                "Unknown extra field \"\(first)\": this endpoint serves \(projectExtraFields.sorted().joined(separator: ", "))."
            )
        }
        return Set(requested).intersection(projectExtraFields)
    }

    /// The project resource with the extra fields the caller asked for and may see (partnerships:
    /// those who may list them; for others the field is left out, as Ulule leaves out private fields).
    static func projectBody(_ record: JSON, extra: Set<String>, _ context: Context, _ view: Presentation) -> JSON {
        var body = Resources.project(record, view)
        if extra.contains("partnerships") && context.principal.canListPartnerships(of: record, context.store) {
            // Newest first, as every list.
            let listed = partnerships(of: record, context.store).sorted { CursorPage.key($0) > CursorPage.key($1) }
            body["partnerships"] = .array(Resources.partnerships(listed, view))
        }
        return body
    }

    /// Anyone may read an online project. One that is not online needs credentials; since version
    /// 2018-10-04 any user may read it, before that only staff, its owner and its partners' users.
    static func showProject(_ context: Context) throws -> HTTPResponse {
        let caller = context.principal
        let record = try project(context)
        let extra = try extraFields(context)
        if !ProjectRecord.isOnline(ProjectRecord.current(record)) {
            if caller.isAnonymous { throw Failure.unauthorized }
            if context.version < .projectDetailForAllUsers && !caller.canListPartnerships(of: record, context.store) {
                throw Failure.forbidden(
                    "Only the project owner, its partners' users and staff may see a project that is not online.")
            }
        }
        return .json(projectBody(record, extra: extra, context, Presentation(context)))
    }

    static func partner(byIDOrSlug text: String, _ store: Store) -> JSON? {
        if let id = Int(text), let record = store.get(Collection.partners, String(id)) { return record }
        return store.lookupRecords(Collection.partners, index: "by_slug", key: text).first
    }

    static func showPartner(_ context: Context) throws -> HTTPResponse {
        let text = context.request.pathParameter("partner")
        guard let record = partner(byIDOrSlug: text, context.store) else { throw Failure.notFound("Partner", text) }
        return .json(Resources.partner(record))
    }

    /// Ulule's documented filters of "List partner projects": `status` and `is_winner`.
    struct ProjectFilters {
        var status: String?
        var isWinner: Bool?

        init(_ query: QueryParameters) throws {
            if let text = query["status"] {
                guard ProjectRecord.statuses.contains(text) else {
                    throw Failure.value(
                        "status",
                        "Unknown status \"\(text)\": expected one of \(ProjectRecord.statuses.joined(separator: ", "))."
                    )
                }
                status = text
            }
            if let text = query["is_winner"] {
                guard text == "true" || text == "false" else {
                    throw Failure.value("is_winner", "is_winner must be true or false.")
                }
                isWinner = text == "true"
            }
        }

        func admits(_ record: JSON) -> Bool {
            (status == nil || ProjectRecord.status(record) == status)
                && (isWinner == nil || (record["is_winner"]?.boolValue ?? false) == isWinner)
        }

        /// Kept in `meta.next`.
        var query: String {
            (status.map { "&status=\($0)" } ?? "") + (isWinner.map { "&is_winner=\($0)" } ?? "")
        }
    }

    static func partnerProjects(_ context: Context) throws -> HTTPResponse {
        let caller = context.principal
        let text = context.request.pathParameter("partner")
        guard let partner = partner(byIDOrSlug: text, context.store) else { throw Failure.notFound("Partner", text) }
        let partnerID = partner["id"]?.intValue ?? 0
        let filters = try ProjectFilters(context.request.query)
        guard caller.isStaff || caller.isMember(of: partnerID, context.store) || filters.status == "online" else {
            throw caller.refusal("Only users of this partner may list its projects, unless status=online.")
        }
        let page = try CursorPage(context.request.query)
        let extra = try extraFields(context)
        let projects = context.store.lookupRecords(Collection.partnerships, index: "by_partner", key: String(partnerID))
            .compactMap { context.store.get(Collection.projects, String($0["project_id"]?.intValue ?? 0)) }
            .filter { filters.admits(ProjectRecord.current($0)) }
        let view = Presentation(context)
        let extraQuery =
            filters.query + (extra.isEmpty ? "" : "&extra_fields=\(extra.sorted().joined(separator: ","))")
            + view.query
        let (items, meta) = page.page(projects, extraQuery: extraQuery)
        return .json(["projects": .array(items.map { projectBody($0, extra: extra, context, view) }), "meta": meta])
    }
}
