import APICore
import HTTP
import JSON
import Store

/// Who is calling: an API key of one organization with a set of named permissions
/// (`generic_directory:read_callouts`, ...; `generic_directory:*` grants all).
public struct Caller: Principal, TokenPrincipal, Equatable {
    static let wildcard = "generic_directory:*"
    static let kind = "directory_key"

    public let organization: String
    public let permissions: Set<String>

    public init(organization: String, permissions: Set<String>) {
        self.organization = organization
        self.permissions = permissions
    }

    /// The raw key in `Authorization` (the seed's style); `Api-Key <key>` and `Bearer <key>` also work.
    public static func authenticate(_ context: RequestContext) throws -> Caller {
        try fromToken(
            context, schemes: ["Api-Key", "Bearer"], allowBare: true,
            otherwise: APIError(
                .unauthorized, status: .unauthorized, title: "Unauthorized", detail: "Invalid or missing API key."))
    }

    public init?(stored: JSON) {
        guard stored["kind"]?.stringValue == Self.kind, let organization = stored["organization_id"]?.stringValue else {
            return nil
        }
        self.organization = organization
        self.permissions = Set((stored["permissions"]?.arrayValue ?? []).compactMap(\.stringValue))
    }

    public var stored: JSON {
        [
            "kind": .string(Self.kind), "organization_id": .string(organization),
            "permissions": .array(permissions.sorted().map(JSON.string)),
        ]
    }

    func holds(_ permission: Permission) -> Bool {
        permissions.contains(Self.wildcard) || permissions.contains(permission.name)
    }

    /// Throws 403 unless the key holds `generic_directory:<action>_<resource>`.
    func require(_ permission: Permission) throws {
        guard holds(permission) else {
            throw APIError.forbidden("This API key lacks the permission \(permission.name).")
        }
    }

    /// The directory of the path, if it belongs to the caller's organization; otherwise 404, exactly
    /// as for a directory that does not exist, so keys learn nothing about other organizations.
    func directory(_ context: RequestContext) throws -> JSON {
        let id = context.request.pathParameter("directory_id")
        guard let record = context.store.get(Collections.directories, id),
            record["organization_id"]?.stringValue == organization
        else { throw Wire.notFound() }
        return record
    }
}

extension Role<Caller> {
    /// A key holding `generic_directory:<action>_<resource>` (or the wildcard).
    static func permission(_ action: Permission.Action, _ resource: String) -> Role {
        let permission = Permission(action, resource)
        return Role(permission.name) { try $0.require(permission) }
    }
}

/// What a Directory handler gets: the request, the store and the calling key.
typealias Context = Authenticated<Caller>

extension Authenticated<Caller> {
    /// The directory of the path, in the key's organization (404 otherwise).
    func directory() throws -> JSON { try principal.directory(context) }
}

struct Permission: Sendable {
    enum Action: String, Sendable { case read, create, update, delete, approve }
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
        [directories, partnerEntries, appEntries, forms, contactRequests, matchmaking, reviews, Erasure.auditLog].map(
            directoryIndex) + [
                IndexDefinition(collection: directories, name: "by_organization") {
                    [$0["organization_id"]?.stringValue ?? ""]
                },
                IndexDefinition(collection: directories, name: "by_slug") { [$0["slug"]?.stringValue ?? ""] },
                IndexDefinition(collection: partnerEntries, name: "by_tier") { [$0["tier"]?.stringValue ?? ""] },
                IndexDefinition(collection: invites, name: byParent) { [$0["entry_id"]?.stringValue ?? ""] },
                IndexDefinition(collection: reviews, name: "by_entry") { [$0["entry"]?.stringValue ?? ""] },
                IndexDefinition(collection: appEntries, name: "by_tier") { [$0["tier"]?.stringValue ?? ""] },
            ]
            + Catalogue.all.flatMap { spec in
                [
                    directoryIndex(spec.collection),
                    IndexDefinition(collection: spec.collection, name: byParent) {
                        [$0[spec.parentKey]?.stringValue ?? ""]
                    },
                ]
            }
    }
}
