import XCTest

@testable import HTTP

final class RouterTests: XCTestCase {
    private func makeRouter() -> Router<String> {
        let router = Router<String>()
        router.add(.get, "/api/v3/partnerships", "list")
        router.add(.post, "/api/v3/partnerships", "create")
        router.add(.get, "/api/v3/partnerships/:id", "show")
        router.add(.put, "/api/v3/partnerships/:id", "update")
        router.add(.get, "/v1/partners/:slug/projects", "partner projects")
        router.add(.get, "/v1/partners/featured/projects", "featured")
        router.add(.get, "/d/:directory/entries/partners/:entry/", "entry")
        router.add(.post, "/d/:directory/entries/partners/:entry/review/submit/", "submit")
        return router
    }

    func testStaticAndParameterRoutes() {
        let router = makeRouter()
        guard case .found(let handler, let parameters, let pattern) = router.match(.get, "/api/v3/partnerships/abc")
        else {
            return XCTFail("no match")
        }
        XCTAssertEqual(handler, "show")
        XCTAssertEqual(parameters, ["id": "abc"])
        XCTAssertEqual(pattern, "/api/v3/partnerships/:id")
        guard case .found("list", _, _) = router.match(.get, "/api/v3/partnerships") else { return XCTFail() }
        guard case .found("create", _, _) = router.match(.post, "/api/v3/partnerships") else { return XCTFail() }
    }

    func testStaticSegmentWinsOverParameterAndBacktracks() {
        let router = makeRouter()
        guard case .found("featured", let p1, _) = router.match(.get, "/v1/partners/featured/projects") else {
            return XCTFail()
        }
        XCTAssertEqual(p1, [:])
        guard case .found("partner projects", let p2, _) = router.match(.get, "/v1/partners/acme/projects") else {
            return XCTFail()
        }
        XCTAssertEqual(p2, ["slug": "acme"])
    }

    func testTrailingSlashIsNotSignificantAndNestedParameters() {
        let router = makeRouter()
        guard case .found("entry", let parameters, _) = router.match(.get, "/d/D1/entries/partners/E1") else {
            return XCTFail()
        }
        XCTAssertEqual(parameters, ["directory": "D1", "entry": "E1"])
        guard case .found("submit", _, _) = router.match(.post, "/d/D1/entries/partners/E1/review/submit/") else {
            return XCTFail()
        }
    }

    func testMethodNotAllowedListsAllowedMethods() {
        let router = makeRouter()
        guard case .methodNotAllowed(let allowed) = router.match(.delete, "/api/v3/partnerships/x") else {
            return XCTFail()
        }
        XCTAssertEqual(Set(allowed), [.get, .put])
    }

    func testHeadFallsBackToGet() {
        guard case .found("list", _, _) = makeRouter().match(.head, "/api/v3/partnerships") else { return XCTFail() }
    }

    func testNotFound() {
        let router = makeRouter()
        for path in ["/", "/api", "/api/v3/partnerships/a/b", "/nothing/here", "/api/v3/partnerships/a/../b"] {
            if case .found = router.match(.get, path) { XCTFail("matched \(path)") }
        }
    }
}

final class QueryParametersTests: XCTestCase {
    func testBracketGroupsAndDecoding() {
        let query = QueryParameters(
            "filter[cohort]=2024,2025&page[per_page]=50&page%5Bpage%5D=2&sort=-created_at&q=a+b%20c&flag")
        XCTAssertEqual(query["filter[cohort]"], "2024,2025")
        XCTAssertEqual(query.nested("filter"), ["cohort": "2024,2025"])
        XCTAssertEqual(query.nested("page"), ["per_page": "50", "page": "2"])
        XCTAssertEqual(query["sort"], "-created_at")
        XCTAssertEqual(query["q"], "a b c")
        XCTAssertEqual(query["flag"], "")
        XCTAssertTrue(query.contains("flag"))
        XCTAssertNil(query["missing"])
    }

    func testRepeatedKeysKeepOrderAndFirstWins() {
        let query = QueryParameters("a=1&a=2&filter[x]=1&filter[x]=2")
        XCTAssertEqual(query.values("a"), ["1", "2"])
        XCTAssertEqual(query["a"], "1")
        XCTAssertEqual(query.nested("filter")["x"], "1")
    }

    func testMalformedInputDoesNotCrash() {
        let query = QueryParameters("=x&%zz=%&b=%e2%82&&c=%E2%82%AC")
        XCTAssertEqual(query["%zz"], "%")
        XCTAssertEqual(query["c"], "€")
        XCTAssertNotNil(query["b"])  // invalid UTF-8 is repaired, not fatal
        XCTAssertEqual(query.pairs.count, 3)
    }
}

final class ResponseTests: XCTestCase {
    func testJSONResponseAndStatusReasons() throws {
        let response = HTTPResponse.json(["a": 1], status: .created)
        XCTAssertEqual(response.status.code, 201)
        XCTAssertEqual(response.status.reason, "Created")
        XCTAssertEqual(String(decoding: response.body, as: UTF8.self), #"{"a":1}"#)
        XCTAssertEqual(response.headers.first?.name.rawName, "Content-Type")
        XCTAssertEqual(response.headers.first?.value, "application/json; charset=utf-8")
    }

    /// What clients see on the `Status:` line and in the OpenAPI documents is our table, not
    /// HTTPTypes' `reasonPhrase` (RFC 9110's newer names for 413 and 422).
    func testReasonPhrasesAreOurs() {
        XCTAssertEqual(HTTPStatus(code: 422).reason, "Unprocessable Entity")
        XCTAssertEqual(HTTPStatus.unprocessableContent.reason, "Unprocessable Entity")
        XCTAssertEqual(HTTPStatus.contentTooLarge.reason, "Payload Too Large")
        XCTAssertEqual(HTTPStatus.insufficientStorage.code, 507)
        XCTAssertEqual(HTTPStatus.insufficientStorage.reason, "Insufficient Storage")
        XCTAssertEqual(HTTPStatus(code: 418).reason, "Status 418")
    }

    func testServedMethods() {
        XCTAssertEqual(HTTPMethod.served.map(\.rawValue), ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
        for method in HTTPMethod.served { XCTAssertEqual(HTTPMethod(served: method.rawValue), method) }
        XCTAssertNil(HTTPMethod(served: "get"))
        XCTAssertNil(HTTPMethod(served: "BREW"))
        XCTAssertNil(HTTPMethod(served: "TRACE"))
    }

    func testFieldNamesAreCaseInsensitiveAndWrittenAsSpelled() {
        let fields: HTTPFields = [HTTPField.Name("AUTHORIZATION")!: "Bearer a", .requestID: "r"]
        XCTAssertEqual(fields[.authorization], "Bearer a")
        XCTAssertEqual(fields[HTTPField.Name("x-request-id")!], "r")
        XCTAssertEqual(HTTPField.Name.requestID.rawName, "X-Request-Id")
        XCTAssertEqual(HTTPField.Name.idempotencyKey.rawName, "Idempotency-Key")
        XCTAssertEqual(HTTPField.Name.eTag.rawName, "ETag")
        let request = HTTPRequest(method: .get, path: "/", headers: [.ifMatch: "\"t\""])
        XCTAssertEqual(request.header(.ifMatch), "\"t\"")
        XCTAssertNil(request.header(.ifNoneMatch))
    }
}
