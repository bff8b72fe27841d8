#if canImport(Glibc)
    import Glibc
#endif

/// What the supervisor needs to decide when to compact: the published head and the size of the
/// data file it names. Reading them costs a few memory loads (and a `stat` after a switch); a
/// `Store` would instead replay every journal entry into a heap the supervisor never reads, and
/// hold the replaced files mapped until it caught up.
public final class CompactionWatch {
    private let directory: String
    private let threshold: Int
    private let head: StoreHead
    private var sizedGeneration = -1
    private var dataBytes = 0

    public init(directory: String, threshold: Int) throws {
        self.directory = directory
        self.threshold = threshold
        head = try StoreHead(path: directory + "/store.head")
    }

    /// The rule of `Store.needsCompaction`: past the threshold, or a sixteenth of the data file
    /// when that is larger (a big store is not rewritten for every few MiB of writes).
    public var isDue: Bool {
        guard head.isInitialized, let published = head.read() else { return false }
        if published.generation != sizedGeneration {
            var info = stat()
            dataBytes =
                published.generation > 0 && stat(Generation.dataPath(directory, published.generation), &info) == 0
                ? Int(info.st_size) : 0
            sizedGeneration = published.generation
        }
        return Self.isDue(journalBytes: published.committedLength, dataBytes: dataBytes, threshold: threshold)
    }

    static func isDue(journalBytes: Int, dataBytes: Int, threshold: Int) -> Bool {
        journalBytes > max(threshold, dataBytes / 16)
    }
}
