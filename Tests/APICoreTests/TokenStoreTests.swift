import Foundation
import Store
import XCTest

@testable import APICore

final class TokenStoreTests: XCTestCase {
    func testCreateAuthenticateRevokeAndNoPlaintextOnDisk() throws {
        let directory = NSTemporaryDirectory() + "tokens-\(UUID().uuidString)"
        let store = try Store(directory: directory, indexes: Tokens.indexes)
        let (id, token) = try Tokens.create(in: store, principal: Staff(name: "lp-1"), name: "test")
        XCTAssertTrue(token.hasPrefix("ptk_"))
        XCTAssertEqual(Tokens.authenticate(token, store: store).flatMap(Staff.init(stored:)), Staff(name: "lp-1"))
        XCTAssertNil(Tokens.authenticate(token + "x", store: store))
        XCTAssertNil(Tokens.authenticate("", store: store))
        // Recorded after the request's own writes (the server flushes them once it has answered).
        XCTAssertNil(Tokens.list(in: store).first?.lastUsedAt)
        XCTAssertTrue(store.flushDeferredWrites().isEmpty)
        XCTAssertNotNil(Tokens.list(in: store).first?.lastUsedAt, "last_used_at recorded")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory)
        for file in files where file.hasSuffix(".jsonl") {
            let text = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
            XCTAssertFalse(text.contains(token), "token stored in plain text in \(file)")
        }
        XCTAssertTrue(try Tokens.revoke(in: store, id: id))
        XCTAssertNil(Tokens.authenticate(token, store: store))
        XCTAssertFalse(try Tokens.revoke(in: store, id: "nope"))
    }
}
