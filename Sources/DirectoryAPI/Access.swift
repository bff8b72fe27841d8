import APICore
import HTTP
import JSON
import Store

/// Who is calling: an API key of one organization with a set of named permissions
/// (`generic_directory:read_callouts`, ...; `generic_directory:*` grants all).
struct Caller {
    static let wildcard = "generic_directory:*"

    let organization: String
    let permissions: Set<String>

    /// The raw key in `Authorization` (the seed's style); `Api-Key <key>` and `Bearer <key>` also work.
    static func from(_ context: RequestContext) throws -> Caller {
        guard let key = Tokens.credential(from: context.request.headers["authorization"], schemes: ["Api-Key", "Bearer"], allowBare: true),
              case .directoryKey(let organization, let permissions)? = Tokens.authenticate(key, store: context.store) else {
            throw APIError(.unauthorized, status: .unauthorized, title: "Unauthorized", detail: "Invalid or missing API key.")
        }
        return Caller(organization: organization, permissions: permissions)
    }

    /// Throws 403 unless the key holds `generic_directory:<action>_<resource>`.
    func require(_ permission: Permission) throws {
        guard permissions.contains(Self.wildcard) || permissions.contains(permission.name) else {
            throw APIError.forbidden("This API key lacks the permission \(permission.name).")
        }
    }

    /// The directory of the path, if it belongs to the caller's organization; otherwise 404, exactly
    /// as for a directory that does not exist, so keys learn nothing about other organizations.
    func directory(_ context: RequestContext) throws -> JSON {
        let id = context.request.pathParameter("directory_id")
        guard let record = context.store.get(Collections.directories, id),
              record["organization_id"]?.stringValue == organization else { throw Wire.notFound() }
        return record
    }

    /// Authenticates, checks the permission, and resolves the directory: what nearly every handler starts with.
    static func enter(_ context: RequestContext, _ permission: Permission) throws -> (Caller, JSON) {
        let caller = try from(context)
        try caller.require(permission)
        return (caller, try caller.directory(context))
    }
}

struct Permission {
    enum Action: String { case read, create, update, delete, approve }
    let action: Action
    let resource: String
    var name: String { "generic_directory:\(action.rawValue)_\(resource)" }

    init(_ action: Action, _ resource: String) {
        self.action = action
        self.resource = resource
    }
}

enum Collections {
    static let organizations = "dir_organizations"
    static let directories = "dir_directories"
    static let partnerEntries = "dir_partner_entries"
    static let appEntries = "dir_app_entries"
    static let forms = "dir_forms"
    static let contactRequests = "dir_contact_requests"
    static let matchmaking = "dir_matchmaking_requests"
    static let reviews = "dir_reviews"
    static let invites = "dir_invites"

    static let byDirectory = "by_directory"
    static let byParent = "by_parent"

    /// Every record of `collection` in `directory`, in creation order.
    static func records(_ collection: String, of directory: JSON, _ store: Store) -> [JSON] {
        store.lookupRecords(collection, index: byDirectory, key: directory["id"]?.stringValue ?? "")
    }

    static func directoryIndex(_ collection: String) -> IndexDefinition {
        IndexDefinition(collection: collection, name: byDirectory) { [$0["directory_id"]?.stringValue ?? ""] }
    }

    static var indexes: [IndexDefinition] {
        [directories, partnerEntries, appEntries, forms, contactRequests, matchmaking, reviews].map(directoryIndex) + [
            IndexDefinition(collection: directories, name: "by_organization") { [$0["organization_id"]?.stringValue ?? ""] },
            IndexDefinition(collection: directories, name: "by_slug") { [$0["slug"]?.stringValue ?? ""] },
            IndexDefinition(collection: partnerEntries, name: "by_tier") { [$0["tier"]?.stringValue ?? ""] },
            IndexDefinition(collection: invites, name: byParent) { [$0["entry_id"]?.stringValue ?? ""] },
            IndexDefinition(collection: reviews, name: "by_entry") { [$0["entry"]?.stringValue ?? ""] },
            IndexDefinition(collection: appEntries, name: "by_tier") { [$0["tier"]?.stringValue ?? ""] },
        ] + Catalogue.all.flatMap { spec in
            [directoryIndex(spec.collection),
             IndexDefinition(collection: spec.collection, name: byParent) { [$0[spec.parentKey]?.stringValue ?? ""] }]
        }
    }
}
