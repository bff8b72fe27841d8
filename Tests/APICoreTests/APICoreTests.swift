import JSON
import XCTest

@testable import APICore

final class CryptoTests: XCTestCase {
    func testSHA256KnownVectors() {
        XCTAssertEqual(Crypto.sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(Crypto.sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    func testConstantTimeEqualsAndUUIDs() {
        XCTAssertTrue(Crypto.constantTimeEquals("abc", "abc"))
        XCTAssertFalse(Crypto.constantTimeEquals("abc", "abd"))
        XCTAssertFalse(Crypto.constantTimeEquals("abc", "abcd"))
        let uuid = Crypto.uuid()
        XCTAssertEqual(uuid.count, 36)
        XCTAssertEqual(Array(uuid)[14], "4")
        XCTAssertNotEqual(Crypto.uuid(), Crypto.uuid())
        XCTAssertEqual(Crypto.base64URL([0xFB, 0xFF, 0x00]), "-_8A")
    }
}

final class TimestampTests: XCTestCase {
    func testFormats() throws {
        let t = try XCTUnwrap(Timestamp.parse("2024-05-31T02:22:32Z"))
        XCTAssertEqual(t.secondsText, "2024-05-31T02:22:32Z")
        XCTAssertEqual(t.storageText, "2024-05-31T02:22:32.000000Z")
        XCTAssertEqual(Timestamp.parse("2024-05-31T03:22:32+01:00"), t)
        XCTAssertEqual(Timestamp.parse("2024-05-31T02:22:32.123Z")?.storageText, "2024-05-31T02:22:32.123000Z")
        XCTAssertEqual(Timestamp.parse("2024-05-31")?.secondsText, "2024-05-31T00:00:00Z")
        XCTAssertEqual(Timestamp.parse("2024-05-31T02:22")?.secondsText, "2024-05-31T02:22:00Z")
    }

    func testRejectsNonsense() {
        for bad in [
            "", "yesterday", "2024-13-01", "2024-02-31", "2024-05-31T25:00:00Z", "2024-05-31T02:22:32Q", "2024-5-31",
            "2024-05-31T",
        ] {
            XCTAssertNil(Timestamp.parse(bad), bad)
        }
    }
}

final class SchemaTests: XCTestCase {
    let schema = ResourceSchema(
        "Thing",
        [
            Field("name", .string, required: true, maxLength: 5),
            Field("year", .yearString),
            Field("kind", .enumeration(["a", "b"])),
            Field("note", .string, nullable: true),
            Field("created_at", .dateTime, readOnly: true),
        ])

    func testSerializationFollowsFieldOrder() {
        XCTAssertEqual(
            schema.serialize(["kind": "a", "name": "x"]).text,
            #"{"name":"x","year":null,"kind":"a","note":null,"created_at":null}"#)
    }

    func testValidation() {
        XCTAssertEqual(schema.validate(["name": "ok"], partial: false), [])
        XCTAssertEqual(schema.validate([:], partial: false), [.missing("name")])
        XCTAssertEqual(schema.validate([:], partial: true), [])
        XCTAssertEqual(schema.validate(["name": 3], partial: false), [.wrongType("name", expected: "string")])
        XCTAssertEqual(schema.validate(["name": "toolong"], partial: false), [.tooLong("name", limit: 5)])
        XCTAssertEqual(
            schema.validate(["name": "x", "kind": "c", "year": "20x5"], partial: false),
            [.invalidValue("year"), .invalidValue("kind")])
        XCTAssertEqual(
            schema.validate(["name": "x", "created_at": "now", "extra": 1], partial: false),
            [.notAllowed("created_at"), .notAllowed("extra")])
        XCTAssertEqual(schema.validate(["name": "x", "note": nil], partial: false), [])
    }

    func testIntegerFieldsTakeExactIntegersOnlyAndStoreThemAsIntegers() throws {
        let counted = ResourceSchema(
            "Counted", [Field("count", .integer, required: true), Field("order", .integer, nullable: true)])
        func problems(_ text: String) throws -> [ResourceSchema.Problem] {
            counted.validate(try XCTUnwrap(JSON.parse(text).objectValue), partial: false)
        }
        XCTAssertEqual(try problems(#"{"count": 3, "order": -9007199254740991}"#), [])
        XCTAssertEqual(try problems(#"{"count": 3.0, "order": null}"#), [])
        for number in ["1e300", "1e20", "9223372036854775808", "9223372036854775807", "9007199254740992", "-1e16"] {
            XCTAssertEqual(try problems(#"{"count": \#(number)}"#), [.outOfRange("count")], number)
            XCTAssertEqual(try problems(#"{"count": 1, "order": \#(number)}"#), [.outOfRange("order")], number)
        }
        for value in ["1.5", "1e-3", #""3""#, "true", "[3]"] {
            XCTAssertEqual(try problems(#"{"count": \#(value)}"#), [.wrongType("count", expected: "integer")], value)
        }
        // 3.0 and 3e0 are kept as the integer 3, so they are shown back as 3.
        let payload = try XCTUnwrap(JSON.parse(#"{"count": 3.0, "order": 3e0}"#).objectValue)
        XCTAssertEqual(JSON.object(counted.normalized(payload)).text, #"{"count":3,"order":3}"#)
        XCTAssertEqual(ResourceSchema.Problem.integerRange, "from -9007199254740991 to 9007199254740991")
        XCTAssertEqual(
            counted.openAPI()["properties"]?["count"],
            ["type": "integer", "minimum": -9_007_199_254_740_991, "maximum": 9_007_199_254_740_991])
    }

    func testOpenAPI() {
        let document = schema.openAPI()
        XCTAssertEqual(document["properties"]?["note"]?["type"], ["string", "null"])
        XCTAssertEqual(document["properties"]?["created_at"]?["readOnly"], true)
        XCTAssertEqual(schema.openAPI(writableOnly: true)["required"], ["name"])
    }
}

final class NestedSchemaTests: XCTestCase {
    let milestone = ResourceSchema(
        "Milestone",
        [
            Field("declaration_type", .enumeration(["started", "completed"]), required: true),
            Field("start_date", .date, required: true),
            Field("milestone_date", .date, nullable: true),
            Field("created_at", .dateTime, readOnly: true),
        ])
    var schedule: ResourceSchema {
        ResourceSchema(
            "Schedule",
            [
                Field("identifier", .string, required: true),
                Field("milestones", .array(.nested(milestone)), required: true),
                Field("latest", .nested(milestone), nullable: true),
            ])
    }

    func testNestedObjectsSerializeInTheirOwnFieldOrder() {
        let shown = schedule.serialize([
            "milestones": [["start_date": "2025-06-01", "declaration_type": "started", "extra": 1]],
            "identifier": "x", "latest": nil,
        ])
        XCTAssertEqual(
            shown.text,
            #"{"identifier":"x","milestones":[{"declaration_type":"started","start_date":"2025-06-01","milestone_date":null,"created_at":null}],"latest":null}"#
        )
    }

    /// `write` (a resource written from stored text) gives exactly what `serialize` gives, given
    /// the same values as text or as values, nested ones shaped by their schema either way.
    func testWritingFromTextGivesWhatSerializeGives() {
        let values: [String: JSON] = [
            "milestones": [["start_date": "2025-06-01", "declaration_type": "started", "extra": 1]],
            "identifier": "a \"quoted\" ü",
        ]
        let expected = schedule.serialize(values).serialized()
        for asText in [false, true] {
            var readers: [String: @Sendable ([String: JSON]) -> ResourceSchema.Written?] = [:]
            for field in ["identifier", "milestones", "latest"] {
                readers[field] = { values in
                    values[field].map { asText ? .text(ArraySlice($0.serialized())) : .value($0) }
                }
            }
            var out: [UInt8] = []
            schedule.textWriter(readers).write(values, into: &out)
            XCTAssertEqual(String(decoding: out, as: UTF8.self), String(decoding: expected, as: UTF8.self))
        }
    }

    func testNestedProblemsAreNamedByTheirPlace() throws {
        let good: JSON = ["declaration_type": "started", "start_date": "2025-06-01"]
        XCTAssertEqual(
            schedule.validate(["identifier": "x", "milestones": [good], "latest": good], partial: false), [])
        XCTAssertEqual(
            schedule.validate(
                [
                    "identifier": "x",
                    "milestones": [good, ["declaration_type": "paid", "start_date": "2025-02-30", "created_at": "x"]],
                    "latest": ["milestone_date": 3],
                ], partial: false),
            [
                .notAllowed("milestones[1].created_at"), .invalidValue("milestones[1].declaration_type"),
                .invalidValue("milestones[1].start_date"), .missing("latest.declaration_type"),
                .missing("latest.start_date"), .wrongType("latest.milestone_date", expected: "string"),
            ])
        XCTAssertEqual(
            schedule.validate(["identifier": "x", "milestones": [1]], partial: false),
            [.wrongType("milestones", expected: "array")])
    }

    func testDatesAreCalendarDays() {
        let dated = ResourceSchema("Dated", [Field("on", .date)])
        XCTAssertEqual(dated.validate(["on": "2024-02-29"], partial: false), [])
        for bad in ["2023-02-29", "2024-02-29T00:00:00Z", "2024-2-9", "soon"] {
            XCTAssertEqual(dated.validate(["on": .string(bad)], partial: false), [.invalidValue("on")], bad)
        }
        XCTAssertEqual(dated.openAPI()["properties"]?["on"]?["format"], "date")
    }

    func testOpenAPIDescribesTheNestedFields() {
        let document = schedule.openAPI(writableOnly: true)
        let items = document["properties"]?["milestones"]?["items"]
        XCTAssertEqual(items?["required"], ["declaration_type", "start_date"])
        XCTAssertNil(items?["properties"]?["created_at"])
        XCTAssertEqual(items?["additionalProperties"], false)
        XCTAssertEqual(schedule.openAPI()["properties"]?["latest"]?["type"], ["object", "null"])
    }
}

final class CredentialTests: XCTestCase {
    func testSchemes() {
        XCTAssertEqual(Tokens.credential(from: "Bearer abc", schemes: ["Bearer"]), "abc")
        XCTAssertEqual(Tokens.credential(from: "bearer   abc ", schemes: ["Bearer"]), "abc")
        XCTAssertEqual(Tokens.credential(from: "APIKey k", schemes: ["Bearer", "APIKey"]), "k")
        XCTAssertNil(Tokens.credential(from: "Bearer", schemes: ["Bearer"]))
        XCTAssertNil(Tokens.credential(from: "Basic abc", schemes: ["Bearer"]))
        XCTAssertNil(Tokens.credential(from: nil, schemes: ["Bearer"]))
        XCTAssertEqual(Tokens.credential(from: "rawkey", schemes: [], allowBare: true), "rawkey")
        XCTAssertNil(Tokens.credential(from: "rawkey", schemes: ["Bearer"]))
    }

    func testPagingHelpers() {
        XCTAssertEqual(Paging.positiveInteger("12"), 12)
        for bad in ["0", "-1", "0.8", "abc", "", " 1", "1e3"] { XCTAssertNil(Paging.positiveInteger(bad), bad) }
        XCTAssertEqual(Paging.positiveInteger("99999999999999999999999"), Int.max)
        XCTAssertEqual(Array(Paging.page(Array(1...10), number: 2, size: 3)), [4, 5, 6])
        XCTAssertEqual(Array(Paging.page(Array(1...10), number: 4, size: 3)), [10])
        XCTAssertEqual(Array(Paging.page(Array(1...10), number: 5, size: 3)), [])
        XCTAssertEqual(Array(Paging.page(Array(1...10), number: Int.max, size: 3000)), [])
    }
}
