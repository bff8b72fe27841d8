import APICore
import HTTP
import JSON
import Store

/// A stored project as today's code reads it. Records written before the project followed Ulule's
/// resource are migrated on read (never rewritten in place): a plain-string `name` is the
/// translation in the project's `lang`; status `finished` is `online` with `finished: true`;
/// status `offline` is `waiting`.
enum ProjectRecord {
    /// Ulule's documented project statuses, and nothing else.
    static let statuses = [
        "new", "pending", "pending-owner", "pending-final-validation", "validated", "online", "refused", "waiting",
    ]

    static func current(_ stored: JSON) -> JSON {
        var record = stored
        switch stored["status"]?.stringValue {
        case "finished":
            record["status"] = "online"
            if stored["finished"] == nil { record["finished"] = true }
        case "offline": record["status"] = "waiting"
        case nil: record["status"] = "new"
        default: break
        }
        if case .string(let name) = stored["name"] {
            record["name"] = .object(JSONObject([(lang(record), .string(name))]))
        }
        return record
    }

    static func lang(_ record: JSON) -> String { record["lang"]?.stringValue ?? "en" }
    static func status(_ record: JSON) -> String { record["status"]?.stringValue ?? "new" }
    static func isOnline(_ record: JSON) -> Bool { status(record) == "online" }
}

/// How resources are shown to one request: who asks (private fields), which `Ulule-Version`,
/// the site absolute URLs start with, and whether `lang=all` asked for every translation.
struct Presentation {
    let store: Store
    let caller: PartnersPrincipal
    let version: UluleVersion
    /// `https://<host>`: the host the request came to (nginx serves HTTPS only); `localhost` when
    /// the Host header is missing or is not a plain host name with an optional port.
    let site: String
    let allLanguages: Bool

    init(_ context: Context) {
        store = context.store
        caller = context.principal
        version = context.version
        let host = context.request.header(.host) ?? ""
        site = "https://" + (Self.isPlainHost(host) ? host : "localhost")
        allLanguages = context.request.query["lang"] == "all"
    }

    static func isPlainHost(_ text: String) -> Bool {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let labels = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.")
        guard !parts[0].isEmpty, parts[0].count <= 253, parts[0].allSatisfy(labels.contains) else { return false }
        return parts.count == 1 || (1...5).contains(parts[1].count) && parts[1].allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// What `meta.next` keeps of the presentation's own query parameters.
    var query: String { allLanguages ? "&lang=all" : "" }

    /// An i18n object: the project's language only, or every stored translation with `lang=all`.
    /// Before version 2017-09-15 texts were plain strings (the project's language).
    func text(_ translations: JSON?, lang: String) -> JSON {
        let object = translations?.objectValue ?? JSONObject()
        if version < .i18nTexts { return object[lang] ?? .null }
        if allLanguages { return .object(object) }
        return .object(JSONObject(object[lang].map { [(lang, $0)] } ?? []))
    }
}

/// Percent-encoding of one path segment: everything but RFC 3986's unreserved characters.
func percentEncodedSegment(_ text: String) -> String {
    let hex = Array("0123456789ABCDEF".utf8)
    var bytes: [UInt8] = []
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"):
            bytes.append(byte)
        default: bytes += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

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

    /// Ulule's user resource, with the fields we keep. `email` is private: only the user and staff see it.
    static func user(_ id: Int, _ view: Presentation) -> JSON {
        user(id, record: view.store.get(Collection.users, String(id)), view)
    }

    static func user(_ id: Int, record: JSON?, _ view: Presentation) -> JSON {
        var fields: [(String, JSON)] = [
            ("id", .int(id)), ("name", record?["name"] ?? .null),
            ("absolute_url", .string("\(view.site)/users/\(id)")),
        ]
        if view.caller.isStaff || view.caller.userID == id { fields.append(("email", record?["email"] ?? .null)) }
        return .object(JSONObject(fields))
    }

    /// Ulule's project resource, with the fields we keep (see docs/partners-api.md).
    static func project(_ stored: JSON, _ view: Presentation) -> JSON {
        let owner = ProjectRecord.current(stored)["owner_id"]?.intValue ?? 0
        return project(stored, owner: view.store.get(Collection.users, String(owner)), view)
    }

    /// `owner`: the stored user the project's `owner_id` names (read by the caller, with others).
    static func project(_ stored: JSON, owner: JSON?, _ view: Presentation) -> JSON {
        let record = ProjectRecord.current(stored)
        let id = record["id"]?.intValue ?? 0
        let slug = record["slug"]?.stringValue ?? ""
        let lang = ProjectRecord.lang(record)
        let goal = record["goal"]?.intValue ?? 0
        let raised = record["amount_raised"]?.intValue ?? 0
        // No project images are kept yet: an i18n object with no translation (an image before 2020-04-08).
        let mainImage: JSON = view.version < .i18nMainImage ? .null : .object(JSONObject())
        return .object(
            JSONObject([
                ("id", .int(id)), ("slug", .string(slug)), ("name", view.text(record["name"], lang: lang)),
                ("owner", user(record["owner_id"]?.intValue ?? 0, record: owner, view)),
                ("status", .string(ProjectRecord.status(record))), ("lang", .string(lang)),
                ("absolute_url", .string("\(view.site)/projects/\(percentEncodedSegment(slug))")),
                ("resource_uri", .string("\(view.site)/v1/projects/\(id)")),
                ("type", record["type"] ?? "project"), ("currency", record["currency"] ?? "EUR"),
                ("goal", .int(goal)), ("amount_raised", .int(raised)),
                ("goal_raised", .bool(goal > 0 && raised >= goal)),
                ("percent", .int(goal > 0 ? raised * 100 / goal : 0)),
                ("is_online", .bool(ProjectRecord.isOnline(record))),
                ("finished", record["finished"] ?? false), ("main_image", mainImage),
                ("date_start", date(record["date_start"])), ("date_end", date(record["date_end"])),
            ]))
    }

    /// RFC 3339 in UTC to the second, as Ulule shows dates; null when not set.
    static func date(_ value: JSON?) -> JSON {
        guard let text = value?.stringValue, let time = Timestamp.parse(text) else { return .null }
        return .string(time.secondsText)
    }

    static func partnership(_ record: JSON, _ view: Presentation) -> JSON {
        partnerships([record], view)[0]
    }

    /// Partnership resources, with the partners, projects and project owners they show read
    /// together: on PostgreSQL two round trips for a list instead of three per partnership.
    static func partnerships(_ records: [JSON], _ view: Presentation) -> [JSON] {
        let found = view.store.get(
            records.flatMap { record in
                [
                    (Collection.partners, String(record["partner_id"]?.intValue ?? 0)),
                    (Collection.projects, String(record["project_id"]?.intValue ?? 0)),
                ]
            })
        let owners = view.store.get(
            records.indices.map { position in
                let project = found[2 * position + 1].map(ProjectRecord.current)
                return (Collection.users, String(project?["owner_id"]?.intValue ?? 0))
            })
        return records.indices.map { position in
            partnership(
                records[position], partner: found[2 * position], project: found[2 * position + 1],
                owner: owners[position], view)
        }
    }

    /// Before version 2018-09-03 the embedded project was called `presale`.
    static func partnership(
        _ record: JSON, partner: JSON?, project: JSON?, owner: JSON?, _ view: Presentation
    )
        -> JSON
    {
        .object(
            JSONObject([
                ("id", record["id"] ?? .null), ("is_default", record["is_default"] ?? false),
                ("is_support", record["is_support"] ?? false), ("partner", partner.map(Resources.partner) ?? .null),
                (
                    view.version < .partnershipProject ? "presale" : "project",
                    project.map { Resources.project($0, owner: owner, view) } ?? .null
                ),
            ]))
    }
}
