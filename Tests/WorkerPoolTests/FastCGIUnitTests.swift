import Foundation
import HTTPTypes
import XCTest

@testable import FastCGI
@testable import WorkerPool

final class BodyReaderTests: XCTestCase {
    /// A source that hands out `data` in chunks of at most `chunk` bytes, like a socket would.
    private func source(_ data: [UInt8], chunk: Int = 7) -> (UnsafeMutablePointer<CChar>, Int) -> Int {
        var offset = 0
        return { buffer, count in
            let n = min(count, chunk, data.count - offset)
            for i in 0..<n { buffer[i] = CChar(bitPattern: data[offset + i]) }
            offset += n
            return n
        }
    }

    func testReadsWholeBodyInChunks() {
        let data = Array("{\"hello\":\"world\"}".utf8)
        XCTAssertEqual(BodyReader.read(contentLength: data.count, limit: 100, from: source(data)), .body(data))
    }

    func testRefusesBodiesOverTheLimitWithoutReading() {
        var reads = 0
        let result = BodyReader.read(contentLength: 2_000_000, limit: 1 << 20) { _, _ in
            reads += 1
            return 0
        }
        XCTAssertEqual(result, .tooLarge)
        XCTAssertEqual(reads, 0)
    }

    func testExactLimitIsAccepted() {
        let data = [UInt8](repeating: 65, count: 64)
        XCTAssertEqual(BodyReader.read(contentLength: 64, limit: 64, from: source(data)), .body(data))
        XCTAssertEqual(BodyReader.read(contentLength: 65, limit: 64, from: source(data + [1])), .tooLarge)
    }

    func testShortBodyIsTruncatedAndMissingLengthIsEmpty() {
        XCTAssertEqual(BodyReader.read(contentLength: 10, limit: 100, from: source([1, 2, 3])), .truncated)
        XCTAssertEqual(BodyReader.read(contentLength: nil, limit: 100, from: source([1, 2, 3])), .body([]))
        XCTAssertEqual(BodyReader.read(contentLength: -5, limit: 100, from: source([1, 2, 3])), .body([]))
    }
}

final class CGIResponseTests: XCTestCase {
    func testStatusLineHeadersAndBody() {
        let bytes = CGIResponse.encode(
            status: 201, reason: "Created", headers: [.contentType: "application/json"],
            body: Array("{}".utf8))
        XCTAssertEqual(
            String(decoding: bytes, as: UTF8.self),
            "Status: 201 Created\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
    }

    func testNoContentAndNotModifiedSendNoLength() {
        for (status, reason) in [(204, "No Content"), (304, "Not Modified")] {
            let text = String(
                decoding: CGIResponse.encode(status: status, reason: reason, headers: [.eTag: "\"t\""], body: []),
                as: UTF8.self)
            XCTAssertEqual(text, "Status: \(status) \(reason)\r\nETag: \"t\"\r\n\r\n")
        }
    }

    func testHeaderInjectionCannotSplitTheHead() {
        let bytes = CGIResponse.encode(
            status: 200, reason: "OK",
            headers: [HTTPField.Name("X-Evil")!: "a\r\nSet-Cookie: x=1", HTTPField.Name("X-Ok")!: "fine"], body: [])
        let text = String(decoding: bytes, as: UTF8.self)
        XCTAssertFalse(text.contains("\nSet-Cookie"))
        XCTAssertEqual(text.components(separatedBy: "\r\n").count, 6, text)  // status, 3 fields, blank, body
        XCTAssertTrue(text.contains("X-Ok: fine\r\n"))
    }
}

final class ScoreboardTests: XCTestCase {
    func testSlotsLifecycleAcrossTwoMappings() throws {
        let path = NSTemporaryDirectory() + "scoreboard-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(path) }
        let supervisor = try Scoreboard(path: path, slotCount: 3)
        let worker = try Scoreboard(path: path)
        XCTAssertEqual(worker.slotCount, 3)
        let slot = try XCTUnwrap(supervisor.claimSlot(generation: 1))
        supervisor.setPID(4242, slot: slot)
        worker.markBusy(slot: slot, request: "GET /api/v3/partnerships?é=1")
        XCTAssertEqual(supervisor.slot(slot).state, .busy)
        XCTAssertEqual(supervisor.slot(slot).currentRequest, "GET /api/v3/partnerships?é=1")
        XCTAssertGreaterThan(supervisor.slot(slot).busySince, 0)
        worker.markIdle(slot: slot, requests: 7)
        XCTAssertEqual(supervisor.slot(slot).requests, 7)
        XCTAssertEqual(supervisor.slot(slot).busySince, 0)
        supervisor.increment(.crashRestarts)
        XCTAssertEqual(worker.header.crashRestarts, 1)
        XCTAssertEqual(worker.header.generation, 1)
        supervisor.release(slot: slot)
        XCTAssertEqual(worker.slot(slot).state, .empty)
    }

    func testLongRequestTextIsCutOnACharacterBoundary() throws {
        let path = NSTemporaryDirectory() + "scoreboard-long-\(getpid())"
        defer { unlink(path) }
        let board = try Scoreboard(path: path, slotCount: 1)
        let slot = try XCTUnwrap(board.claimSlot(generation: 1))
        board.markBusy(slot: slot, request: "GET /" + String(repeating: "é", count: 300))
        let text = board.slot(slot).currentRequest
        XCTAssertFalse(text.contains("\u{FFFD}"))
        XCTAssertLessThanOrEqual(text.utf8.count, 192)
    }

    func testRefusesAForeignFile() throws {
        let path = NSTemporaryDirectory() + "not-a-scoreboard-\(getpid())"
        FileManager.default.createFile(atPath: path, contents: Data(repeating: 7, count: 512))
        defer { unlink(path) }
        XCTAssertThrowsError(try Scoreboard(path: path))
    }
}

final class ListenAddressTests: XCTestCase {
    func testParse() {
        XCTAssertEqual(ListenAddress.parse("unix:/tmp/a.sock"), .unix(path: "/tmp/a.sock", mode: 0o660, group: nil))
        XCTAssertEqual(ListenAddress.parse("127.0.0.1:9000"), .tcp(host: "127.0.0.1", port: 9000))
        XCTAssertNil(ListenAddress.parse("nonsense"))
    }

    func testUnixSocketModeAndStaleSocketReplacement() throws {
        let path = NSTemporaryDirectory() + "listen-\(getpid()).sock"
        defer { unlink(path) }
        let first = try ListenSocket.bind(.unix(path: path, mode: 0o660, group: nil))
        var info = stat()
        XCTAssertEqual(stat(path, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o660)
        XCTAssertTrue(ListenSocket.isListening(path: path))
        XCTAssertThrowsError(
            try ListenSocket.bind(.unix(path: path, mode: 0o660, group: nil)), "must not steal a live socket")
        close(first.fd)
        XCTAssertFalse(ListenSocket.isListening(path: path))
        let second = try ListenSocket.bind(.unix(path: path, mode: 0o660, group: nil))
        close(second.fd)
    }

    func testTCPPortZeroReportsTheChosenPort() throws {
        let socket = try ListenSocket.bind(.tcp(host: "127.0.0.1", port: 0))
        defer { close(socket.fd) }
        guard case .tcp(_, let port) = socket.address else { return XCTFail() }
        XCTAssertGreaterThan(port, 0)
    }
}
