import JSON
import Testing

/// `JSONObjectText` reads the members of what the serializer wrote without a tree: each member's
/// text is what the serializer writes for its value, and nothing it is given makes it read out of
/// bounds or invent members.
@Suite struct JSONObjectTextTests {
    let record: JSON = [
        "id": "a-1", "n": -12, "nested": ["x": [1, 2, ["y": nil]], "e": [:], "s": "}\"]\\"], "b": true,
        "d": 1.5, "quote": "say \"hi\"\n", "empty": "", "none": nil, "list": ["]", "}", "\\"], "é": "ü",
    ]

    @Test func eachMembersTextIsWhatTheSerializerWritesForItsValue() throws {
        let text = JSONObjectText(record)
        guard case .object(let object) = record else { return }
        for (name, value) in object {
            #expect(text.text(name).map(Array.init) == value.serialized(), "\(name)")
            #expect(text.value(name) == value, "\(name)")
            #expect(text.string(name) == value.stringValue, "\(name)")
        }
        #expect(text.text("missing") == nil)
        #expect(text.text("i") == nil && text.text("idx") == nil)  // names are matched whole
        #expect(text.string("quote") == "say \"hi\"\n")  // escapes decoded
        #expect(text.string("n") == nil)
    }

    @Test func whitespaceAroundMembersIsAllowed() {
        let text = JSONObjectText(Array(#" { "a" : [1, {"b": "]"}] ,"c":null } "#.utf8))
        #expect(text.text("a").map { String(decoding: $0, as: UTF8.self) } == #"[1, {"b": "]"}]"#)
        #expect(text.text("c").map { String(decoding: $0, as: UTF8.self) } == "null")
    }

    @Test func whatIsNotOneWellFormedObjectHasNoMembers() {
        for broken in [
            "", "[]", "\"a\"", "{", "{\"a\"", "{\"a\":", "{\"a\":1", "{\"a\":\"x}", "{\"a\":[1,2}", "{\"a\":1}x",
            "{\"a\" 1}", "{a:1}", "{\"a\":1,}", "{\"a\":\"\\", "{\"a\":{\"b\":\"}\"}",
        ] {
            let text = JSONObjectText(Array(broken.utf8))
            #expect(text.text("a") == nil, "\(broken)")
        }
        #expect(JSONObjectText(Array("{}".utf8)).text("a") == nil)
    }

    @Test func everyCutOfARecordIsReadSafely() {
        let bytes = record.serialized()
        for end in 0..<bytes.count {
            // A cut object is not one; a read must end without trapping and find nothing.
            #expect(JSONObjectText(Array(bytes[0..<end])).text("id") == nil)
        }
    }
}
