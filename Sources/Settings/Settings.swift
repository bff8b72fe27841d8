#if canImport(Glibc)
    import Glibc
#endif

/// One setting of the server, with its three names: the config file's key (`max_requests`), the
/// environment variable (`PARTNERSHIPS_MAX_REQUESTS`) and the command-line flag (`--max-requests`).
public enum Knob: String, CaseIterable, Sendable {
    case data
    /// Where the store is when it is not `data`'s folder: a `postgres://` URL (or a folder).
    case store
    case listen
    case socketGroup = "socket_group"
    case workers
    case maxRequests = "max_requests"
    case bodyLimit = "body_limit"
    case requestTimeout = "request_timeout"
    case gracePeriod = "grace_period"
    case backlog
    case slowRequestMilliseconds = "slow_request_ms"
    case poolName = "pool_name"
    case runDirectory = "run_dir"
    case logFile = "log_file"
    case logLevel = "log_level"
    case compactionThreshold = "compaction_threshold"
    case responseCacheMiB = "response_cache_mib"

    /// The key in the config file.
    public var key: String { rawValue }
    /// The environment variable: `PARTNERSHIPS_` and the key in capitals.
    public var variable: String { "PARTNERSHIPS_" + rawValue.uppercased() }
    /// The command-line flag (`serve`'s; `--data` is every store command's).
    public var flag: String {
        switch self {
        case .runDirectory: return "--run-dir"
        case .logFile: return "--log"
        default: return "--" + rawValue.replacing("_", with: "-")
        }
    }

    /// The built-in default, as it would be written in the file; nil: none (decided at run time,
    /// e.g. `workers` is the number of cores, `socket_group` the user's own group).
    public var defaultValue: String? {
        switch self {
        case .data: return "state/data"
        case .store: return nil
        case .listen: return "unix:state/run/partnerships.sock"
        case .socketGroup, .workers: return nil
        case .maxRequests: return "10000"
        case .bodyLimit: return "1048576"
        case .requestTimeout: return "30"
        case .gracePeriod: return "35"
        case .backlog: return "64"
        case .slowRequestMilliseconds: return "1000"
        case .poolName: return "partnerships"
        case .runDirectory: return "state/run"
        case .logFile: return "-"
        case .logLevel: return "info"
        case .compactionThreshold: return "8388608"
        case .responseCacheMiB: return "8"
        }
    }

    /// Whether a relative value is a path: one in the config file is taken from the file's folder.
    var isPath: Bool { self == .data || self == .store || self == .runDirectory || self == .logFile || self == .listen }

    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// nil if `text` is a valid value, else what is wrong with it.
    public func problem(with text: String) -> String? {
        func integer(_ range: ClosedRange<Int>) -> String? {
            guard let value = Int(text) else { return "not a whole number" }
            guard range.contains(value) else {
                return range.upperBound == Int.max
                    ? "must be \(range.lowerBound) or more"
                    : "must be between \(range.lowerBound) and \(range.upperBound)"
            }
            return nil
        }
        switch self {
        case .data, .store, .runDirectory, .logFile:
            return text.isEmpty ? "must not be empty" : nil
        case .listen:
            if text.hasPrefix("unix:") { return text.count > 5 ? nil : "must be unix:/path or HOST:PORT" }
            guard let colon = text.lastIndex(of: ":"), colon != text.startIndex,
                let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port)
            else { return "must be unix:/path or HOST:PORT" }
            return nil
        case .socketGroup:
            return text.isEmpty ? "must not be empty" : nil
        case .workers: return integer(1...256)
        case .maxRequests: return integer(0...Int.max)
        case .bodyLimit: return integer(0...Int.max)
        case .backlog: return integer(1...65_535)
        case .slowRequestMilliseconds: return integer(0...Int.max)
        case .compactionThreshold: return integer(1...Int.max)
        case .responseCacheMiB: return integer(0...4096)
        case .requestTimeout, .gracePeriod:
            guard let value = Double(text), value.isFinite else { return "not a number of seconds" }
            if self == .requestTimeout && value <= 0 { return "must be positive" }
            return value < 0 ? "must be 0 or more" : nil
        case .poolName:
            guard !text.isEmpty, text.utf8.count <= 64,
                text.utf8.allSatisfy({ $0 < 0x80 && (isalnum(Int32($0)) != 0 || "._-".utf8.contains($0)) })
            else { return "must be 1 to 64 letters, digits, '.', '_' or '-'" }
            return nil
        case .logLevel:
            return Self.logLevels.contains(text.lowercased())
                ? nil : "must be one of \(Self.logLevels.joined(separator: ", "))"
        }
    }
}

/// Where a setting's value came from.
public enum SettingOrigin: Equatable, Sendable, CustomStringConvertible {
    case flag
    case environment(String)
    case file(path: String, line: Int)
    case builtIn

    public var description: String {
        switch self {
        case .flag: return "flag"
        case .environment(let name): return "$\(name)"
        case .file(let path, let line): return "\(path):\(line)"
        case .builtIn: return "default"
        }
    }
}

/// A setting that cannot be used: its source (file and line, variable or flag) and why.
public struct SettingsError: Error, Equatable, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The settings of one command, resolved once: flag > environment (`PARTNERSHIPS_<KEY>`) > config
/// file (`--config FILE`, else `$PARTNERSHIPS_CONFIG`, else none) > built-in default. Every value
/// of every source is checked, overridden or not: a config file with a mistake is refused whatever
/// the command line says.
public struct Settings: Sendable {
    /// The variable naming the config file when `--config` is not given.
    public static let configVariable = "PARTNERSHIPS_CONFIG"

    public private(set) var values: [Knob: (text: String, origin: SettingOrigin)] = [:]
    /// The config file read, if any (as given).
    public private(set) var configFile: String?

    /// - Parameters:
    ///   - flags: the values given on the command line (as typed), by knob.
    ///   - configFlag: `--config`, if given.
    ///   - environment: the process's environment (`Settings.processEnvironment()`).
    public static func resolve(
        flags: [Knob: String], configFlag: String?, environment: [String: String]
    ) throws(SettingsError) -> Settings {
        var settings = Settings()
        for knob in Knob.allCases {
            if let text = knob.defaultValue { settings.values[knob] = (text, .builtIn) }
        }
        let configPath = configFlag ?? environment[configVariable].flatMap { $0.isEmpty ? nil : $0 }
        if let configPath {
            let text = try readFile(configPath)
            for (knob, value, line) in try ConfigFile.parse(text, path: configPath) {
                settings.values[knob] = (value, .file(path: configPath, line: line))
            }
            settings.configFile = configPath
        }
        for knob in Knob.allCases {
            guard let text = environment[knob.variable], !text.isEmpty else { continue }  // empty: unset
            if let problem = knob.problem(with: text) {
                throw SettingsError("$\(knob.variable)=\(text): \(problem)")
            }
            settings.values[knob] = (text, .environment(knob.variable))
        }
        for (knob, text) in flags {
            if let problem = knob.problem(with: text) { throw SettingsError("\(knob.flag) \(text): \(problem)") }
            settings.values[knob] = (text, .flag)
        }
        return settings
    }

    /// The value as given (a relative path from the config file is made relative to its folder).
    public func text(_ knob: Knob) -> String? {
        guard let (text, origin) = values[knob] else { return nil }
        // A URL (`store = postgres://...`) is no path, whatever knob holds it.
        guard case .file(let path, _) = origin, knob.isPath, knob != .listen || text.hasPrefix("unix:"),
            !text.contains("://")
        else {
            return text
        }
        return Self.relative(text, toFolderOf: path)
    }

    public func origin(_ knob: Knob) -> SettingOrigin? { values[knob]?.origin }

    /// A whole-number knob's value (checked when resolved).
    public func int(_ knob: Knob) -> Int? { text(knob).flatMap { Int($0) } }
    /// A seconds knob's value (checked when resolved).
    public func double(_ knob: Knob) -> Double? { text(knob).flatMap { Double($0) } }

    /// A relative path in a config file names a place next to the file, wherever the command runs.
    static func relative(_ value: String, toFolderOf file: String) -> String {
        let prefix = value.hasPrefix("unix:") ? "unix:" : ""
        let path = String(value.dropFirst(prefix.count))
        guard !path.hasPrefix("/"), path != "-" else { return value }
        guard let slash = file.lastIndex(of: "/") else { return value }
        let folder = file[...slash]
        return prefix + folder + path
    }

    static func readFile(_ path: String) throws(SettingsError) -> String {
        guard let handle = fopen(path, "r") else {
            throw SettingsError("cannot read the config file \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(handle) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&buffer, 1, buffer.count, handle)
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        if ferror(handle) != 0 {
            throw SettingsError("cannot read the config file \(path): \(String(cString: strerror(errno)))")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw SettingsError("\(path): not UTF-8 text")
        }
        return text
    }

    /// This process's environment as a dictionary.
    public static func processEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let pair = String(cString: pointer)
            if let equals = pair.firstIndex(of: "=") {
                result[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
            entry += 1
        }
        return result
    }
}

/// The config file: one `key = value` a line; `#` or `;` starts a comment (a whole line, or after
/// a value and a space); blank lines are ignored; a value may be in double quotes (then `#` is
/// part of it). Keys are the knobs' keys; each at most once.
public enum ConfigFile {
    public static func parse(_ text: String, path: String) throws(SettingsError) -> [(Knob, String, Int)] {
        var result: [(Knob, String, Int)] = []
        var seen: [Knob: Int] = [:]
        var number = 0
        // "\r\n" is one Character: a file written on Windows has its lines too.
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            number += 1
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine[...]
            let trimmed = line.trimming(" \t")
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
            func fail(_ why: String) -> SettingsError { SettingsError("\(path):\(number): \(why)") }
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw fail("expected `key = value`, found \"\(trimmed)\"")
            }
            let key = String(trimmed[..<equals].trimming(" \t"))
            guard let knob = Knob(rawValue: key) else {
                let underscored = key.lowercased().replacing("-", with: "_").replacing(".", with: "_")
                let hint =
                    Knob(rawValue: underscored).map { " (did you mean \($0.key)?)" }
                    ?? " (known keys: \(Knob.allCases.map(\.key).joined(separator: ", ")))"
                throw fail("unknown key \"\(key)\"\(hint)")
            }
            if let earlier = seen[knob] { throw fail("\(key) is already set on line \(earlier)") }
            seen[knob] = number
            var value = trimmed[trimmed.index(after: equals)...].trimming(" \t")
            if value.hasPrefix("\"") {
                guard let close = value.dropFirst().firstIndex(of: "\"") else {
                    throw fail("\(key): the quoted value has no closing \"")
                }
                let rest = value[value.index(after: close)...].trimming(" \t")
                guard rest.isEmpty || rest.hasPrefix("#") || rest.hasPrefix(";") else {
                    throw fail("\(key): unexpected \"\(rest)\" after the quoted value")
                }
                value = value[value.index(after: value.startIndex)..<close]
            } else {
                var end = value.endIndex
                var index = value.startIndex
                while index < value.endIndex {
                    let next = value.index(after: index)
                    if next < value.endIndex, value[index] == " " || value[index] == "\t",
                        value[next] == "#" || value[next] == ";"
                    {
                        end = index
                        break
                    }
                    index = next
                }
                value = value[..<end].trimming(" \t")
            }
            let text = String(value)
            if let problem = knob.problem(with: text) { throw fail("\(key) = \(text): \(problem)") }
            result.append((knob, text, number))
        }
        return result
    }
}

extension Substring {
    func trimming(_ characters: String) -> Substring {
        var result = self
        while let first = result.first, characters.contains(first) { result = result.dropFirst() }
        while let last = result.last, characters.contains(last) { result = result.dropLast() }
        return result
    }
}
