import APICore
import Foundation
import HTTP
import JSON
import PostgresStore
import Store
import XCTest

@testable import Server

/// The engine switch (`ServerAssembly.openStore`) and what a request answers while the database is
/// away: a 503 with Retry-After in its family's own error format, then normal answers again once
/// the database is back, from the same `Application` (a worker is not restarted for it).
final class StoreOnPostgresTests: XCTestCase {
    private static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    func testAFolderOpensTheJSONStoreAndAPostgresURLTheEngine() throws {
        let folder = NSTemporaryDirectory() + "dispatch-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        XCTAssertFalse(try ServerAssembly.openStore(folder, indexes: []).isEngine)
        guard let url = ProcessInfo.processInfo.environment["PARTNERSHIPS_TEST_POSTGRES_URL"], !url.isEmpty else {
            throw XCTSkip("PARTNERSHIPS_TEST_POSTGRES_URL is not set (deploy/test sets it)")
        }
        let schema = "dispatch_\(getpid())"
        let store = try ServerAssembly.openStore(url + "?schema=\(schema)", indexes: [])
        XCTAssertTrue(store.isEngine)
        XCTAssertTrue(store.directory.hasPrefix("postgres://"))
        try store.write { tx in tx.put("things", "a", ["n": 1]) }
        XCTAssertEqual(store.get("things", "a"), ["n": 1])
        store.endReads()
        XCTAssertThrowsError(try store.compact()) { error in
            XCTAssertTrue("\(error)".contains("store migrate"), "\(error)")
        }
    }

    /// One GET route of each family, its parameters filled in: each is answered in that family's format.
    private func oneRoutePerFamily(_ application: Application) -> [(family: String, path: String)] {
        application.families.compactMap { family -> (String, String)? in
            guard !family.pathPrefix.isEmpty,
                let route = family.routes.first(where: { $0.method == .get && $0.pattern.hasPrefix(family.pathPrefix) })
            else { return nil }
            let path = route.pattern.split(separator: "/", omittingEmptySubsequences: false)
                .map { $0.hasPrefix(":") ? "1" : String($0) }.joined(separator: "/")
            return (family.name, path)
        }
    }

    /// Runs deploy/postgres-test-cluster; `start` leaves the URL in FOLDER/url. Spawned and waited
    /// for directly: Foundation's `Process.waitUntilExit` did not return once the script had
    /// started a server (a daemon left behind in its session), and its output goes to /dev/null,
    /// not a pipe the server would keep open.
    private func cluster(_ command: String, _ folder: String) throws {
        let script = Self.repositoryRoot + "/deploy/postgres-test-cluster"
        let arguments = [script, command, folder]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, script, &actions, nil, &argv, environ) == 0 else {
            throw XCTSkip("cannot run \(script)")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else {
            throw XCTSkip("deploy/postgres-test-cluster \(command) failed (wait status \(status))")
        }
    }

    func testAStoppedDatabaseIsA503InEachFamilysFormatAndARestartedOneServesAgain() throws {
        guard ProcessInfo.processInfo.environment["PARTNERSHIPS_TEST_POSTGRES_URL"].map({ !$0.isEmpty }) == true else {
            throw XCTSkip(
                "PARTNERSHIPS_TEST_POSTGRES_URL is not set: PostgreSQL is not installed here (deploy/test sets it)")
        }
        // A cluster of its own: stopping the shared one would fail every other test using it.
        let folder = "/tmp/pg-outage-\(getpid())"
        try cluster("start", folder)
        defer { try? cluster("stop", folder) }
        let url = try String(contentsOfFile: folder + "/url", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let families = ServerAssembly.families(scoreboardPath: nil, testRoutes: false)
        let application = Application(
            families: families, store: try ServerAssembly.openStore(url, indexes: Application.indexes(of: families)))
        let routes = oneRoutePerFamily(application)
        XCTAssertEqual(Set(routes.map(\.family)).count, 3, "\(routes)")
        var before: [String: HTTPStatus] = [:]
        for (family, path) in routes {
            let response = application.handle(HTTPRequest(method: .get, path: path, requestID: "r-\(family)"))
            XCTAssertNotEqual(response.status.code, 503, "\(family) \(path)")
            before[family] = response.status
        }

        try cluster("pause", folder)
        for (family, path) in routes {
            let response = application.handle(HTTPRequest(method: .get, path: path, requestID: "r-\(family)"))
            XCTAssertEqual(response.status.code, 503, "\(family) \(path)")
            XCTAssertEqual(response.headers[.retryAfter], "2", family)
            let body = try JSON.parse(response.body)
            let text = String(decoding: response.body, as: UTF8.self)
            XCTAssertTrue(text.contains("r-\(family)"), "the request id is quoted: \(text)")
            switch family {
            case "lead-provider-v3":
                XCTAssertEqual(body["errors"]?.arrayValue?.first?["title"], "Service unavailable", text)
            case "partners-v1":
                XCTAssertEqual(body.arrayValue?.first?["classification"], "ServerError", text)
            case "directory":
                XCTAssertNotNil(body["detail"]?.stringValue, text)
            default:
                XCTFail("a family this test does not know: \(family) (\(text))")
            }
        }
        // A write while the database is away: 503 too, never a 500.
        let write = application.handle(HTTPRequest(method: .post, path: routes[0].path, requestID: "w"))
        XCTAssertTrue([503, 405].contains(write.status.code), "\(write.status)")

        try cluster("resume", folder)
        for (family, path) in routes {
            let response = application.handle(HTTPRequest(method: .get, path: path, requestID: "r-\(family)"))
            XCTAssertEqual(response.status, before[family], "\(family) \(path) after the restart")
        }
    }
}
