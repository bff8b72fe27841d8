#if canImport(Glibc)
    import Glibc
#endif

/// What the supervisor needs to decide when to compact: the published head and the size of the
/// data file it names. Reading them costs a few memory loads (and a `stat` after a switch); a
/// `Store` would instead replay every journal entry into a heap the supervisor never reads, and
/// hold the replaced files mapped until it caught up.
///
/// `watch()` also holds the published generation's data and hint files open, and lets go of a
/// replaced generation's a while after the switch. The last process to let go of a removed file
/// frees its page cache (measured: 50-70 ms for a 147 MB data file, 30 ms for its hint): without
/// this that was a worker, inside a request, when it dropped the view the switch replaced.
public final class CompactionWatch {
    private let directory: String
    private let threshold: Int
    private let head: StoreHead
    private var sizedGeneration = -1
    private var dataBytes = 0
    private var held: (generation: Int, files: [Int32])?
    private var releasing: [(files: [Int32], at: Int)] = []
    /// How long a replaced generation's files are held after the switch: long enough for the
    /// workers to drop their replaced views (a slice per request).
    private let holdAfterSwitchMicroseconds: Int

    public init(directory: String, threshold: Int, holdAfterSwitchMicroseconds: Int = 10_000_000) throws {
        self.directory = directory
        self.threshold = threshold
        self.holdAfterSwitchMicroseconds = holdAfterSwitchMicroseconds
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

    /// `isDue`, after holding on to the published generation's files and letting go of those
    /// replaced long enough ago (see the type's comment). What the supervisor calls each second.
    public func watch() -> Bool {
        let now = monotonicMicroseconds()
        if let published = head.read(), published.generation != held?.generation {
            if let held { releasing.append((held.files, now + holdAfterSwitchMicroseconds)) }
            let paths =
                published.generation > 0
                ? [
                    Generation.dataPath(directory, published.generation),
                    Generation.hintPath(directory, published.generation),
                ]
                : []
            held = (published.generation, paths.map { open($0, O_RDONLY | O_CLOEXEC) }.filter { $0 >= 0 })
        }
        while let first = releasing.first, first.at <= now {
            for file in first.files { close(file) }
            releasing.removeFirst()
        }
        return isDue
    }

    deinit {
        for file in (held?.files ?? []) + releasing.flatMap(\.files) { close(file) }
    }

    static func isDue(journalBytes: Int, dataBytes: Int, threshold: Int) -> Bool {
        journalBytes > max(threshold, dataBytes / 16)
    }
}
