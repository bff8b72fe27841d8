import APICore
import HTTP
import JSON
import Store

/// Staff management of users, partners (and their members) and projects (and their owners).
enum AdminEndpoints {
    static func requireUser(_ tx: Transaction, _ id: Int?, field: String) throws {
        guard let id, tx.get(Collection.users, String(id)) != nil else {
            throw Failure.value(field, "User \(id ?? 0) does not exist.")
        }
    }

    static func createUser(_ context: Context) throws -> HTTPResponse {
        let body = try payload(context.request, Schemas.user, partial: false)
        let record = try context.store.write { tx -> JSON in
            let id = tx.nextSequence(Collection.users)
            let record: JSON = ["id": .int(id), "name": body["name"]!, "email": body["email"] ?? .null]
            tx.put(Collection.users, String(id), record)
            return record
        }
        return .json(record, status: .created)
    }

    static func savePartner(_ context: Context, creating: Bool) throws -> HTTPResponse {
        let body = try payload(context.request, Schemas.partner, partial: !creating)
        let pathID = creating ? nil : context.request.pathParameter("id")
        let record = try context.store.write { tx -> JSON in
            var record: JSON
            if let pathID {
                guard let id = Int(pathID), let existing = tx.get(Collection.partners, String(id)) else {
                    throw Failure.notFound("Partner", pathID)
                }
                record = existing
            } else {
                record = [
                    "id": .int(tx.nextSequence(Collection.partners)), "logo": .null, "ribbon": .null, "url": .null,
                    "user_id": .null,
                ]
            }
            if let slug = body["slug"]?.stringValue,
                tx.lookup(Collection.partners, index: "by_slug", key: slug).contains(where: {
                    $0 != String(record["id"]?.intValue ?? 0)
                })
            {
                throw Failure.value("slug", "A partner with slug \"\(slug)\" already exists.", status: .conflict)
            }
            if let user = body["user_id"], !user.isNull { try requireUser(tx, user.intValue, field: "user_id") }
            for (key, value) in body where !PartnerImage.kinds.contains(key) { record[key] = value }
            for kind in PartnerImage.kinds {
                if let value = body[kind] { record[kind] = try PartnerImage.stored(value, kind: kind, &tx) }
            }
            tx.put(Collection.partners, String(record["id"]?.intValue ?? 0), record)
            return record
        }
        return .json(Resources.partner(record), status: creating ? .created : .ok)
    }

    static func addMember(_ context: Context) throws -> HTTPResponse {
        let body = try payload(context.request, Schemas.membership, partial: false)
        let partnerText = context.request.pathParameter("id")
        let user = body["user_id"]?.intValue ?? 0
        try context.store.write { tx in
            guard let partner = Int(partnerText), tx.get(Collection.partners, String(partner)) != nil else {
                throw Failure.notFound("Partner", partnerText)
            }
            try requireUser(tx, user, field: "user_id")
            tx.put(Collection.memberships, "\(partner)|\(user)", ["partner_id": .int(partner), "user_id": .int(user)])
        }
        return .json(["partner_id": .int(Int(partnerText) ?? 0), "user_id": .int(user)], status: .created)
    }

    static func removeMember(_ context: Context) throws -> HTTPResponse {
        let key = "\(context.request.pathParameter("id"))|\(context.request.pathParameter("user_id"))"
        try context.store.write { tx in
            guard tx.get(Collection.memberships, key) != nil else { throw Failure.notFound("Membership", key) }
            tx.delete(Collection.memberships, key)
        }
        return .noContent()
    }

    static func saveProject(_ context: Context, creating: Bool) throws -> HTTPResponse {
        let body = try payload(context.request, Schemas.project, partial: !creating)
        let pathID = creating ? nil : context.request.pathParameter("id")
        let record = try context.store.write { tx -> JSON in
            var record: JSON
            if let pathID {
                guard let id = Int(pathID), let existing = tx.get(Collection.projects, String(id)) else {
                    throw Failure.notFound("Project", pathID)
                }
                record = ProjectRecord.current(existing)
            } else {
                record = [
                    "id": .int(tx.nextSequence(Collection.projects)), "status": "new", "lang": "en",
                    "created_at": .string(Timestamp.now().storageText),
                ]
            }
            if let slug = body["slug"]?.stringValue,
                tx.lookup(Collection.projects, index: "by_slug", key: slug).contains(where: {
                    $0 != String(record["id"]?.intValue ?? 0)
                })
            {
                throw Failure.value("slug", "A project with slug \"\(slug)\" already exists.", status: .conflict)
            }
            if let owner = body["owner_id"] { try requireUser(tx, owner.intValue, field: "owner_id") }
            for (key, value) in body where key != "name" { record[key] = value }
            // The name given is the translation in the project's language; other translations stay.
            if let name = body["name"] {
                var translations = record["name"]?.objectValue ?? JSONObject()
                translations[ProjectRecord.lang(record)] = name
                record["name"] = .object(translations)
            }
            tx.put(Collection.projects, String(record["id"]?.intValue ?? 0), record)
            return record
        }
        return .json(Resources.project(record, Presentation(context)), status: creating ? .created : .ok)
    }
}

/// A partner's `logo` and `ribbon`, set by staff from the URL the image is served at (no upload: the
/// service keeps no files). Shown as Ulule's image resource; nothing is resized, so every version is
/// the image at that URL, its size unknown (`width`/`height` null, as Ulule's original version).
enum PartnerImage {
    static let kinds = ["logo", "ribbon"]
    static let versions = ["small", "medium", "large", "full"]

    /// The stored image for a payload value: `{"url": …}`, or null to remove it.
    static func stored(_ value: JSON, kind: String, _ tx: inout Transaction) throws -> JSON {
        guard case .object(let object) = value else { return .null }
        let input = try validated(object, Schemas.imageInput, partial: false, prefix: "\(kind).")
        let url = input["url"]?.stringValue ?? ""
        let path = url.split(separator: "?", maxSplits: 1)[0].split(separator: "#", maxSplits: 1)[0]
        let name = path.split(separator: "/").last.map(String.init) ?? kind
        let version: JSON = ["url": .string(url), "width": .null, "height": .null]
        return .object(
            JSONObject([
                ("id", .int(tx.nextSequence(Collection.images))), ("name", .string(name)), ("type", .string(kind)),
                ("url", .string(url)), ("versions", .object(JSONObject(versions.map { ($0, version) }))),
            ]))
    }
}
