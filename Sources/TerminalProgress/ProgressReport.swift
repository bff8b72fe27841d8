import ArgumentParser

#if canImport(Glibc)
    import Glibc
#endif

/// `--quiet` for commands that can run long on a big store.
public struct ProgressOptions: ParsableArguments {
    @Flag(help: "No progress line (there is none anyway when stderr is not a terminal).") public var quiet = false

    public init() {}

    /// A progress line on stderr when it is a terminal and `--quiet` was not given; else nil.
    public func report(_ what: String, unit: ProgressReport.Unit) -> ProgressReport? {
        quiet || isatty(2) == 0 ? nil : ProgressReport(what, unit: unit)
    }
}

/// One line on a terminal, redrawn at most ten times a second: how far, how fast, how long left
/// ("compact: 420,000 / 1,000,000 records (42%), 61,000 records/s, about 10 s left").
public final class ProgressReport {
    public enum Unit: Sendable {
        case records, bytes
    }

    private let what: String
    private let unit: Unit
    private let started = ProgressReport.monotonicNanoseconds()
    private var lastDrawn = 0

    public init(_ what: String, unit: Unit) {
        self.what = what
        self.unit = unit
    }

    /// For a `progress:` callback of the store.
    public var callback: (Int, Int) -> Void { { [self] done, total in update(done, of: total) } }

    public func update(_ done: Int, of total: Int) {
        let now = Self.monotonicNanoseconds()
        guard now - lastDrawn >= 100_000_000 || done >= total else { return }
        lastDrawn = now
        Self.write(
            "\r\u{1B}[K" + Self.line(what, done: done, total: total, unit: unit, elapsedNanoseconds: now - started))
    }

    /// Ends the line, so what the command prints next starts on its own.
    public func finish() { Self.write("\n") }

    static func line(_ what: String, done: Int, total: Int, unit: Unit, elapsedNanoseconds: Int) -> String {
        let seconds = Double(max(elapsedNanoseconds, 1)) / 1e9
        let rate = Double(done) / seconds
        // "420,000 / 1,000,000 records", "12 MiB / 100 MiB".
        var text = "\(what): " + (unit == .records ? grouped(done) : amount(done, unit)) + " / \(amount(total, unit))"
        if total > 0 { text += " (\(done * 100 / total)%)" }
        text += ", \(amount(Int(rate), unit))/s"
        if done < total && rate > 0 { text += ", about \(Int((Double(total - done) / rate).rounded(.up))) s left" }
        return text
    }

    static func amount(_ value: Int, _ unit: Unit) -> String {
        switch unit {
        case .records: return grouped(value) + " records"
        case .bytes:
            if value >= 1 << 20 { return "\(value >> 20) MiB" }
            return value >= 1 << 10 ? "\(value >> 10) KiB" : "\(value) bytes"
        }
    }

    /// 1234567 -> "1,234,567".
    static func grouped(_ value: Int) -> String {
        let digits = Array(String(value))
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return out
    }

    static func monotonicNanoseconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return now.tv_sec * 1_000_000_000 + now.tv_nsec
    }

    /// Straight to fd 2: stderr is unbuffered in spirit, and a partial line must show at once.
    static func write(_ text: String) {
        var text = text
        text.withUTF8 { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
