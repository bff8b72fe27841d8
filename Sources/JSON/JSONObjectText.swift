/// A JSON object read from its text without building a tree: where each member's value lies.
///
/// Meant for text this program serialized itself (a store record): a value's bytes are then
/// exactly what `JSON.serialize` writes for that value, so a response can copy them as they are
/// instead of decoding the record into a tree and serializing it again (a list page of 100
/// partnerships decoded 200 records, each a dozen allocations). Any other text is still read
/// safely: what is not one well-formed object has no members.
public struct JSONObjectText: Sendable {
    public let bytes: [UInt8]
    /// Per member, four offsets into `bytes`: its name's first byte and the byte after it (inside
    /// the quotes), its value's first byte and the byte after it.
    private let spans: [Int32]

    /// The members of `bytes`; none when it is not one well-formed object (every member then
    /// reads as missing).
    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        spans =
            bytes.withUnsafeBufferPointer { buffer in
                var scanner = ObjectScanner(bytes: buffer)
                return scanner.members()
            } ?? []
    }

    /// The text of an object value (anything else has no members).
    public init(_ value: JSON) { self.init(value.serialized()) }

    /// The serialized value of member `name` (a name without escapes, as every field name here is);
    /// nil when there is no such member.
    public func text(_ name: String) -> ArraySlice<UInt8>? {
        guard let member = position(of: name) else { return nil }
        return bytes[Int(spans[member + 2])..<Int(spans[member + 3])]
    }

    /// Member `name` when it is a string, decoded.
    public func string(_ name: String) -> String? {
        guard let text = text(name), text.first == UInt8(ascii: "\""), text.count >= 2 else { return nil }
        let inner = text.dropFirst().dropLast()
        if !inner.contains(UInt8(ascii: "\\")) { return String(decoding: inner, as: UTF8.self) }
        return value(name)?.stringValue
    }

    /// Member `name` decoded into a tree.
    public func value(_ name: String) -> JSON? {
        guard let text = text(name) else { return nil }
        return text.withUnsafeBufferPointer { try? JSON.parseTrusted($0) }
    }

    private func position(of name: String) -> Int? {
        var name = name
        return name.withUTF8 { wanted -> Int? in
            bytes.withUnsafeBufferPointer { bytes -> Int? in
                var member = 0
                while member < spans.count {
                    let start = Int(spans[member]), end = Int(spans[member + 1])
                    if end - start == wanted.count {
                        var same = true
                        for i in 0..<wanted.count where bytes[start + i] != wanted[i] {
                            same = false
                            break
                        }
                        if same { return member }
                    }
                    member += 4
                }
                return nil
            }
        }
    }
}

/// Finds the top-level members of one object. Bounds-checked at every step: text that is not a
/// well-formed object ends the scan with nil, never a read past the end.
private struct ObjectScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    mutating func members() -> [Int32]? {
        guard bytes.count < Int(Int32.max) else { return nil }
        skipWhitespace()
        guard next(is: UInt8(ascii: "{")) else { return nil }
        var spans: [Int32] = []
        spans.reserveCapacity(64)
        skipWhitespace()
        if next(is: UInt8(ascii: "}")) { return trailingWhitespaceOnly() ? spans : nil }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { return nil }
            let nameStart = position + 1
            guard skipString() else { return nil }
            let nameEnd = position - 1
            skipWhitespace()
            guard next(is: UInt8(ascii: ":")) else { return nil }
            skipWhitespace()
            let valueStart = position
            guard skipValue() else { return nil }
            spans.append(Int32(nameStart))
            spans.append(Int32(nameEnd))
            spans.append(Int32(valueStart))
            spans.append(Int32(position))
            skipWhitespace()
            if next(is: UInt8(ascii: ",")) { continue }
            guard next(is: UInt8(ascii: "}")) else { return nil }
            return trailingWhitespaceOnly() ? spans : nil
        }
    }

    private mutating func trailingWhitespaceOnly() -> Bool {
        skipWhitespace()
        return position == bytes.count
    }

    private mutating func next(is byte: UInt8) -> Bool {
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    /// At a `"`: past the closing quote.
    private mutating func skipString() -> Bool {
        position += 1
        while position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: "\""):
                position += 1
                return true
            case UInt8(ascii: "\\"): position += 2
            default: position += 1
            }
        }
        return false
    }

    /// Past one value: a string, a nested object or array (strings inside skipped whole, so their
    /// brackets do not count), or a number or literal up to the next delimiter.
    private mutating func skipValue() -> Bool {
        guard position < bytes.count else { return false }
        switch bytes[position] {
        case UInt8(ascii: "\""): return skipString()
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            while position < bytes.count {
                switch bytes[position] {
                case UInt8(ascii: "\""):
                    guard skipString() else { return false }
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 {
                        position += 1
                        return true
                    }
                default: break
                }
                position += 1
            }
            return false
        default:
            let start = position
            while position < bytes.count {
                switch bytes[position] {
                case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x0A, 0x0D, 0x09:
                    return position > start
                default: position += 1
                }
            }
            return false
        }
    }
}
