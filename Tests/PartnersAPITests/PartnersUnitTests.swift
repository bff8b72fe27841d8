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

    func testCursorPages() throws {
        let records: [JSON] = (1...45).reversed().map { ["id": .int($0)] }
        let first = try CursorPage(QueryParameters(""))
        let (items, meta) = first.page(records)
        XCTAssertEqual(items.map { $0["id"] }, (1...20).map { JSON.int($0) })
        XCTAssertEqual(meta, ["limit": 20, "next": "?limit=20&since=20"])
        let last = try CursorPage(QueryParameters("limit=50&since=40")).page(records)
        XCTAssertEqual(last.items.count, 5)
        XCTAssertEqual(last.meta["next"], .null)
        XCTAssertEqual(last.meta["limit"], 20)
        XCTAssertThrowsError(try CursorPage(QueryParameters("limit=abc")))
        XCTAssertThrowsError(try CursorPage(QueryParameters("since=-3")))
    }
}
