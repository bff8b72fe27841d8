import JSON

/// One self-checking JSON line: `{...payload members...,"crc":"1a2b3c4d"}\n`. The CRC covers every
/// byte before `,"crc"`, so a line stays valid JSON and is verified without re-serializing.
enum LineCodec {
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
        // ...,"crc":"xxxxxxxx"}  : marker (8) + 8 hex + "}  (2)
        let tail = crcMarker.count + 8 + 2
        guard line.count > tail, line[line.count - 1] == UInt8(ascii: "}"), line[line.count - 2] == UInt8(ascii: "\"") else {
            throw .syntax
        }
        let markerStart = line.count - tail
        for i in 0..<crcMarker.count where line[markerStart + i] != crcMarker[i] { throw .syntax }
        let hexDigits = String(decoding: UnsafeBufferPointer(rebasing: line[(markerStart + crcMarker.count)..<(line.count - 2)]), as: UTF8.self)
        guard let expected = UInt32(hexDigits, radix: 16) else { throw .syntax }
        let covered = UnsafeBufferPointer(rebasing: line[0..<markerStart])
        guard CRC32.checksum(covered) == expected else { throw .checksum }
        var document = Array(covered)
        document.append(UInt8(ascii: "}"))
        guard case .object(let object)? = try? JSON.parse(document) else { throw .syntax }
        return object
    }

    static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}
