@testable import DirectoryAPI
import XCTest

final class WireTests: XCTestCase {
    func testCasingRoundTrips() {
        XCTAssertEqual(Wire.snake("callToActionUrl"), "call_to_action_url")
        XCTAssertEqual(Wire.snake("already_snake"), "already_snake")
        XCTAssertEqual(Wire.camel("internal_point_of_contact_cta_url"), "internalPointOfContactCtaUrl")
    }
}
