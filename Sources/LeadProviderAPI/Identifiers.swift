import APICore
import HTTP
import JSON

/// Ids as the real service compares them. Its ids are PostgreSQL `uuid` columns, and Rails casts
/// what a client sends before comparing (`ActiveRecord::ConnectionAdapters::PostgreSQL::OID::Uuid`):
/// 32 hex digits in either case, in groups of four with optional hyphens, optionally in braces,
/// become the canonical lower-case `8-4-4-4-12` form. Stored ids are canonical, so an upper-case
/// id in a path, a filter or a body finds the same record, and answers show the stored id.
enum LeadProviderID {
    /// The canonical form of a uuid as Rails accepts it; anything else unchanged (it matches no
    /// uuid, as in the real service, yet finds an imported record whose id is not a uuid).
    static func canonical(_ text: String) -> String {
        var bytes = Array(text.utf8)
        if bytes.first == UInt8(ascii: "{") {
            guard bytes.last == UInt8(ascii: "}"), bytes.count >= 2 else { return text }
            bytes = Array(bytes.dropFirst().dropLast())
        }
        var digits: [UInt8] = []
        digits.reserveCapacity(32)
        var index = 0
        // `([a-fA-F0-9]{4}-?){8}`: eight groups of four hex digits, each optionally followed by a hyphen.
        for _ in 0..<8 {
            for _ in 0..<4 {
                guard index < bytes.count, let digit = lowerHex(bytes[index]) else { return text }
                digits.append(digit)
                index += 1
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        }
        guard index == bytes.count else { return text }
        var canonical = [UInt8]()
        canonical.reserveCapacity(36)
        for (position, digit) in digits.enumerated() {
            if [8, 12, 16, 20].contains(position) { canonical.append(UInt8(ascii: "-")) }
            canonical.append(digit)
        }
        return String(decoding: canonical, as: UTF8.self)
    }

    private static func lowerHex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"): return byte
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte + 32
        default: return nil
        }
    }

    /// A comma-separated list of ids (`filter[delivery_partner_id]`), each canonical.
    static func canonicalList(_ text: String) -> Set<String> {
        Set(text.split(separator: ",").map { canonical(String($0.trimming(" "))) })
    }
}

extension ResourceSchema {
    /// `object` with the string values of this schema's uuid fields in canonical form.
    func canonicalizingIDs(_ object: JSONObject) -> JSONObject {
        var result = object
        for field in fields where field.type == .uuid {
            if case .string(let text)? = object[field.name] {
                result[field.name] = .string(LeadProviderID.canonical(text))
            }
        }
        return result
    }
}

extension Authenticated<LeadProviderPrincipal> {
    /// The path's `{id}`, canonical (`LeadProviderID`).
    var pathID: String { LeadProviderID.canonical(request.pathParameter("id")) }
}

/// A value compared with an integer column (a cohort's year, a school's URN), as Rails casts it
/// (`ActiveModel::Type::Integer`): text that starts with an optionally signed number (after
/// spaces) is that number, whatever follows (`"2025,2026"` is 2025, `"100001,invalid"` 100001);
/// other text matches no row.
enum RailsInteger {
    static func read(_ text: String) -> Int? {
        var rest = Substring(text).drop(while: \.isWhitespace)
        var negative = false
        if let sign = rest.first, sign == "+" || sign == "-" {
            negative = sign == "-"
            rest = rest.dropFirst()
        }
        let digits = rest.prefix(while: \.isASCIIDigit)
        guard !digits.isEmpty, let value = Int(digits) else { return nil }
        return negative ? -value : value
    }
}

private extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
