/// A parsed query string. Keeps every pair in order (a repeated key is legal), and understands
/// the bracket convention of JSON:API style APIs: `filter[cohort]=2025`, `page[per_page]=50`.
public struct QueryParameters: Sendable {
    public private(set) var pairs: [(name: String, value: String)] = []
    /// As it came (`QUERY_STRING`): part of a kept answer's key.
    public let raw: String

    public init(_ rawQuery: String) {
        raw = rawQuery
        guard !rawQuery.isEmpty else { return }
        for part in rawQuery.split(separator: "&", omittingEmptySubsequences: true) {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.decode(pieces[0])
            let value = pieces.count > 1 ? Self.decode(pieces[1]) : ""
            guard !name.isEmpty else { continue }
            pairs.append((name, value))
        }
    }

    /// The first value of `name` (exact key, e.g. `"filter[cohort]"`).
    public subscript(name: String) -> String? {
        pairs.first(where: { $0.name == name })?.value
    }

    public func values(_ name: String) -> [String] {
        pairs.filter { $0.name == name }.map(\.value)
    }

    public func contains(_ name: String) -> Bool { pairs.contains { $0.name == name } }

    /// Members of a bracketed group: `nested("filter")` of `filter[cohort]=1&filter[urn]=2`
    /// is `["cohort": "1", "urn": "2"]`. The first occurrence of a member wins.
    public func nested(_ group: String) -> [String: String] {
        var result: [String: String] = [:]
        let prefix = group + "["
        for (name, value) in pairs where name.hasPrefix(prefix) && name.hasSuffix("]") {
            let member = String(name.dropFirst(prefix.count).dropLast())
            if result[member] == nil { result[member] = value }
        }
        return result
    }

    /// Percent-decoding with `+` as space (HTML form convention, which clients use in queries).
    /// Invalid escapes are kept literally; invalid UTF-8 is replaced rather than crashing.
    static func decode(_ text: Substring) -> String {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) else {
            return String(text)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = Array(text.utf8)[...]
        while let byte = iterator.popFirst() {
            switch byte {
            case UInt8(ascii: "+"): bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                if iterator.count >= 2, let high = hexValue(iterator[iterator.startIndex]),
                    let low = hexValue(iterator[iterator.startIndex + 1])
                {
                    bytes.append(high << 4 | low)
                    iterator = iterator.dropFirst(2)
                } else {
                    bytes.append(byte)
                }
            default: bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
