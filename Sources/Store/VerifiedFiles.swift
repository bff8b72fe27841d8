import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Which generation's immutable files (data and hint) a whole-file check last found intact, by
/// identity: inode, size, and change time. The supervisor checks a generation whole once; a
/// restart that finds the same files unchanged skips reading them again, so start time does not
/// grow with the store. Any write through the file system moves the change time (no program can
/// set it back), so an edited, truncated or replaced file is checked again; damage below the file
/// system is still caught on every read, where each line's CRC is checked before it is served.
enum VerifiedFiles {
    static let name = "store.verified"

    static func unchanged(_ directory: String, generation: Int) -> Bool {
        guard let expected = stamp(directory, generation: generation),
            let bytes = try? Files.readAll(directory + "/" + name)
        else { return false }
        return String(decoding: bytes, as: UTF8.self) == expected
    }

    /// Best effort: without the record the next start checks the files again (a failure is logged:
    /// it is a folder the store cannot write to).
    static func record(_ directory: String, generation: Int, logger: Logger) {
        guard let stamp = stamp(directory, generation: generation) else { return }
        do { try Files.writeAll(Array(stamp.utf8), to: directory + "/" + name) } catch {
            logger.warning(
                "cannot record the verified files; the next start checks them again", error: error,
                metadata: ["directory": .string(directory), "generation": "\(generation)"])
        }
    }

    private static func stamp(_ directory: String, generation: Int) -> String? {
        guard generation > 0,
            let data = identity(Generation.dataPath(directory, generation)),
            let hint = identity(Generation.hintPath(directory, generation))
        else { return nil }
        return "generation \(generation)\ndata \(data)\nhint \(hint)\n"
    }

    private static func identity(_ path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return "\(info.st_ino) \(info.st_size) \(info.st_ctim.tv_sec).\(info.st_ctim.tv_nsec)"
    }
}
