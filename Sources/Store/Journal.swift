import JSON

#if canImport(Glibc)
    import Glibc
#endif

/// Replays journal lines from a byte range into a view.
///
///     {"seq":42,"ops":[{"op":"put","c":"partnerships","id":"…","v":{…}}],"crc":"1a2b3c4d"}
///
/// A journal is followed by zeros written ahead of its end (`StoreOptions.journalPreallocationBytes`):
/// no entry starts with a zero byte, so a line start followed by nothing but zeros is where the
/// entries end. Anything else after the entries is a torn or damaged entry.
struct JournalScan {
    var validEnd: Int
    var tornBytes: Int
    var entries: Int
    /// The zeros past the last entry (space written ahead, not yet used).
    var preallocatedBytes = 0

    /// `to: nil` reads to the end of the file. With `allowTornTail`, a bad or incomplete *last*
    /// entry is reported as torn instead of failing; a bad entry followed by a good one never is.
    /// `into: nil` only checks: each line's CRC and sequence number, and with `parse` (what
    /// `store verify` does) its JSON too; without it (the start check) the CRC stands for the
    /// bytes this store wrote, and the workers that apply the entries parse them.
    /// `maxBytes` stops at the last whole line within that many bytes (a longer line is read whole):
    /// `validEnd` then says where the next call goes on. So do `maxEntries` (entries applied) and
    /// `deadline` (monotonic µs, checked after each entry applied): a slice of a switch's replay.
    static func run(
        fd: Int32, name: String, from start: Int, to end: Int?, into view: StoreView?, lastSequence: Int,
        allowTornTail: Bool, parse: Bool = true, maxBytes: Int? = nil, maxEntries: Int = .max, deadline: Int = .max
    ) throws(StoreError) -> JournalScan {
        var limit: Int
        if let end { limit = end } else { limit = try Files.size(fd) }
        guard limit > start else { return JournalScan(validEnd: start, tornBytes: 0, entries: 0) }
        var bytes: [UInt8] = []
        if let maxBytes, limit - start > maxBytes, !allowTornTail {
            // The chunk read is the one scanned: cut at its last whole line.
            let chunk = try Files.read(fd, from: start, count: maxBytes)
            if chunk.count == maxBytes, let lastNewline = chunk.lastIndex(of: 0x0A) {
                bytes = Array(chunk[...lastNewline])
                limit = start + bytes.count
            }
        }
        if bytes.isEmpty { bytes = try Files.read(fd, from: start, count: limit - start) }
        guard bytes.count == limit - start else {
            throw StoreError.corrupt(
                file: name, offset: start + bytes.count,
                reason: "journal ends before its acknowledged length (\(limit) bytes)")
        }
        var sequence = lastSequence
        return try bytes.withUnsafeBufferPointer { (buffer) throws(StoreError) -> JournalScan in
            var offset = 0
            var entries = 0
            while offset < buffer.count {
                let newline = LineCodec.newline(in: UnsafeRawBufferPointer(buffer), from: offset)
                let lineEnd = newline ?? buffer.count
                // Reading (not recovering or verifying): an entry this view already holds is skipped
                // by its sequence number alone, without its CRC or JSON (a switch after a compaction).
                if view != nil, !allowTornTail, let newline,
                    let entrySequence = leadingSequence(buffer, offset, newline), entrySequence <= sequence
                {
                    offset = newline + 1
                    continue
                }
                if buffer[offset] == 0, end == nil, allZero(buffer, from: offset) {
                    return JournalScan(
                        validEnd: start + offset, tornBytes: 0, entries: entries,
                        preallocatedBytes: buffer.count - offset)
                }
                let line = UnsafeBufferPointer(rebasing: buffer[offset..<lineEnd])
                var failure: String? = nil
                var entry: JSONObject = [:]
                if newline == nil {
                    failure = "incomplete entry"
                } else if view == nil && !parse {
                    switch LineCodec.payloadEnd(UnsafeRawBufferPointer(line)) {
                    case .success:
                        if let entrySequence = leadingSequence(buffer, offset, lineEnd) {
                            entry = ["seq": .int(entrySequence), "ops": .array([])]
                        } else {
                            failure = "entry without seq/ops"
                        }
                    case .failure(let error): failure = error.description
                    }
                } else {
                    switch LineCodec.decode(line) {
                    case .success(let decoded): entry = decoded
                    case .failure(let error): failure = error.description
                    }
                }
                if let failure {
                    let isLast = newline == nil || !buffer[(lineEnd + 1)...].contains(0x0A)
                    if allowTornTail && isLast {
                        // A torn entry in space written ahead is followed by zeros: those are not its bytes.
                        var written = buffer.count
                        while written > offset + 1, buffer[written - 1] == 0 { written -= 1 }
                        return JournalScan(
                            validEnd: start + offset, tornBytes: written - offset, entries: entries,
                            preallocatedBytes: buffer.count - written)
                    }
                    throw StoreError.corrupt(file: name, offset: start + offset, reason: failure)
                }
                guard let entrySequence = entry["seq"]?.intValue, let operations = entry["ops"]?.arrayValue else {
                    throw StoreError.corrupt(file: name, offset: start + offset, reason: "entry without seq/ops")
                }
                if entrySequence > sequence {
                    guard entrySequence == sequence + 1 else {
                        throw StoreError.corrupt(
                            file: name, offset: start + offset, reason: "sequence \(entrySequence) follows \(sequence)")
                    }
                    if let view {
                        // The puts' value bytes as the line holds them: not serialized again.
                        let values = LineCodec.operationValueRanges(line).flatMap { ranges in
                            ranges.count == operations.count ? ranges.map { $0.map { Array(line[$0]) } } : nil
                        }
                        do { try view.apply(operations, sequence: entrySequence, values: values) } catch {
                            throw StoreError.corrupt(file: name, offset: start + offset, reason: "unknown operation")
                        }
                    }
                    sequence = entrySequence
                    entries += 1
                }
                offset = lineEnd + 1
                if !allowTornTail, offset < buffer.count, entries > 0,
                    entries >= maxEntries || (deadline != .max && monotonicMicroseconds() > deadline)
                {
                    return JournalScan(validEnd: start + offset, tornBytes: 0, entries: entries)
                }
            }
            return JournalScan(validEnd: start + buffer.count, tornBytes: 0, entries: entries)
        }
    }

    /// Whether every byte from `offset` on is zero: each byte equals the next, and the first is zero
    /// (one `memcmp`; a recovery looks through up to a MiB of zeros written ahead).
    private static func allZero(_ buffer: UnsafeBufferPointer<UInt8>, from offset: Int) -> Bool {
        guard offset < buffer.count, buffer[offset] == 0 else { return offset >= buffer.count }
        let base = buffer.baseAddress! + offset
        return memcmp(base, base + 1, buffer.count - offset - 1) == 0
    }

    /// A line start at or before the first entry whose sequence is above `sequence`, found by
    /// bisection (entries' sequences rise by one, line after line): where a view that holds every
    /// entry up to `sequence` starts reading a journal, instead of reading and skipping what it
    /// holds. After a compaction at 1M records the new journal starts with tens of MB of entries the
    /// workers hold; both read them through at once, ~100 ms each. 0 when lines do not start with
    /// their sequence.
    static func lineStart(after sequence: Int, fd: Int32, length: Int) throws(StoreError) -> Int {
        guard length > 0, let first = try sequenceOfLine(at: 0, fd: fd, length: length), first <= sequence else {
            return 0
        }
        var low = 0  // a line start whose entry is at or below `sequence`
        var high = length  // a line start whose entry is above it, or the end
        while let start = try lineStart(searchingFrom: low + (high - low) / 2, before: high, fd: fd) {
            guard let found = try sequenceOfLine(at: start, fd: fd, length: length) else { return low }
            if found > sequence { high = start } else { low = start }
        }
        return low
    }

    /// The start of the first line that begins after `offset` and before `limit`, or nil.
    private static func lineStart(searchingFrom offset: Int, before limit: Int, fd: Int32) throws(StoreError) -> Int? {
        var position = offset
        while position < limit {
            let chunk = try Files.read(fd, from: position, count: min(4_096, limit - position))
            guard !chunk.isEmpty else { return nil }
            if let newline = chunk.firstIndex(of: 0x0A) {
                let start = position + newline + 1
                return start < limit ? start : nil
            }
            position += chunk.count
        }
        return nil
    }

    private static func sequenceOfLine(at start: Int, fd: Int32, length: Int) throws(StoreError) -> Int? {
        let head = try Files.read(fd, from: start, count: min(32, length - start))
        return head.withUnsafeBufferPointer { leadingSequence($0, 0, $0.count) }
    }

    /// N of a line starting `{"seq":N,` (how this store writes every entry), or nil.
    private static func leadingSequence(_ buffer: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Int? {
        let prefix: StaticString = #"{"seq":"#
        var i = start
        for j in 0..<prefix.utf8CodeUnitCount {
            guard i < end, buffer[i] == prefix.utf8Start[j] else { return nil }
            i += 1
        }
        var value = 0, digits = 0
        while i < end, buffer[i] >= UInt8(ascii: "0"), buffer[i] <= UInt8(ascii: "9"), digits < 18 {
            value = value * 10 + Int(buffer[i] - UInt8(ascii: "0"))
            i += 1
            digits += 1
        }
        return digits > 0 && i < end && buffer[i] == UInt8(ascii: ",") ? value : nil
    }
}
