import JSON

/// The single description of a resource's fields. Serialization (field order, nulls), payload
/// validation and the published OpenAPI document all come from it, so they cannot drift.
public indirect enum FieldType: Sendable, Equatable {
    case string, integer, boolean, dateTime, uuid, email, url
    /// A calendar date as a string, `YYYY-MM-DD`.
    case date
    /// A year as a string, e.g. "2025" (the Lead Provider API's cohorts).
    case yearString
    case enumeration([String])
    case array(FieldType)
    case object
    /// An object with fields of its own: validated, serialized (field order, nulls) and documented
    /// by its schema, as a resource's attributes are (an enrolment, a milestone, a withdrawal).
    case nested(ResourceSchema)

    func accepts(_ value: JSON) -> Bool {
        switch (self, value) {
        case (.string, .string), (.dateTime, .string), (.uuid, .string), (.email, .string), (.url, .string),
            (.date, .string):
            return true
        case (.integer, _): return value.exactInteger != nil
        case (.boolean, .bool): return true
        case (.yearString, .string(let s)): return s.count == 4 && Int(s) != nil
        case (.yearString, .int(let i)): return (1000...9999).contains(i)
        case (.enumeration(let values), .string(let s)): return values.contains(s)
        case (.array(let element), .array(let items)): return items.allSatisfy(element.accepts)
        case (.object, .object), (.nested, .object): return true
        default: return false
        }
    }

    var openAPI: JSON { openAPI(writableOnly: false) }

    func openAPI(writableOnly: Bool) -> JSON {
        switch self {
        case .string: return ["type": "string"]
        case .integer:
            return [
                "type": "integer", "minimum": .int(JSON.exactIntegers.lowerBound),
                "maximum": .int(JSON.exactIntegers.upperBound),
            ]
        case .boolean: return ["type": "boolean"]
        case .dateTime: return ["type": "string", "format": "date-time"]
        case .date: return ["type": "string", "format": "date"]
        case .uuid: return ["type": "string", "format": "uuid"]
        case .email: return ["type": "string", "format": "email"]
        case .url: return ["type": "string", "format": "uri"]
        case .yearString: return ["type": "string", "pattern": "^[0-9]{4}$", "example": "2025"]
        case .enumeration(let values): return ["type": "string", "enum": .array(values.map(JSON.string))]
        case .array(let element): return ["type": "array", "items": element.openAPI(writableOnly: writableOnly)]
        case .object: return ["type": "object"]
        case .nested(let schema): return schema.openAPI(writableOnly: writableOnly)
        }
    }

    public var name: String {
        switch self {
        case .string, .dateTime, .date, .uuid, .email, .url, .yearString, .enumeration: return "string"
        case .integer: return "integer"
        case .boolean: return "boolean"
        case .array: return "array"
        case .object, .nested: return "object"
        }
    }

    /// Whether values of this type hold nested objects that serialize through their own schema.
    var holdsNested: Bool {
        switch self {
        case .nested: return true
        case .array(let element): return element.holdsNested
        default: return false
        }
    }

    /// `value` shaped as this type serializes it: nested objects in their schema's field order.
    func shaped(_ value: JSON) -> JSON {
        switch (self, value) {
        case (.nested(let schema), .object(let object)): return schema.serialize(object)
        case (.array(let element), .array(let items)): return .array(items.map(element.shaped))
        default: return value
        }
    }
}

public struct Field: Sendable, Equatable {
    public var name: String
    public var type: FieldType
    public var nullable: Bool
    /// Must be present in a create payload.
    public var required: Bool
    /// Not accepted in payloads (computed or assigned by the server).
    public var readOnly: Bool
    public var description: String
    public var maxLength: Int?

    public init(
        _ name: String, _ type: FieldType, nullable: Bool = false, required: Bool = false, readOnly: Bool = false,
        maxLength: Int? = nil, _ description: String = ""
    ) {
        self.name = name
        self.type = type
        self.nullable = nullable
        self.required = required
        self.readOnly = readOnly
        self.maxLength = maxLength
        self.description = description
    }
}

public struct ResourceSchema: Sendable, Equatable {
    public let name: String
    public let fields: [Field]
    /// Each field's `"name":` as `write` puts it before the value, its name, and whether its values
    /// hold nested objects: what `write` reads per field without copying the `Field` (a copy
    /// retains its strings and type, a dozen times per resource of a list).
    fileprivate let memberNames: [[UInt8]]
    private let names: [String]
    fileprivate let nested: [Bool]

    public init(_ name: String, _ fields: [Field]) {
        self.name = name
        self.fields = fields
        memberNames = fields.map { field in
            var bytes: [UInt8] = []
            JSON.appendString(field.name, to: &bytes)
            bytes.append(UInt8(ascii: ":"))
            return bytes
        }
        names = fields.map(\.name)
        nested = fields.map(\.type.holdsNested)
    }

    /// The fields in schema order; absent values become null; nested objects likewise.
    public func serialize(_ values: [String: JSON]) -> JSON {
        .object(JSONObject(uniqueKeys: fields.map(\.name), values: fields.map { Self.value(values[$0.name], $0) }))
    }

    /// The same from an insertion-ordered object: no hashing, which is most of the cost for a
    /// resource of a dozen fields serialized per record of a list.
    public func serialize(_ values: JSONObject) -> JSON {
        .object(JSONObject(uniqueKeys: fields.map(\.name), values: fields.map { Self.value(values[$0.name], $0) }))
    }

    fileprivate static func value(_ value: JSON?, _ field: Field) -> JSON {
        guard let value else { return .null }
        return field.type.holdsNested ? field.type.shaped(value) : value
    }

    /// A field's value for `write`: text already serialized by `JSON.serialize` (a stored
    /// record's member, copied as it is), or a value to serialize.
    public enum Written: Sendable {
        case text(ArraySlice<UInt8>)
        case value(JSON)
    }

    /// How a resource's fields are read from what it is written from (a record's stored text and
    /// those of the records it shows), declared once by field name: every name must be one of the
    /// schema's fields, checked when the writer is made.
    public func textWriter<Source>(_ readers: [String: @Sendable (Source) -> Written?]) -> TextWriter<Source> {
        let unknown = Set(readers.keys).subtracting(names)
        precondition(unknown.isEmpty, "\(name) has no field \(unknown.sorted())")
        return TextWriter(schema: self, readers: names.map { readers[$0] })
    }

    /// What `serialize(values).serialize(into:)` writes, without building the object: the fields
    /// in schema order, each asked of its reader (none, or nil: null). How a page of resources is
    /// written straight from the stored records (`JSONObjectText`): no tree and no lookup by name
    /// per resource.
    public struct TextWriter<Source>: Sendable {
        let schema: ResourceSchema
        let readers: [(@Sendable (Source) -> Written?)?]

        public func write(_ source: Source, into out: inout [UInt8]) {
            out.append(UInt8(ascii: "{"))
            for number in readers.indices {
                if number > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: schema.memberNames[number])
                switch readers[number]?(source) {
                case .none: out.append(contentsOf: "null".utf8)
                case .value(let value) where schema.nested[number]:
                    ResourceSchema.value(value, schema.fields[number]).serialize(into: &out)
                case .value(let value): value.serialize(into: &out)
                case .text(let text) where schema.nested[number]:
                    // Nested objects are written in their own schema's order: decoded and shaped.
                    let value = text.withUnsafeBufferPointer { try? JSON.parseTrusted($0) } ?? .null
                    ResourceSchema.value(value, schema.fields[number]).serialize(into: &out)
                case .text(let text): out.append(contentsOf: text)
                }
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    public enum Problem: Equatable, Sendable {
        case missing(String)
        case wrongType(String, expected: String)
        case notAllowed(String)
        case tooLong(String, limit: Int)
        case invalidValue(String)
        /// A whole number beyond `JSON.exactIntegers` for an integer field (`integerRange` says which).
        case outOfRange(String)

        public var field: String {
            switch self {
            case .missing(let f), .wrongType(let f, _), .notAllowed(let f), .tooLong(let f, _), .invalidValue(let f),
                .outOfRange(let f):
                return f
            }
        }

        /// The same problem of a field inside `parent` (`milestones[0].start_date`).
        func inside(_ parent: String) -> Problem {
            func name(_ field: String) -> String { field.hasPrefix("[") ? parent + field : "\(parent).\(field)" }
            switch self {
            case .missing(let f): return .missing(name(f))
            case .wrongType(let f, let expected): return .wrongType(name(f), expected: expected)
            case .notAllowed(let f): return .notAllowed(name(f))
            case .tooLong(let f, let limit): return .tooLong(name(f), limit: limit)
            case .invalidValue(let f): return .invalidValue(name(f))
            case .outOfRange(let f): return .outOfRange(name(f))
            }
        }

        /// "from -9007199254740991 to 9007199254740991", for each family's own wording of `outOfRange`.
        public static let integerRange = "from \(JSON.exactIntegers.lowerBound) to \(JSON.exactIntegers.upperBound)"
    }

    /// Checks a payload against the writable fields. `partial` (PATCH) skips the required check.
    public func validate(_ payload: JSONObject, partial: Bool) -> [Problem] {
        var problems: [Problem] = []
        let known = Dictionary(uniqueKeysWithValues: fields.map { ($0.name, $0) })
        for key in payload.keys where known[key] == nil || known[key]!.readOnly { problems.append(.notAllowed(key)) }
        for field in fields where !field.readOnly {
            guard let value = payload[field.name] else {
                if field.required && !partial { problems.append(.missing(field.name)) }
                continue
            }
            if value.isNull {
                if !field.nullable {
                    problems.append(
                        field.required ? .missing(field.name) : .wrongType(field.name, expected: field.type.name))
                }
                continue
            }
            if case .enumeration = field.type, case .string = value, !field.type.accepts(value) {
                problems.append(.invalidValue(field.name))
            } else if case .yearString = field.type, !field.type.accepts(value) {
                problems.append(.invalidValue(field.name))
            } else if field.type == .integer, value.integerReading == .outOfRange {
                problems.append(.outOfRange(field.name))
            } else if !field.type.accepts(value) {
                problems.append(.wrongType(field.name, expected: field.type.name))
            } else if let limit = field.maxLength, let text = value.stringValue, text.unicodeScalars.count > limit {
                // Code points, as JSON Schema counts `maxLength` (a grapheme can be several).
                problems.append(.tooLong(field.name, limit: limit))
            } else if field.type == .dateTime, let text = value.stringValue, Timestamp.parse(text) == nil {
                problems.append(.invalidValue(field.name))
            } else if let text = value.stringValue, !Formats.matches(field.type, text) {
                // The published schema says `format: email` / `uri` / `date`: the values kept must be ones.
                problems.append(.invalidValue(field.name))
            } else if field.type.holdsNested {
                problems += Self.nestedProblems(value, field.type).map { $0.inside(field.name) }
            }
        }
        return problems
    }

    /// The problems of the objects a nested value holds, named by their place (`[1].start_date`).
    private static func nestedProblems(_ value: JSON, _ type: FieldType) -> [Problem] {
        switch (type, value) {
        case (.nested(let schema), .object(let object)): return schema.validate(object, partial: false)
        case (.array(let element), .array(let items)):
            return items.enumerated().flatMap { index, item in
                nestedProblems(item, element).map { $0.inside("[\(index)]") }
            }
        default: return []
        }
    }

    /// A payload `validate` accepted, as it is to be stored: an integer field written `7.0` or `7e0`
    /// holds the integer 7 (kept as a double, it would be shown back as `7.0`).
    public func normalized(_ payload: JSONObject) -> JSONObject {
        var result = payload
        for field in fields where field.type == .integer {
            if case .double? = payload[field.name], let integer = payload[field.name]?.exactInteger {
                result[field.name] = .int(integer)
            }
        }
        return result
    }

    /// The payload of a partial update (PATCH): the writable fields, none of them required.
    public func openAPIChanges() -> JSON {
        var schema = openAPI(writableOnly: true)
        schema["required"] = []
        return schema
    }

    /// `{"$ref": "#/components/schemas/<name>"}`: where a family registers `openAPI()` under `name`.
    public var ref: JSON { ["$ref": .string("#/components/schemas/\(name)")] }

    /// The OpenAPI 3.1 schema object. `writableOnly`: the payload the validator accepts (no read-only
    /// fields, no unknown ones). `overriding` replaces a field's schema (e.g. a `$ref` for an embedded
    /// resource); `omitting` leaves fields out (write-only fields a response does not show).
    public func openAPI(
        writableOnly: Bool = false, overriding: [String: JSON] = [:], omitting: Set<String> = []
    ) -> JSON {
        var properties = JSONObject()
        var required: [JSON] = []
        for field in fields where !(writableOnly && field.readOnly) && !omitting.contains(field.name) {
            var schema = field.type.openAPI(writableOnly: writableOnly)
            if field.nullable, case .object(var object) = schema, let type = object["type"] {
                object["type"] = [type, "null"]
                if case .array(let values)? = object["enum"] { object["enum"] = .array(values + [.null]) }
                schema = .object(object)
            }
            if let replacement = overriding[field.name] {
                schema = field.nullable ? ["oneOf": [replacement, ["type": "null"]]] : replacement
            }
            if !field.description.isEmpty { schema["description"] = .string(field.description) }
            if let limit = field.maxLength { schema["maxLength"] = .int(limit) }
            if field.readOnly && !writableOnly { schema["readOnly"] = true }
            properties[field.name] = schema
            if writableOnly ? field.required : true { required.append(.string(field.name)) }
        }
        var object: JSONObject = ["type": "object", "properties": .object(properties), "required": .array(required)]
        if writableOnly { object["additionalProperties"] = false }
        return .object(object)
    }
}

/// The `email` and `uri` formats, checked conservatively: what passes is a valid value under the
/// JSON Schema format (a dot-atom address; an http(s) URL with a plain host), so a client reading
/// the OpenAPI document can trust stored values.
enum Formats {
    static func matches(_ type: FieldType, _ text: String) -> Bool {
        switch type {
        case .email: return isEmail(text)
        case .url: return isHTTPURL(text)
        case .date: return isDate(text)
        default: return true
        }
    }

    /// `YYYY-MM-DD`, a day that exists.
    static func isDate(_ text: String) -> Bool { text.utf8.count == 10 && Timestamp.parse(text) != nil }

    static let atomCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-")
    static let labelCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")

    static func isEmail(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, isDotted(parts[0], allowed: atomCharacters) else { return false }
        return isHostname(parts[1])
    }

    static func isHostname(_ text: Substring) -> Bool {
        isDotted(text, allowed: labelCharacters)
            && text.split(separator: ".").allSatisfy { $0.first != "-" && $0.last != "-" && $0.count <= 63 }
    }

    /// Non-empty words of `allowed` characters joined by single dots.
    static func isDotted(_ text: Substring, allowed: Set<Character>) -> Bool {
        let words = text.split(separator: ".", omittingEmptySubsequences: false)
        return words.allSatisfy { !$0.isEmpty && $0.allSatisfy(allowed.contains) }
    }

    /// RFC 3986 characters allowed in a path, query or fragment (besides %HH escapes).
    static let pathCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/?")

    static func isHTTPURL(_ text: String) -> Bool {
        let lower = text.lowercased()
        guard let prefix = ["http://", "https://"].first(where: lower.hasPrefix) else { return false }
        let rest = text.dropFirst(prefix.count)
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let hostAndPort = authority.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard isHostname(hostAndPort[0]) else { return false }
        if hostAndPort.count == 2
            && !(hostAndPort[1].count <= 5 && hostAndPort[1].allSatisfy(\.isASCII)
                && hostAndPort[1].allSatisfy(\.isNumber))
        {
            return false
        }
        let tail = rest[authorityEnd...]
        let pieces = tail.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
        return pieces.allSatisfy(isEscapedPath)
    }

    static func isEscapedPath(_ text: Substring) -> Bool {
        var characters = text.makeIterator()
        while let c = characters.next() {
            if c == "%" {
                guard let a = characters.next(), let b = characters.next(), a.isHexDigit, b.isHexDigit else {
                    return false
                }
            } else if !pathCharacters.contains(c) {
                return false
            }
        }
        return true
    }
}
