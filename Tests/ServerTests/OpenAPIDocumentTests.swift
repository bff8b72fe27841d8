import APICore
import HTTP
import JSON
import XCTest

@testable import Server

/// The published documents: every route of a documented family is in its document, every `$ref`
/// resolves, and each operation has an id, a summary, a success response and, when it needs a credential, the family's 401.
final class OpenAPIDocumentTests: XCTestCase {
    let families = ServerAssembly.families(scoreboardPath: nil, testRoutes: false).filter { $0.openAPIInfo != nil }

    func testTheLeadProviderAndPartnersFamiliesPublishDocuments() {
        XCTAssertTrue(Set(families.map(\.name)).isSuperset(of: ["lead-provider-v3", "partners-v1"]))
    }

    func testEveryRouteIsDocumentedAndEveryReferenceResolves() throws {
        for family in families {
            let document = try XCTUnwrap(OpenAPIDocument.build(family))
            XCTAssertEqual(OpenAPISchema.unresolvedReferences(in: document), [], family.name)
            var ids = Set<String>()
            for route in family.routes {
                XCTAssertNotNil(
                    route.doc, "\(family.name): \(route.method.rawValue) \(route.pattern) has no OperationDoc")
                let template = route.pattern.split(separator: "/", omittingEmptySubsequences: false)
                    .map { $0.first == ":" ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
                let operation = try XCTUnwrap(
                    document["paths"]?[template]?[route.method.rawValue.lowercased()], "\(route.pattern)")
                let id = try XCTUnwrap(operation["operationId"]?.stringValue)
                XCTAssertTrue(ids.insert(id).inserted, "duplicate operationId \(id)")
                XCTAssertFalse(operation["summary"]?.stringValue?.isEmpty ?? true)
                let statuses = operation["responses"]?.objectValue?.keys ?? []
                XCTAssertTrue(statuses.contains { $0.hasPrefix("2") }, "\(id): no success response")
                // Security, 401 and 403 come from the operation's access requirement.
                XCTAssertEqual((operation["security"]?.arrayValue ?? []).isEmpty, route.requirement == .none, id)
                // (An operation that authenticates by itself, such as an OAuth2 token endpoint, documents its own 401.)
                let ownUnauthorized = route.doc?.responses.contains { $0.status == 401 } ?? false
                XCTAssertEqual(
                    statuses.contains("401"), route.requirement != .none || ownUnauthorized,
                    "\(id): 401 iff a credential is required")
                if case .role = route.requirement {
                    XCTAssertTrue(statuses.contains("403"), "\(id): a role refuses with 403")
                }
                // No credentials is one of the ways in exactly when the token is optional.
                XCTAssertEqual(
                    operation["security"]?.arrayValue?.contains([:]) ?? false, route.requirement == .optionalPrincipal,
                    id)
                // Every `{name}` of the path is declared as a path parameter.
                let declared = Set(
                    (operation["parameters"]?.arrayValue ?? []).filter { $0["in"] == "path" }.compactMap {
                        $0["name"]?.stringValue
                    })
                XCTAssertEqual(
                    declared,
                    Set(route.pattern.split(separator: "/").filter { $0.first == ":" }.map { String($0.dropFirst()) }),
                    id)
            }
        }
    }

    func testResponseSchemasComeFromTheResourceSchemas() throws {
        let family = try XCTUnwrap(families.first { $0.name == "lead-provider-v3" })
        let document = try XCTUnwrap(OpenAPIDocument.build(family))
        let attributes = try XCTUnwrap(
            document["components"]?["schemas"]?["PartnershipAttributes"]?["properties"]?.objectValue)
        XCTAssertEqual(
            attributes.keys,
            [
                "cohort", "urn", "school_id", "delivery_partner_id", "delivery_partner_name", "induction_tutor_name",
                "induction_tutor_email", "participants_currently_training", "created_at", "updated_at",
            ])
        let list = document["paths"]?["/api/v3/partnerships"]?["get"]?["responses"]?["200"]?["content"]?[
            "application/json"]?["schema"]
        XCTAssertEqual(list?["properties"]?["data"]?["items"], ["$ref": "#/components/schemas/Partnership"])
        // The LP API answers 401 with its own body, not the error list.
        let unauthorized = document["paths"]?["/api/v3/partnerships"]?["get"]?["responses"]?["401"]?["content"]?[
            "application/json"]?["schema"]
        XCTAssertEqual(unauthorized, ["$ref": "#/components/schemas/Unauthorized"])
    }

    func testAWritablePayloadSchemaIsClosedAndAPatchRequiresNothing() {
        let schema = ResourceSchema(
            "Thing", [Field("name", .string, required: true), Field("id", .integer, readOnly: true)])
        XCTAssertEqual(schema.openAPI(writableOnly: true)["additionalProperties"], false)
        XCTAssertEqual(schema.openAPIChanges()["required"], [])
        XCTAssertEqual(
            schema.openAPI(overriding: ["name": ["$ref": "#/x"]], omitting: ["id"])["properties"],
            ["name": ["$ref": "#/x"]])
    }

    func testEmailAndURLValuesAreCheckedAsTheDocumentPromises() {
        let schema = ResourceSchema("Contact", [Field("email", .email), Field("url", .url)])
        for good in ["grace.hopper@school.example", "a+b@x.org", "x@localhost"] {
            XCTAssertEqual(schema.validate(["email": .string(good)], partial: true), [], good)
        }
        for bad in ["", "plain", "a@", "@b.org", "a b@c.org", "a@b..org", "a@-b.org", "a@b@c.org", ".a@b.org"] {
            XCTAssertEqual(schema.validate(["email": .string(bad)], partial: true), [.invalidValue("email")], bad)
        }
        for good in ["https://partner1.example.org", "http://x.org:8080/a/b?c=d&e#top", "https://x.org/%C3%A9"] {
            XCTAssertEqual(schema.validate(["url": .string(good)], partial: true), [], good)
        }
        for bad in [
            "", "partner.example.org", "ftp://x.org", "https://", "https://x.org/a b", "https://x.org:port/",
            "https://x.org/%zz", "https://x.org/#a#b",
        ] {
            XCTAssertEqual(schema.validate(["url": .string(bad)], partial: true), [.invalidValue("url")], bad)
        }
    }
}
