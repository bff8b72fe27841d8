#if canImport(Glibc)
    import Glibc
#endif

/// An immutable file mapped read-only and shared: every process that maps the same data or hint
/// file reads the same page-cache pages, so a record is held once in memory however many workers
/// read it. Only files that are never written after they are published are mapped (a truncated
/// mapped file would fault on access). The descriptor stays open, with its shared `flock`, for as
/// long as the mapping lives: a replaced file is shrunk only once no process maps it (`ReplacedFiles`).
final class MappedFile {
    let path: String
    let size: Int
    private let descriptor: Int32
    private let mapping: UnsafeMutableRawPointer?
    /// Set when the bytes live in this process (a hint rebuilt in memory) instead of a mapping.
    private let owned: UnsafeMutableRawBufferPointer?

    init(path: String) throws(StoreError) {
        self.path = path
        let fd = try Files.openShared(path, O_RDONLY)
        do {
            size = try Files.size(fd)
        } catch {
            close(fd)
            throw error
        }
        owned = nil
        descriptor = fd
        guard size > 0 else {
            mapping = nil
            return
        }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), mapped != MAP_FAILED else {
            let failure = StoreError.errno("mmap \(path)")
            close(fd)
            throw failure
        }
        mapping = mapped
    }

    /// A private copy of `bytes` that reads like a mapped file.
    init(path: String, bytes: [UInt8]) {
        self.path = path
        size = bytes.count
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
        owned = buffer
        mapping = buffer.baseAddress
        descriptor = -1
    }

    deinit {
        if let owned { owned.deallocate() } else if let mapping { munmap(mapping, size) }
        if descriptor >= 0 { close(descriptor) }
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: mapping, count: mapping == nil ? 0 : size) }

    /// Callers check ranges against `size` first (hint entries are checked when the hint is opened).
    @inline(__always) func slice(_ offset: Int, _ count: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
    }

    /// Tells the kernel reads will be random: no read-ahead of neighbouring records.
    func adviseRandom() {
        if let mapping { _ = madvise(mapping, size, MADV_RANDOM) }
    }
}
