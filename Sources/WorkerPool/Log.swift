#if canImport(Glibc)
import Glibc
#endif

/// One JSON object per line on stderr. The supervisor points stderr at the log file and every
/// worker inherits it; lines are written with one `write(2)` on an O_APPEND file so processes
/// never interleave inside a line. SIGUSR1 reopens the file (after logrotate moved it).
public enum Log {
    nonisolated(unsafe) public static var component = "partnerships"
    nonisolated(unsafe) private static var path: String?

    public enum Level: String { case debug, info, warning, error }

    /// Sends stderr to `path` (append, created 0640). Call again to reopen.
    @discardableResult
    public static func open(path newPath: String?) -> Bool {
        if let newPath { path = newPath }
        guard let path else { return true }
        let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { return false }
        dup2(fd, STDERR_FILENO)
        close(fd)
        return true
    }

    public static func reopen() { open(path: nil) }

    public static func info(_ message: String, _ fields: [(String, String)] = []) { write(.info, message, fields) }
    public static func warning(_ message: String, _ fields: [(String, String)] = []) { write(.warning, message, fields) }
    public static func error(_ message: String, _ fields: [(String, String)] = []) { write(.error, message, fields) }

    public static func write(_ level: Level, _ message: String, _ fields: [(String, String)]) {
        var line = "{\"time\":\"\(timestamp())\",\"level\":\"\(level.rawValue)\",\"component\":\(quoted(component)),\"pid\":\(getpid()),\"message\":\(quoted(message))"
        for (key, value) in fields { line += ",\(quoted(key)):\(quoted(value))" }
        line += "}\n"
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }

    /// RFC 3339 UTC with milliseconds.
    public static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ v: Int32, _ width: Int = 2) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(parts.tm_year + 1900)-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday))T\(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec)).\(pad(Int32(now.tv_nsec / 1_000_000), 3))Z"
    }

    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
