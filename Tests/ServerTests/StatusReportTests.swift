import Foundation
import HTTP
import JSON
import WorkerPool
import XCTest

@testable import Server

final class StatusReportTests: XCTestCase {
    private var path = ""

    override func setUp() {
        path = NSTemporaryDirectory() + "status-report-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    override func tearDown() { unlink(path) }

    /// Two workers, both busy for a moment, then one idle after its request, under a supervisor that counts slow
    /// requests over 1 ms; no listening socket.
    private func report() throws -> StatusReport {
        let board = try Scoreboard(path: path, slotCount: 4)
        board.setSlowRequestThreshold(milliseconds: 1)
        let idle = try XCTUnwrap(board.claimSlot(generation: 1))
        let busy = try XCTUnwrap(board.claimSlot(generation: 1))
        board.setPID(101, slot: idle)
        board.setPID(102, slot: busy)
        board.markIdle(slot: idle, requests: 0)
        board.markIdle(slot: busy, requests: 0)
        board.markBusy(slot: idle, request: "GET /v1/partners?page=2")
        usleep(2_000)
        board.markBusy(slot: busy, request: "POST /api/v3/partnerships")
        board.markIdle(slot: idle, requests: 1)
        board.increment(.retiredRequests, by: 5)
        board.noteListenQueue(3)
        return StatusReport(scoreboard: board, pool: "www \"a\"", listenSocket: nil, storeGeneration: 4)
    }

    func testJSONHasPHPFPMsFieldsAndTheOldOnes() throws {
        let json = try report().json
        XCTAssertEqual(json["pool"], "www \"a\"")
        XCTAssertEqual(json["process_manager"], "static")
        XCTAssertEqual(json["accepted_conn"], 6)
        XCTAssertEqual(json["requests_served"], 6)
        XCTAssertEqual(json["listen_queue"], .null, "no socket: the kernel was not asked")
        XCTAssertEqual(json["listen_queue_len"], .null)
        XCTAssertEqual(json["max_listen_queue"], 3)
        XCTAssertEqual(json["idle_processes"], 1)
        XCTAssertEqual(json["active_processes"], 1)
        XCTAssertEqual(json["total_processes"], 2)
        XCTAssertEqual(json["max_active_processes"], 2)
        XCTAssertEqual(json["max_children_reached"], 1, "the second request left no worker idle")
        XCTAssertEqual(json["slow_requests"], 1)
        XCTAssertEqual(json["slow_request_ms"], 1)
        XCTAssertEqual(json["workers"], ["total": 2, "busy": 1, "idle": 1])
        XCTAssertEqual(json["store"], ["generation": 4])
        XCTAssertNotNil(json["start_time"]?.intValue)
        XCTAssertEqual(json["start_since"], json["uptime_seconds"])
        let slots = try XCTUnwrap(json["slots"]?.arrayValue)
        XCTAssertEqual(slots.count, 2)
        let idle = slots[0]
        XCTAssertEqual(idle["pid"], 101)
        XCTAssertEqual(idle["state"], "idle")
        XCTAssertEqual(idle["requests"], 1)
        XCTAssertEqual(idle["current_request"], .null)
        XCTAssertEqual(idle["busy_ms"], .null)
        XCTAssertEqual(idle["last_request"], "GET /v1/partners?page=2")
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(idle["last_request_duration_ms"]?.doubleValue), 2)
        let busy = slots[1]
        XCTAssertEqual(busy["state"], "busy")
        XCTAssertEqual(busy["current_request"], "POST /api/v3/partnerships")
        XCTAssertEqual(busy["last_request"], .null)
        XCTAssertNotNil(busy["busy_ms"]?.intValue)
        XCTAssertNotNil(busy["start_time"]?.intValue)
        XCTAssertNotNil(busy["start_since"]?.intValue)
    }

    func testOpenMetricsText() throws {
        let text = try report().openMetrics
        XCTAssertTrue(text.hasSuffix("\n# EOF\n"))
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.filter { $0 == "# EOF" }.count, 1)
        XCTAssertTrue(lines.contains("# TYPE partnerships_accepted_connections counter"))
        XCTAssertTrue(lines.contains(#"partnerships_accepted_connections_total{pool="www \"a\""} 6"#))
        XCTAssertTrue(lines.contains(#"partnerships_pool_info{pool="www \"a\"",process_manager="static"} 1"#))
        XCTAssertTrue(lines.contains(#"partnerships_max_children_reached_total{pool="www \"a\""} 1"#))
        XCTAssertTrue(lines.contains(#"partnerships_slow_requests_total{pool="www \"a\""} 1"#))
        XCTAssertTrue(lines.contains(#"partnerships_slow_request_threshold_seconds{pool="www \"a\""} 0.001"#))
        XCTAssertTrue(
            lines.contains(
                #"partnerships_worker_state{partnerships_worker_state="busy",pid="102",pool="www \"a\"",slot="1"} 1"#)
                || lines.contains(
                    #"partnerships_worker_state{pool="www \"a\"",partnerships_worker_state="busy",pid="102",slot="1"} 1"#
                ),
            text)
        XCTAssertFalse(text.contains("partnerships_listen_queue{"), "no socket, no queue figures")
        // Every sample belongs to the family declared last; counters' samples end in _total.
        var family = ""
        var type = ""
        for line in lines where line != "# EOF" {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                family = String(parts[2])
                type = String(parts[3])
                continue
            }
            if line.hasPrefix("#") { continue }
            let name = String(line.prefix { $0 != "{" && $0 != " " })
            switch type {
            case "counter": XCTAssertEqual(name, family + "_total", line)
            case "info": XCTAssertEqual(name, family + "_info", line)
            default: XCTAssertEqual(name, family, line)
            }
        }
    }

    func testFormatFromTheQuery() {
        XCTAssertEqual(StatusReport.Format(QueryParameters("")), .json)
        XCTAssertEqual(StatusReport.Format(QueryParameters("format=json")), .json)
        XCTAssertEqual(StatusReport.Format(QueryParameters("openmetrics")), .openMetrics)
        XCTAssertEqual(StatusReport.Format(QueryParameters("format=openmetrics")), .openMetrics)
        XCTAssertEqual(StatusReport.Format(QueryParameters("format=xml")), .unknown("xml"))
    }
}
