import JSON

#if canImport(Glibc)
    import Glibc
#endif

/// One self-checking JSON line: `{...payload members...,"crc":"1a2b3c4d"}\n`. The CRC covers every
/// byte before `,"crc"`, so a line stays valid JSON and is verified without re-serializing.
enum LineCodec {
    /// The next line end at or after `offset`, by memchr: a generic `firstIndex(of:)` on a slice
    /// walks byte by byte, and a switch after a compaction skips megabytes of carried entries.
    static func newline(in buffer: UnsafeRawBufferPointer, from offset: Int) -> Int? {
        guard offset < buffer.count, let base = buffer.baseAddress,
            let found = memchr(base + offset, 0x0A, buffer.count - offset)
        else { return nil }
        return base.distance(to: UnsafeRawPointer(found))
    }

    static let crcMarker: [UInt8] = Array(#","crc":""#.utf8)

    static func encode(_ payload: JSONObject) -> [UInt8] {
        var line = JSON.object(payload).serialized()
        line.removeLast()  // the closing brace
        let crc = CRC32.checksum(line)
        line.append(contentsOf: crcMarker)
        line.append(contentsOf: hex(crc).utf8)
        line.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: "}"), UInt8(ascii: "\n")])
        return line
    }

    enum DecodeError: Error, CustomStringConvertible {
        case checksum, syntax
        var description: String { self == .checksum ? "checksum mismatch" : "not a store line" }
    }

    /// `line` excludes the newline.
    static func decode(_ line: UnsafeBufferPointer<UInt8>) -> Result<JSONObject, DecodeError> {
        Result { () throws(DecodeError) -> JSONObject in try decodeOrThrow(line) }
    }

    private static func decodeOrThrow(_ line: UnsafeBufferPointer<UInt8>) throws(DecodeError) -> JSONObject {
        _ = try payloadEnd(UnsafeRawBufferPointer(line)).get()
        // CRC-checked bytes this store serialized: members are distinct. Parsed in place, the
        // `crc` member included (no copy of the line per entry; readers ignore the member).
        guard case .object(let object)? = try? JSON.parseTrusted(line) else { throw .syntax }
        return object
    }

    static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}

extension LineCodec {
    /// Length of `,"crc":"xxxxxxxx"}` at the end of every line (before its newline).
    static let trailerLength = crcMarker.count + 8 + 2

    /// Whether a line (without its newline) carries the CRC of its bytes: checked on every read of
    /// a record from a mapped data file, so damage on disk is never served as data.
    static func verify(_ line: UnsafeRawBufferPointer) -> Bool {
        if case .success = payloadEnd(line) { return true }
        return false
    }

    /// Where the payload ends (the `,` of `,"crc":"xxxxxxxx"}`) when the line carries the CRC of
    /// the bytes before it, in the lower-case hex this store writes; the one parser of the trailer.
    static func payloadEnd(_ line: UnsafeRawBufferPointer) -> Result<Int, DecodeError> {
        guard line.count > trailerLength, line[line.count - 1] == UInt8(ascii: "}"),
            line[line.count - 2] == UInt8(ascii: "\"")
        else {
            return .failure(.syntax)
        }
        let markerStart = line.count - trailerLength
        for i in 0..<crcMarker.count where line[markerStart + i] != crcMarker[i] { return .failure(.syntax) }
        var expected: UInt32 = 0
        for i in (markerStart + crcMarker.count)..<(line.count - 2) {
            let c = line[i]
            let digit: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
            default: return .failure(.syntax)
            }
            expected = expected << 4 | UInt32(digit)
        }
        guard CRC32.checksum(UnsafeRawBufferPointer(rebasing: line[0..<markerStart])) == expected else {
            return .failure(.checksum)
        }
        return .success(markerStart)
    }

    /// One record line of a data file, built from a value's serialized bytes without parsing them:
    /// `{"c":"<collection>","id":"<id>","v":<value>,"crc":"…"}\n`. Returns where the value starts.
    static func recordLine(
        collection: String, id: String, value: UnsafeRawBufferPointer, into out: inout [UInt8]
    ) -> (start: Int, valueStart: Int, length: Int) {
        let start = out.count
        out.append(contentsOf: #"{"c":"#.utf8)
        JSON.appendString(collection, to: &out)
        out.append(contentsOf: #","id":"#.utf8)
        JSON.appendString(id, to: &out)
        out.append(contentsOf: #","v":"#.utf8)
        let valueStart = out.count - start
        out.append(contentsOf: value)
        let crc = out[start...].withUnsafeBytes { CRC32.checksum($0) }
        out.append(contentsOf: crcMarker)
        out.append(contentsOf: hex(crc).utf8)
        out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: "}")])
        let length = out.count - start
        out.append(UInt8(ascii: "\n"))
        return (start, valueStart, length)
    }
}

extension LineCodec {
    /// Where each operation's `"v"` value lies in a journal line (`{"seq":…,"ops":[{…,"v":…},…],…}`)
    /// already checked and parsed: the bytes a replay keeps for a put instead of serializing the
    /// parsed value again. One entry per element of `ops` (nil for one without `v`); nil for a
    /// line of another shape, whose values are then serialized.
    static func operationValueRanges(_ line: UnsafeBufferPointer<UInt8>) -> [Range<Int>?]? {
        var scanner = JSONSkipper(bytes: line)
        var ranges: [Range<Int>?]? = nil
        let walked = scanner.members { name, scanner in
            guard name == "ops" else { return scanner.skipValue() }
            var found: [Range<Int>?] = []
            let walkedOps = scanner.elements { scanner in
                var value: Range<Int>? = nil
                let walkedOp = scanner.members { name, scanner in
                    let start = scanner.position
                    guard scanner.skipValue() else { return false }
                    if name == "v" { value = start..<scanner.position }
                    return true
                }
                found.append(value)
                return walkedOp
            }
            ranges = found
            return walkedOps
        }
        return walked ? ranges : nil
    }
}

/// Steps over JSON values without building them (input already parsed once: valid JSON, no
/// whitespace as this store writes it, though whitespace is skipped too).
private struct JSONSkipper {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0

    mutating func skipSpace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    mutating func expect(_ byte: UInt8) -> Bool {
        skipSpace()
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    /// A string's raw bytes (escapes left as they are), after its closing quote.
    mutating func string() -> UnsafeBufferPointer<UInt8>? {
        guard expect(UInt8(ascii: "\"")) else { return nil }
        let start = position
        while position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: "\\"): position += 2
            case UInt8(ascii: "\""):
                position += 1
                return UnsafeBufferPointer(rebasing: bytes[start..<(position - 1)])
            default: position += 1
            }
        }
        return nil
    }

    mutating func skipValue() -> Bool {
        skipSpace()
        guard position < bytes.count else { return false }
        switch bytes[position] {
        case UInt8(ascii: "\""): return string() != nil
        case UInt8(ascii: "{"): return members { _, scanner in scanner.skipValue() }
        case UInt8(ascii: "["): return elements { $0.skipValue() }
        default:
            // A number or a literal: up to the next delimiter.
            let start = position
            scan: while position < bytes.count {
                switch bytes[position] {
                case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x0A, 0x0D, 0x09: break scan
                default: position += 1
                }
            }
            return position > start
        }
    }

    /// An object: `body` gets each member's name and must step over its value.
    mutating func members(_ body: (String, inout JSONSkipper) -> Bool) -> Bool {
        guard expect(UInt8(ascii: "{")) else { return false }
        if expect(UInt8(ascii: "}")) { return true }
        repeat {
            guard let name = string(), expect(UInt8(ascii: ":")) else { return false }
            guard body(String(decoding: name, as: UTF8.self), &self) else { return false }
        } while expect(UInt8(ascii: ","))
        return expect(UInt8(ascii: "}"))
    }

    /// An array: `body` must step over each element.
    mutating func elements(_ body: (inout JSONSkipper) -> Bool) -> Bool {
        guard expect(UInt8(ascii: "[")) else { return false }
        if expect(UInt8(ascii: "]")) { return true }
        repeat {
            guard body(&self) else { return false }
        } while expect(UInt8(ascii: ","))
        return expect(UInt8(ascii: "]"))
    }
}
