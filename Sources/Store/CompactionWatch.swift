#if canImport(Glibc)
    import Glibc
#endif

/// What the supervisor needs to decide when to compact: the published head and the size of the
/// data file it names. Reading them costs a few memory loads (and a `stat` after a switch); a
/// `Store` would instead replay every journal entry into a heap the supervisor never reads, and
/// hold the replaced files mapped until it caught up.
///
/// `watch()` also holds the published generation's files open, so that the last process to let go
/// of them once a compaction replaced them is the supervisor, never a worker inside a request: that
/// process frees their page cache (measured: 50-70 ms for a 147 MB data file, 30 ms for its hint)
/// and their disk blocks, which ext4 frees inside a journal commit every worker's fsync waits for
/// (45-60 ms for 220 MB at once). The supervisor gives them back a few MiB at a time once no
/// process uses them any more (`ReplacedFiles`).
public final class CompactionWatch {
    private let directory: String
    private let threshold: Int
    private let head: StoreHead
    private var sizedGeneration = -1
    private var dataBytes = 0
    private var held: (generation: Int, files: [Int32])?
    private let replaced = ReplacedFiles()
    /// How long after the switch a replaced generation is left alone, whoever still uses it: the
    /// switch's own second (workers mapping the new generation, writers catching up) is not
    /// the moment to add disk work.
    private let holdAfterSwitchMicroseconds: Int
    /// What one `watch()` may spend giving replaced files back (the supervisor's loop runs once a
    /// second; about 100 MiB a second at this budget).
    private let reclaimBudgetMicroseconds: Int

    public init(
        directory: String, threshold: Int, holdAfterSwitchMicroseconds: Int = 2_000_000,
        reclaimBudgetMicroseconds: Int = 100_000
    ) throws {
        self.directory = directory
        self.threshold = threshold
        self.holdAfterSwitchMicroseconds = holdAfterSwitchMicroseconds
        self.reclaimBudgetMicroseconds = reclaimBudgetMicroseconds
        head = try StoreHead(path: directory + "/store.head")
    }

    /// Replaced files not given back yet (still used by some process, or not yet due).
    public var replacedFilesWaiting: Int { replaced.count }

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

    /// `isDue`, after holding on to the published generation's files and giving back some of
    /// those replaced (see the type's comment). What the supervisor calls each second.
    public func watch() -> Bool {
        if let published = head.read(), published.generation != held?.generation {
            let notBefore = monotonicMicroseconds() + holdAfterSwitchMicroseconds
            for file in held?.files ?? [] { replaced.add(descriptor: file, notBefore: notBefore) }
            let paths =
                (published.generation > 0
                    ? [
                        Generation.dataPath(directory, published.generation),
                        Generation.hintPath(directory, published.generation),
                    ]
                    : []) + [Generation.journalPath(directory, published.generation)]
            // Writable: giving a replaced file back truncates it.
            held = (published.generation, paths.map { open($0, O_RDWR | O_CLOEXEC) }.filter { $0 >= 0 })
        }
        replaced.reclaim(budgetMicroseconds: reclaimBudgetMicroseconds)
        return isDue
    }

    deinit {
        for file in held?.files ?? [] { close(file) }
    }

    static func isDue(journalBytes: Int, dataBytes: Int, threshold: Int) -> Bool {
        journalBytes > max(threshold, dataBytes / 16)
    }
}
