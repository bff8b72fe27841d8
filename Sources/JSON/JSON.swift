/// A JSON value. Objects keep their keys in insertion order so that what we serialize is stable
/// (response attribute order is part of the Lead Provider contract) and round-trips byte-for-byte.
///
/// Integers and doubles are kept apart: ids and counts must print as `3`, never `3.0`.
public enum JSON: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSON])
    case object(JSONObject)
}

/// An insertion-ordered JSON object. Records here have tens of keys, so a linear scan over a
/// contiguous key array beats hashing; an index is built only for large objects.
public struct JSONObject: Equatable, Sendable, Sequence, ExpressibleByDictionaryLiteral {
    public private(set) var keys: [String] = []
    public private(set) var values: [JSON] = []
    private var index: [String: Int]? = nil
    private static let indexThreshold = 24

    public init() {}

    public init(dictionaryLiteral elements: (String, JSON)...) {
        keys.reserveCapacity(elements.count)
        values.reserveCapacity(elements.count)
        for (key, value) in elements { self[key] = value }
    }

    public init(_ pairs: [(String, JSON)]) {
        keys.reserveCapacity(pairs.count)
        values.reserveCapacity(pairs.count)
        for (key, value) in pairs { self[key] = value }
    }

    /// Keys the caller knows to be distinct (a schema's field names): no duplicate checks.
    public init(uniqueKeys keys: [String], values: [JSON]) {
        precondition(keys.count == values.count, "one value per key")
        assert(Set(keys).count == keys.count, "duplicate keys in \(keys)")  // debug builds (the tests) check
        self.keys = keys
        self.values = values
        rebuildIndex()
    }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }

    /// Lengths first: a String `==` between different keys takes the slow comparison path (~100
    /// instructions), and building a 10-key literal compares every pair.
    @inline(__always)
    private func position(of key: String) -> Int? {
        if let index { return index[key] }
        let length = key.utf8.count
        return keys.firstIndex { $0.utf8.count == length && $0 == key }
    }

    public subscript(key: String) -> JSON? {
        get { position(of: key).map { values[$0] } }
        set {
            if let i = position(of: key) {
                if let newValue {
                    values[i] = newValue
                } else {
                    keys.remove(at: i)
                    values.remove(at: i)
                    rebuildIndex()
                }
            } else if let newValue {
                keys.append(key)
                values.append(newValue)
                if index != nil {
                    index![key] = keys.count - 1
                } else if keys.count > Self.indexThreshold {
                    rebuildIndex()
                }
            }
        }
    }

    private mutating func rebuildIndex() {
        guard keys.count > Self.indexThreshold else {
            index = nil
            return
        }
        var built = [String: Int](minimumCapacity: keys.count)
        for (i, key) in keys.enumerated() { built[key] = i }
        index = built
    }

    public func makeIterator() -> AnyIterator<(key: String, value: JSON)> {
        var i = 0
        return AnyIterator {
            guard i < keys.count else { return nil }
            defer { i += 1 }
            return (keys[i], values[i])
        }
    }

    /// Order-insensitive equality: two objects with the same members are the same value.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.keys.count == rhs.keys.count else { return false }
        for (i, key) in lhs.keys.enumerated() where rhs[key] != lhs.values[i] { return false }
        return true
    }
}

extension JSON {
    public subscript(key: String) -> JSON? {
        get { if case .object(let object) = self { return object[key] } else { return nil } }
        set {
            guard case .object(var object) = self else { return }
            object[key] = newValue
            self = .object(object)
        }
    }

    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d.rounded() == d && abs(d) < 9.0e15: return Int(d)
        default: return nil
        }
    }

    /// The integers an API field takes: I-JSON's range (RFC 7493), +/-(2^53 - 1). A double holds
    /// each of them exactly and JavaScript clients read them back unchanged; beyond it they do not,
    /// and this parser itself keeps a literal past Int64 only as a (rounded) double.
    public static let exactIntegers: ClosedRange<Int> = -9_007_199_254_740_991...9_007_199_254_740_991

    /// How a value reads as the value of an integer field.
    public enum IntegerReading: Equatable, Sendable {
        /// An integer of `exactIntegers`, however it was written: `7`, `7.0` and `7e0` are 7.
        case exact(Int)
        /// A whole number beyond `exactIntegers`: `1e20`, `1e300`, `9223372036854775808`.
        case outOfRange
        /// Not a whole number: `1.5`, `"7"`, `true`.
        case notAnInteger
    }

    public var integerReading: IntegerReading {
        switch self {
        case .int(let i):
            return JSON.exactIntegers.contains(i) ? .exact(i) : .outOfRange
        case .double(let d) where d.rounded(.towardZero) == d:
            return abs(d) <= Double(JSON.exactIntegers.upperBound) ? .exact(Int(d)) : .outOfRange
        default:
            return .notAnInteger
        }
    }

    /// The integer of an `.exact` reading; nil for anything else.
    public var exactInteger: Int? { if case .exact(let integer) = integerReading { integer } else { nil } }

    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }
    public var arrayValue: [JSON]? { if case .array(let a) = self { return a } else { return nil } }
    public var objectValue: JSONObject? { if case .object(let o) = self { return o } else { return nil } }
    public var isNull: Bool { if case .null = self { return true } else { return false } }

    /// The JSON type name used in validation messages.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .int: return "integer"
        case .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }
    public init(dictionaryLiteral elements: (String, JSON)...) { self = .object(JSONObject(elements)) }
}

extension JSON {
    /// `nil` becomes `.null`: convenient for optional record fields.
    public init(_ string: String?) { self = string.map(JSON.string) ?? .null }
    public init(_ int: Int?) { self = int.map(JSON.int) ?? .null }
    public init(_ bool: Bool?) { self = bool.map(JSON.bool) ?? .null }
}
