import JSON
import Testing

/// `parseTrusted` (the store's CRC-checked lines) must give what `parse` gives on what the
/// serializer writes, and refuse what is not JSON the same way.
@Suite struct TrustedParseTests {
    @Test func sameValueAsParseOnSerializedDocuments() throws {
        let documents: [JSON] = [
            ["id": "a", "n": 1, "nested": ["x": [1, 2, ["y": nil]], "e": [:], "s": "é\"\\\n"], "b": true, "d": 1.5],
            [], [:], "text", 0, ["k": [["a": 1], ["b": 2]]],
        ]
        for document in documents {
            let bytes = document.serialized()
            let trusted = try bytes.withUnsafeBufferPointer { try JSON.parseTrusted($0) }
            #expect(trusted == (try JSON.parse(bytes)))
            #expect(trusted.serialized() == bytes)
        }
    }

    @Test func refusesBrokenInput() {
        for text in ["{\"a\":1", "{\"a\" 1}", "[1,]", "{\"a\":1}x", ""] {
            let bytes = Array(text.utf8)
            #expect(throws: JSONError.self) { try bytes.withUnsafeBufferPointer { try JSON.parseTrusted($0) } }
        }
    }
}
