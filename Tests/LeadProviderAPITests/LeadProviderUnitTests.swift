import APICore
import HTTP
import JSON
import XCTest

@testable import LeadProviderAPI

final class ListQueryTests: XCTestCase {
    func testDefaultsClampAndSort() throws {
        let defaults = try ListQuery(QueryParameters(""))
        XCTAssertEqual(defaults.page, 1)
        XCTAssertEqual(defaults.perPage, 100)
        XCTAssertEqual(defaults.sort.map { "\($0.0)\($0.1)" }, ["created_atfalse"])
        let custom = try ListQuery(QueryParameters("page[page]=3&page[per_page]=5000&sort=-updated_at,name,created_at"))
        XCTAssertEqual(custom.page, 3)
        XCTAssertEqual(custom.perPage, 3000)
        XCTAssertEqual(custom.sort.map { "\($0.0)\($0.1)" }, ["updated_attrue", "created_atfalse"])
    }

    func testInvalidPagesGiveTheReferenceError() {
        for bad in ["page[page]=0", "page[per_page]=-1", "page[page]=0.8", "page[per_page]=abc"] {
            XCTAssertThrowsError(try ListQuery(QueryParameters(bad))) {
                XCTAssertEqual($0 as? APIError, Failure.pageInvalid, bad)
            }
        }
    }

    func testSortIsStableAndDescending() throws {
        let query = try ListQuery(QueryParameters("sort=-updated_at"))
        let items = [("a", "1"), ("b", "2"), ("c", "2"), ("d", "0")]
        XCTAssertEqual(query.sorted(items) { item, _ in item.1 }.map(\.0), ["b", "c", "a", "d"])
    }

    func testBlankFiltersAreNoFiltersButCountAsSent() throws {
        let query = try ListQuery(QueryParameters("filter[cohort]=&filter[updated_since]=%20&filter[urn]=100001"))
        XCTAssertEqual(query.filters, ["urn": "100001"])
        XCTAssertEqual(query.filterNames, ["cohort", "updated_since", "urn"])
        XCTAssertNil(try query.updatedSince())
    }

    func testAFilterThatIsNoHashIsTheReferences400() {
        for bad in ["filter=2025", "filter=", "filter[]=2025", "filter[cohort]=2025&filter=x"] {
            XCTAssertThrowsError(try ListQuery(QueryParameters(bad))) {
                XCTAssertEqual($0 as? APIError, Failure.filterNotAHash, bad)
            }
        }
    }

    func testUpdatedSince() throws {
        XCTAssertEqual(
            try ListQuery(QueryParameters("filter[updated_since]=2024-01-01T00:00:00Z")).updatedSince(),
            "2024-01-01T00:00:00.000000Z")
        XCTAssertThrowsError(try ListQuery(QueryParameters("filter[updated_since]=soon")).updatedSince())
    }
}

final class DerivedTests: XCTestCase {
    func testProgrammeChoice() {
        XCTAssertEqual(SchoolCohortState.programmeChoice([]), "not_yet_known")
        XCTAssertEqual(SchoolCohortState.programmeChoice([["training_programme": "school_led"]]), "school_led")
        XCTAssertEqual(
            SchoolCohortState.programmeChoice([
                ["training_programme": "school_led"], ["training_programme": "provider_led"],
            ]), "provider_led")
    }

    func testCohortStatus() {
        let now = Timestamp.parse("2026-01-01T00:00:00Z")!
        XCTAssertEqual(CohortStatus(["registration_opens_at": "2026-06-01T00:00:00Z"], now: now), .notYetOpen)
        XCTAssertEqual(
            CohortStatus(["registration_opens_at": "2025-06-01T00:00:00Z", "registration_closes_at": nil], now: now),
            .open)
        XCTAssertEqual(
            CohortStatus(
                ["registration_opens_at": "2024-06-01T00:00:00Z", "registration_closes_at": "2025-07-31T00:00:00Z"],
                now: now), .closed)
    }

    func testUpdatedAtIsTheLatestRelevantChange() {
        var state = SchoolCohortState()
        state.changedAt = "2026-02-01T00:00:00.000000Z"
        state.interest["lp1"] = (true, "2026-03-01T00:00:00.000000Z")
        let school: JSON = ["updated_at": "2026-01-01T00:00:00.000000Z"]
        XCTAssertEqual(state.updatedAt(school: school, provider: "lp1"), "2026-03-01T00:00:00.000000Z")
        XCTAssertEqual(state.updatedAt(school: school, provider: "lp2"), "2026-02-01T00:00:00.000000Z")
        XCTAssertEqual(SchoolCohortState(state.json).json, state.json)
    }

    func testErrorFormat() throws {
        let formatter = LeadProviderErrorFormatter()
        let unauthorized = formatter.response(for: [.unauthorized()])
        XCTAssertEqual(unauthorized.status, .unauthorized)
        XCTAssertEqual(String(decoding: unauthorized.body, as: UTF8.self), #"{"error":"HTTP Token: Access denied"}"#)
        let notFound = formatter.response(for: [.notFound()])
        XCTAssertEqual(
            try JSON.parse(notFound.body),
            ["errors": [["title": "Resource not found", "detail": "Nothing could be found for the provided details"]]])
    }

    func testCSV() throws {
        XCTAssertEqual(
            CSV.parse("a,b\n\"x, y\",\"he said \"\"hi\"\"\"\r\n1,\n"),
            [["a", "b"], ["x, y", "he said \"hi\""], ["1", ""]])
        let rows = try ReferenceData.rows(fromCSV: "urn,name,funding_eligible_cohorts\n1,A,2025;2026\n", kind: .schools)
        XCTAssertEqual(rows.first?["funding_eligible_cohorts"], ["2025", "2026"])
    }
}
