import APICore
import DirectoryAPI
import JSON
import TestClient
import Testing

/// The Directory API's keys through the whole application in-process: each operation's permission
/// is checked by the router, and another organization's directory looks like no directory at all.
@Suite struct DirectoryAccessTests {
    let client: TestClient
    let directory: String
    let otherDirectory: String

    init() throws {
        client = try TestClient()
        let organization = try DirectoryAdmin.createOrganization(client.store, name: "Northwind", domain: nil)
        directory = try DirectoryAdmin.createDirectory(client.store, organization: organization, name: "Partners")
        let other = try DirectoryAdmin.createOrganization(client.store, name: "Contoso", domain: nil)
        otherDirectory = try DirectoryAdmin.createDirectory(client.store, organization: other, name: "Elsewhere")
    }

    func key(_ permissions: [String]) throws -> String {
        let organization = try #require(client.store.get("dir_directories", directory)?["organization_id"]?.stringValue)
        return try DirectoryAdmin.createKey(
            client.store, organization: organization, permissions: permissions, name: "test"
        ).key
    }

    func callouts(_ directory: String) -> String { "/api/directory/private/v1alpha/directories/\(directory)/callouts/" }

    @Test func eachOperationNeedsItsOwnPermission() throws {
        let reader = try key(["generic_directory:read_callouts"])
        #expect(client.get(callouts(directory)).status == 401)
        #expect(client.get(callouts(directory), token: reader, scheme: nil).status == 200)
        let refused = client.send(.post, callouts(directory), token: reader, scheme: nil, json: ["name": "New"])
        #expect(refused.status == 403)
        #expect(
            refused.json?["detail"]?.stringValue?.contains("generic_directory:create_callouts") == true,
            "\(refused.json?.text ?? "")")

        let writer = try key(["generic_directory:create_callouts", "generic_directory:read_callouts"])
        let created = client.send(.post, callouts(directory), token: writer, scheme: nil, json: ["name": "New"])
        #expect(created.status == 201)
        #expect(client.get(callouts(directory), token: reader, scheme: nil).json?["count"] == 1)
    }

    @Test func anotherOrganizationsDirectoryIsNotFound() throws {
        let everything = try key(["generic_directory:*"])
        #expect(client.get(callouts(otherDirectory), token: everything, scheme: nil).status == 404)
        #expect(
            client.get("/api/directory/private/v1alpha/directories/\(otherDirectory)/", token: everything, scheme: nil)
                .status == 404)
        #expect(
            client.get("/api/directory/private/v1alpha/directories/\(directory)/", token: everything, scheme: nil)
                .status == 200)
    }

    @Test func thePublicListingNeedsNoKey() throws {
        let slug = try #require(client.store.get("dir_directories", directory)?["slug"]?.stringValue)
        let listing = client.get("/api/directory/public/v1alpha/directories/\(slug)/entries/")
        #expect(listing.status == 200)
        #expect(listing.json?["results"] == [])
    }
}
