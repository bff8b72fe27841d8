import Foundation
import XCTest

@testable import Settings

final class SettingsTests: XCTestCase {
    private var folder = ""

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "settings-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

    private func file(_ text: String, name: String = "pool.conf") throws -> String {
        let path = folder + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func resolve(
        flags: [Knob: String] = [:], config: String? = nil, environment: [String: String] = [:]
    ) throws -> Settings {
        try Settings.resolve(flags: flags, configFlag: config, environment: environment)
    }

    private func message(_ body: () throws -> Settings) -> String {
        do {
            _ = try body()
            XCTFail("no error")
            return ""
        } catch let error as SettingsError { return error.message } catch {
            XCTFail("unexpected \(error)")
            return ""
        }
    }

    func testDefaultsWithoutFileOrEnvironment() throws {
        let settings = try resolve()
        XCTAssertEqual(settings.text(.data), "state/data")
        XCTAssertEqual(settings.origin(.data), .builtIn)
        XCTAssertEqual(settings.text(.listen), "unix:state/run/partnerships.sock")
        XCTAssertNil(settings.int(.workers), "the number of cores, decided by serve")
        XCTAssertEqual(settings.int(.maxRequests), 10_000)
        XCTAssertEqual(settings.int(.bodyLimit), 1 << 20)
        XCTAssertEqual(settings.double(.requestTimeout), 30)
        XCTAssertEqual(settings.int(.compactionThreshold), 8 << 20)
        XCTAssertEqual(settings.text(.logFile), "-")
        XCTAssertNil(settings.configFile)
    }

    func testFlagBeatsEnvironmentBeatsFileBeatsDefault() throws {
        let path = try file(
            """
            # a pool
            workers = 3
            max_requests = 500
            body_limit = 2048
            pool_name = from-file
            """)
        let environment = [
            "PARTNERSHIPS_WORKERS": "5", "PARTNERSHIPS_MAX_REQUESTS": "600", "PARTNERSHIPS_CONFIG": path,
        ]
        let settings = try resolve(flags: [.workers: "7"], environment: environment)
        XCTAssertEqual(settings.int(.workers), 7)
        XCTAssertEqual(settings.origin(.workers), .flag)
        XCTAssertEqual(settings.int(.maxRequests), 600)
        XCTAssertEqual(settings.origin(.maxRequests), .environment("PARTNERSHIPS_MAX_REQUESTS"))
        XCTAssertEqual(settings.int(.bodyLimit), 2048)
        XCTAssertEqual(settings.origin(.bodyLimit), .file(path: path, line: 4))
        XCTAssertEqual(settings.text(.poolName), "from-file")
        XCTAssertEqual(settings.double(.requestTimeout), 30)
        XCTAssertEqual(settings.origin(.requestTimeout), .builtIn)
        XCTAssertEqual(settings.configFile, path)
    }

    func testConfigFlagBeatsConfigVariableAndEmptyVariablesAreUnset() throws {
        let one = try file("pool_name = one\n", name: "one.conf")
        let two = try file("pool_name = two\n", name: "two.conf")
        let settings = try resolve(
            config: two, environment: ["PARTNERSHIPS_CONFIG": one, "PARTNERSHIPS_POOL_NAME": ""])
        XCTAssertEqual(settings.text(.poolName), "two")
        XCTAssertEqual(try resolve(environment: ["PARTNERSHIPS_CONFIG": ""]).configFile, nil)
    }

    func testRelativePathsInTheFileAreNextToIt() throws {
        let path = try file(
            """
            data = store
            run_dir = /var/run/p
            listen = unix:run/p.sock
            log_file = logs/p.log
            """)
        let settings = try resolve(config: path)
        XCTAssertEqual(settings.text(.data), folder + "/store")
        XCTAssertEqual(settings.text(.runDirectory), "/var/run/p")
        XCTAssertEqual(settings.text(.listen), "unix:" + folder + "/run/p.sock")
        XCTAssertEqual(settings.text(.logFile), folder + "/logs/p.log")
        // From a flag or a variable, a relative path stays relative to the current folder.
        XCTAssertEqual(try resolve(flags: [.data: "here"], config: path).text(.data), "here")
        XCTAssertEqual(
            try resolve(config: path, environment: ["PARTNERSHIPS_DATA": "there"]).text(.data), "there")
    }

    /// `store` holds a postgres:// URL (taken as it is, not as a path next to the file) or a folder.
    func testTheStoreKnobTakesAURLAsItIs() throws {
        let path = try file("store = postgres://app@db:5432/partnerships?schema=one\n", name: "pg.conf")
        XCTAssertEqual(try resolve(config: path).text(.store), "postgres://app@db:5432/partnerships?schema=one")
        XCTAssertEqual(Knob.store.variable, "PARTNERSHIPS_STORE")
        XCTAssertEqual(Knob.store.flag, "--store")
        XCTAssertNil(try resolve().text(.store))
        let folderPath = try file("store = elsewhere\n", name: "folder.conf")
        XCTAssertEqual(try resolve(config: folderPath).text(.store), folder + "/elsewhere")
    }

    func testFileSyntaxCommentsAndQuotes() throws {
        let path = try file(
            "; php-fpm style comment\r\n  # indented comment\n\nlisten=127.0.0.1:9000   # the port\n"
                + "pool_name = \"quoted\" ; trailing\nlog_file = \"/tmp/a # b.log\"\nrequest_timeout = 2.5\n"
                + "log_level = DEBUG\n")
        let settings = try resolve(config: path)
        XCTAssertEqual(settings.text(.listen), "127.0.0.1:9000")
        XCTAssertEqual(settings.text(.poolName), "quoted")
        XCTAssertEqual(settings.text(.logFile), "/tmp/a # b.log")
        XCTAssertEqual(settings.double(.requestTimeout), 2.5)
        XCTAssertEqual(settings.origin(.logLevel), .file(path: path, line: 8))
    }

    func testFileErrorsNameTheFileAndLine() throws {
        let unknown = try file("workers = 2\n\nmax-requests = 5\n")
        XCTAssertEqual(
            message { try resolve(config: unknown) },
            "\(unknown):3: unknown key \"max-requests\" (did you mean max_requests?)")
        let bad = try file("# header\nworkers = many\n", name: "bad.conf")
        XCTAssertEqual(message { try resolve(config: bad) }, "\(bad):2: workers = many: not a whole number")
        let range = try file("workers = 0\n", name: "range.conf")
        XCTAssertEqual(message { try resolve(config: range) }, "\(range):1: workers = 0: must be between 1 and 256")
        let noEquals = try file("workers 4\n", name: "eq.conf")
        XCTAssertEqual(
            message { try resolve(config: noEquals) }, "\(noEquals):1: expected `key = value`, found \"workers 4\"")
        let twice = try file("backlog = 1\nbacklog = 2\n", name: "twice.conf")
        XCTAssertEqual(message { try resolve(config: twice) }, "\(twice):2: backlog is already set on line 1")
        let other = try file("colour = blue\n", name: "other.conf")
        XCTAssertTrue(
            message { try resolve(config: other) }.hasPrefix(
                "\(other):1: unknown key \"colour\" (known keys: data, store, listen,"))
        let level = try file("log_level = loud\n", name: "level.conf")
        XCTAssertTrue(
            message { try resolve(config: level) }.hasPrefix("\(level):1: log_level = loud: must be one of trace,"))
        // A bad value is refused even when a flag overrides it.
        XCTAssertEqual(
            message { try resolve(flags: [.workers: "2"], config: range) },
            "\(range):1: workers = 0: must be between 1 and 256")
        XCTAssertTrue(
            message { try resolve(config: folder + "/missing.conf") }.hasPrefix(
                "cannot read the config file \(folder)/missing.conf: "))
    }

    func testEnvironmentAndFlagErrorsNameTheirSource() {
        XCTAssertEqual(
            message { try resolve(environment: ["PARTNERSHIPS_BACKLOG": "0"]) },
            "$PARTNERSHIPS_BACKLOG=0: must be between 1 and 65535")
        XCTAssertEqual(
            message { try resolve(flags: [.poolName: "a b"]) },
            "--pool-name a b: must be 1 to 64 letters, digits, '.', '_' or '-'")
        XCTAssertEqual(
            message { try resolve(flags: [.listen: "nowhere"]) }, "--listen nowhere: must be unix:/path or HOST:PORT")
        XCTAssertEqual(
            message { try resolve(flags: [.requestTimeout: "0"]) }, "--request-timeout 0: must be positive")
    }

    func testEveryKnobHasItsNames() {
        XCTAssertEqual(Knob.maxRequests.variable, "PARTNERSHIPS_MAX_REQUESTS")
        XCTAssertEqual(Knob.maxRequests.flag, "--max-requests")
        XCTAssertEqual(Knob.slowRequestMilliseconds.flag, "--slow-request-ms")
        XCTAssertEqual(Knob.runDirectory.flag, "--run-dir")
        XCTAssertEqual(Knob.logFile.flag, "--log")
        XCTAssertEqual(Knob.logFile.variable, "PARTNERSHIPS_LOG_FILE")
        for knob in Knob.allCases {
            if let value = knob.defaultValue { XCTAssertNil(knob.problem(with: value), "\(knob) default") }
        }
    }

    /// The shipped example names every key and sets each to its default (or leaves it commented out).
    func testTheExampleFileIsValidAndShowsTheDefaults() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let example = root.appendingPathComponent("deploy/partnerships.conf.example").path
        let text = try String(contentsOfFile: example, encoding: .utf8)
        for knob in Knob.allCases {
            XCTAssertTrue(
                text.contains("\n\(knob.key) = ") || text.contains("\n;\(knob.key) = "), "\(knob.key) missing")
        }
        let settings = try resolve(config: example)
        for knob in Knob.allCases {
            guard case .file = settings.origin(knob) else { continue }
            XCTAssertEqual(settings.values[knob]?.text, knob.defaultValue, "\(knob.key)")
        }
    }
}
