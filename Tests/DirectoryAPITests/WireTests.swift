import HTTP
import JSON
import Store
import XCTest

@testable import APICore
@testable import DirectoryAPI

#if canImport(Glibc)
    import Glibc
#endif

final class WireTests: XCTestCase {
    func testCasingRoundTrips() {
        XCTAssertEqual(Wire.snake("callToActionUrl"), "call_to_action_url")
        XCTAssertEqual(Wire.snake("already_snake"), "already_snake")
        XCTAssertEqual(Wire.camel("internal_point_of_contact_cta_url"), "internalPointOfContactCtaUrl")
        // Letters that uppercase to more than one (a client's member name, e.g. from a fuzzer).
        XCTAssertEqual(Wire.camel("a_ßb_ŉ_ﬃ"), "aSSbʼNFFI")
        XCTAssertEqual(Wire.camelKeys(["text_color": "x"]), ["textColor": "x"])
    }

    func request(_ body: String, query: String = "") -> HTTPRequest {
        HTTPRequest(method: .post, path: "/x/", query: QueryParameters(query), body: Array(body.utf8))
    }

    func testPayloadTakesCamelCaseAndNamesProblemsAsSent() throws {
        let schema = Catalogue.entryTestimonials.schema
        let body = try Wire.payload(
            request(#"{"authorName":"Jo","testimonialText":"Great","order":2}"#), schema, partial: false)
        XCTAssertEqual(body["author_name"], "Jo")
        XCTAssertThrowsError(try Wire.payload(request(#"{"authorName":5,"bogus":1}"#), schema, partial: false)) {
            error in
            let fields = Set((error as? APIErrors)?.errors.compactMap(\.field) ?? [])
            XCTAssertEqual(fields, ["authorName", "bogus", "testimonialText"])
        }
        XCTAssertThrowsError(try Wire.payload(request("{}"), schema, partial: true))
        XCTAssertThrowsError(try Wire.payload(request("[1]"), schema, partial: true))
        XCTAssertThrowsError(try Wire.payload(request(#"{"authorName":"a","author_name":"b"}"#), schema, partial: true))
    }

    func testPagesAreCappedAndLinked() throws {
        let items = (1...250).map { JSON.int($0) }
        let page = try Wire.page(items, request("", query: "page=2&page_size=500&status=public"))
        XCTAssertEqual(page["count"], 250)
        XCTAssertEqual(page["results"]?.arrayValue?.count, 100)
        XCTAssertEqual(page["next"], "/x/?status=public&page=3&page_size=100")
        XCTAssertEqual(page["previous"], "/x/?status=public&page=1&page_size=100")
        XCTAssertThrowsError(try Wire.page(items, request("", query: "page=14")))
        XCTAssertEqual(try Wire.page([], request(""))["results"], [])
    }

    func testErrorBodies() {
        let formatter = DirectoryErrorFormatter()
        XCTAssertEqual(try JSON.parse(formatter.response(for: [Wire.notFound()]).body), ["detail": "Not found."])
        let fields = formatter.response(for: [Wire.missing("title"), Wire.invalid("title", "Too long.")])
        XCTAssertEqual(fields.status, .badRequest)
        XCTAssertEqual(
            try JSON.parse(fields.body),
            ["detail": "Invalid input.", "errors": ["title": ["This field is required.", "Too long."]]])
    }

    func testPermissionNames() {
        XCTAssertEqual(Permission(.update, "reviews").name, "generic_directory:update_reviews")
        XCTAssertEqual(Permission(.read, "tiers").name, "generic_directory:read_tiers")
        let caller = Caller(organization: "o", permissions: ["generic_directory:read_tiers"])
        XCTAssertNoThrow(try caller.require(Permission(.read, "tiers")))
        XCTAssertThrowsError(try caller.require(Permission(.delete, "tiers")))
        XCTAssertNoThrow(
            try Caller(organization: "o", permissions: [Caller.wildcard]).require(
                Permission(.approve, "partner_entries")))
    }

    func testSpecsMakeDistinctCollectionsAndPaths() {
        XCTAssertEqual(Set(Catalogue.all.map(\.collection)).count, Catalogue.all.count)
        // Under the private group's prefix (`Wire.base`).
        XCTAssertEqual(
            Catalogue.entryUseCases.itemPath,
            "directories/:directory_id/entries/partners/:entry_id/use-cases/:use_case_id/")
        XCTAssertEqual(Catalogue.filterOptions.collection, "dir_filter_options")
        XCTAssertEqual(
            Catalogue.callouts.response(
                ["id": "1", "name": "n", "text_color": "fff"],
                try! Store(directory: temporaryDirectory(), indexes: DirectoryFamily().storeIndexes)),
            ["id": "1", "name": "n", "textColor": "fff", "backgroundColor": .null, "order": 0])
    }

    /// Every route is documented, and the document's request schemas are the validation schemas.
    func testOpenAPIDocumentCoversEveryRoute() throws {
        let family = DirectoryFamily()
        let routes = family.routes
        XCTAssertTrue(
            routes.allSatisfy { $0.doc != nil }, routes.filter { $0.doc == nil }.map(\.pattern).joined(separator: ", "))
        let document = try XCTUnwrap(OpenAPIDocument.build(family))
        var operations = 0
        for (_, item) in document["paths"]?.objectValue ?? [:] { operations += item.objectValue?.count ?? 0 }
        XCTAssertEqual(operations, routes.count)
        let create = document["paths"]?[
            "/api/directory/private/v1alpha/directories/{directory_id}/entries/partners/{entry_id}/testimonials/"]?[
                "post"]
        XCTAssertEqual(
            create?["requestBody"]?["content"]?["application/json"]?["schema"]?["required"],
            ["authorName", "testimonialText"])
    }
}

func temporaryDirectory() -> String {
    var template = Array("/tmp/directory-tests-XXXXXX".utf8CString)
    return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
}

final class UUIDFieldTests: XCTestCase {
    func testIdsMustBeUUIDs() {
        let schema = Entries.partner.writeSchema
        let request = { (body: String) in HTTPRequest(method: .patch, path: "/x/", body: Array(body.utf8)) }
        XCTAssertThrowsError(try Wire.payload(request(#"{"owner":""}"#), schema, partial: true)) { error in
            XCTAssertEqual((error as? APIErrors)?.errors.first?.field, "owner")
        }
        XCTAssertThrowsError(try Wire.payload(request(#"{"userAssignedFilterOptions":["x"]}"#), schema, partial: true))
        XCTAssertNoThrow(
            try Wire.payload(
                request(#"{"owner":null,"tier":"9666c7ff-e19c-4368-9dce-c81e0d2de158"}"#), schema, partial: true))
    }
}
