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

    func testPoolFiguresCountedByTheWorkers() throws {
        let path = NSTemporaryDirectory() + "scoreboard-figures-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(path) }
        let supervisor = try Scoreboard(path: path, slotCount: 4)
        supervisor.setSlowRequestThreshold(milliseconds: 20)
        let worker = try Scoreboard(path: path)
        XCTAssertEqual(worker.header.revision, 2)
        XCTAssertEqual(worker.header.slowRequestMilliseconds, 20)
        let first = try XCTUnwrap(supervisor.claimSlot(generation: 1))
        let second = try XCTUnwrap(supervisor.claimSlot(generation: 1))
        worker.markIdle(slot: first, requests: 0)
        // The second worker is still starting: the pool has not reached its limit.
        worker.markBusy(slot: first, request: "GET /early")
        XCTAssertEqual(worker.header.maxChildrenReached, 0)
        worker.markIdle(slot: first, requests: 0)
        worker.markIdle(slot: second, requests: 0)
        XCTAssertNil(worker.slot(second).lastRequest, "no request yet")

        worker.markBusy(slot: first, request: "GET /fast")
        XCTAssertEqual(worker.header.maxActiveProcesses, 1)
        XCTAssertEqual(worker.header.maxChildrenReached, 0, "the second worker is still idle")
        worker.markBusy(slot: second, request: "POST /slow")
        XCTAssertEqual(worker.header.maxActiveProcesses, 2)
        XCTAssertEqual(worker.header.maxChildrenReached, 1, "no worker left idle")
        let fast = try XCTUnwrap(worker.markIdle(slot: first, requests: 1))
        XCTAssertFalse(fast.slow)
        usleep(25_000)
        let slow = try XCTUnwrap(worker.markIdle(slot: second, requests: 1))
        XCTAssertTrue(slow.slow)
        XCTAssertGreaterThanOrEqual(slow.nanoseconds, 20_000_000)
        XCTAssertEqual(supervisor.header.slowRequests, 1)
        XCTAssertEqual(supervisor.slot(second).lastRequest, "POST /slow")
        XCTAssertEqual(supervisor.slot(second).lastRequestNanoseconds, slow.nanoseconds)
        XCTAssertEqual(supervisor.slot(first).lastRequest, "GET /fast")
        // The high-water marks stay; the next request alone does not reach the limit.
        worker.markBusy(slot: first, request: "GET /again")
        XCTAssertEqual(worker.header.maxActiveProcesses, 2)
        XCTAssertEqual(worker.header.maxChildrenReached, 1)
        XCTAssertEqual(
            worker.slot(first).lastRequest, "GET /fast", "the last finished request, while busy with the next")
        supervisor.noteListenQueue(5)
        supervisor.noteListenQueue(3)
        XCTAssertEqual(worker.header.maxListenQueue, 5)
        supervisor.noteSlowRequest()
        XCTAssertEqual(worker.header.slowRequests, 2)
    }

    /// A worker of this build under a supervisor of the previous one (after a reload by SIGHUP): the
    /// file has no extension table and no revision, and the worker still serves with it.
    func testARevisionOneFileStillWorks() throws {
        let path = NSTemporaryDirectory() + "scoreboard-v1-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(path) }
        var words = [Int](repeating: 0, count: (128 + 2 * 256) / 8)
        words[0] = 0x5041_5254_5342_0001
        words[1] = 2
        words[2] = Int(getpid())
        words[8] = 1
        words[16 + 1] = Scoreboard.WorkerState.starting.rawValue  // slot 0, claimed
        let data = words.withUnsafeBytes { Data($0) }
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: data))
        let worker = try Scoreboard(path: path)
        XCTAssertEqual(worker.header.revision, 0)
        worker.markIdle(slot: 0, requests: 0)
        worker.markBusy(slot: 0, request: "GET /healthz")
        XCTAssertEqual(worker.slot(0).currentRequest, "GET /healthz")
        XCTAssertEqual(worker.markIdle(slot: 0, requests: 1)?.slow, false, "no threshold: nothing is slow")
        XCTAssertEqual(worker.slot(0).requests, 1)
        XCTAssertNil(worker.slot(0).lastRequest)
        XCTAssertNil(worker.slot(0).lastRequestNanoseconds)
        XCTAssertEqual(worker.header.maxActiveProcesses, 1)
        var info = stat()
        XCTAssertEqual(stat(path, &info), 0)
        XCTAssertEqual(Int(info.st_size), 128 + 2 * 256, "the file is left as it was")
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

final class ListenQueueTests: XCTestCase {
    /// Connections nobody accepted yet are counted, for a unix socket (sock_diag) and TCP (TCP_INFO),
    /// with the backlog as the limit; a socket that does not listen has no queue.
    func testConnectionsWaitingForAcceptAreCounted() throws {
        let path = NSTemporaryDirectory() + "queue-\(getpid()).sock"
        defer { unlink(path) }
        let unixSocket = try ListenSocket.bind(.unix(path: path, mode: 0o600, group: nil), backlog: 7)
        let tcpSocket = try ListenSocket.bind(.tcp(host: "127.0.0.1", port: 0), backlog: 5)
        defer {
            close(unixSocket.fd)
            close(tcpSocket.fd)
        }
        let unixQueue = try XCTUnwrap(ListenSocket.queue(fd: unixSocket.fd))
        XCTAssertEqual(unixQueue.queued, 0)
        XCTAssertEqual(unixQueue.limit, 7)
        XCTAssertEqual(try XCTUnwrap(ListenSocket.queue(fd: tcpSocket.fd)).limit, 5)
        var clients: [Int32] = []
        defer { clients.forEach { close($0) } }
        for _ in 0..<3 {
            clients.append(try connectUnix(path))
            if case .tcp(_, let port) = tcpSocket.address { clients.append(try connectTCP(port)) }
        }
        XCTAssertEqual(ListenSocket.queue(fd: unixSocket.fd)?.queued, 3)
        XCTAssertEqual(ListenSocket.queue(fd: tcpSocket.fd)?.queued, 3)
        let accepted = accept(unixSocket.fd, nil, nil)
        XCTAssertGreaterThanOrEqual(accepted, 0)
        close(accepted)
        XCTAssertEqual(ListenSocket.queue(fd: unixSocket.fd)?.queued, 2)
        XCTAssertNil(ListenSocket.queue(fd: clients[0]), "a connected socket has no accept queue")
        XCTAssertNil(ListenSocket.queue(fd: -1))
    }

    private func connectUnix(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else { throw POSIXError(.ECONNREFUSED) }
        return fd
    }

    private func connectTCP(_ port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else { throw POSIXError(.ECONNREFUSED) }
        return fd
    }
}
