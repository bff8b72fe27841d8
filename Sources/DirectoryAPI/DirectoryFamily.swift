import APICore
import HTTP
import JSON
import Store

/// Directory API (seed 002): a partner directory under /api/directory/private/v1alpha/. See
/// docs/directory-api.md.
public struct DirectoryFamily: APIFamily {
    public let name = "directory"
    public let pathPrefix = "/api/directory"
    public let errorFormatter: any ErrorFormatter = DirectoryErrorFormatter()
    public var storeIndexes: [IndexDefinition] { Collections.indexes }

    public init() {}

    /// Every operation: keys' operations under the private base, each with the permission it
    /// needs; the public listing for visitors under the public base.
    public var routes: [Route] {
        var keys = OperationGroup<Caller>(Wire.base, access: .authenticated)
        Directories.register(&keys)
        for spec in Catalogue.all { CRUD.register(spec, &keys) }
        Tiers.register(&keys)
        Entries.register(&keys)
        ContactRequests.register(&keys)
        Matchmaking.register(&keys)
        Reviews.register(&keys)
        Erasure.register(&keys)
        var visitors = OperationGroup<Caller>(PublicListing.base, access: .anyone)
        PublicListing.register(&visitors)
        return keys.routes + visitors.routes
    }

    public var openAPIInfo: OpenAPIInfo? {
        OpenAPIInfo(
            title: "Directory API", version: "v1alpha",
            description: """
                A partner directory: directories and their settings, forms, callouts, badges, certifications, filters, \
                tiers and verifications; partner and app entries with their sub-resources and the edit approval flow; \
                contact requests, matchmaking and reviews. Authenticate with `Authorization: <api-key>`; each operation \
                needs a named permission of the key (`generic_directory:<read|create|update|delete>_<resource>`, \
                `generic_directory:approve_partner_entries` to approve edits, `generic_directory:*` for all). \
                Request bodies take camelCase (snake_case is accepted too); responses are snake_case except where noted.
                """,
            securitySchemes: [
                "apiKey": [
                    "type": "apiKey", "in": "header", "name": "Authorization", "description": "The raw API key.",
                ]
            ],
            errorSchema: DirectoryErrorFormatter.schema)
    }

    /// Every permission name an operation can require, for key creation and the docs.
    public static var permissionNames: [String] {
        let resources = Set(
            Catalogue.all.map(\.permission) + [
                "directories", "settings", "branding", "forms", "entries", "partner_entries",
                "app_entries", "invites", "contact_requests", "matchmaking", "reviews", "audit_log",
            ])
        var names: [String] = []
        for resource in resources.sorted() {
            for action in ["read", "create", "update", "delete"] {
                names.append("generic_directory:\(action)_\(resource)")
            }
        }
        return names + ["generic_directory:approve_partner_entries", Caller.wildcard]
    }
}

/// Staff operations (the `directory` admin command): organizations, directories, API keys, demo data.
public enum DirectoryAdmin {
    @discardableResult
    public static func createOrganization(_ store: Store, name: String, domain: String?) throws -> String {
        let id = Crypto.uuid()
        try store.write { tx in
            tx.put(
                Collections.organizations, id,
                [
                    "id": .string(id), "name": .string(name), "domain": JSON(domain?.lowercased()),
                    "created": .string(Timestamp.now().storageText),
                ])
        }
        return id
    }

    public static func organizationExists(_ store: Store, _ id: String) -> Bool {
        store.get(Collections.organizations, id) != nil
    }

    @discardableResult
    public static func createDirectory(_ store: Store, organization: String, name: String) throws -> String {
        let id = Crypto.uuid()
        let now = Timestamp.now().storageText
        try store.write { tx in
            let base = Entries.slugBase(name).isEmpty ? "directory" : Entries.slugBase(name)
            var slug = base
            var n = 2
            while !Directories.isFree(slug, for: id, tx) {
                slug = "\(base)-\(n)"
                n += 1
            }
            tx.put(
                Collections.directories, id,
                [
                    "id": .string(id), "organization_id": .string(organization), "name": .string(name),
                    "slug": .string(slug), "description": .null, "public_url": .null,
                    "settings": .object(Directories.defaultSettings), "created": .string(now), "modified": .string(now),
                ])
        }
        return id
    }

    /// Unknown permission names are refused, so a typo cannot silently create a useless key.
    public static func createKey(
        _ store: Store, organization: String, permissions: [String], name: String
    ) throws -> (id: String, key: String) {
        let known = Set(DirectoryFamily.permissionNames)
        if let unknown = permissions.first(where: { !known.contains($0) }) {
            throw AdminError.unknownPermission(unknown)
        }
        let made = try Tokens.create(
            in: store, principal: Caller(organization: organization, permissions: Set(permissions)), name: name)
        return (made.id, made.token)
    }

    public enum AdminError: Error, CustomStringConvertible {
        case unknownPermission(String)
        public var description: String {
            switch self {
            case .unknownPermission(let name):
                return "unknown permission \(name) (see `partnerships directory permissions`)"
            }
        }
    }
}
