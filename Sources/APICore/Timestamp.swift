#if canImport(Glibc)
    import Glibc
#endif

/// Times as the APIs show them: RFC 3339 UTC. Stored with microseconds (`…:32.123456Z`) so that
/// order is exact; shown to clients at the precision each API uses.
public struct Timestamp: Comparable, Hashable, Sendable {
    /// Microseconds since the Unix epoch.
    public var microseconds: Int

    public init(microseconds: Int) { self.microseconds = microseconds }

    public static func now() -> Timestamp {
        var t = timespec()
        clock_gettime(CLOCK_REALTIME, &t)
        return Timestamp(microseconds: t.tv_sec * 1_000_000 + t.tv_nsec / 1000)
    }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.microseconds < b.microseconds }

    /// `2024-05-31T02:22:32.123456Z`: what the store keeps.
    public var storageText: String { format(fraction: 6) }
    /// `2024-05-31T02:22:32Z`
    public var secondsText: String { format(fraction: 0) }

    /// Written digit by digit into one buffer: every response shows timestamps, and the
    /// interpolated, padded version was ~9k instructions each in a GET's profile.
    public func format(fraction digits: Int) -> String {
        var seconds = microseconds >= 0 ? microseconds / 1_000_000 : (microseconds - 999_999) / 1_000_000
        let micros = microseconds - seconds * 1_000_000
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let fractionDigits = min(max(digits, 0), 6)
        let year = Int(parts.tm_year) + 1900
        let yearDigits = max(4, String(year).utf8.count)  // years past 9999 keep all their digits
        let length = yearDigits + 15 + (fractionDigits > 0 ? fractionDigits + 1 : 0) + 1
        return String(unsafeUninitializedCapacity: length) { buffer in
            var at = 0
            func put(_ value: Int, _ width: Int) {
                var v = value
                for i in stride(from: at + width - 1, through: at, by: -1) {
                    buffer[i] = UInt8(ascii: "0") + UInt8(v % 10)
                    v /= 10
                }
                at += width
            }
            func put(_ byte: Unicode.Scalar) {
                buffer[at] = UInt8(ascii: byte)
                at += 1
            }
            put(year, yearDigits)
            put("-")
            put(Int(parts.tm_mon) + 1, 2)
            put("-")
            put(Int(parts.tm_mday), 2)
            put("T")
            put(Int(parts.tm_hour), 2)
            put(":")
            put(Int(parts.tm_min), 2)
            put(":")
            put(Int(parts.tm_sec), 2)
            if fractionDigits > 0 {
                var fraction = micros
                for _ in fractionDigits..<6 { fraction /= 10 }
                put(".")
                put(fraction, fractionDigits)
            }
            put("Z")
            return at
        }
    }

    /// `secondsText` of a stored timestamp, cut from the text when it is in the exact form
    /// `storageText` writes (what the store holds); nil for anything else, which the caller parses.
    /// Lists show two timestamps per record: parsing and formatting each was a fifth of a record's cost.
    public static func secondsText(ofStorageText text: String) -> String? {
        var text = text
        return text.withUTF8 { bytes -> String? in
            guard isStorageText(bytes) else { return nil }
            return String(unsafeUninitializedCapacity: 20) { out in
                for i in 0..<19 { out[i] = bytes[i] }
                out[19] = UInt8(ascii: "Z")
                return 20
            }
        }
    }

    /// Whether `bytes` is a timestamp in the exact form `storageText` writes
    /// (`2024-05-31T12:00:00.123456Z`, a real calendar day and time): its first 19 bytes and a `Z`
    /// are then its `secondsText`.
    public static func isStorageText(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count == 27 else { return false }
        func number(_ from: Int, _ count: Int) -> Int? {
            var value = 0
            for i in from..<(from + count) {
                let digit = bytes[i] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                value = value * 10 + Int(digit)
            }
            return value
        }
        guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"), bytes[19] == UInt8(ascii: "."),
            bytes[26] == UInt8(ascii: "Z"), let year = number(0, 4), let month = number(5, 2),
            let day = number(8, 2), let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
            number(20, 6) != nil, (1...12).contains(month), hour < 24, minute < 60, second < 60
        else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days: Int
        switch month {
        case 2: days = leap ? 29 : 28
        case 4, 6, 9, 11: days = 30
        default: days = 31
        }
        return (1...days).contains(day)
    }

    /// ISO 8601 as clients send it: a date (`2024-05-31`), or a date and time with optional
    /// seconds, fraction and zone (`Z`, `+01:00`, `+0100`; none means UTC).
    public static func parse(_ text: String) -> Timestamp? {
        let c = Array(text.utf8)
        var i = 0
        func number(_ count: Int) -> Int? {
            guard i + count <= c.count else { return nil }
            var v = 0
            for k in 0..<count {
                let d = c[i + k]
                guard d >= 48 && d <= 57 else { return nil }
                v = v * 10 + Int(d - 48)
            }
            i += count
            return v
        }
        func expect(_ ch: UInt8) -> Bool {
            guard i < c.count, c[i] == ch else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect(UInt8(ascii: "-")), let month = number(2), expect(UInt8(ascii: "-")),
            let day = number(2),
            (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var hour = 0, minute = 0, second = 0, micros = 0, offset = 0
        if i < c.count {
            guard c[i] == UInt8(ascii: "T") || c[i] == UInt8(ascii: "t") || c[i] == UInt8(ascii: " ") else {
                return nil
            }
            i += 1
            guard let h = number(2), expect(UInt8(ascii: ":")), let m = number(2), h < 24, m < 60 else { return nil }
            hour = h
            minute = m
            if expect(UInt8(ascii: ":")) {
                guard let s = number(2), s < 61 else { return nil }
                second = s
                if expect(UInt8(ascii: ".")) || expect(UInt8(ascii: ",")) {
                    var digits = 0
                    while i < c.count, c[i] >= 48, c[i] <= 57 {
                        if digits < 6 { micros = micros * 10 + Int(c[i] - 48) }
                        digits += 1
                        i += 1
                    }
                    guard digits > 0 else { return nil }
                    for _ in min(digits, 6)..<6 { micros *= 10 }
                }
            }
            if i < c.count {
                if c[i] == UInt8(ascii: "Z") || c[i] == UInt8(ascii: "z") {
                    i += 1
                } else if c[i] == UInt8(ascii: "+") || c[i] == UInt8(ascii: "-") {
                    let sign = c[i] == UInt8(ascii: "-") ? -1 : 1
                    i += 1
                    guard let oh = number(2) else { return nil }
                    _ = expect(UInt8(ascii: ":"))
                    guard let om = number(2), oh < 24, om < 60 else { return nil }
                    offset = sign * (oh * 3600 + om * 60)
                } else {
                    return nil
                }
            }
        }
        guard i == c.count else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let seconds = timegm(&parts)
        // timegm normalizes 2024-02-31 to March: refuse dates that do not exist.
        guard parts.tm_mday == Int32(day), parts.tm_mon == Int32(month - 1) else { return nil }
        return Timestamp(microseconds: (seconds - offset) * 1_000_000 + micros)
    }
}
