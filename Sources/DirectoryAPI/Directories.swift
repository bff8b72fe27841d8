import APICore
import HTTP
import JSON
import Store

/// Directories (created by staff with the `directory` admin command), their settings and forms.
enum Directories {
    static let directory = ResourceSchema(
        "Directory",
        [
            Field("id", .uuid, readOnly: true),
            Field("name", .string, required: true, maxLength: 200),
            Field(
                "slug", .string, maxLength: 100,
                "Names the public listing; unique across all directories (a-z, 0-9, -)."),
            Field("description", .string, nullable: true, maxLength: 2000),
            Field("public_url", .url, nullable: true, maxLength: 2000),
            Field("organization", .uuid, readOnly: true, "The organization that owns the directory."),
            Field("created", .dateTime, readOnly: true),
            Field("modified", .dateTime, readOnly: true),
        ])

    static let settings = ResourceSchema(
        "DirectorySettings",
        [
            Field(
                "public_listing", .boolean,
                "Entries with status public are listed without a key under /api/directory/public/v1alpha/."),
            Field(
                "require_edit_approval", .boolean,
                "Partner entry edits must be submitted and approved before they go live."),
            Field("allow_reviews", .boolean),
            Field("matchmaking_enabled", .boolean),
            Field(
                "matchmaking_partner_limit", .integer,
                "How many partners a new matchmaking request is matched with (1-20)."),
            Field("contact_email", .email, nullable: true, maxLength: 200),
            Field("primary_color", .string, nullable: true, maxLength: 20),
            Field(
                "default_currency", .enumeration(Forms.currencies.map(\.0)),
                "An ISO 4217 code offered by forms/currency-options/."),
        ])

    static let defaultSettings: JSONObject = [
        "public_listing": true, "require_edit_approval": false, "allow_reviews": true, "matchmaking_enabled": true,
        "matchmaking_partner_limit": 3,
        "contact_email": .null, "primary_color": .null, "default_currency": "USD",
    ]

    static func response(_ record: JSON) -> JSON {
        var shown = record
        shown["organization"] = record["organization_id"] ?? .null
        return serialize(directory, shown)
    }

    static func register(_ routes: inout OperationGroup<Caller>) {
        let tag = "Directory"
        let item = directory.openAPI()
        routes.on(
            .get, "directories/", access: .role(.permission(.read, "directories")),
            doc: OperationDoc(
                "Get all directories", tag: tag, parameters: OpenAPIShapes.pageParameters,
                responses: [
                    .init(200, "The directories of the key's organization.", schema: OpenAPIShapes.page(of: item))
                ], errors: [400, 403, 404])
        ) { context in
            let caller = context.principal
            let records = context.store.lookupRecords(
                Collections.directories, index: "by_organization", key: caller.organization
            )
            .sorted { ($0["created"]?.stringValue ?? "") < ($1["created"]?.stringValue ?? "") }
            return .json(try Wire.page(records.map(response), context.request))
        }
        let path = "directories/:directory_id/"
        routes.on(
            .get, path, access: .role(.permission(.read, "directories")),
            doc: OperationDoc(
                "Get a directory", tag: tag, responses: [.init(200, "The directory.", schema: item)],
                errors: [403, 404])
        ) { context in
            .json(response(try context.directory()))
        }
        routes.on(
            .patch, path, access: .role(.permission(.update, "directories")),
            doc: OperationDoc(
                "Update a directory", tag: tag,
                requestBody: OpenAPIShapes.optional(
                    OpenAPIShapes.casing(directory.openAPI(writableOnly: true), camel: true)),
                responses: [.init(200, "The updated directory.", schema: item)], errors: [400, 403, 404])
        ) { context in
            let record = try context.directory()
            let body = try Wire.payload(
                context.request, directory, partial: true,
                checks: { accepted in
                    guard let slug = accepted["slug"]?.stringValue, !Entries.isSlug(slug) else { return [] }
                    return [Wire.invalid("slug", Entries.slugRule)]
                })
            let saved = try save(record, context.store) { current, tx in
                if let slug = body["slug"]?.stringValue, !isFree(slug, for: current["id"]?.stringValue ?? "", tx) {
                    throw APIErrors([Wire.invalid("slug", "A directory with this slug already exists.")])
                }
                for (key, value) in body { current[key] = value }
            }
            return .json(response(saved))
        }
        for section in [settingsSection, brandingSection] { section.register(&routes, tag: tag) }
        Forms.register(&routes)
    }

    /// Directory slugs name the public listing, so they are unique across every organization.
    static func isFree(_ slug: String, for id: String, _ tx: Transaction) -> Bool {
        !tx.lookup(Collections.directories, index: "by_slug", key: slug).contains { $0 != id }
    }

    static func save(_ record: JSON, _ store: Store, _ change: (inout JSON, Transaction) throws -> Void) throws -> JSON
    {
        let id = record["id"]?.stringValue ?? ""
        return try store.write { tx -> JSON in
            guard var current = tx.get(Collections.directories, id) else { throw Wire.notFound() }
            try change(&current, tx)
            current["modified"] = .string(Timestamp.now().storageText)
            tx.put(Collections.directories, id, current)
            return current
        }
    }

    static func setting(_ name: String, of directory: JSON) -> JSON {
        directory["settings"]?.objectValue?[name] ?? defaultSettings[name] ?? .null
    }

    static let settingsSection = DirectorySection(
        key: "settings", permission: "settings", schema: settings, defaults: defaultSettings,
        summaries: ("Retrieve the settings for a directory", "Update the settings for a directory")
    ) { body in
        guard let limit = body["matchmaking_partner_limit"]?.intValue, !(1...20).contains(limit) else { return [] }
        return [Wire.invalid("matchmakingPartnerLimit", "Ensure this value is between 1 and 20.")]
    }

    static let branding = ResourceSchema(
        "DirectoryBranding",
        [
            Field("logo", .url, nullable: true, maxLength: 2000),
            Field("favicon", .url, nullable: true, maxLength: 2000),
            Field("primary_color", .string, nullable: true, maxLength: 20),
            Field("secondary_color", .string, nullable: true, maxLength: 20),
            Field("font_family", .string, nullable: true, maxLength: 100),
            Field("header_text", .string, nullable: true, maxLength: 500),
        ])
    static let brandingSection = DirectorySection(
        key: "branding", permission: "branding", schema: branding,
        defaults: [
            "logo": .null, "favicon": .null, "primary_color": .null, "secondary_color": .null, "font_family": .null,
            "header_text": .null,
        ],
        summaries: ("Get the branding of a directory", "Update the branding of a directory")
    ) { _ in [] }
}

/// Custom forms and the contact request form of a directory.
enum Forms {
    static let fieldTypes = ["text", "textarea", "email", "number", "currency", "select", "checkbox"]
    static let schema = ResourceSchema(
        "Form",
        [
            Field("id", .uuid, readOnly: true),
            Field("name", .string, required: true, maxLength: 200),
            Field("kind", .enumeration(["custom", "contact_request"]), readOnly: true),
            Field(
                "fields", .array(.object), required: true,
                "Each: {name, label, type (\(fieldTypes.joined(separator: ", "))), required, options}; "
                    + "nothing else. label defaults to the name, required to false; options (non-empty strings) "
                    + "are for select fields, which need at least one."),
            Field("is_active", .boolean, "The form the directory uses for contact requests (one at a time)."),
            Field("created", .dateTime, readOnly: true),
        ])

    /// What a directory uses until it defines its own contact request form.
    static let builtInDefault: JSON = [
        "id": .null, "name": "Contact request", "kind": "contact_request",
        "fields": [
            ["name": "first_name", "label": "First name", "type": "text", "required": true, "options": []],
            ["name": "last_name", "label": "Last name", "type": "text", "required": true, "options": []],
            ["name": "email", "label": "Email", "type": "email", "required": true, "options": []],
            ["name": "company", "label": "Company", "type": "text", "required": false, "options": []],
            ["name": "message", "label": "Message", "type": "textarea", "required": false, "options": []],
        ],
        "is_active": true, "created": .null,
    ]

    static let currencies: [(String, String)] = [
        ("USD", "US Dollar"), ("EUR", "Euro"), ("GBP", "Pound Sterling"), ("CAD", "Canadian Dollar"),
        ("AUD", "Australian Dollar"), ("JPY", "Yen"), ("CHF", "Swiss Franc"), ("INR", "Indian Rupee"),
        ("BRL", "Brazilian Real"),
    ]

    static func response(_ record: JSON) -> JSON { serialize(schema, record) }

    static func forms(_ directory: JSON, _ store: Store, kind: String? = nil) -> [JSON] {
        Collections.records(Collections.forms, of: directory, store)
            .filter { kind == nil || $0["kind"]?.stringValue == kind }
            .sorted { ($0["created"]?.stringValue ?? "") < ($1["created"]?.stringValue ?? "") }
    }

    static func register(_ routes: inout OperationGroup<Caller>) {
        let tag = "Directory: Forms"
        let base = "directories/:directory_id/forms/"
        let item = schema.openAPI()
        let page = OpenAPIShapes.page(of: item)
        routes.on(
            .get, base, access: .role(.permission(.read, "forms")),
            doc: OperationDoc(
                "Get all custom forms", tag: tag, parameters: OpenAPIShapes.pageParameters,
                responses: [.init(200, "Every form of the directory.", schema: page)], errors: [400, 403, 404])
        ) { context in
            let directory = try context.directory()
            return .json(try Wire.page(forms(directory, context.store).map(response), context.request))
        }
        routes.on(
            .get, base + "currency-options/", access: .role(.permission(.read, "forms")),
            doc: OperationDoc(
                "Get all currency field options", tag: tag,
                responses: [
                    .init(
                        200, "Currencies a currency field offers.",
                        schema: [
                            "type": "object",
                            "properties": [
                                "results": [
                                    "type": "array",
                                    "items": [
                                        "type": "object",
                                        "properties": ["code": ["type": "string"], "name": ["type": "string"]],
                                        "required": ["code", "name"],
                                    ],
                                ]
                            ],
                            "required": ["results"],
                        ])
                ], errors: [403, 404])
        ) { context in
            _ = try context.directory()
            return .json(["results": .array(currencies.map { ["code": .string($0.0), "name": .string($0.1)] })])
        }
        routes.on(
            .get, base + "contact-requests/", access: .role(.permission(.read, "forms")),
            doc: OperationDoc(
                "Get all contact request forms", tag: tag, parameters: OpenAPIShapes.pageParameters,
                responses: [.init(200, "The contact request forms.", schema: page)], errors: [400, 403, 404])
        ) { context in
            let directory = try context.directory()
            return .json(
                try Wire.page(forms(directory, context.store, kind: "contact_request").map(response), context.request))
        }
        routes.on(
            .get, base + "contact-requests/default/", access: .role(.permission(.read, "forms")),
            doc: OperationDoc(
                "Get the default contact request form", tag: tag,
                description: "The built-in form (id null) a directory uses until it activates its own.",
                responses: [.init(200, "The default form.", schema: OpenAPIShapes.nullableID(item))],
                errors: [403, 404])
        ) { context in
            _ = try context.directory()
            return .json(builtInDefault)
        }
        routes.on(
            .get, base + "contact-requests/active/", access: .role(.permission(.read, "forms")),
            doc: OperationDoc(
                "Get the active contact request form", tag: tag,
                description: "The form marked active, or the built-in default (id null).",
                responses: [.init(200, "The form in use.", schema: OpenAPIShapes.nullableID(item))], errors: [403, 404])
        ) { context in
            let directory = try context.directory()
            let chosen = active(directory: directory, context.store)
            return .json(chosen["id"]?.stringValue == nil ? chosen : response(chosen))
        }
        let writeBody = OpenAPIShapes.casing(schema.openAPI(writableOnly: true), camel: true)
        routes.on(
            .post, base + "contact-requests/", access: .role(.permission(.create, "forms")),
            doc: OperationDoc(
                "Create a contact request custom form", tag: tag, requestBody: writeBody,
                responses: [.init(201, "The form.", schema: item)], errors: [400, 403, 404])
        ) { context in
            let directory = try context.directory()
            return .json(response(try save(context, directory, replacing: nil)), status: .created)
        }
        routes.on(
            .put, base + "contact-requests/:form_id/", access: .role(.permission(.update, "forms")),
            doc: OperationDoc(
                "Configure a contact request form", tag: tag,
                description: "Replaces the form whole (name, fields, is_active).",
                requestBody: writeBody, responses: [.init(200, "The form.", schema: item)], errors: [400, 403, 404])
        ) { context in
            let directory = try context.directory()
            let id = context.request.pathParameter("form_id")
            guard let form = context.store.get(Collections.forms, id), form["directory_id"] == directory["id"] else {
                throw Wire.notFound()
            }
            return .json(response(try save(context, directory, replacing: form)))
        }
        routes.on(
            .delete, base + "contact-requests/:form_id/", access: .role(.permission(.delete, "forms")),
            doc: OperationDoc(
                "Delete a contact request custom form", tag: tag, responses: [.init(204, "Deleted.")],
                errors: [403, 404])
        ) { context in
            let directory = try context.directory()
            let id = context.request.pathParameter("form_id")
            try context.store.write { tx in
                guard let form = tx.get(Collections.forms, id), form["directory_id"] == directory["id"],
                    form["kind"]?.stringValue == "contact_request"
                else { throw Wire.notFound() }
                tx.delete(Collections.forms, id)
                References.detach(Collections.forms, id, directory: directory["id"]?.stringValue ?? "", &tx)
            }
            return .noContent()
        }
        // The real PartnerPage API manages "the" contact request form of a directory, without an id.
        routes.on(
            .put, base + "contact-requests/", access: .role(.permission(.update, "forms")),
            doc: OperationDoc(
                "Configure the contact request form", tag: tag,
                description:
                    "Replaces the directory's active contact request form whole (name, fields), or creates it while "
                    + "the built-in one is in use; the result is the active form. PartnerPage's path.",
                requestBody: writeBody, responses: [.init(200, "The active form.", schema: item)],
                errors: [400, 403, 404])
        ) { context in
            let directory = try context.directory()
            let current = active(directory: directory, context.store)
            // The built-in form is replaced by a new one (JSON's own nil literal is .null, hence no `? nil :`).
            let existing = current["id"]?.stringValue.map { _ in current }
            return .json(response(try save(context, directory, replacing: existing, activating: true)))
        }
        routes.on(
            .delete, base + "contact-requests/", access: .role(.permission(.delete, "forms")),
            doc: OperationDoc(
                "Reset the contact request form to the default", tag: tag,
                description:
                    "Deletes the active contact request form, so the built-in one is used (204 when it already is). "
                    + "PartnerPage's path.",
                responses: [.init(204, "Reset.")], errors: [403, 404])
        ) { context in
            let directory = try context.directory()
            let directoryID = directory["id"]?.stringValue ?? ""
            try context.store.write { tx in
                guard let id = active(directory: directoryID, tx)["id"]?.stringValue else { return }
                tx.delete(Collections.forms, id)
                References.detach(Collections.forms, id, directory: directoryID, &tx)
            }
            return .noContent()
        }
    }

    /// Creates a form, or replaces one whole; activating it deactivates the others.
    static func save(
        _ context: Context, _ directory: JSON, replacing existing: JSON?, activating: Bool = false
    ) throws
        -> JSON
    {
        let body = try Wire.payload(
            context.request, schema, partial: false,
            adapt: { Wire.ignoringUnchanged($0, schema, current: existing.map(response)) })
        let fields = try checkFields(body["fields"]?.arrayValue ?? [])
        let directoryID = directory["id"]?.stringValue ?? ""
        return try context.store.write { tx -> JSON in
            let id = existing?["id"]?.stringValue ?? Crypto.uuid()
            if existing != nil, tx.get(Collections.forms, id) == nil { throw Wire.notFound() }
            let isActive = activating || body["is_active"]?.boolValue == true
            if isActive {
                for other in tx.lookup(Collections.forms, index: Collections.byDirectory, key: directoryID)
                where other != id {
                    guard var form = tx.get(Collections.forms, other), form["is_active"]?.boolValue == true else {
                        continue
                    }
                    form["is_active"] = false
                    tx.put(Collections.forms, other, form)
                }
            }
            let record: JSON = [
                "id": .string(id), "directory_id": .string(directoryID), "name": body["name"]!,
                "kind": "contact_request", "fields": .array(fields), "is_active": .bool(isActive),
                "created": existing?["created"] ?? .string(Timestamp.now().storageText),
            ]
            tx.put(Collections.forms, id, record)
            return record
        }
    }

    /// The properties a form field definition may have; anything else (`"onload": "<script>"`) is refused.
    static let fieldProperties = ["name", "label", "type", "required", "options"]

    /// Checks every field definition and returns them as stored: each with all of `fieldProperties`
    /// (`label` defaults to the name, `required` to false, `options` to []). Every problem at once.
    static func checkFields(_ fields: [JSON]) throws -> [JSON] {
        var problems: [APIError] = []
        func problem(_ index: Int, _ message: String) {
            problems.append(Wire.invalid("fields", "Field \(index + 1): \(message)"))
        }
        if fields.isEmpty { problems.append(Wire.invalid("fields", "At least one field is required.")) }
        var names = Set<String>()
        var stored: [JSON] = []
        for (index, field) in fields.enumerated() {
            guard let definition = field.objectValue else {
                problem(index, "must be an object with \(fieldProperties.joined(separator: ", ")).")
                continue
            }
            for key in definition.keys where !fieldProperties.contains(key) {
                problem(
                    index, "\"\(key)\" is not a property of a form field (\(fieldProperties.joined(separator: ", "))).")
            }
            let name = definition["name"]?.stringValue ?? ""
            if name.isEmpty || name.count > 100 {
                problem(index, "\"name\" must be a non-empty string of up to 100 characters.")
            } else if !names.insert(name).inserted {
                problem(index, "the name \"\(name)\" is used twice.")
            }
            let label = definition["label"] ?? .null
            if !label.isNull && (label.stringValue == nil || label.stringValue!.count > 200) {
                problem(index, "\"label\" must be a string of up to 200 characters.")
            }
            let type = definition["type"]?.stringValue ?? ""
            if definition["type"] == nil {
                problem(index, "\"type\" is required.")
            } else if !fieldTypes.contains(type) {
                problem(index, "\"type\" must be one of \(fieldTypes.joined(separator: ", ")).")
            }
            let required = definition["required"] ?? false
            if required.boolValue == nil { problem(index, "\"required\" must be true or false.") }
            let options = definition["options"] ?? []
            let choices = options.arrayValue?.compactMap(\.stringValue) ?? []
            if options.arrayValue == nil || choices.count != options.arrayValue!.count
                || choices.contains(where: \.isEmpty)
            {
                problem(index, "\"options\" must be a list of non-empty strings.")
            } else if type == "select" && choices.isEmpty {
                problem(index, "a select field needs at least one option.")
            } else if type != "select" && !choices.isEmpty {
                problem(index, "\"options\" are only for select fields.")
            } else if Set(choices).count != choices.count {
                problem(index, "an option is listed twice.")
            }
            stored.append([
                "name": .string(name), "label": label.isNull ? .string(name) : label, "type": .string(type),
                "required": required, "options": options,
            ])
        }
        if !problems.isEmpty { throw APIErrors(problems) }
        return stored
    }

    /// The contact request form in use: the active one, else the built-in default.
    static func active(directory: String, _ tx: Transaction) -> JSON {
        active(
            among: tx.lookup(Collections.forms, index: Collections.byDirectory, key: directory).compactMap {
                tx.get(Collections.forms, $0)
            })
    }

    static func active(directory: JSON, _ store: Store) -> JSON {
        active(among: Collections.records(Collections.forms, of: directory, store))
    }

    static func active(among forms: [JSON]) -> JSON {
        forms.filter { $0["kind"]?.stringValue == "contact_request" && $0["is_active"]?.boolValue == true }
            .max { ($0["created"]?.stringValue ?? "") < ($1["created"]?.stringValue ?? "") } ?? builtInDefault
    }

    /// What a contact request must answer for `form`: a form field named like a field of the
    /// request itself (first_name, email, company, ...) is answered by that field; the others in
    /// `fields`. Required fields must be answered, each answer must suit its field's type, and
    /// `fields` may answer nothing the form does not ask.
    static func answerProblems(_ form: JSON, _ body: JSONObject) -> [APIError] {
        let answers = body["fields"]?.objectValue ?? [:]
        let ownFields = Set(ContactRequests.schema.fields.map(\.name))
        var problems: [APIError] = []
        var asked = Set<String>()
        let formName = form["name"]?.stringValue ?? ""
        for field in form["fields"]?.arrayValue ?? [] {
            let name = field["name"]?.stringValue ?? ""
            let isOwn = ownFields.contains(name)
            if !isOwn { asked.insert(name) }
            let answer = (isOwn ? body[name] : answers[name]) ?? .null
            let blank = answer.isNull || answer.stringValue?.isEmpty == true
            let reportedAs = isOwn ? Wire.camel(name) : "fields"
            if blank {
                if field["required"]?.boolValue == true {
                    problems.append(Wire.invalid(reportedAs, "The form field \"\(name)\" is required."))
                }
                continue
            }
            if let rule = answerRule(field, answer) {
                problems.append(Wire.invalid(reportedAs, "The form field \"\(name)\" \(rule)."))
            }
        }
        for name in answers.keys.sorted() where !asked.contains(name) {
            problems.append(Wire.invalid("fields", "\"\(name)\" is not a field of the form \"\(formName)\"."))
        }
        return problems
    }

    /// nil when `answer` suits the field's type, else the rule it breaks.
    static func answerRule(_ field: JSON, _ answer: JSON) -> String? {
        let options = (field["options"]?.arrayValue ?? []).compactMap(\.stringValue)
        let isNumber: (JSON) -> Bool = {
            switch $0 {
            case .int, .double: return true
            default: return false
            }
        }
        switch field["type"]?.stringValue ?? "text" {
        case "text", "textarea":
            guard let text = answer.stringValue else { return "takes text" }
            return text.count > 5000 ? "takes at most 5000 characters" : nil
        case "email":
            return Invites.isEmail(answer.stringValue ?? "") ? nil : "takes a valid email address"
        case "number":
            return isNumber(answer) ? nil : "takes a number"
        case "currency":
            let codes = currencies.map(\.0)
            let amount = answer.objectValue?["amount"] ?? answer
            let code = answer.objectValue?["currency"]?.stringValue
            let shapeIsRight = answer.objectValue.map { Set($0.keys).isSubset(of: ["amount", "currency"]) } ?? true
            guard shapeIsRight, isNumber(amount), amount.doubleValue ?? -1 >= 0 else {
                return "takes an amount: a number of 0 or more, or {\"amount\", \"currency\"}"
            }
            if let code, !codes.contains(code) {
                return "takes a currency code from forms/currency-options/ (\(codes.joined(separator: ", ")))"
            }
            return nil
        case "select":
            guard let choice = answer.stringValue, options.contains(choice) else {
                return "takes one of its options: \(options.joined(separator: ", "))"
            }
            return nil
        case "checkbox":
            return answer.boolValue == nil ? "takes true or false" : nil
        default:
            return nil
        }
    }
}

extension OpenAPIShapes {
    static func nullableID(_ schema: JSON) -> JSON {
        guard case .object(var object) = schema, var properties = object["properties"]?.objectValue else {
            return schema
        }
        properties["id"] = ["type": ["string", "null"]]
        properties["created"] = ["type": ["string", "null"]]
        object["properties"] = .object(properties)
        return .object(object)
    }
}

/// A block of a directory's own fields with its own path, permission and defaults (settings,
/// branding): GET shows every field (defaults filled in), PATCH changes some.
struct DirectorySection {
    let key: String
    let permission: String
    let schema: ResourceSchema
    let defaults: JSONObject
    let summaries: (get: String, update: String)
    /// The section's own rules over the fields that passed the schema, reported with its problems.
    let check: @Sendable (JSONObject) -> [APIError]

    func response(_ directory: JSON) -> JSON {
        let stored = directory[key]?.objectValue ?? [:]
        var values: [String: JSON] = [:]
        for field in schema.fields { values[field.name] = stored[field.name] ?? defaults[field.name] ?? .null }
        return schema.serialize(values)
    }

    func register(_ routes: inout OperationGroup<Caller>, tag: String) {
        let path = "directories/:directory_id/\(key)/"
        let item = schema.openAPI()
        routes.on(
            .get, path, access: .role(.permission(.read, permission)),
            doc: OperationDoc(
                summaries.get, tag: tag, responses: [.init(200, "The \(key).", schema: item)],
                errors: [403, 404])
        ) { context in
            .json(response(try context.directory()))
        }
        routes.on(
            .patch, path, access: .role(.permission(.update, permission)),
            doc: OperationDoc(
                summaries.update, tag: tag,
                requestBody: OpenAPIShapes.optional(
                    OpenAPIShapes.casing(schema.openAPI(writableOnly: true), camel: true)),
                responses: [.init(200, "The updated \(key).", schema: item)], errors: [400, 403, 404])
        ) { context in
            let record = try context.directory()
            let body = try Wire.payload(context.request, schema, partial: true, checks: check)
            let saved = try Directories.save(record, context.store) { current, _ in
                var stored = current[key]?.objectValue ?? [:]
                for (name, value) in body { stored[name] = value }
                current[key] = .object(stored)
            }
            return .json(response(saved))
        }
    }
}
