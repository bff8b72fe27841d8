import ArgumentParser
import JSONLogging
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// The process's one `LoggingSystem.bootstrap`: every `Logger` of every module writes JSON lines to
/// standard error, which `serve --log` (and `store compact --log`) points at the log file; the
/// supervisor's children inherit it.
enum LogSetup {
    /// The lowest level written (trace, debug, info, notice, warning, error, critical; default
    /// info). `serve --log-level` sets it for the supervisor's children too.
    static let levelVariable = "PARTNERSHIPS_LOG_LEVEL"
    /// The log file the supervisor opened: what a worker opens again on SIGUSR1.
    static let fileVariable = "PARTNERSHIPS_LOG_FILE"

    static var output: JSONLinesLogOutput { .standardError }

    static func bootstrap() {
        var unknownLevel: String? = nil
        if let text = getenv(levelVariable).map({ String(cString: $0) }), !text.isEmpty {
            if let level = Logger.Level(rawValue: text.lowercased()) {
                output.logLevel = level
            } else {
                unknownLevel = text
            }
        }
        LoggingSystem.bootstrap { label in JSONLinesLogHandler(label: label, output: .standardError) }
        if let unknownLevel {
            Logger(label: "partnerships").warning(
                "unknown log level; using info",
                metadata: [
                    "variable": .string(levelVariable), "value": .string(unknownLevel),
                    "levels": .string(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")),
                ])
        }
    }

    /// Sends the log to `path` (appending). The failure is the caller's to report: there is no log yet.
    static func open(_ path: String) throws(ValidationError) {
        do { try output.open(path: path) } catch { throw ValidationError(error.description) }
    }

    /// The supervisor's log file, for the processes it starts: a worker writes to it already (its
    /// standard error), and needs its name to open it again on SIGUSR1.
    static func passOn(file path: String?) {
        if let path { setenv(fileVariable, path, 1) } else { unsetenv(fileVariable) }
    }

    /// In a worker: the file the supervisor named, opened again so that SIGUSR1 can reopen it.
    static func adoptSupervisorsFile() {
        guard let path = getenv(fileVariable).map({ String(cString: $0) }), !path.isEmpty else { return }
        do { try output.open(path: path) } catch {
            Logger(label: "partnerships.worker").warning(
                "cannot open the log file; SIGUSR1 will not reopen it", error: error)
        }
    }

    /// The level from `--log-level`, for this process and every process it starts.
    static func setLevel(_ level: Logger.Level) {
        output.logLevel = level
        setenv(levelVariable, level.rawValue, 1)
    }
}

// The executable owns neither type; `--log-level` needs the conformance and nothing else sees it.
// swift-format-ignore: AvoidRetroactiveConformances
extension Logger.Level: @retroactive ExpressibleByArgument {}
