import APICore
import HTTP
import JSON
import XCTest

@testable import PartnersAPI

final class PartnersUnitTests: XCTestCase {
    func testErrorListFormatAndClassifications() throws {
        let formatter = PartnersErrorFormatter()
        let response = formatter.response(for: [
            APIError(
                .unknownField, status: .badRequest, title: "x", detail: "Unknown field \"colour\".", field: "colour"),
            APIError(.wrongType, status: .badRequest, title: "x", detail: "Expected an integer.", field: "partner_id"),
        ])
        XCTAssertEqual(response.status, .badRequest)
        XCTAssertEqual(
            try JSON.parse(response.body),
            [
                [
                    "classification": "UnknownFieldError", "fieldNames": ["colour"],
                    "message": "Unknown field \"colour\".",
                ],
                ["classification": "TypeError", "fieldNames": ["partner_id"], "message": "Expected an integer."],
            ])
        let expected: [APIError.Kind: String] = [
            .malformedBody: "DeserializationError", .requiredField: "RequiredError",
            .unauthorized: "PermissionError", .forbidden: "PermissionError",
            .notFound: "ValueError", .validation: "ValueError",
        ]
        for (kind, name) in expected { XCTAssertEqual(PartnersErrorFormatter.classification(kind), name) }
    }

    /// Newest first by creation second, then id; `next` carries the last record's second and id,
    /// so a page boundary inside one second neither skips nor repeats a record.
    func testCursorPagesAreNewestFirstWithATieBreakerForOneSecond() throws {
        // 45 records: ids 1...45, three per second from 1,700,000,000 on (ids 1-3 in the first second).
        let records: [JSON] = (1...45).reversed().map { id in
            let seconds = 1_700_000_000 + (id - 1) / 3
            return ["id": .int(id), "created_at": .string(Timestamp(microseconds: seconds * 1_000_000).storageText)]
        }
        let first = try CursorPage(QueryParameters("")).page(records)
        XCTAssertEqual(first.items.map { $0["id"] }, (26...45).reversed().map { JSON.int($0) })
        // id 26 was created in second 1,700,000,008 with 25 (and 27): 25 must come next.
        XCTAssertEqual(first.meta, ["limit": 20, "next": "?limit=20&since=1700000008&since_id=26"])
        var seen: [Int] = []
        var query = "limit=7"
        while true {
            let page = try CursorPage(QueryParameters(query)).page(records)
            seen += page.items.compactMap { $0["id"]?.intValue }
            guard let next = page.meta["next"]?.stringValue else { break }
            query = String(next.dropFirst())
        }
        XCTAssertEqual(seen, Array((1...45).reversed()))
        // `since` alone: created before that second (ids 1-3 are in 1,700,000,000; 4-6 in the next).
        let before = try CursorPage(QueryParameters("since=1700000002")).page(records)
        XCTAssertEqual(before.items.map { $0["id"] }, (1...6).reversed().map { JSON.int($0) })
        XCTAssertEqual(before.meta["next"], .null)
        XCTAssertEqual(try CursorPage(QueryParameters("limit=50")).limit, 20)
        // A record stored before `created_at` existed counts as created at 0, and pages on from there.
        let old = try CursorPage(QueryParameters("limit=1")).page([["id": 1], ["id": 2]])
        XCTAssertEqual(old.meta["next"], "?limit=1&since=0&since_id=2")
        XCTAssertEqual(
            try CursorPage(QueryParameters("limit=1&since=0&since_id=2")).page([["id": 1], ["id": 2]]).items,
            [["id": 1]])
        for bad in ["limit=abc", "since=-3", "since=1.5", "since=abc", "since_id=0&since=5", "since_id=4"] {
            XCTAssertThrowsError(try CursorPage(QueryParameters(bad)), bad)
        }
    }

    func testUluleVersionIsACalendarDate() {
        XCTAssertEqual(UluleVersion.parse("2018-09-03"), UluleVersion.partnershipProject)
        XCTAssertEqual(UluleVersion.parse("2020-02-29"), UluleVersion(2020, 2, 29))
        for bad in [
            "", "2018-9-3", "2018-09-31", "2019-02-29", "2018/09/03", "20180903", "2018-13-01", "２０１８-09-03", "latest",
        ] {
            XCTAssertNil(UluleVersion.parse(bad), bad)
        }
        XCTAssertLessThan(UluleVersion.parse("2018-09-02")!, UluleVersion.partnershipProject)
    }

    func testStoredProjectsOfEarlierShapesAreReadAsUluleProjects() {
        let finished = ProjectRecord.current(["id": 1, "name": "Old", "lang": "fr", "status": "finished"])
        XCTAssertEqual(finished["status"], "online")
        XCTAssertEqual(finished["finished"], true)
        XCTAssertEqual(finished["name"], ["fr": "Old"])
        XCTAssertEqual(ProjectRecord.current(["id": 2, "status": "offline"])["status"], "waiting")
        XCTAssertEqual(ProjectRecord.current(["id": 3])["status"], "new")
        let current: JSON = ["id": 4, "name": ["en": "New"], "status": "validated"]
        XCTAssertEqual(ProjectRecord.current(current), current)
    }

    func testAbsoluteURLsEncodeTheSlugAndTrustOnlyPlainHosts() {
        XCTAssertEqual(percentEncodedSegment("café-été/x y"), "caf%C3%A9-%C3%A9t%C3%A9%2Fx%20y")
        XCTAssertEqual(percentEncodedSegment("plain-slug_1.0~"), "plain-slug_1.0~")
        XCTAssertTrue(Presentation.isPlainHost("api.example.org:8443"))
        XCTAssertTrue(Presentation.isPlainHost("localhost"))
        for bad in ["", "evil.org/path", "a b", "host:port", "host:123456", "@evil"] {
            XCTAssertFalse(Presentation.isPlainHost(bad), bad)
        }
    }
}
