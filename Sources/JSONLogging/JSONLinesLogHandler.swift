import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// A swift-log `LogHandler` writing one JSON object per line:
///
///     {"time":"2025-01-31T12:00:00.123Z","level":"error","component":"worker","pid":4242,"message":"request failed","method":"GET","path":"/api/v3/x","request_id":"ab12","error":"..."}
///
/// `time` (RFC 3339 UTC, milliseconds), `level` (swift-log's: trace, debug, info, notice, warning,
/// error, critical), `component` and `pid` come first, then `message`, then the metadata: the
/// logger's own (and its metadata provider's) sorted by key, then the call's sorted by key (a key
/// the call gives is written once, there), then the call's `error:` as `error`. Values are
/// strings; a nested dictionary or array is a JSON object or array of strings.
///
/// The label is not written: `component` names the process, which is what the log is read by.
public struct JSONLinesLogHandler: LogHandler {
    public let label: String
    public let output: JSONLinesLogOutput
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private var ownLevel: Logger.Level?

    public init(
        label: String, output: JSONLinesLogOutput = .standardError, metadataProvider: Logger.MetadataProvider? = nil
    ) {
        self.label = label
        self.output = output
        self.metadataProvider = metadataProvider
    }

    /// The output's level (process-wide) unless this logger was given its own.
    public var logLevel: Logger.Level {
        get { ownLevel ?? output.logLevel }
        set { ownLevel = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var context = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty {
            context.merge(provided) { _, provided in provided }
        }
        var fields: [(String, Logger.MetadataValue)] = []
        fields.reserveCapacity(context.count + (event.metadata?.count ?? 0) + 1)
        let given = event.metadata ?? [:]
        for key in context.keys.sorted() where given[key] == nil && !(event.error != nil && key == "error") {
            fields.append((key, context[key]!))
        }
        for key in given.keys.sorted() where !(event.error != nil && key == "error") {
            fields.append((key, given[key]!))
        }
        if let error = event.error { fields.append(("error", .string(String(describing: error)))) }
        output.write(
            JSONLines.line(
                time: JSONLines.timestamp(), level: event.level, component: output.component, pid: getpid(),
                message: event.message.description, fields: fields))
    }
}

/// The line format on its own, for the handler and its tests.
public enum JSONLines {
    /// One line, newline included.
    public static func line(
        time: String, level: Logger.Level, component: String, pid: Int32, message: String,
        fields: [(String, Logger.MetadataValue)]
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(96 + message.utf8.count + fields.count * 24)
        out.append(contentsOf: #"{"time":"#.utf8)
        appendString(time, to: &out)
        out.append(contentsOf: #","level":"#.utf8)
        appendString(level.rawValue, to: &out)
        out.append(contentsOf: #","component":"#.utf8)
        appendString(component, to: &out)
        out.append(contentsOf: #","pid":"#.utf8)
        out.append(contentsOf: String(pid).utf8)
        out.append(contentsOf: #","message":"#.utf8)
        appendString(message, to: &out)
        for (key, value) in fields {
            out.append(UInt8(ascii: ","))
            appendString(key, to: &out)
            out.append(UInt8(ascii: ":"))
            appendValue(value, to: &out)
        }
        out.append(contentsOf: "}\n".utf8)
        return out
    }

    static func appendValue(_ value: Logger.MetadataValue, to out: inout [UInt8]) {
        switch value {
        case .string(let text): appendString(text, to: &out)
        case .stringConvertible(let convertible): appendString(convertible.description, to: &out)
        case .dictionary(let dictionary):
            out.append(UInt8(ascii: "{"))
            for (index, key) in dictionary.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                appendString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                appendValue(dictionary[key]!, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .array(let values):
            out.append(UInt8(ascii: "["))
            for (index, element) in values.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                appendValue(element, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
    }

    /// A JSON string: quotes, backslashes and control characters escaped, the rest as UTF-8.
    public static func appendString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [
                    UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                    hex[Int(byte >> 4)], hex[Int(byte & 0xf)],
                ])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// RFC 3339 UTC with milliseconds, e.g. `2025-01-31T12:00:00.123Z`.
    public static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return timestamp(seconds: now.tv_sec, milliseconds: Int(now.tv_nsec / 1_000_000))
    }

    static func timestamp(seconds: Int, milliseconds: Int) -> String {
        var seconds = seconds
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int = 2) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return
            "\(parts.tm_year + 1900)-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday))T\(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec)).\(pad(Int32(milliseconds), 3))Z"
    }
}
