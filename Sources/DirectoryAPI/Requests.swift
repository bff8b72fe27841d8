import APICore
import HTTP
import JSON
import Store

/// What visitors send to a directory: contact requests to a partner, matchmaking requests, reviews.
enum ContactRequests {
    static let schema = ResourceSchema(
        "ContactRequest",
        [
            Field("id", .uuid, readOnly: true),
            Field("entry", .uuid, required: true, "The partner entry contacted."),
            Field("form", .uuid, nullable: true, "The contact request form used, if not the default."),
            Catalogue.required("first_name", 100), Catalogue.required("last_name", 100),
            Field("email", .email, required: true, maxLength: 254), Catalogue.text("company", 200),
            Catalogue.text("message", 5000),
            Field("fields", .object, nullable: true, "Answers to the form's extra fields, by field name."),
            Field("created", .dateTime, readOnly: true),
        ])
    /// A contact request goes with its entry (the entry is required); a deleted form leaves `form` null.
    static let references = ["entry": Collections.partnerEntries, "form": Collections.forms]

    /// Unknown ids, and the answers to the form applied: the one named, else the directory's active
    /// one (else the built-in default). `get` and `active` read a transaction or the store.
    static func problems(
        _ body: JSONObject, directory: String, _ get: (String, String) -> JSON?, active: () -> JSON
    ) -> (problems: [APIError], form: JSON?) {
        var problems = References.problems(references, body, directory: directory, get)
        let form =
            body["form"]?.stringValue == nil
            ? active() : body["form"]?.stringValue.flatMap { get(Collections.forms, $0) }
        if let form { problems += Forms.answerProblems(form, body) }
        return (problems, form)
    }

    static func register(_ routes: inout OperationGroup<Caller>) {
        let tag = "Contact requests"
        let path = "directories/:directory_id/contact-requests/"
        let item = schema.openAPI()
        routes.on(
            .get, path, access: .role(.permission(.read, "contact_requests")),
            doc: OperationDoc(
                "Get all contact requests", tag: tag,
                parameters: OpenAPIShapes.pageParameters + [
                    OperationDoc.Parameter("entry", "Only those to this entry.")
                ],
                responses: [
                    .init(200, "A page of contact requests, newest first.", schema: OpenAPIShapes.page(of: item))
                ], errors: [400, 403, 404])
        ) { context in
            let directory = try context.directory()
            var records = newestFirst(Collections.records(Collections.contactRequests, of: directory, context.store))
            if let entry = context.request.query["entry"] {
                records = records.filter { $0["entry"]?.stringValue == entry }
            }
            return .json(try Wire.page(records.map { serialize(schema, $0) }, context.request))
        }
        routes.on(
            .get, path + ":request_id/", access: .role(.permission(.read, "contact_requests")),
            doc: OperationDoc(
                "Get a contact request", tag: tag, responses: [.init(200, "The contact request.", schema: item)],
                errors: [403, 404])
        ) { context in
            try shownRequest(Collections.contactRequests, schema, context)
        }
        routes.on(
            .post, path, access: .role(.permission(.create, "contact_requests")),
            doc: OperationDoc(
                "Create a new partner contact request", tag: tag,
                description:
                    "Answers the form named in `form`, or else the directory's active contact request form (else the "
                    + "built-in one): its required fields must be answered, each answer must suit its field's type, and "
                    + "`fields` may answer only fields the form has. The response's `form` is the form applied.",
                requestBody: OpenAPIShapes.casing(schema.openAPI(writableOnly: true), camel: true),
                responses: [.init(201, "The contact request.", schema: item)], errors: [400, 403, 404])
        ) { context in
            let directory = try context.directory()
            let directoryID = directory["id"]?.stringValue ?? ""
            // Checked with the body's other problems, then again under the write lock.
            let body = try Wire.payload(
                context.request, schema, partial: false,
                checks: { accepted in
                    problems(accepted, directory: directoryID, { context.store.get($0, $1) }) {
                        Forms.active(directory: directory, context.store)
                    }.problems
                })
            let saved = try context.store.write { tx -> JSON in
                let (problems, form) = problems(body, directory: directoryID, { tx.get($0, $1) }) {
                    Forms.active(directory: directoryID, tx)
                }
                if !problems.isEmpty { throw APIErrors(problems) }
                var record = body
                record["form"] = form?["id"] ?? .null
                record["id"] = .string(Crypto.uuid())
                record["directory_id"] = .string(directoryID)
                record["created"] = .string(Timestamp.now().storageText)
                tx.put(Collections.contactRequests, record["id"]!.stringValue!, .object(record))
                return .object(record)
            }
            return .json(serialize(schema, saved), status: .created)
        }
    }
}

/// Matchmaking: a visitor describes a need; the directory proposes partners whose filter options
/// match (up to the directory's `matchmaking_partner_limit`), and staff can change them or assign an owner.
enum Matchmaking {
    static let schema = ResourceSchema(
        "MatchmakingRequest",
        [
            Field("id", .uuid, readOnly: true),
            Catalogue.required("first_name", 100), Catalogue.required("last_name", 100),
            Field("email", .email, required: true, maxLength: 254), Catalogue.text("company", 200),
            Catalogue.text("description", 5000),
            Field(
                "filter_options", .array(.uuid),
                "Filter option ids describing the need; partners carrying them are proposed."),
            Field("owner", .email, nullable: true, readOnly: true, "The staff member handling the request."),
            Field("partners", .array(.uuid), readOnly: true, "Partner entry ids proposed to the visitor."),
            Field("status", .enumeration(["new", "assigned"]), readOnly: true),
            Field("created", .dateTime, readOnly: true),
        ])
    /// Deleted filter options and partner entries leave these lists.
    static let references = [
        "filter_options": Catalogue.filterOptions.collection, "partners": Collections.partnerEntries,
    ]
    static let ownerSchema = ResourceSchema(
        "MatchmakingOwner", [Field("owner", .email, required: true, maxLength: 254, "Email of the staff member.")])
    static let partnersSchema = ResourceSchema(
        "MatchmakingPartners",
        [Field("partners", .array(.uuid), required: true, "Partner entry ids; replaces the list.")])

    static func register(_ routes: inout OperationGroup<Caller>) {
        let tag = "Matchmaking"
        let item = schema.openAPI()
        let page = OpenAPIShapes.page(of: item)
        let path = "directories/:directory_id/matchmaking-requests/"
        func list(_ context: Context, _ directories: [JSON]) throws -> HTTPResponse {
            let records = newestFirst(
                directories.flatMap {
                    Collections.records(Collections.matchmaking, of: $0, context.store)
                })
            return .json(try Wire.page(records.map { serialize(schema, $0) }, context.request))
        }
        routes.on(
            .get, "matchmaking-requests/", access: .role(.permission(.read, "matchmaking")),
            doc: OperationDoc(
                "Get all matchmaking requests", tag: tag,
                description: "Across every directory of the key's organization.",
                parameters: OpenAPIShapes.pageParameters,
                responses: [.init(200, "A page of requests, newest first.", schema: page)], errors: [400, 403, 404])
        ) { context in
            let caller = context.principal
            return try list(
                context,
                context.store.lookupRecords(Collections.directories, index: "by_organization", key: caller.organization)
            )
        }
        routes.on(
            .get, path, access: .role(.permission(.read, "matchmaking")),
            doc: OperationDoc(
                "Get all matchmaking requests of a directory", tag: "Directory: Matchmaking",
                parameters: OpenAPIShapes.pageParameters,
                responses: [.init(200, "A page of requests, newest first.", schema: page)], errors: [400, 403, 404])
        ) { context in
            try list(context, [try context.directory()])
        }
        routes.on(
            .get, path + ":request_id/", access: .role(.permission(.read, "matchmaking")),
            doc: OperationDoc(
                "Get a matchmaking request", tag: tag, responses: [.init(200, "The request.", schema: item)],
                errors: [403, 404])
        ) { context in
            try shownRequest(Collections.matchmaking, schema, context)
        }
        routes.on(
            .post, path, access: .role(.permission(.create, "matchmaking")),
            doc: OperationDoc(
                "Create a new matchmaking request for a directory", tag: tag,
                description: "Refused (403) while the directory's matchmaking_enabled setting is off.",
                requestBody: OpenAPIShapes.casing(schema.openAPI(writableOnly: true), camel: true),
                responses: [.init(201, "The request with its proposed partners.", schema: item)],
                errors: [400, 403, 404])
        ) { context in
            let directory = try context.directory()
            guard Directories.setting("matchmaking_enabled", of: directory).boolValue != false else {
                throw APIError.forbidden(
                    "This directory does not accept matchmaking requests (matchmaking_enabled is off).")
            }
            let directoryID = directory["id"]?.stringValue ?? ""
            let body = try Wire.payload(
                context.request, schema, partial: false,
                checks: { References.problems(references, $0, directory: directoryID) { context.store.get($0, $1) } })
            guard Invites.isEmail(body["email"]?.stringValue ?? "") else {
                throw APIErrors([Wire.invalid("email", "Enter a valid email address.")])
            }
            let limit = Directories.setting("matchmaking_partner_limit", of: directory).intValue ?? 3
            let saved = try context.store.write { tx -> JSON in
                try References.check(references, body, directory: directoryID, tx)
                let wanted = Set((body["filter_options"]?.arrayValue ?? []).compactMap(\.stringValue))
                let candidates = tx.lookup(Collections.partnerEntries, index: Collections.byDirectory, key: directoryID)
                    .compactMap { tx.get(Collections.partnerEntries, $0) }
                    .filter { $0["status"]?.stringValue == "public" }
                    .map { entry in
                        (
                            entry,
                            Set((entry["user_assigned_filter_options"]?.arrayValue ?? []).compactMap(\.stringValue))
                                .intersection(wanted).count
                        )
                    }
                    .filter { wanted.isEmpty || $0.1 > 0 }
                let ranked = candidates.sorted { a, b in
                    a.1 != b.1 ? a.1 > b.1 : Entries.sorted([a.0, b.0]).first?["id"] == a.0["id"]
                }
                var record = body
                record["id"] = .string(Crypto.uuid())
                record["directory_id"] = .string(directoryID)
                record["filter_options"] = body["filter_options"] ?? []
                record["owner"] = .null
                record["partners"] = .array(ranked.prefix(limit).map { $0.0["id"] ?? .null })
                record["status"] = "new"
                record["created"] = .string(Timestamp.now().storageText)
                tx.put(Collections.matchmaking, record["id"]!.stringValue!, .object(record))
                return .object(record)
            }
            return .json(serialize(schema, saved), status: .created)
        }
        let partnerSummary: JSON = [
            "type": "object",
            "properties": [
                "id": ["type": "string", "format": "uuid"], "title": ["type": "string"],
                "requests": ["type": "integer"],
            ],
        ]
        routes.on(
            .get, path + "partners/", access: .role(.permission(.read, "matchmaking")),
            doc: OperationDoc(
                "Get all partners assigned to matchmaking requests", tag: tag, parameters: OpenAPIShapes.pageParameters,
                responses: [
                    .init(
                        200, "Partner entries with how many requests they are proposed in.",
                        schema: OpenAPIShapes.page(of: partnerSummary))
                ],
                errors: [400, 403, 404])
        ) { context in
            let directory = try context.directory()
            var counts: [String: Int] = [:]
            for request in Collections.records(Collections.matchmaking, of: directory, context.store) {
                for partner in request["partners"]?.arrayValue ?? [] {
                    counts[partner.stringValue ?? "", default: 0] += 1
                }
            }
            let entries = Entries.sorted(counts.keys.compactMap { context.store.get(Collections.partnerEntries, $0) })
            return .json(
                try Wire.page(
                    entries.map {
                        [
                            "id": $0["id"] ?? .null, "title": $0["title"] ?? .null,
                            "requests": .int(counts[$0["id"]?.stringValue ?? ""] ?? 0),
                        ]
                    }, context.request))
        }
        routes.on(
            .post, path + ":request_id/owner/", access: .role(.permission(.update, "matchmaking")),
            doc: OperationDoc(
                "Assign an owner to a matchmaking request", tag: tag,
                requestBody: ownerSchema.openAPI(writableOnly: true),
                responses: [.init(200, "The request.", schema: item)], errors: [400, 403, 404])
        ) { context in
            let directory = try context.directory()
            let body = try Wire.payload(context.request, ownerSchema, partial: false)
            guard Invites.isEmail(body["owner"]?.stringValue ?? "") else {
                throw APIErrors([Wire.invalid("owner", "Enter a valid email address.")])
            }
            return .json(
                serialize(
                    schema,
                    try change(context, directory) { record, _ in
                        record["owner"] = body["owner"]!
                        record["status"] = "assigned"
                    }))
        }
        routes.on(
            .put, path + ":request_id/partners/", access: .role(.permission(.update, "matchmaking")),
            doc: OperationDoc(
                "Replace partners of a matchmaking request", tag: tag,
                requestBody: partnersSchema.openAPI(writableOnly: true),
                responses: [.init(200, "The request.", schema: item)], errors: [400, 403, 404])
        ) { context in
            let directory = try context.directory()
            let body = try Wire.payload(context.request, partnersSchema, partial: false)
            let ids = (body["partners"]?.arrayValue ?? []).compactMap(\.stringValue)
            guard Set(ids).count == ids.count else {
                throw APIErrors([Wire.invalid("partners", "A partner is listed twice.")])
            }
            return .json(
                serialize(
                    schema,
                    try change(context, directory) { record, tx in
                        try References.check(references, body, directory: directory["id"]?.stringValue ?? "", tx)
                        record["partners"] = body["partners"]!
                    }))
        }
    }

    static func change(
        _ context: Context, _ directory: JSON, _ body: (inout JSON, Transaction) throws -> Void
    ) throws -> JSON {
        let id =
            try owned(Collections.matchmaking, context.request.pathParameter("request_id"), directory, context.store)[
                "id"]?.stringValue ?? ""
        return try context.store.write { tx -> JSON in
            guard var record = tx.get(Collections.matchmaking, id) else { throw Wire.notFound() }
            try body(&record, tx)
            tx.put(Collections.matchmaking, id, record)
            return record
        }
    }
}

/// Reviews of entries. Status codes: `P` pending, `A` approved (sets approvedBy to the caller and
/// clears declinedBy), `D` declined (the reverse). Responses are camelCase, as the real API's are.
enum Reviews {
    static let statusDisplay = ["P": "Pending", "A": "Approved", "D": "Declined"]
    static let schema = ResourceSchema(
        "Review",
        [
            Field("id", .uuid, readOnly: true),
            Field(
                "entry", .uuid, required: true, "A partner or app entry of the directory; shown as {id, owner, title}."),
            Field("entry_type", .enumeration(["partner", "app"]), readOnly: true),
            Catalogue.required("title"), Catalogue.text("company", 200),
            Field("summary", .string, required: true, maxLength: 5000),
            Field("short_summary", .string, readOnly: true, "The summary cut to 100 characters."),
            Catalogue.text("first_name", 100), Catalogue.text("last_name", 100),
            Field("email", .email, nullable: true, maxLength: 254),
            Field("rating", .integer, required: true, "1 to 5."),
            Field("created", .dateTime, readOnly: true),
            Field("status", .enumeration(["P", "A", "D"]), "P pending (default), A approved, D declined."),
            Field("status_display", .string, readOnly: true),
            Field("approved_by", .object, nullable: true, readOnly: true, actorDescription),
            Field("declined_by", .object, nullable: true, readOnly: true, actorDescription),
        ])

    static func response(_ record: JSON, _ store: Store) -> JSON {
        var values: [String: JSON] = [:]
        for field in schema.fields { values[field.name] = record[field.name] ?? .null }
        let entryID = record["entry"]?.stringValue ?? ""
        if let (kind, entry) = Entries.kind(of: entryID, store) {
            values["entry"] = [
                "id": .string(entryID), "owner": entry["owner"] ?? .null, "title": entry["title"] ?? .null,
            ]
            values["entry_type"] = .string(kind.name)
        } else {
            values["entry"] = ["id": .string(entryID), "owner": .null, "title": .null]
        }
        let summary = record["summary"]?.stringValue ?? ""
        values["short_summary"] = .string(summary.count > 100 ? String(summary.prefix(97)) + "..." : summary)
        let status = record["status"]?.stringValue ?? "P"
        values["status"] = .string(status)
        values["status_display"] = .string(statusDisplay[status] ?? status)
        values["approved_by"] = actorObject(record["approved_by"])
        values["declined_by"] = actorObject(record["declined_by"])
        return Wire.camelKeys(schema.serialize(values))
    }

    static func responseOpenAPI() -> JSON {
        var schema = OpenAPIShapes.casing(self.schema.openAPI(), camel: true)
        schema["properties"]?["entry"] = [
            "type": "object",
            "properties": [
                "id": ["type": "string"], "owner": ["type": ["string", "null"]], "title": ["type": ["string", "null"]],
            ],
        ]
        return schema
    }

    /// Who approved or declined: the key's organization (keys carry no person).
    static func actor(_ caller: Caller) -> JSON { .string("api-key:\(caller.organization)") }

    static let actorDescription =
        "Who decided, as an object like the user object of the real API; keys carry no person, so "
        + "{type: \"api_key\", id: \"api-key:<organization id>\", organization: <organization id>}."

    /// The stored actor (`api-key:<organization id>`) as the object responses show.
    static func actorObject(_ stored: JSON?) -> JSON {
        guard let text = stored?.stringValue else { return .null }
        let organization = text.hasPrefix("api-key:") ? String(text.dropFirst("api-key:".count)) : text
        return ["type": "api_key", "id": .string(text), "organization": .string(organization)]
    }

    static func apply(status: String, by caller: Caller, to record: inout JSON) {
        record["status"] = .string(status)
        switch status {
        case "A":
            record["approved_by"] = actor(caller)
            record["declined_by"] = .null
        case "D":
            record["declined_by"] = actor(caller)
            record["approved_by"] = .null
        default:
            record["approved_by"] = .null
            record["declined_by"] = .null
        }
    }

    static func ratingProblems(_ body: JSONObject) -> [APIError] {
        guard let rating = body["rating"]?.intValue, !(1...5).contains(rating) else { return [] }
        return [Wire.invalid("rating", "Ensure this value is between 1 and 5.")]
    }

    /// A partner or app entry of the directory, or the problem of the id.
    static func entryProblems(_ body: JSONObject, directory: String, _ get: (String, String) -> JSON?) -> [APIError] {
        guard let entryID = body["entry"]?.stringValue else { return [] }
        if Entries.kinds.contains(where: { get($0.collection, entryID)?["directory_id"]?.stringValue == directory }) {
            return []
        }
        return [Wire.invalid("entry", "Invalid pk \"\(entryID)\" - object does not exist.")]
    }

    static func register(_ routes: inout OperationGroup<Caller>) {
        let tag = "Reviews"
        let path = "directories/:directory_id/reviews/"
        let item = responseOpenAPI()
        let request = OpenAPIShapes.casing(schema.openAPI(writableOnly: true), camel: true)
        routes.on(
            .get, path, access: .role(.permission(.read, "reviews")),
            doc: OperationDoc(
                "Get all reviews", tag: tag,
                parameters: OpenAPIShapes.pageParameters + [
                    OperationDoc.Parameter("status", schema: ["type": "string", "enum": ["P", "A", "D"]]),
                    OperationDoc.Parameter("entry"),
                ],
                responses: [.init(200, "A page of reviews, newest first.", schema: OpenAPIShapes.page(of: item))],
                errors: [400, 403, 404])
        ) { context in
            let directory = try context.directory()
            var records = newestFirst(Collections.records(Collections.reviews, of: directory, context.store))
            var problems: [APIError] = []
            let statusType = schema.fields.first { $0.name == "status" }?.type ?? .string
            if let status = Filtering.value("status", as: statusType, context.request, &problems) {
                records = records.filter { ($0["status"] ?? "P") == status }
            }
            if !problems.isEmpty { throw APIErrors(problems) }
            if let entry = context.request.query["entry"] {
                records = records.filter { $0["entry"]?.stringValue == entry }
            }
            return .json(try Wire.page(records.map { response($0, context.store) }, context.request))
        }
        routes.on(
            .post, path, access: .role(.permission(.create, "reviews")),
            doc: OperationDoc(
                "Create a review", tag: tag, requestBody: request, responses: [.init(201, "The review.", schema: item)],
                errors: [400, 403, 404])
        ) { context in
            let caller = context.principal, directory = try context.directory()
            guard Directories.setting("allow_reviews", of: directory).boolValue != false else {
                throw APIError.forbidden("This directory does not accept reviews.")
            }
            let directoryID = directory["id"]?.stringValue ?? ""
            let body = try Wire.payload(
                context.request, schema, partial: false,
                checks: {
                    ratingProblems($0) + entryProblems($0, directory: directoryID) { context.store.get($0, $1) }
                })
            let saved = try context.store.write { tx -> JSON in
                let problems = entryProblems(body, directory: directoryID) { tx.get($0, $1) }
                if !problems.isEmpty { throw APIErrors(problems) }
                var record = JSON.object(body)
                record["id"] = .string(Crypto.uuid())
                record["directory_id"] = .string(directoryID)
                record["created"] = .string(Timestamp.now().storageText)
                apply(status: body["status"]?.stringValue ?? "P", by: caller, to: &record)
                tx.put(Collections.reviews, record["id"]!.stringValue!, record)
                return record
            }
            return .json(response(saved, context.store), status: .created)
        }
        var patch = OpenAPIShapes.optional(request)
        patch["properties"]?["entry"] = nil
        // Ours, and the real PartnerPage API's path (reviews/directory/{directory_id}/{review_id}/).
        for (itemPath, aliasNote) in [
            (path + ":review_id/", ""), ("reviews/directory/:directory_id/:review_id/", " (PartnerPage path)"),
        ] {
            routes.on(
                .get, itemPath, access: .role(.permission(.read, "reviews")),
                doc: OperationDoc(
                    "Get a review" + aliasNote, tag: tag, responses: [.init(200, "The review.", schema: item)],
                    errors: [403, 404])
            ) { context in
                let directory = try context.directory()
                return .json(
                    response(
                        try owned(
                            Collections.reviews, context.request.pathParameter("review_id"), directory, context.store),
                        context.store))
            }
            routes.on(
                .patch, itemPath, access: .role(.permission(.update, "reviews")),
                doc: OperationDoc(
                    "Update a review" + aliasNote, tag: tag,
                    description:
                        "status A approves (approvedBy = caller, declinedBy cleared), D declines (the reverse), P resets both.",
                    requestBody: patch, responses: [.init(200, "The review.", schema: item)], errors: [400, 403, 404])
            ) { context in
                let caller = context.principal, directory = try context.directory()
                let id =
                    try owned(
                        Collections.reviews, context.request.pathParameter("review_id"), directory, context.store)[
                        "id"]?.stringValue ?? ""
                let body = try Wire.payload(
                    context.request, schema, partial: true,
                    checks: { accepted in
                        ratingProblems(accepted)
                            + (accepted["entry"] == nil
                                ? [] : [Wire.invalid("entry", "A review cannot move to another entry.")])
                    })
                let saved = try context.store.write { tx -> JSON in
                    guard var record = tx.get(Collections.reviews, id) else { throw Wire.notFound() }
                    for (key, value) in body where key != "status" { record[key] = value }
                    if let status = body["status"]?.stringValue { apply(status: status, by: caller, to: &record) }
                    tx.put(Collections.reviews, id, record)
                    return record
                }
                return .json(response(saved, context.store))
            }
        }
    }
}

/// A record of `collection` that belongs to the directory, or 404.
func owned(_ collection: String, _ id: String, _ directory: JSON, _ store: Store) throws -> JSON {
    guard let record = store.get(collection, id), record["directory_id"] == directory["id"] else {
        throw Wire.notFound()
    }
    return record
}

func newestFirst(_ records: [JSON]) -> [JSON] {
    records.sorted { ($0["created"]?.stringValue ?? "") > ($1["created"]?.stringValue ?? "") }
}

/// `GET .../:request_id/` of a contact or matchmaking request: the path directory's record, or 404.
func shownRequest(_ collection: String, _ schema: ResourceSchema, _ context: Context) throws -> HTTPResponse {
    let directory = try context.directory()
    return .json(
        serialize(schema, try owned(collection, context.request.pathParameter("request_id"), directory, context.store)))
}

/// A stored record in a schema's field order (absent values null).
func serialize(_ schema: ResourceSchema, _ record: JSON) -> JSON {
    var values: [String: JSON] = [:]
    for field in schema.fields { values[field.name] = record[field.name] ?? .null }
    return schema.serialize(values)
}
