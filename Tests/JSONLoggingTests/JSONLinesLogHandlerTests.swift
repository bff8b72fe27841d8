import JSON
import Logging
import Testing

@testable import JSONLogging

#if canImport(Glibc)
    import Glibc
#endif

/// A log file in a fresh temporary folder, and an output writing to it through its own descriptor.
private final class Capture {
    let folder: String
    let path: String
    let output: JSONLinesLogOutput

    init(component: String = "test", level: Logger.Level = .info) throws {
        var template = Array("/tmp/json-logging-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw CaptureError() }
        folder = String(cString: made)
        path = folder + "/server.log"
        // Starts on /dev/null: open(path:) points the descriptor at the file, as the server does with stderr.
        output = JSONLinesLogOutput(
            fileDescriptor: Glibc.open("/dev/null", O_WRONLY | O_CLOEXEC), component: component, logLevel: level)
        try output.open(path: path)
    }

    deinit {
        close(output.fileDescriptor)
        for name in ["server.log", "server.log.1"] { unlink(folder + "/" + name) }
        rmdir(folder)
    }

    func logger(_ label: String = "test") -> Logger {
        Logger(label: label) { JSONLinesLogHandler(label: $0, output: self.output) }
    }

    func text(_ file: String? = nil) -> String {
        let fd = Glibc.open(file ?? path, O_RDONLY)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Every line, each parsed as one JSON object (the test fails on a line that is not).
    func lines(_ file: String? = nil) throws -> [JSONObject] {
        let text = text(file)
        #expect(text.isEmpty || text.hasSuffix("\n"), "every line ends with a newline")
        return try text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { line in
            let parsed = try JSON.parse(String(line))
            return try #require(parsed.objectValue, "a JSON object: \(line)")
        }
    }
}

private struct CaptureError: Error {}

private struct Failure: Error, CustomStringConvertible {
    var description: String { "disk \"full\"" }
}

@Suite struct JSONLinesLogHandlerTests {
    @Test func theFixedFieldsComeFirstInTheirOrder() throws {
        let capture = try Capture(component: "worker")
        capture.logger().info("worker ready", metadata: ["slot": "3"])
        let lines = try capture.lines()
        try #require(lines.count == 1)
        let line = lines[0]
        #expect(line.keys == ["time", "level", "component", "pid", "message", "slot"])
        #expect(line["level"] == "info")
        #expect(line["component"] == "worker")
        #expect(line["pid"]?.intValue == Int(getpid()))
        #expect(line["message"] == "worker ready")
        #expect(line["slot"] == "3")
        let time = try #require(line["time"]?.stringValue)
        #expect(time.utf8.count == 24 && time.hasSuffix("Z"), "RFC 3339 with milliseconds: \(time)")
    }

    @Test func timestampsAreRFC3339UTCWithMilliseconds() {
        #expect(JSONLines.timestamp(seconds: 0, milliseconds: 7) == "1970-01-01T00:00:00.007Z")
        #expect(JSONLines.timestamp(seconds: 1_738_324_800, milliseconds: 123) == "2025-01-31T12:00:00.123Z")
    }

    @Test(arguments: Logger.Level.allCases)
    func everyLevelIsWrittenByName(_ level: Logger.Level) throws {
        let capture = try Capture(level: .trace)
        capture.logger().log(level: level, "a \(level.rawValue) line")
        let lines = try capture.lines()
        #expect(lines.map { $0["level"]?.stringValue } == [level.rawValue])
        #expect(["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(level.rawValue))
    }

    @Test func linesBelowTheLevelAreNotWritten() throws {
        let capture = try Capture(level: .warning)
        var logger = capture.logger()
        logger.info("not written")
        logger.warning("written")
        capture.output.logLevel = .debug  // process-wide: every handler without its own level follows
        logger.debug("written too")
        logger.logLevel = .error  // this logger only
        logger.warning("not written either")
        capture.logger().info("another logger still follows the output")
        #expect(
            try capture.lines().compactMap { $0["message"]?.stringValue }
                == ["written", "written too", "another logger still follows the output"])
    }

    @Test func stringsAreEscaped() throws {
        let capture = try Capture()
        let awkward =
            "quote \" backslash \\ newline \n return \r tab \t bell \u{07} nul \u{00} unit \u{1F} é ✓ 🚀 \u{2028}"
        capture.logger().error("\(awkward)", metadata: ["key \"quoted\"\n": .string(awkward)])
        let text = capture.text()
        #expect(text.split(separator: "\n").count == 1, "a newline in a value does not end the line")
        #expect(text.contains(#"\u0007"#) && text.contains(#"\u0000"#) && text.contains(#"\u001f"#))
        let line = try #require(try capture.lines().first)
        #expect(line["message"]?.stringValue == awkward)
        #expect(line["key \"quoted\"\n"]?.stringValue == awkward)
    }

    @Test func metadataOfTheLoggerThenOfTheCallThenTheError() throws {
        let capture = try Capture()
        var logger = capture.logger()
        logger[metadataKey: "request_id"] = "r-1"
        logger[metadataKey: "method"] = "GET"
        logger[metadataKey: "path"] = "/x"
        logger.error(
            "request failed", error: Failure(),
            metadata: ["status": "500", "path": "/y", "attempt": .stringConvertible(2)])
        let line = try #require(try capture.lines().first)
        #expect(
            line.keys == [
                "time", "level", "component", "pid", "message", "method", "request_id", "attempt", "path", "status",
                "error",
            ])
        #expect(line["request_id"] == "r-1")
        #expect(line["path"] == "/y", "the call's value wins")
        #expect(line["attempt"] == "2", "values are strings")
        #expect(line["error"] == "disk \"full\"")
    }

    @Test func anErrorMetadataValueIsKeptWithoutAnErrorArgument() throws {
        let capture = try Capture()
        capture.logger().warning("a deferred write failed", metadata: ["error": "EIO"])
        #expect(try capture.lines().first?["error"] == "EIO")
    }

    @Test func nestedMetadataIsJSON() throws {
        let capture = try Capture()
        capture.logger().notice(
            "nested",
            metadata: [
                "limits": ["b": "2", "a": ["x", .dictionary([:])]],
                "empty": [],
            ])
        let line = try #require(try capture.lines().first)
        #expect(line["limits"] == ["a": ["x", .object([:])], "b": "2"])
        #expect(line["limits"]?.objectValue?.keys == ["a", "b"], "sorted keys")
        #expect(line["empty"] == .array([]))
    }

    @Test func theMetadataProviderIsMerged() throws {
        let capture = try Capture()
        let provider = Logger.MetadataProvider { ["trace_id": "t-9", "request_id": "from-provider"] }
        var logger = Logger(label: "test") {
            JSONLinesLogHandler(label: $0, output: capture.output, metadataProvider: provider)
        }
        logger[metadataKey: "request_id"] = "own"
        logger.info("provided")
        let line = try #require(try capture.lines().first)
        #expect(line["trace_id"] == "t-9")
        #expect(line["request_id"] == "from-provider")
    }

    @Test func aCopyOfALoggerKeepsItsOwnMetadata() throws {
        let capture = try Capture()
        let base = capture.logger()
        var request = base
        request[metadataKey: "request_id"] = "r-2"
        base.info("base")
        request.info("request")
        #expect(try capture.lines().map { $0["request_id"]?.stringValue } == [nil, "r-2"])
    }

    @Test func componentIsTheOutputsAndTheLabelIsNotWritten() throws {
        let capture = try Capture(component: "supervisor")
        capture.logger("partnerships.supervisor").info("one")
        capture.output.component = "compactor"
        capture.logger("anything").info("two")
        let lines = try capture.lines()
        #expect(lines.map { $0["component"]?.stringValue } == ["supervisor", "compactor"])
        #expect(lines.allSatisfy { $0["label"] == nil })
    }

    @Test func reopenFollowsARotation() throws {
        let capture = try Capture()
        let logger = capture.logger()
        logger.info("before rotation")
        #expect(rename(capture.path, capture.path + ".1") == 0)
        logger.info("still in the moved file")
        try capture.output.reopen()
        logger.info("log reopened")
        #expect(
            try capture.lines(capture.path + ".1").compactMap { $0["message"]?.stringValue } == [
                "before rotation", "still in the moved file",
            ])
        #expect(try capture.lines().compactMap { $0["message"]?.stringValue } == ["log reopened"])
    }

    @Test func anUnopenableFileIsAnErrorNamingIt() throws {
        let output = JSONLinesLogOutput(fileDescriptor: -1)
        #expect(throws: LogFileError.self) { try output.open(path: "/nonexistent-folder/server.log") }
        try output.reopen()  // no file named yet: nothing to do
        do {
            try output.open(path: "/nonexistent-folder/server.log")
        } catch {
            #expect(error.description.hasPrefix("cannot open log file /nonexistent-folder/server.log: "))
        }
    }

    @Test func linesAreWrittenWholeByConcurrentLoggers() async throws {
        let capture = try Capture()
        let output = capture.output
        let long = String(repeating: "x", count: 3000)
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    let logger = Logger(label: "t") { JSONLinesLogHandler(label: $0, output: output) }
                    for index in 0..<50 {
                        logger.info(
                            "line", metadata: ["task": "\(task)", "index": "\(index)", "filler": .string(long)])
                    }
                }
            }
        }
        let lines = try capture.lines()
        #expect(lines.count == 400)
        #expect(lines.allSatisfy { $0["filler"]?.stringValue == long })
    }
}
