import APICore
import HTTP
import JSON
import Store

/// Who may own a partner entry: organizations and users invited to take it over, and the entry's
/// contact information.
enum Invites {
    static let organizationInvite = ResourceSchema(
        "OrganizationInvite",
        [
            Field("organization", .uuid, required: true, "The organization invited to own the entry.")
        ])
    static let userInvite = ResourceSchema(
        "UserInvites",
        [
            Field("emails", .array(.email), required: true, "Up to 50 addresses.")
        ])
    static let inviteResponse = ResourceSchema(
        "Invite",
        [
            Field("id", .uuid, readOnly: true), Field("kind", .enumeration(["organization", "user"]), readOnly: true),
            Field("organization", .uuid, nullable: true, readOnly: true),
            Field("email", .email, nullable: true, readOnly: true),
            Field("status", .enumeration(["pending", "accepted", "revoked"]), readOnly: true),
            Field("created", .dateTime, readOnly: true),
        ])
    static let contact = ResourceSchema(
        "EntryContactInformation",
        [
            "title", "support_email", "website", "location", "owner", "call_to_action_url", "call_to_action_label",
            "internal_point_of_contact_cta_url", "internal_point_of_contact_cta_label",
            "internal_channel_contact_cta_url", "internal_channel_contact_cta_label",
        ].compactMap { name in Entries.partner.fields.first { $0.name == name } }.map { field -> Field in
            var copy = field
            copy.readOnly = true
            return copy
        })
    static let organization = ResourceSchema(
        "Organization",
        [
            Field("id", .uuid, readOnly: true), Field("name", .string, readOnly: true),
            Field("domain", .string, nullable: true, readOnly: true),
        ])

    static func invites(_ entry: String, kind: String, _ store: Store) -> [JSON] {
        store.lookupRecords(Collections.invites, index: Collections.byParent, key: entry)
            .filter { $0["kind"]?.stringValue == kind }
            .sorted { ($0["created"]?.stringValue ?? "") < ($1["created"]?.stringValue ?? "") }
    }

    static func response(_ record: JSON) -> JSON { serialize(inviteResponse, record) }

    /// The organizations a key may be told about: its own, and those its directory already names
    /// (owners of its entries, organizations invited to own one), in that order, each once. Any
    /// other organization is another tenant, and no answer may reveal that it exists.
    static func known(to caller: Caller, _ directory: JSON, _ store: Store) -> [String] {
        var ids = [caller.organization]
        for entry in Entries.entries(Entries.partner, directory, store) {
            ids.append(contentsOf: entry["owner"]?.stringValue.map { [$0] } ?? [])
            for invite in store.lookupRecords(
                Collections.invites, index: Collections.byParent, key: entry["id"]?.stringValue ?? "")
            {
                ids.append(contentsOf: invite["organization"]?.stringValue.map { [$0] } ?? [])
            }
        }
        var seen = Set<String>()
        return ids.filter { seen.insert($0).inserted }
    }

    /// `https://www.acme.io/x` -> `acme.io`.
    static func domain(of url: String) -> String? {
        var rest = Substring(url.lowercased())
        for scheme in ["https://", "http://"] where rest.hasPrefix(scheme) { rest = rest.dropFirst(scheme.count) }
        let host = rest.prefix { $0 != "/" && $0 != ":" && $0 != "?" }
        let trimmed = host.hasPrefix("www.") ? host.dropFirst(4) : host
        return trimmed.isEmpty ? nil : String(trimmed)
    }

    static func register(_ routes: inout OperationGroup<Caller>) {
        let kind = Entries.partner
        let tag = "Partner entry: Invites"
        let base = kind.itemPath + "invites/"
        let invitesPage = OpenAPIShapes.page(of: inviteResponse.openAPI())

        func entry(_ context: Context) throws -> (JSON, JSON) {
            let directory = try context.directory()
            return (try Entries.entry(kind, context, directory), directory)
        }

        routes.on(
            .get, base + "organization-matches/", access: .role(.permission(.read, "invites")),
            doc: OperationDoc(
                "Get organization matches for partner invite", tag: tag,
                description:
                    "Organizations whose domain is the domain of the entry's website, among those the key's "
                    + "organization already knows: itself, and organizations that own an entry of this directory or "
                    + "were invited to one. Other tenants are never disclosed.",
                responses: [
                    .init(
                        200, "Matching organizations.",
                        schema: [
                            "type": "object",
                            "properties": [
                                "results": ["type": "array", "items": organization.openAPI()]
                            ], "required": ["results"],
                        ])
                ], errors: [403, 404])
        ) { context in
            let (record, directory) = try entry(context)
            let wanted = record["website"]?.stringValue.flatMap(domain(of:))
            let matches =
                wanted == nil
                ? []
                : known(to: context.principal, directory, context.store)
                    .compactMap { context.store.get(Collections.organizations, $0) }
                    .filter { $0["domain"]?.stringValue?.lowercased() == wanted }
                    .map {
                        organization.serialize([
                            "id": $0["id"] ?? .null, "name": $0["name"] ?? .null, "domain": $0["domain"] ?? .null,
                        ])
                    }
            return .json(["results": .array(matches)])
        }
        routes.on(
            .get, base + "organization/", access: .role(.permission(.read, "invites")),
            doc: OperationDoc(
                "Get partner entry owner organization invite", tag: tag,
                responses: [.init(200, "The latest organization invite.", schema: inviteResponse.openAPI())],
                errors: [403, 404])
        ) { context in
            let (record, _) = try entry(context)
            guard let latest = invites(record["id"]?.stringValue ?? "", kind: "organization", context.store).last else {
                throw Wire.notFound()
            }
            return .json(response(latest))
        }
        routes.on(
            .post, base + "organization/", access: .role(.permission(.create, "invites")),
            doc: OperationDoc(
                "Invite organization to own partner entry", tag: tag,
                requestBody: organizationInvite.openAPI(writableOnly: true),
                responses: [
                    .init(201, "The invite; an earlier pending one is revoked.", schema: inviteResponse.openAPI())
                ], errors: [400, 403, 404])
        ) { context in
            let (record, _) = try entry(context)
            let body = try Wire.payload(context.request, organizationInvite, partial: false)
            let organizationID = body["organization"]?.stringValue ?? ""
            guard context.store.get(Collections.organizations, organizationID) != nil else {
                throw APIErrors([
                    Wire.invalid("organization", "Invalid pk \"\(organizationID)\" - object does not exist.")
                ])
            }
            let entryID = record["id"]?.stringValue ?? ""
            let saved = try context.store.write { tx -> JSON in
                for id in tx.lookup(Collections.invites, index: Collections.byParent, key: entryID) {
                    guard var other = tx.get(Collections.invites, id), other["kind"] == "organization",
                        other["status"] == "pending"
                    else { continue }
                    other["status"] = "revoked"
                    tx.put(Collections.invites, id, other)
                }
                let invite: JSON = [
                    "id": .string(Crypto.uuid()), "entry_id": .string(entryID), "kind": "organization",
                    "organization": .string(organizationID), "email": .null, "status": "pending",
                    "created": .string(Timestamp.now().storageText),
                ]
                tx.put(Collections.invites, invite["id"]!.stringValue!, invite)
                return invite
            }
            return .json(response(saved), status: .created)
        }
        routes.on(
            .get, base + "users/", access: .role(.permission(.read, "invites")),
            doc: OperationDoc(
                "Get partner entry owner user invites", tag: tag, parameters: OpenAPIShapes.pageParameters,
                responses: [.init(200, "A page of user invites.", schema: invitesPage)], errors: [400, 403, 404])
        ) { context in
            let (record, _) = try entry(context)
            return .json(
                try Wire.page(
                    invites(record["id"]?.stringValue ?? "", kind: "user", context.store).map(response), context.request
                ))
        }
        routes.on(
            .post, base + "users/", access: .role(.permission(.create, "invites")),
            doc: OperationDoc(
                "Invite users to partner entry ownership", tag: tag,
                requestBody: userInvite.openAPI(writableOnly: true),
                responses: [
                    .init(
                        201, "The new invites (addresses already invited are skipped).",
                        schema: [
                            "type": "object",
                            "properties": [
                                "results": ["type": "array", "items": inviteResponse.openAPI()]
                            ], "required": ["results"],
                        ])
                ], errors: [400, 403, 404])
        ) { context in
            let (record, _) = try entry(context)
            let body = try Wire.payload(context.request, userInvite, partial: false)
            let emails = (body["emails"]?.arrayValue ?? []).compactMap(\.stringValue).map { $0.lowercased() }
            var problems: [APIError] = []
            if emails.isEmpty || emails.count > 50 {
                problems.append(Wire.invalid("emails", "Give between 1 and 50 addresses."))
            }
            for email in emails where !isEmail(email) {
                problems.append(Wire.invalid("emails", "Enter a valid email address: \"\(email)\"."))
            }
            if !problems.isEmpty { throw APIErrors(problems) }
            let entryID = record["id"]?.stringValue ?? ""
            let created = try context.store.write { tx -> [JSON] in
                let pending = Set(
                    tx.lookup(Collections.invites, index: Collections.byParent, key: entryID).compactMap {
                        id -> String? in
                        guard let invite = tx.get(Collections.invites, id), invite["kind"] == "user",
                            invite["status"] == "pending"
                        else { return nil }
                        return invite["email"]?.stringValue
                    })
                var made: [JSON] = []
                var seen = pending
                for email in emails where seen.insert(email).inserted {
                    let invite: JSON = [
                        "id": .string(Crypto.uuid()), "entry_id": .string(entryID), "kind": "user",
                        "organization": .null,
                        "email": .string(email), "status": "pending", "created": .string(Timestamp.now().storageText),
                    ]
                    tx.put(Collections.invites, invite["id"]!.stringValue!, invite)
                    made.append(invite)
                }
                return made
            }
            return .json(["results": .array(created.map(response))], status: .created)
        }
        routes.on(
            .get, kind.itemPath + "contact-information/", access: .role(.permission(.read, kind.permission)),
            doc: OperationDoc(
                "Return entry contact information", tag: "Partner entry: Contact information",
                responses: [.init(200, "How to reach the partner.", schema: contact.openAPI())], errors: [403, 404])
        ) { context in
            let directory = try context.directory()
            let record = try Entries.entry(kind, context, directory)
            return .json(serialize(contact, record))
        }
    }

    static func isEmail(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !parts[1].hasPrefix(".")
            && !parts[1].hasSuffix(".")
            && !text.contains(" ") && text.count <= 254
    }
}
