import Foundation
import Testing

@testable import Store

#if canImport(Glibc)
    import Glibc
#endif

/// Replaced files are given back to the disk in steps, and only when nothing can read them.
@Suite struct ReplacedFilesTests {
    /// A file of `mebibytes` MiB in a fresh folder, its descriptor and path.
    private func file(_ mebibytes: Int) throws -> (descriptor: Int32, path: String) {
        let path = temporaryDirectory("replaced") + "/data-1.jsonl"
        try Data(repeating: 0x61, count: mebibytes << 20).write(to: URL(fileURLWithPath: path))
        let descriptor = open(path, O_RDWR | O_CLOEXEC)
        try #require(descriptor >= 0)
        return (descriptor, path)
    }

    private func isOpen(_ path: String) -> Bool {
        let folder = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        return openFileNames(in: folder).contains { $0.hasPrefix(name) }
    }

    @Test func aFileStillNamedIsLetGoOfButNeverShrunk() throws {
        let (descriptor, path) = try file(9)
        let replaced = ReplacedFiles()
        replaced.add(descriptor: descriptor, notBefore: 0)
        #expect(replaced.reclaim(budgetMicroseconds: 1_000_000) == 0)
        #expect(replaced.count == 0)
        #expect(!isOpen(path))
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int == 9 << 20)
    }

    @Test func aMappedFileWaitsUntilItsMappingGoes() throws {
        let (descriptor, path) = try file(20)
        var mapping: MappedFile? = try MappedFile(path: path)
        unlink(path)
        let replaced = ReplacedFiles()
        replaced.add(descriptor: descriptor, notBefore: 0)
        #expect(replaced.reclaim(budgetMicroseconds: 1_000_000) == 0)
        #expect(replaced.count == 1)
        #expect(mapping!.bytes.last == 0x61, "the mapping still reads its bytes")
        mapping = nil
        #expect(replaced.reclaim(budgetMicroseconds: 1_000_000) == 20 << 20)
        #expect(replaced.count == 0)
        #expect(!isOpen(path))
    }

    @Test func nothingHappensBeforeTheFileIsDue() throws {
        let (descriptor, path) = try file(1)
        unlink(path)
        let replaced = ReplacedFiles()
        replaced.add(descriptor: descriptor, notBefore: monotonicMicroseconds() + 60_000_000)
        #expect(replaced.reclaim(budgetMicroseconds: 1_000_000) == 0)
        #expect(replaced.count == 1)
        #expect(isOpen(path))
    }

    /// A big file goes back a step (8 MiB) at a time, as far as each call's budget reaches.
    @Test func aBigFileGoesBackInStepsAcrossCalls() throws {
        let (descriptor, path) = try file(20)
        unlink(path)
        let replaced = ReplacedFiles()
        replaced.add(descriptor: descriptor, notBefore: 0)
        // Each step pauses at least 2 ms: a 1 ms budget covers exactly one.
        #expect(replaced.reclaim(budgetMicroseconds: 1_000) == ReplacedFiles.step)
        #expect(replaced.count == 1)
        var size = stat()
        #expect(fstat(descriptor, &size) == 0 && Int(size.st_size) == (20 << 20) - ReplacedFiles.step)
        #expect(replaced.reclaim(budgetMicroseconds: 1_000) == ReplacedFiles.step)
        #expect(replaced.reclaim(budgetMicroseconds: 1_000_000) == (20 << 20) - 2 * ReplacedFiles.step)
        #expect(replaced.count == 0)
    }

    /// A descriptor that cannot shrink its file (opened read-only) lets go of it at once instead.
    @Test func aFileThatCannotBeShrunkIsClosed() throws {
        let (writable, path) = try file(1)
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        close(writable)
        unlink(path)
        let replaced = ReplacedFiles()
        replaced.add(descriptor: descriptor, notBefore: 0)
        #expect(replaced.reclaim(budgetMicroseconds: 1_000_000) == 0)
        #expect(replaced.count == 0)
        #expect(!isOpen(path))
    }

    /// The other side of the protocol: a file being given back cannot be mapped again.
    @Test func aFileBeingGivenBackCannotBeMapped() throws {
        let (descriptor, path) = try file(1)
        #expect(flock(descriptor, LOCK_EX | LOCK_NB) == 0)
        #expect(throws: StoreError.self) { try MappedFile(path: path) }
        flock(descriptor, LOCK_UN)
        #expect(try MappedFile(path: path).size == 1 << 20)
        close(descriptor)
    }
}
