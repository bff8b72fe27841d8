/// Why a document was refused, with the byte offset where parsing stopped.
public struct JSONError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public var offset: Int
    public var description: String { "\(message) at byte \(offset)" }
}

extension JSON {
    /// Nesting deeper than this is refused: a hostile body must not overflow a worker's stack.
    public static let maximumDepth = 64

    public static func parse(_ bytes: [UInt8]) throws(JSONError) -> JSON {
        try bytes.withUnsafeBufferPointer { (buffer) throws(JSONError) -> JSON in try parse(buffer) }
    }

    public static func parse(_ text: String) throws(JSONError) -> JSON {
        try parse(Array(text.utf8))
    }

    /// For bytes this program serialized itself and checked since (the store's CRC-checked
    /// lines): object members are known to be distinct, so they are appended without looking for
    /// an earlier member of the same name.
    public static func parseTrusted(_ buffer: UnsafeBufferPointer<UInt8>) throws(JSONError) -> JSON {
        var parser = Parser(bytes: buffer)
        parser.distinctMembers = true
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.position == buffer.count else { throw parser.error("Unexpected data after the JSON value") }
        return value
    }

    public static func parse(_ buffer: UnsafeBufferPointer<UInt8>) throws(JSONError) -> JSON {
        var parser = Parser(bytes: buffer)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.position == buffer.count else { throw parser.error("Unexpected data after the JSON value") }
        return value
    }
}

private struct Parser {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0
    var distinctMembers = false

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func error(_ message: String) -> JSONError { JSONError(message: message, offset: position) }

    @inline(__always) mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    mutating func parseValue(depth: Int) throws(JSONError) -> JSON {
        guard position < bytes.count else { throw error("Unexpected end of input") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("Unexpected character")
        }
    }

    mutating func expectLiteral(_ literal: StaticString) throws(JSONError) {
        let count = literal.utf8CodeUnitCount
        guard position + count <= bytes.count else { throw error("Invalid literal") }
        let start = literal.utf8Start
        for i in 0..<count where bytes[position + i] != start[i] { throw error("Invalid literal") }
        position += count
    }

    mutating func parseObject(depth: Int) throws(JSONError) -> JSON {
        guard depth <= JSON.maximumDepth else { throw error("Nesting too deep") }
        position += 1
        if distinctMembers { return try parseDistinctMembers(depth: depth) }
        var object = JSONObject()
        if try closesAtOnce(UInt8(ascii: "}")) { return .object(object) }
        repeat {
            let key = try parseMemberName()
            // A repeated member keeps its last value, as most parsers do.
            object[key] = try parseValue(depth: depth)
        } while try anotherFollows(before: UInt8(ascii: "}"))
        return .object(object)
    }

    /// `parseObject` for trusted input: members appended in order, one index built at the end.
    mutating func parseDistinctMembers(depth: Int) throws(JSONError) -> JSON {
        var keys: [String] = [], values: [JSON] = []
        if try closesAtOnce(UInt8(ascii: "}")) { return .object(JSONObject()) }
        repeat {
            keys.append(try parseMemberName())
            values.append(try parseValue(depth: depth))
        } while try anotherFollows(before: UInt8(ascii: "}"))
        return .object(JSONObject(uniqueKeys: keys, values: values))
    }

    mutating func parseArray(depth: Int) throws(JSONError) -> JSON {
        guard depth <= JSON.maximumDepth else { throw error("Nesting too deep") }
        position += 1
        var array: [JSON] = []
        if try closesAtOnce(UInt8(ascii: "]")) { return .array(array) }
        repeat {
            skipWhitespace()
            array.append(try parseValue(depth: depth))
        } while try anotherFollows(before: UInt8(ascii: "]"))
        return .array(array)
    }

    /// Just after `{` or `[`: true (and consumed) when `close` comes first, an empty container.
    @inline(__always) mutating func closesAtOnce(_ close: UInt8) throws(JSONError) -> Bool {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == close else { return false }
        position += 1
        return true
    }

    /// `"name":` and the whitespace around it, up to the member's value.
    @inline(__always) mutating func parseMemberName() throws(JSONError) -> String {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
            throw error("Expected a member name")
        }
        let key = try parseString()
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw error("Expected ':'") }
        position += 1
        skipWhitespace()
        return key
    }

    /// After a member or an element: true at `,` (another follows), false at `close` (the end).
    @inline(__always) mutating func anotherFollows(before close: UInt8) throws(JSONError) -> Bool {
        skipWhitespace()
        guard position < bytes.count else { throw error("Unexpected end of input") }
        let byte = bytes[position]
        position += 1
        if byte == UInt8(ascii: ",") { return true }
        if byte == close { return false }
        position -= 1
        throw error("Expected ',' or '\(Character(Unicode.Scalar(close)))'")
    }

    mutating func parseString() throws(JSONError) -> String {
        position += 1  // opening quote
        let start = position
        var asciiOnly = true
        // Fast path: no escapes. Most keys and values are plain.
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<position])
                position += 1
                if asciiOnly { return String(decoding: slice, as: UTF8.self) }
                guard let string = String(validating: slice, as: UTF8.self) else {
                    throw JSONError(message: "Invalid UTF-8 in string", offset: start)
                }
                return string
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw error("Control character in string") }
            if byte >= 0x80 { asciiOnly = false }
            position += 1
        }
        guard position < bytes.count else { throw error("Unterminated string") }
        // Slow path: decode escapes into a byte buffer, then validate once.
        var decoded = [UInt8](UnsafeBufferPointer(rebasing: bytes[start..<position]))
        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                guard let string = String(validating: decoded, as: UTF8.self) else {
                    throw JSONError(message: "Invalid UTF-8 in string", offset: start)
                }
                return string
            case UInt8(ascii: "\\"):
                position += 1
                guard position < bytes.count else { throw error("Unterminated string") }
                let escape = bytes[position]
                position += 1
                switch escape {
                case UInt8(ascii: "\""): decoded.append(0x22)
                case UInt8(ascii: "\\"): decoded.append(0x5C)
                case UInt8(ascii: "/"): decoded.append(0x2F)
                case UInt8(ascii: "b"): decoded.append(0x08)
                case UInt8(ascii: "f"): decoded.append(0x0C)
                case UInt8(ascii: "n"): decoded.append(0x0A)
                case UInt8(ascii: "r"): decoded.append(0x0D)
                case UInt8(ascii: "t"): decoded.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try parseHex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                            bytes[position + 1] == UInt8(ascii: "u")
                        else { throw error("Unpaired surrogate") }
                        position += 2
                        let low = try parseHex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw error("Unpaired surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw error("Unpaired surrogate")
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw error("Invalid escape") }
                    decoded.append(contentsOf: String(Character(unicode)).utf8)
                default:
                    throw error("Invalid escape")
                }
            default:
                if byte < 0x20 { throw error("Control character in string") }
                decoded.append(byte)
                position += 1
            }
        }
        throw error("Unterminated string")
    }

    mutating func parseHex4() throws(JSONError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw error("Invalid \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("Invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    mutating func parseNumber() throws(JSONError) -> JSON {
        let start = position
        var negative = false
        if bytes[position] == UInt8(ascii: "-") {
            negative = true
            position += 1
        }
        guard position < bytes.count, isDigit(bytes[position]) else { throw error("Invalid number") }
        if bytes[position] == UInt8(ascii: "0"), position + 1 < bytes.count, isDigit(bytes[position + 1]) {
            throw error("Leading zero in number")
        }
        var integer = 0
        var overflow = false
        while position < bytes.count, isDigit(bytes[position]) {
            let digit = Int(bytes[position] - UInt8(ascii: "0"))
            if !overflow {
                let (m, o1) = integer.multipliedReportingOverflow(by: 10)
                let (a, o2) = negative ? m.subtractingReportingOverflow(digit) : m.addingReportingOverflow(digit)
                if o1 || o2 { overflow = true } else { integer = a }
            }
            position += 1
        }
        var isInteger = !overflow
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard position < bytes.count, isDigit(bytes[position]) else { throw error("Invalid number") }
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            isInteger = false
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            guard position < bytes.count, isDigit(bytes[position]) else { throw error("Invalid number") }
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        }
        if isInteger { return .int(integer) }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        guard let double = Double(text), double.isFinite else {
            throw JSONError(message: "Number out of range", offset: start)
        }
        return .double(double)
    }

    @inline(__always) func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
}
