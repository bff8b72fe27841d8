import Foundation
import JSON
import XCTest

@testable import Store

/// Only what starts a store creates one: an admin command pointed at the wrong folder must not
/// leave a new empty store behind.
final class StoreCreationTests: XCTestCase {
    func testAnOpenThatMayNotCreateRefusesAFolderWithoutAStoreAndCreatesNothing() throws {
        let parent = temporaryDirectory()
        let missing = parent + "/nothing/here"
        XCTAssertFalse(Store.exists(directory: missing))
        XCTAssertThrowsError(try Store(directory: missing, options: StoreOptions(createIfMissing: false))) { error in
            XCTAssertEqual(error as? StoreError, .noStore(missing))
            XCTAssertTrue("\(error)".contains(missing), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: parent + "/nothing"))

        // An existing folder without a store (e.g. the wrong one) is left as it was.
        let empty = temporaryDirectory()
        XCTAssertThrowsError(
            try Store(directory: empty, options: StoreOptions(recoverOnOpen: false, createIfMissing: false)))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: empty), [])
    }

    func testTheDefaultOpenCreatesAStoreThatLaterOpensFind() throws {
        let directory = temporaryDirectory() + "/data"
        do {
            let store = try Store(directory: directory)
            try store.write { tx in tx.put("things", "a", ["n": 1]) }
        }
        XCTAssertTrue(Store.exists(directory: directory))
        let again = try Store(directory: directory, options: StoreOptions(recoverOnOpen: false, createIfMissing: false))
        XCTAssertEqual(again.get("things", "a")?["n"], .int(1))
    }
}
