#if canImport(Glibc)
    import Glibc
#endif

/// A replaced generation's files (its data, hint and journal, unlinked by the compaction that
/// replaced them), given back to the disk a few MiB at a time by the last process holding them.
///
/// A file's blocks are freed when its last reference goes, and ext4 frees them inside a journal
/// commit (with the `discard` mount option it also trims them there): every fsync on the file system
/// waits for that commit. Measured on this machine's disk: closing a 220 MiB unlinked file stalled
/// another process's 300-byte fdatasync for 44-59 ms; shrinking it 8 MiB at a time (a truncate and
/// an fdatasync each, with a pause) took at most 3.2 ms a step and no other fsync waited over 5 ms.
/// At 100k records a compaction replaces ~220 MB (data and hint), at 1M about ten times that.
///
/// A file is shrunk only once nothing can read it: it has no name left, and no process maps or
/// reads it, which an exclusive non-blocking `flock` proves, because every process that maps a
/// store file or reads a journal holds a shared `flock` on its own descriptor while it does
/// (`Files.openShared`). A file still in use waits for a later call.
public final class ReplacedFiles {
    private struct File {
        let descriptor: Int32
        let notBefore: Int
        var locked = false
    }
    private var files: [File] = []
    /// The bytes one step frees: a few milliseconds of the file system's commit.
    static let step = 8 << 20

    public init() {}

    /// Files waiting to be given back (still used somewhere, or not yet due).
    public var count: Int { files.count }

    /// Takes over `descriptor` (closed once its file is given back); nothing is done to it before
    /// `notBefore` (a `monotonicMicroseconds()` time).
    public func add(descriptor: Int32, notBefore: Int) {
        files.append(File(descriptor: descriptor, notBefore: notBefore))
    }

    /// Shrinks what it may for about `budgetMicroseconds`, pausing twice as long as each step took
    /// (at least 2 ms) so that other processes' fsyncs get the disk between steps. Returns the bytes
    /// given back.
    @discardableResult
    public func reclaim(budgetMicroseconds: Int) -> Int {
        let started = monotonicMicroseconds()
        var freed = 0
        var index = 0
        while index < files.count, monotonicMicroseconds() - started < budgetMicroseconds {
            let file = files[index]
            guard file.notBefore <= monotonicMicroseconds() else {
                index += 1
                continue
            }
            var info = stat()
            // A file that still has a name is not a replaced one (or was linked again): never shrink
            // it, only let go of it.
            guard fstat(file.descriptor, &info) == 0, info.st_nlink == 0 else {
                close(file.descriptor)
                files.remove(at: index)
                continue
            }
            if !file.locked {
                guard flock(file.descriptor, LOCK_EX | LOCK_NB) == 0 else {
                    index += 1  // still mapped or read somewhere: a later call
                    continue
                }
                files[index].locked = true
            }
            var size = Int(info.st_size)
            var truncated = true
            while size > 0, truncated, monotonicMicroseconds() - started < budgetMicroseconds {
                let target = max(0, size - Self.step)
                let stepStarted = monotonicMicroseconds()
                truncated = ftruncate(file.descriptor, off_t(target)) == 0
                guard truncated else { break }
                _ = fdatasync(file.descriptor)
                let took = monotonicMicroseconds() - stepStarted
                freed += size - target
                size = target
                usleep(useconds_t(min(max(2 * took, 2_000), 100_000)))
            }
            if size == 0 || !truncated {
                // Given back (or it cannot be shrunk: the close frees the rest at once).
                close(file.descriptor)
                files.remove(at: index)
            } else {
                index += 1  // the budget ran out: the next call goes on
            }
        }
        return freed
    }

    deinit {
        for file in files { close(file.descriptor) }
    }
}
