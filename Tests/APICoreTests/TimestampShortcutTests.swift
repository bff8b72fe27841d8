import XCTest

@testable import APICore

/// The seconds text cut from a stored timestamp must be what parsing and formatting it gives, and
/// anything not in the stored form must be left to the parser.
final class TimestampShortcutTests: XCTestCase {
    func testCutEqualsParseAndFormatForStoredTimestamps() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let time = Timestamp(microseconds: Int.random(in: 0...(4_102_444_800 * 1_000_000), using: &generator))
            XCTAssertEqual(Timestamp.secondsText(ofStorageText: time.storageText), time.secondsText, time.storageText)
        }
        XCTAssertEqual(Timestamp.secondsText(ofStorageText: "2024-02-29T23:59:59.999999Z"), "2024-02-29T23:59:59Z")
    }

    func testAnythingElseIsLeftToTheParser() {
        for text in [
            "2023-02-29T00:00:00.000000Z", "2024-13-01T00:00:00.000000Z", "2024-01-01T24:00:00.000000Z",
            "2024-01-01T00:00:60.000000Z", "2024-01-01T00:00:00.000000+", "2024-01-01T00:00:00Z",
            "2024-01-01 00:00:00.000000Z", "2024-01-00T00:00:00.000000Z", "2024-01-01T00:00:00.00000aZ", "",
        ] {
            XCTAssertNil(Timestamp.secondsText(ofStorageText: text), text)
        }
    }
}
