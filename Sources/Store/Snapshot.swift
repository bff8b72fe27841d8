import JSON
#if canImport(Glibc)
import Glibc
#endif

/// Snapshot files (and backups, which have the same format): a header line, then one line per
/// record, each line carrying its CRC.
///
///     {"format":1,"generation":3,"epoch":1,"seq":1042,"sequences":{...},"records":1000,"crc":"..."}
///     {"c":"partnerships","id":"...","v":{...},"crc":"..."}
enum Snapshot {
    /// Bumped when the layout changes; `load` refuses newer formats and migrates older ones.
    static let formatVersion = 1

    static func write(_ state: StoreState, generation: Int, epoch: Int, to path: String) throws(StoreError) {
        let fd = try Files.openOrThrow(path, O_WRONLY | O_CREAT | O_TRUNC)
        defer { close(fd) }
        let total = state.collections.values.reduce(0) { $0 + $1.liveCount }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 20)
        buffer.append(contentsOf: LineCodec.encode([
            "format": .int(formatVersion), "generation": .int(generation), "epoch": .int(epoch), "seq": .int(state.lastSeq),
            "sequences": .object(JSONObject(state.sequences.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })),
            "records": .int(total),
        ]))
        for name in state.collections.keys.sorted() {
            let collection = state.collections[name]!
            for position in collection.ids.indices {
                guard let id = collection.ids[position], let value = collection.values[position] else { continue }
                buffer.append(contentsOf: LineCodec.encode(["c": .string(name), "id": .string(id), "v": value]))
                if buffer.count > 1 << 20 {
                    try Files.writeAll(fd, buffer)
                    buffer.removeAll(keepingCapacity: true)
                }
            }
        }
        try Files.writeAll(fd, buffer)
        guard fsync(fd) == 0 else { throw StoreError.errno("fsync snapshot") }
    }

    static func load(path: String, into state: inout StoreState) throws(StoreError) {
        let bytes = try Files.readWhole(path)
        let name = path.split(separator: "/").last.map(String.init) ?? path
        try bytes.withUnsafeBufferPointer { (buffer) throws(StoreError) in
            var offset = 0
            var lineNumber = 0
            var expected = -1
            var loaded = 0
            while offset < buffer.count {
                guard let newline = buffer[offset...].firstIndex(of: 0x0A) else {
                    throw StoreError.corrupt(file: name, offset: offset, reason: "incomplete last line")
                }
                let line = UnsafeBufferPointer(rebasing: buffer[offset..<newline])
                let object: JSONObject
                switch LineCodec.decode(line) {
                case .success(let decoded): object = decoded
                case .failure(let error): throw StoreError.corrupt(file: name, offset: offset, reason: error.description)
                }
                if lineNumber == 0 {
                    guard let format = object["format"]?.intValue else { throw StoreError.notAStoreFile(path) }
                    guard format <= formatVersion else {
                        throw StoreError.corrupt(file: name, offset: 0, reason: "format \(format) is newer than this server understands (\(formatVersion))")
                    }
                    expected = object["records"]?.intValue ?? -1
                    state.lastSeq = object["seq"]?.intValue ?? 0
                    for (key, value) in object["sequences"]?.objectValue ?? [:] { state.sequences[key] = value.intValue ?? 0 }
                } else {
                    guard let collection = object["c"]?.stringValue, let id = object["id"]?.stringValue, let value = object["v"] else {
                        throw StoreError.corrupt(file: name, offset: offset, reason: "record line without c/id/v")
                    }
                    state.put(collection, id, value)
                    loaded += 1
                }
                lineNumber += 1
                offset = newline + 1
            }
            guard lineNumber > 0 else { throw StoreError.notAStoreFile(path) }
            guard expected == loaded else {
                throw StoreError.corrupt(file: name, offset: buffer.count, reason: "header announces \(expected) records, found \(loaded)")
            }
        }
    }
}

/// Replays journal lines from a byte range into a state.
struct JournalScan {
    var validEnd: Int
    var tornBytes: Int

    /// `to: nil` reads to the end of the file. With `allowTornTail`, a bad or incomplete *last*
    /// entry is reported as torn instead of failing; a bad entry followed by a good one never is.
    static func run(fd: Int32, path: String, from start: Int, to end: Int?, into state: inout StoreState,
                    allowTornTail: Bool) throws(StoreError) -> JournalScan {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let limit: Int
        if let end { limit = end } else { limit = try Files.size(fd) }
        guard limit > start else { return JournalScan(validEnd: start, tornBytes: 0) }
        let bytes = try Files.read(fd, from: start, count: limit - start)
        guard bytes.count == limit - start else {
            throw StoreError.corrupt(file: name, offset: start + bytes.count, reason: "journal shorter than its acknowledged length")
        }
        return try bytes.withUnsafeBufferPointer { (buffer) throws(StoreError) -> JournalScan in
            var offset = 0
            while offset < buffer.count {
                let newline = buffer[offset...].firstIndex(of: 0x0A)
                let lineEnd = newline ?? buffer.count
                let line = UnsafeBufferPointer(rebasing: buffer[offset..<lineEnd])
                var failure: String? = nil
                var entry: JSONObject = [:]
                if newline == nil {
                    failure = "incomplete entry"
                } else {
                    switch LineCodec.decode(line) {
                    case .success(let decoded): entry = decoded
                    case .failure(let error): failure = error.description
                    }
                }
                if let failure {
                    let isLast = newline == nil || !buffer[(lineEnd + 1)...].contains(0x0A)
                    if allowTornTail && isLast {
                        return JournalScan(validEnd: start + offset, tornBytes: buffer.count - offset)
                    }
                    throw StoreError.corrupt(file: name, offset: start + offset, reason: failure)
                }
                guard let sequence = entry["seq"]?.intValue, let operations = entry["ops"]?.arrayValue else {
                    throw StoreError.corrupt(file: name, offset: start + offset, reason: "entry without seq/ops")
                }
                if sequence > state.lastSeq {
                    guard sequence == state.lastSeq + 1 else {
                        throw StoreError.corrupt(file: name, offset: start + offset, reason: "sequence \(sequence) follows \(state.lastSeq)")
                    }
                    do { try state.apply(operations) } catch {
                        throw StoreError.corrupt(file: name, offset: start + offset, reason: "unknown operation")
                    }
                    state.lastSeq = sequence
                }
                offset = lineEnd + 1
            }
            return JournalScan(validEnd: start + buffer.count, tornBytes: 0)
        }
    }
}
