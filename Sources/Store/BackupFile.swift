import JSON

#if canImport(Glibc)
    import Glibc
#endif

/// The backup format (`store backup`'s file: a data file) read and written record by record: the
/// interchange of `store migrate` between the JSON store and another engine. `store restore` loads
/// a file written here like any backup.
public enum BackupFile {
    public struct Record {
        public let collection: String
        public let id: String
        public let value: JSON
        public init(collection: String, id: String, value: JSON) {
            self.collection = collection
            self.id = id
            self.value = value
        }
    }

    public struct Contents {
        /// In file order: each collection's records in creation order.
        public var records: [Record]
        public var sequences: [String: Int]
        /// The store's last journal sequence (or another engine's change counter) when written.
        public var lastSequence: Int
        public init(records: [Record], sequences: [String: Int], lastSequence: Int) {
            self.records = records
            self.sequences = sequences
            self.lastSequence = lastSequence
        }
    }

    /// Every record of a backup, each line's CRC checked.
    public static func read(_ path: String) throws -> Contents {
        let file = try MappedFile(path: path)
        var records: [Record] = []
        let header = try DataFileReader.scan(file) { collection, id, _, value in
            records.append(Record(collection: collection, id: id, value: value))
        }
        return Contents(records: records, sequences: header.sequences, lastSequence: header.sequence)
    }

    /// Writes `contents` as a backup (fsynced, then renamed into place: never half a file at `path`).
    public static func write(_ contents: Contents, to path: String) throws {
        let temporary = path + ".tmp"
        var writer = try DataFileWriter(path: temporary, definitions: [:])
        do {
            try writer.header(
                generation: 0, epoch: 1, sequence: contents.lastSequence, sequences: contents.sequences,
                records: contents.records.count)
            for record in contents.records {
                try writer.add(
                    collection: record.collection, id: record.id, value: record.value.serialized(), keys: [],
                    orders: [])
            }
            try writer.finish()
            guard rename(temporary, path) == 0 else { throw StoreError.errno("rename \(path)") }
        } catch {
            writer.abandon()
            throw error
        }
    }
}
