import APICore
import HTTP
import JSON

/// The Directory API's wire conventions, shared by every handler of the family: Django REST
/// Framework style errors and pages, camelCase request bodies, snake_case responses.
enum Wire {
    static let base = "/api/directory/private/v1alpha"

    // MARK: casing

    /// `callToActionUrl` -> `call_to_action_url`; snake_case input passes through unchanged.
    static func snake(_ name: String) -> String {
        var out = ""
        for character in name {
            if character.isUppercase {
                if !out.isEmpty { out.append("_") }
                out.append(contentsOf: character.lowercased())
            } else {
                out.append(character)
            }
        }
        return out
    }

    /// `call_to_action_url` -> `callToActionUrl`.
    static func camel(_ name: String) -> String {
        var out = ""
        var upper = false
        for character in name {
            if character == "_" {
                upper = true
                continue
            }
            // Appended as a string: some letters uppercase to more than one ("ß" -> "SS"), and a
            // client's member name may hold any of them (a Character of two trapped the worker).
            if upper { out.append(contentsOf: character.uppercased()) } else { out.append(character) }
            upper = false
        }
        return out
    }

    static func camelKeys(_ value: JSON) -> JSON {
        guard case .object(let object) = value else { return value }
        return .object(JSONObject(object.map { (camel($0.key), $0.value) }))
    }

    // MARK: errors

    static func notFound() -> APIError {
        APIError(.notFound, status: .notFound, title: "Not found", detail: "Not found.")
    }
    static func conflict(_ detail: String) -> APIError {
        APIError(.conflict, status: .conflict, title: "Conflict", detail: detail)
    }
    static func invalid(_ field: String, _ message: String) -> APIError {
        APIError(.validation, status: .badRequest, title: "Invalid", detail: message, field: field)
    }

    // MARK: payloads

    /// The request body as a snake_case object checked against `schema`. Keys may be sent in camelCase
    /// (as the seed shows) or snake_case; errors name the field as it was sent. `adapt` may rewrite the
    /// snake_case body before it is checked (accepted shapes of a field). `checks` adds the
    /// rules of the caller (references, slugs, inline lists) over the fields that passed the schema,
    /// so every problem of a body is reported at once.
    static func payload(
        _ request: HTTPRequest, _ schema: ResourceSchema, partial: Bool,
        adapt: (JSONObject) -> JSONObject = { $0 },
        checks: (JSONObject) -> [APIError] = { _ in [] }
    ) throws -> JSONObject {
        guard !request.body.isEmpty else {
            if partial { throw APIError.malformedBody("A partial update needs at least one field.") }
            throw APIErrors(schema.fields.filter { $0.required && !$0.readOnly }.map { missing(camel($0.name)) })
        }
        guard let body = request.jsonBody(), case .object(let sent) = body else {
            throw APIError.malformedBody("JSON parse error: the request body must be a JSON object.")
        }
        if partial && sent.isEmpty { throw APIError.malformedBody("A partial update needs at least one field.") }
        var object = JSONObject()
        var sentName: [String: String] = [:]
        for (key, value) in sent {
            // The seed's update example repeats the record's own id in the body: harmless, so allowed.
            if key == "id", let text = value.stringValue, request.pathParameters.values.contains(text) { continue }
            let name = snake(key)
            if object[name] != nil { throw APIErrors([invalid(key, "Given twice (as camelCase and snake_case).")]) }
            object[name] = value
            sentName[name] = key
        }
        object = adapt(object)
        let fields = Dictionary(schema.fields.map { ($0.name, $0) }) { a, _ in a }
        let problems = schema.validate(object, partial: partial)
        var errors = problems.map { problem -> APIError in
            let field = sentName[problem.field] ?? camel(problem.field)
            let value = object[problem.field]
            switch problem {
            case .missing: return missing(field)
            case .wrongType(_, let expected):
                if value?.isNull == true { return invalid(field, "This field may not be null.") }
                return APIError(
                    .wrongType, status: .badRequest, title: "Invalid",
                    detail: "Expected a value of type \(expected).", field: field)
            case .notAllowed:
                return APIError(
                    .unknownField, status: .badRequest, title: "Invalid", detail: "Unknown or read-only field.",
                    field: field)
            case .tooLong(_, let limit):
                return invalid(field, "Ensure this field has no more than \(limit) characters.")
            case .invalidValue:
                return invalid(field, invalidValueMessage(fields[problem.field]?.type, value ?? .null))
            case .outOfRange:
                return invalid(field, "Ensure this value is an integer \(ResourceSchema.Problem.integerRange).")
            }
        }
        var rejected = Set(problems.map(\.field))
        // Ids are UUIDs (the document says `format: uuid`); the shared schema checks only that they are strings.
        for field in schema.fields where !field.readOnly && !rejected.contains(field.name) {
            guard let value = object[field.name] else { continue }
            let ids: [JSON]
            switch field.type {
            case .uuid: ids = value.isNull ? [] : [value]
            case .array(.uuid): ids = value.arrayValue ?? []
            default: continue
            }
            if ids.contains(where: { !isUUID($0.stringValue ?? "") }) {
                errors.append(invalid(sentName[field.name] ?? camel(field.name), "Must be a valid UUID."))
                rejected.insert(field.name)
            }
        }
        var accepted = JSONObject()
        for (name, value) in object where !rejected.contains(name) { accepted[name] = value }
        errors += checks(schema.normalized(accepted))
        if !errors.isEmpty { throw APIErrors(errors) }
        return schema.normalized(object)
    }

    /// A fetched record sent back as an update: each field the body may not write as it is
    /// (read-only, computed, or the response's own shape of a field, such as a tier object) is
    /// dropped when it equals what `current` (the record's response) shows; with another value it
    /// stays, and the schema refuses it. `sent` is snake_case; `current` may be camelCase.
    static func ignoringUnchanged(_ sent: JSONObject, _ schema: ResourceSchema, current: JSON?) -> JSONObject {
        guard let shown = current?.objectValue else { return sent }
        var currentValues = JSONObject()
        for (key, value) in shown { currentValues[snake(key)] = value }
        let writable = Set(schema.fields.filter { !$0.readOnly }.map(\.name))
        var body = sent
        for (name, value) in sent where currentValues[name] == value {
            if writable.contains(name), schema.validate([name: value], partial: true).isEmpty { continue }
            body[name] = nil
        }
        return body
    }

    /// What a value of `type` must look like, naming the rule: "a valid URL (http:// or https:// and a host name)".
    static func expectation(_ type: FieldType?) -> String {
        switch type ?? .string {
        case .url: return "a valid URL (http:// or https:// and a host name)"
        case .email: return "a valid email address (name@example.com)"
        case .dateTime: return "an ISO 8601 date-time"
        case .enumeration(let values): return "one of \(values.joined(separator: ", "))"
        default: return "a valid value"
        }
    }

    /// The message of a value the schema refused although its JSON type is right.
    static func invalidValueMessage(_ type: FieldType?, _ value: JSON) -> String {
        if case .enumeration = type {
            return "\"\(value.stringValue ?? "")\" is not a valid choice: use \(expectation(type))."
        }
        return "Enter \(expectation(type))."
    }

    static func missing(_ field: String) -> APIError {
        APIError(.requiredField, status: .badRequest, title: "Invalid", detail: "This field is required.", field: field)
    }

    // MARK: pages

    static let defaultPageSize = 20
    static let maximumPageSize = 100

    /// `page` and `page_size` (capped at 100) into `{"count","next","previous","results"}`.
    static func page(_ items: [JSON], _ request: HTTPRequest) throws -> JSON {
        try page(items, request) { $0 }
    }

    /// The same, rendering only the items of the page asked for (a response can cost lookups).
    static func page<Item>(_ items: [Item], _ request: HTTPRequest, render: (Item) -> JSON) throws -> JSON {
        var number = 1
        var size = defaultPageSize
        if let text = request.query["page"] {
            guard let value = Paging.positiveInteger(text) else {
                throw APIError(.notFound, status: .notFound, title: "Not found", detail: "Invalid page.")
            }
            number = value
        }
        if let text = request.query["page_size"] {
            guard let value = Paging.positiveInteger(text) else {
                throw invalid("page_size", "A positive integer is required.")
            }
            size = min(value, maximumPageSize)
        }
        let pages = max(1, (items.count + size - 1) / size)
        guard number <= pages else {
            throw APIError(.notFound, status: .notFound, title: "Not found", detail: "Invalid page.")
        }
        func link(_ n: Int) -> JSON {
            var pairs = request.query.pairs.filter { $0.name != "page" && $0.name != "page_size" }.map {
                "\(escape($0.name))=\(escape($0.value))"
            }
            pairs.append("page=\(n)")
            pairs.append("page_size=\(size)")
            return .string(request.path + "?" + pairs.joined(separator: "&"))
        }
        return [
            "count": .int(items.count),
            "next": number < pages ? link(number + 1) : .null,
            "previous": number > 1 ? link(number - 1) : .null,
            "results": .array(Paging.page(items, number: number, size: size).map(render)),
        ]
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"), UInt8(ascii: "["),
                UInt8(ascii: "]"):
                out.append(Character(UnicodeScalar(byte)))
            default:
                let digits = Array("0123456789ABCDEF")
                out.append("%")
                out.append(digits[Int(byte >> 4)])
                out.append(digits[Int(byte & 15)])
            }
        }
        return out
    }

    static func isUUID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 36 else { return false }
        for (i, b) in bytes.enumerated() {
            if [8, 13, 18, 23].contains(i) {
                if b != UInt8(ascii: "-") { return false }
                continue
            }
            let hex = (b >= 48 && b <= 57) || (b >= 97 && b <= 102) || (b >= 65 && b <= 70)
            if !hex { return false }
        }
        return true
    }
}

/// DRF-style bodies: `{"detail": "..."}`; field problems as
/// `{"detail": "Invalid input.", "errors": {"fieldName": ["message", ...]}}`.
struct DirectoryErrorFormatter: ErrorFormatter {
    func response(for errors: [APIError]) -> HTTPResponse {
        let fieldErrors = errors.filter { $0.field != nil }
        var response: HTTPResponse
        if fieldErrors.isEmpty {
            response = .json(["detail": .string(errors[0].detail)], status: errors[0].status)
        } else {
            var byField = JSONObject()
            for error in fieldErrors {
                let field = error.field!
                byField[field] = .array((byField[field]?.arrayValue ?? []) + [.string(error.detail)])
            }
            response = .json(["detail": "Invalid input.", "errors": .object(byField)], status: fieldErrors[0].status)
        }
        if errors[0].kind == .unauthorized {
            response.headers[.wwwAuthenticate] = "Api-Key"
        }
        return response
    }

    static let schema: JSON = [
        "type": "object",
        "properties": [
            "detail": ["type": "string"],
            "errors": ["type": "object", "additionalProperties": ["type": "array", "items": ["type": "string"]]],
        ],
        "required": ["detail"],
    ]
}
