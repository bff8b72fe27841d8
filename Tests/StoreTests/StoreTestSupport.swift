import Foundation
import JSON
import XCTest

@testable import Store

func temporaryDirectory(_ name: String = "store") -> String {
    let path = NSTemporaryDirectory() + "\(name)-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A journal's entries: its bytes before the zeros a writer writes ahead of its end
/// (`StoreOptions.journalPreallocationBytes`).
func journalEntries(_ path: String) throws -> Data {
    let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    return bytes.prefix((bytes.lastIndex(where: { $0 != 0 }) ?? -1) + 1)
}

/// Writes `bytes` where the journal's entries end, into the zeros written ahead: where a writer's
/// next entry goes.
func writeAfterJournalEntries(_ path: String, _ bytes: Data) throws {
    let end = try journalEntries(path).count
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    try handle.seek(toOffset: UInt64(end))
    handle.write(bytes)
    try handle.close()
}

/// The store-torture helper sits next to the test bundle in the build products folder.
func tortureExecutable() throws -> String {
    var candidates: [String] = []
    let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    candidates.append(testBinary.appendingPathComponent("store-torture").path)
    for bundle in Bundle.allBundles {
        candidates.append(bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("store-torture").path)
    }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    candidates.append(root.appendingPathComponent(".build/debug/store-torture").path)
    guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        throw XCTSkip("store-torture not built (looked in \(candidates))")
    }
    return found
}

/// A running helper process whose stdout is collected line by line.
final class TortureProcess {
    let process = Process()
    private let pipe = Pipe()

    private let errorPath = NSTemporaryDirectory() + "torture-\(UUID().uuidString).err"
    private var killed = false

    init(_ arguments: [String], environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: try tortureExecutable())
        process.arguments = arguments
        // No crash backtracer: it would inherit our pipe, and a kill -9 in the middle of its work
        // leaves it holding the pipe open for ever (the test then hangs instead of failing).
        process.environment = ProcessInfo.processInfo.environment.merging(
            environment.merging(["SWIFT_BACKTRACE": "enable=no"]) { $1 }
        ) { $1 }
        process.standardOutput = pipe
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: errorPath)
        try process.run()
    }

    deinit { try? FileManager.default.removeItem(atPath: errorPath) }

    func kill() {
        killed = true
        Foundation.kill(process.processIdentifier, SIGKILL)
    }

    /// Set when the process ended on a signal we did not send (a crash): its stderr.
    var crash: String? {
        guard process.terminationReason == .uncaughtSignal, !(killed && process.terminationStatus == SIGKILL) else {
            return nil
        }
        let text = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
        return "signal \(process.terminationStatus): \(text.suffix(2_000))"
    }

    /// Waits for exit and returns the complete lines printed: a line cut by a kill is not counted.
    func finish() -> (lines: [String], status: Int32) {
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        var text = String(decoding: data, as: UTF8.self)
        if !text.hasSuffix("\n"), let last = text.lastIndex(of: "\n") {
            text = String(text[...last])
        } else if !text.hasSuffix("\n") {
            text = ""
        }
        return (text.split(separator: "\n").map(String.init), process.terminationStatus)
    }
}

/// Up to `limit` records of an ordered index from `offset`, as a list page reads them: what two
/// stores that should agree are compared by.
func page(
    _ store: Store, _ collection: String, index: String, key: String, descending: Bool, offset: Int, limit: Int
) -> [JSON] {
    var records: [JSON] = []
    store.forEach(collection, index: index, key: key, descending: descending, offset: offset) {
        records.append($0)
        return records.count < limit
    }
    return records
}
