import XCTest

@testable import JSON

final class JSONTests: XCTestCase {
    func testRoundTripKeepsOrderAndIntegers() throws {
        let text = #"{"b":1,"a":[true,false,null,-12,1.5,"x"],"c":{"nested":"\u00e9\n"}}"#
        let value = try JSON.parse(text)
        XCTAssertEqual(value.text, #"{"b":1,"a":[true,false,null,-12,1.5,"x"],"c":{"nested":"é\n"}}"#)
        XCTAssertEqual(value["b"], .int(1))
        XCTAssertEqual(value["a"]?.arrayValue?.count, 6)
    }

    func testRejectsMalformedDocuments() {
        for bad in [
            "", "{", "{\"a\":}", "[1,]", "01", "1.", "-", "\"abc", "tru", "{\"a\" 1}", "[1] x",
            "\"\u{01}\"", "\"\\x\"", "\"\\ud800\"", "1e", "{\"a\":1,}",
        ] {
            XCTAssertThrowsError(try JSON.parse(bad), "accepted \(bad.debugDescription)")
        }
    }

    func testRejectsInvalidUTF8() {
        XCTAssertThrowsError(try JSON.parse([0x22, 0xC3, 0x28, 0x22]))
    }

    func testDepthLimit() {
        let deep =
            String(repeating: "[", count: JSON.maximumDepth + 1) + String(repeating: "]", count: JSON.maximumDepth + 1)
        XCTAssertThrowsError(try JSON.parse(deep))
        let ok = String(repeating: "[", count: JSON.maximumDepth) + String(repeating: "]", count: JSON.maximumDepth)
        XCTAssertNoThrow(try JSON.parse(ok))
    }

    func testNumbers() throws {
        XCTAssertEqual(try JSON.parse("9223372036854775807"), .int(Int.max))
        XCTAssertEqual(try JSON.parse("-9223372036854775808"), .int(Int.min))
        XCTAssertEqual(try JSON.parse("9223372036854775808"), .double(9223372036854775808))
        XCTAssertEqual(try JSON.parse("2.5e3"), .double(2500))
        XCTAssertEqual(JSON.int(-120).text, "-120")
        XCTAssertEqual(JSON.int(0).text, "0")
        XCTAssertEqual(JSON.int(Int.min).text, "-9223372036854775808")
        XCTAssertEqual(JSON.double(.infinity).text, "null")
        XCTAssertThrowsError(try JSON.parse("1e999"))
    }

    /// What an integer field makes of each way a client can write a number.
    func testIntegerReadingOfParsedNumbers() throws {
        let cases: [(String, JSON.IntegerReading)] = [
            ("7", .exact(7)), ("-7", .exact(-7)), ("0", .exact(0)), ("-0", .exact(0)), ("-0.0", .exact(0)),
            ("7.0", .exact(7)), ("7e0", .exact(7)), ("2.5e3", .exact(2500)), ("700E-2", .exact(7)),
            ("9007199254740991", .exact(9_007_199_254_740_991)), ("-9007199254740991", .exact(-9_007_199_254_740_991)),
            ("9007199254740991.0", .exact(9_007_199_254_740_991)),
            ("9007199254740992", .outOfRange), ("-9007199254740992", .outOfRange), ("9007199254740992.0", .outOfRange),
            ("9223372036854775807", .outOfRange), ("-9223372036854775808", .outOfRange),
            ("9223372036854775808", .outOfRange), ("-9223372036854775809", .outOfRange),
            ("1e16", .outOfRange), ("1e20", .outOfRange), ("1e300", .outOfRange), ("-1e300", .outOfRange),
            ("1.5", .notAnInteger), ("-2.5", .notAnInteger), ("1e-3", .notAnInteger), ("0.1", .notAnInteger),
            (#""7""#, .notAnInteger), ("true", .notAnInteger), ("null", .notAnInteger), ("[7]", .notAnInteger),
        ]
        for (text, expected) in cases {
            XCTAssertEqual(try JSON.parse(text).integerReading, expected, text)
            XCTAssertEqual(
                try JSON.parse(text).exactInteger, { if case .exact(let i) = expected { i } else { nil } }(), text)
        }
        // Values no parse makes still read safely.
        XCTAssertEqual(JSON.double(.infinity).integerReading, .outOfRange)
        XCTAssertEqual(JSON.double(.nan).integerReading, .notAnInteger)
        XCTAssertEqual(JSON.int(Int.max).integerReading, .outOfRange)
    }

    func testEscapingAndSurrogates() throws {
        XCTAssertEqual(JSON.string("a\"b\\c\u{1}\t").text, #""a\"b\\c\u0001\t""#)
        XCTAssertEqual(try JSON.parse(#""\ud83d\ude00""#), .string("😀"))
    }

    func testObjectEditingAndLargeObjectIndex() {
        var object = JSONObject()
        for i in 0..<40 { object["k\(i)"] = .int(i) }
        XCTAssertEqual(object["k33"], .int(33))
        object["k5"] = nil
        XCTAssertNil(object["k5"])
        XCTAssertEqual(object["k39"], .int(39))
        XCTAssertEqual(object.count, 39)
        let a: JSON = ["x": 1, "y": 2], b: JSON = ["y": 2, "x": 1]
        XCTAssertEqual(a, b)
    }
}
