import JSON

#if canImport(Glibc)
    import Glibc
#endif

/// The immutable part of one generation: its data file (`data-<g>.jsonl`, one record per line, in
/// creation order per collection) and its hint file (`hint-<g>.bin`), both mapped shared. Generation
/// 0 of a new store has neither. Records are decoded only when read, straight from the mapping.
final class Generation {
    let number: Int
    let data: MappedFile?
    let hint: HintFile?

    init(number: Int, data: MappedFile?, hint: HintFile?) {
        self.number = number
        self.data = data
        self.hint = hint
    }

    static func empty(_ number: Int = 0) -> Generation { Generation(number: number, data: nil, hint: nil) }

    var lastSequence: Int { hint?.lastSequence ?? 0 }
    var sequences: [String: Int] { hint?.sequences ?? [:] }
    var dataName: String {
        data.map { $0.path.split(separator: "/").last.map(String.init) ?? $0.path } ?? "data-\(number).jsonl"
    }

    @inline(__always) func collection(_ name: String) -> HintCollection? { hint?.collections[name] }

    /// The record's line (without newline), CRC-checked: damage on disk is reported, never served.
    func line(_ collection: HintCollection, _ record: Int) -> Result<UnsafeRawBufferPointer, StoreError> {
        checkedLine(collection, record).map(\.line)
    }

    private func checkedLine(
        _ collection: HintCollection, _ record: Int
    ) -> Result<(line: UnsafeRawBufferPointer, location: HintCollection.Location), StoreError> {
        guard record >= 0, record < collection.count else {
            return .failure(
                .corrupt(
                    file: "hint-\(number).bin", offset: collection.records,
                    reason: "record number \(record) out of range"))
        }
        let location = collection.location(record)
        guard location.lineOffset >= 0, location.lineOffset + location.lineLength < data!.size,
            location.valueStart < location.lineLength - LineCodec.trailerLength
        else {
            return .failure(
                .corrupt(
                    file: "hint-\(number).bin", offset: collection.records + record * 24,
                    reason: "points outside data-\(number).jsonl"))
        }
        let line = data!.slice(location.lineOffset, location.lineLength)
        guard LineCodec.verify(line) else {
            return .failure(.corrupt(file: dataName, offset: location.lineOffset, reason: "checksum mismatch"))
        }
        // The line must be this record's (`…"id":"<id>","v":`): a hint pointing at another intact
        // line is caught here, not served as that record.
        let id = collection.idBytes(record), idEnd = location.valueStart - 6
        let plain = !id.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
        if plain,
            idEnd - id.count < 0
                || compareBytes(UnsafeRawBufferPointer(rebasing: line[(idEnd - id.count)..<idEnd]), id) != 0
        {
            return .failure(
                .corrupt(
                    file: "hint-\(number).bin", offset: collection.records + record * 24,
                    reason: "names a line of data-\(number).jsonl that holds another record"))
        }
        return .success((line, location))
    }

    /// A record's value as stored: the text `JSON.serialize` wrote for it (inside its checked line).
    func text(_ collection: HintCollection, _ record: Int) -> Result<[UInt8], StoreError> {
        checkedLine(collection, record).map { Array(Self.valueBytes($0.line, $0.location)) }
    }

    /// The serialized value of a record (inside its checked line).
    func value(_ collection: HintCollection, _ record: Int) -> Result<JSON, StoreError> {
        checkedLine(collection, record).flatMap { line, location in
            let bytes = Self.valueBytes(line, location)
            do { return .success(try JSON.parseTrusted(bytes.bindMemory(to: UInt8.self))) } catch {
                return .failure(.corrupt(file: dataName, offset: location.lineOffset, reason: "record is not JSON"))
            }
        }
    }

    /// The value's bytes in a record's line: after `"v":`, before the CRC trailer.
    private static func valueBytes(
        _ line: UnsafeRawBufferPointer, _ location: HintCollection.Location
    ) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: line[location.valueStart..<(line.count - LineCodec.trailerLength)])
    }

    // MARK: opening

    static func dataPath(_ directory: String, _ generation: Int) -> String { "\(directory)/data-\(generation).jsonl" }
    static func hintPath(_ directory: String, _ generation: Int) -> String { "\(directory)/hint-\(generation).bin" }
    static func journalPath(_ directory: String, _ generation: Int) -> String {
        "\(directory)/journal-\(generation).jsonl"
    }

    struct OpenOptions {
        /// CRC of the whole data file against the hint's (one sequential pass; the supervisor does it once at start).
        var verifyData = false
        /// Write a rebuilt hint back (under the exclusive lock); otherwise it lives in this process only.
        var persistRebuiltHint = false
        /// Rebuild an unusable hint at all; when false, opening fails instead (the caller then
        /// recovers under the exclusive lock, which rebuilds it once for everyone).
        var allowHintRebuild = true
        /// CRC of the whole hint (recovery and verify); bounds are always checked.
        var verifyHintChecksum = true
    }

    /// Maps a published generation. A hint that is missing, damaged, disagrees with its data file
    /// or lacks an index this process defines is rebuilt from the data file (and never trusted).
    static func open(
        directory: String, number: Int, definitions: [String: [IndexDefinition]], options: OpenOptions,
        notes: inout [String]
    ) throws(StoreError) -> Generation {
        guard number > 0 else { return .empty() }
        let dataPath = dataPath(directory, number), hintPath = hintPath(directory, number)
        guard Files.exists(dataPath) else {
            throw StoreError.corrupt(
                file: "data-\(number).jsonl", offset: 0, reason: "the data file the head names is missing")
        }
        let data = try MappedFile(path: dataPath)
        var hint: HintFile? = nil
        var problem: String? = nil
        if Files.exists(hintPath) {
            do {
                let candidate = try HintFile(
                    file: try MappedFile(path: hintPath), verifyChecksum: options.verifyHintChecksum)
                // Collections the data file holds need every index this release defines for them;
                // one it does not hold yet is indexed from the journal until the next compaction.
                let wanted = Set(
                    definitions.filter { candidate.collections[$0.key] != nil }.flatMap { c, list in
                        list.map { "\(c)/\($0.name)" }
                    })
                if candidate.generation != number {
                    problem = "names generation \(candidate.generation)"
                } else if candidate.dataBytes != data.size {
                    problem = "describes \(candidate.dataBytes) data bytes, the file has \(data.size)"
                } else if !wanted.isSubset(of: candidate.indexNames) {
                    problem = "lacks indexes \(wanted.subtracting(candidate.indexNames).sorted())"
                } else {
                    hint = candidate
                }
            } catch {
                problem = error.description
            }
        } else {
            problem = "is missing"
        }
        if let candidate = hint, options.verifyData, CRC32.checksum(data.bytes) != candidate.dataCRC {
            // Either a data line is damaged (the rebuild's scan throws with its offset) or the hint is wrong.
            hint = nil
            problem = "disagrees with the data file's checksum"
        }
        if hint == nil {
            guard options.allowHintRebuild else {
                throw StoreError.corrupt(
                    file: "hint-\(number).bin", offset: 0,
                    reason: "\(problem ?? "unusable"); recover under the lock to rebuild it")
            }
            let bytes = try rebuildHint(data: data, generation: number, definitions: definitions)
            notes.append("hint-\(number).bin \(problem ?? "unusable"): rebuilt from data-\(number).jsonl")
            if options.persistRebuiltHint {
                try Files.writeDurably(bytes, to: hintPath, directory: directory)
                hint = try HintFile(file: try MappedFile(path: hintPath))
            } else {
                hint = try HintFile(file: MappedFile(path: hintPath, bytes: bytes))
            }
        }
        data.adviseRandom()
        return Generation(number: number, data: data, hint: hint)
    }

    /// Reads every line of a data file (checking each) and builds its hint.
    static func rebuildHint(
        data: MappedFile, generation: Int, definitions: [String: [IndexDefinition]], recordKeys: Bool = true
    ) throws(StoreError) -> [UInt8] {
        var builder = HintBuilder(definitions: definitions, recordKeys: recordKeys)
        let header = try DataFileReader.scan(data) { collection, id, location, value in
            builder.add(
                collection: collection,
                record: .init(
                    lineOffset: location.lineOffset, lineLength: location.lineLength,
                    valueStart: location.valueStart, id: id), value: value)
        }
        return builder.build(
            generation: generation, epoch: header.epoch, lastSequence: header.sequence, sequences: header.sequences,
            dataBytes: data.size, dataCRC: CRC32.checksum(data.bytes))
    }
}

/// Data files (and backups, which have the same format): a header line, then one line per record,
/// each carrying its CRC.
///
///     {"format":2,"generation":3,"epoch":1,"seq":1042,"sequences":{...},"records":1000,"crc":"..."}
///     {"c":"partnerships","id":"...","v":{...},"crc":"..."}
///
/// Format 1 (the first store's snapshots) has the same lines; it is read as is.
enum DataFileReader {
    static let formatVersion = 2

    struct Header {
        var generation: Int
        var epoch: Int
        var sequence: Int
        var sequences: [String: Int]
        var records: Int
    }

    /// Checks every line and hands each record to `body`; returns the header.
    @discardableResult
    static func scan(
        _ file: MappedFile, _ body: (String, String, HintCollection.Location, JSON) throws(StoreError) -> Void
    ) throws(StoreError) -> Header {
        let name = file.path.split(separator: "/").last.map(String.init) ?? file.path
        let buffer = file.bytes
        var offset = 0
        var header: Header? = nil
        var loaded = 0
        while offset < buffer.count {
            guard let newline = LineCodec.newline(in: buffer, from: offset) else {
                throw StoreError.corrupt(file: name, offset: offset, reason: "incomplete last line")
            }
            let line = UnsafeRawBufferPointer(rebasing: buffer[offset..<newline]).bindMemory(to: UInt8.self)
            let object: JSONObject
            switch LineCodec.decode(line) {
            case .success(let decoded): object = decoded
            case .failure(let error): throw StoreError.corrupt(file: name, offset: offset, reason: error.description)
            }
            if header == nil {
                guard let format = object["format"]?.intValue else { throw StoreError.notAStoreFile(file.path) }
                guard format <= formatVersion else {
                    throw StoreError.corrupt(
                        file: name, offset: 0,
                        reason: "format \(format) is newer than this server understands (\(formatVersion))")
                }
                var sequences: [String: Int] = [:]
                for (key, value) in object["sequences"]?.objectValue ?? [:] { sequences[key] = value.intValue ?? 0 }
                header = Header(
                    generation: object["generation"]?.intValue ?? 0, epoch: object["epoch"]?.intValue ?? 1,
                    sequence: object["seq"]?.intValue ?? 0, sequences: sequences,
                    records: object["records"]?.intValue ?? -1)
            } else {
                guard let collection = object["c"]?.stringValue, let id = object["id"]?.stringValue,
                    let value = object["v"]
                else {
                    throw StoreError.corrupt(file: name, offset: offset, reason: "record line without c/id/v")
                }
                let valueStart = valueOffset(in: line)
                guard let valueStart else {
                    throw StoreError.corrupt(
                        file: name, offset: offset, reason: "record line not in the data file layout")
                }
                try body(
                    collection, id, .init(lineOffset: offset, lineLength: newline - offset, valueStart: valueStart),
                    value)
                loaded += 1
            }
            offset = newline + 1
        }
        guard let header else { throw StoreError.notAStoreFile(file.path) }
        guard header.records == loaded else {
            throw StoreError.corrupt(
                file: name, offset: buffer.count, reason: "header announces \(header.records) records, found \(loaded)")
        }
        return header
    }

    /// Where `"v":` ends in a record line written as `{"c":…,"id":…,"v":…}`: after the two strings.
    static func valueOffset(in line: UnsafeBufferPointer<UInt8>) -> Int? {
        var i = 0
        func expect(_ text: String) -> Bool {
            for byte in text.utf8 {
                guard i < line.count, line[i] == byte else { return false }
                i += 1
            }
            return true
        }
        func skipString() -> Bool {
            guard i < line.count, line[i] == UInt8(ascii: "\"") else { return false }
            i += 1
            while i < line.count {
                if line[i] == UInt8(ascii: "\\") {
                    i += 2
                    continue
                }
                if line[i] == UInt8(ascii: "\"") {
                    i += 1
                    return true
                }
                i += 1
            }
            return false
        }
        guard expect(#"{"c":"#), skipString(), expect(#","id":"#), skipString(), expect(#","v":"#) else { return nil }
        return i
    }
}
