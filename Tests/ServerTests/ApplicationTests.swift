import APICore
import FastCGI
import HTTP
import JSON
import Store
import XCTest

@testable import Server

/// A family whose error format is recognisable, to check that each path gets its own family's format.
private struct BracketFormatter: ErrorFormatter {
    func response(for errors: [APIError]) -> HTTPResponse {
        .json(["bracket": .array(errors.map { .string("\($0.title): \($0.detail)") })], status: errors[0].status)
    }
}

private struct SampleFamily: APIFamily {
    let name = "sample"
    let pathPrefix = "/api/sample"
    let errorFormatter: any ErrorFormatter = BracketFormatter()
    let storeIndexes: [IndexDefinition] = []

    var routes: [Route] {
        var routes = OperationGroup<Nobody>("/api/sample", access: .anyone)
        routes.onPublic(.get, "items/:id", doc: nil) { context in
            .json(["id": .string(context.request.pathParameter("id"))])
        }
        routes.onPublic(.post, "fail", doc: nil) { _ in
            throw APIErrors([.validation(field: "a", "Enter a"), .validation(field: "b", "Enter b")])
        }
        routes.onPublic(.get, "bug", doc: nil) { _ in
            struct Unexpected: Error {}
            throw Unexpected()
        }
        return routes.routes
    }
}

final class ApplicationTests: XCTestCase {
    private var directory: String!
    private var application: Application!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "app-tests-\(UUID().uuidString)"
        let families: [any APIFamily] = [OperationsFamily(scoreboardPath: nil), SampleFamily()]
        application = Application(
            families: families, store: try Store(directory: directory, indexes: Application.indexes(of: families)))
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func body(_ response: HTTPResponse) throws -> JSON { try JSON.parse(response.body) }

    func testRoutesWithParametersAndRequestIdEcho() throws {
        let response = application.handle(HTTPRequest(method: .get, path: "/api/sample/items/42", requestID: "rid-1"))
        XCTAssertEqual(response.status, .ok)
        XCTAssertEqual(try body(response), ["id": "42"])
        XCTAssertTrue(response.headers.contains { $0.name.rawName == "X-Request-Id" && $0.value == "rid-1" })
    }

    func testErrorsUseTheFamilyFormat() throws {
        let unknown = application.handle(HTTPRequest(method: .get, path: "/api/sample/nothing"))
        XCTAssertEqual(unknown.status, .notFound)
        XCTAssertNotNil(try body(unknown)["bracket"])
        let several = application.handle(HTTPRequest(method: .post, path: "/api/sample/fail"))
        XCTAssertEqual(several.status, .unprocessableContent)
        XCTAssertEqual(try body(several)["bracket"], ["a: Enter a", "b: Enter b"])
        let outside = application.handle(HTTPRequest(method: .get, path: "/elsewhere"))
        XCTAssertEqual(try body(outside)["error"], "Not found")
    }

    func testUnexpectedErrorsBecome500WithoutDetails() throws {
        let response = application.handle(HTTPRequest(method: .get, path: "/api/sample/bug", requestID: "rid-9"))
        XCTAssertEqual(response.status, .internalServerError)
        let text = String(decoding: response.body, as: UTF8.self)
        XCTAssertTrue(text.contains("rid-9"))
        XCTAssertFalse(text.contains("Unexpected"))
    }

    func testMethodNotAllowedAndHead() throws {
        let response = application.handle(HTTPRequest(method: .post, path: "/healthz"))
        XCTAssertEqual(response.status, .methodNotAllowed)
        XCTAssertTrue(response.headers.contains { $0.name.rawName == "Allow" && $0.value == "GET" })
        let head = application.handle(HTTPRequest(method: .head, path: "/healthz"))
        XCTAssertEqual(head.status, .ok)
        XCTAssertTrue(head.body.isEmpty)
        let get = application.handle(HTTPRequest(method: .get, path: "/healthz"))
        XCTAssertFalse(get.body.isEmpty)
        XCTAssertEqual(
            head.headers[.contentLength], String(get.body.count), "HEAD says the GET's length")
        let encoded = String(
            decoding: CGIResponse.encode(status: 200, reason: "OK", headers: head.headers, body: head.body),
            as: UTF8.self)
        XCTAssertEqual(
            encoded.components(separatedBy: "Content-Length:").count, 2, "one Content-Length, the GET's: \(encoded)")
        XCTAssertTrue(encoded.contains("Content-Length: \(get.body.count)\r\n"))
    }

    func testStatusIsRefusedToNonLoopbackPeers() {
        var request = HTTPRequest(method: .get, path: "/status")
        request.remoteAddress = "203.0.113.9"
        XCTAssertEqual(application.handle(request).status, .notFound)
    }

    func testStatusTrustsOnlyARealLoopbackAddress() throws {
        // No REMOTE_ADDR at all (a FastCGI client other than our nginx config) is not loopback.
        let params = FastCGIParams(["REQUEST_METHOD": "GET", "DOCUMENT_URI": "/status", "REQUEST_URI": "/status"])
        let unaddressed = try RequestMapping.request(from: params, body: []).get()
        XCTAssertEqual(application.handle(unaddressed).status, .notFound)
        for address in [
            "", " ", "127.evil.example", "1270.0.0.1", "::2", "::ffff:10.0.0.1", "localhost", "0.0.0.0", "128.0.0.1",
        ] {
            var request = HTTPRequest(method: .get, path: "/status")
            request.remoteAddress = address
            XCTAssertEqual(application.handle(request).status, .notFound, "remote address \(address.debugDescription)")
            XCTAssertFalse(OperationsFamily.isLoopback(address), address)
        }
        for address in ["127.0.0.1", "127.1.2.3", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "unix:"] {
            XCTAssertTrue(OperationsFamily.isLoopback(address), address)
            var request = HTTPRequest(method: .get, path: "/status")
            request.remoteAddress = address
            XCTAssertEqual(application.handle(request).status, .ok, address)
        }
    }
}

final class RequestMappingTests: XCTestCase {
    func testParamsBecomeARequest() throws {
        let params = FastCGIParams([
            "REQUEST_METHOD": "PATCH", "DOCUMENT_URI": "/v1/partnerships/7",
            "REQUEST_URI": "/v1/partnerships/7?limit=5",
            "QUERY_STRING": "limit=5", "HTTP_AUTHORIZATION": "APIKey k", "HTTP_X_CUSTOM_THING": "v",
            "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": "2", "REMOTE_ADDR": "127.0.0.1", "REQUEST_ID": "abc",
        ])
        let request = try RequestMapping.request(from: params, body: Array("{}".utf8)).get()
        XCTAssertEqual(request.method, .patch)
        XCTAssertEqual(request.path, "/v1/partnerships/7")
        XCTAssertEqual(request.query["limit"], "5")
        XCTAssertEqual(request.headers[.authorization], "APIKey k")
        XCTAssertEqual(request.headers[HTTPField.Name("X-Custom-Thing")!], "v")
        XCTAssertEqual(request.headers[.contentType], "application/json")
        XCTAssertEqual(request.requestID, "abc")
    }

    func testRepeatedAuthorizationAndUnknownMethodsAreRefused() {
        let twice = FastCGIParams(
            ["REQUEST_METHOD": "GET", "HTTP_AUTHORIZATION": "b"], repeatedNames: ["HTTP_AUTHORIZATION"])
        guard case .failure(.repeatedAuthorization) = RequestMapping.request(from: twice, body: []) else {
            return XCTFail()
        }
        guard
            case .failure(.unsupportedMethod("BREW")) = RequestMapping.request(
                from: FastCGIParams(["REQUEST_METHOD": "BREW"]), body: [])
        else {
            return XCTFail()
        }
        // Any token is a method to HTTPTypes; the server serves its seven, by their exact names.
        guard
            case .failure(.unsupportedMethod("get")) = RequestMapping.request(
                from: FastCGIParams(["REQUEST_METHOD": "get"]), body: [])
        else {
            return XCTFail()
        }
    }

    func testOneFieldPerNameAndValuesAsSent() throws {
        let params = FastCGIParams([
            "REQUEST_METHOD": "POST", "CONTENT_TYPE": "application/json", "HTTP_CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": "2", "HTTP_CONTENT_LENGTH": "2", "HTTP_X_ODD": "a\u{1}b ", "HTTP_ACCEPT": "*/*",
            "SERVER_NAME": "localhost",
        ])
        let request = try RequestMapping.request(from: params, body: Array("{}".utf8)).get()
        XCTAssertEqual(request.headers[values: .contentType], ["application/json"])
        XCTAssertEqual(request.headers[values: .contentLength], ["2"])
        XCTAssertEqual(request.headers[HTTPField.Name("x-odd")!], "a\u{1}b ", "not trimmed nor cleaned")
        XCTAssertEqual(request.headers.count, 4)
        // Without nginx's second copy, the header's own param is the field.
        let headerOnly = try RequestMapping.request(
            from: FastCGIParams(["REQUEST_METHOD": "POST", "HTTP_CONTENT_TYPE": "text/plain"]), body: []
        ).get()
        XCTAssertEqual(headerOnly.headers[.contentType], "text/plain")
    }

    func testTheValueCheckAgreesWithHTTPTypes() {
        let values = [
            "", "a", "Bearer abc", " a", "a ", "\ta", "a\t", "a\tb", "a b", "a\u{1}b", "a\u{7F}", "é", "\u{80}x",
            "x\u{1F}", "~!", "  ", "\t",
        ]
        for value in values {
            XCTAssertEqual(HTTPField.isKeptAsIs(value), HTTPField.isValidValue(value), value.debugDescription)
        }
    }

    func testMissingRequestIdIsGenerated() throws {
        let request = try RequestMapping.request(
            from: FastCGIParams(["REQUEST_METHOD": "GET", "REQUEST_URI": "/a?b"]), body: []
        ).get()
        XCTAssertEqual(request.path, "/a")
        XCTAssertEqual(request.requestID.count, 32)
    }
}
