#if canImport(Glibc)
    import Glibc
#endif

// Paths of the processes the pool starts: the supervisor runs its own binary again as each worker
// and as the background compaction (and the benchmarks run theirs as writer processes), with
// absolute paths so a child does not depend on the folder it was started in.

/// `path` made absolute against the current folder (a leading `./` dropped).
public func absolutePath(_ path: String) -> String {
    if path.hasPrefix("/") { return path }
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
    guard getcwd(&buffer, buffer.count) != nil else { return path }
    let cwd = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return path.hasPrefix("./") ? cwd + "/" + path.dropFirst(2) : cwd + "/" + path
}

/// The path this binary was started from, resolved once: a reload re-reads that file, so a
/// rebuilt binary at the same path is what the new workers run.
public func executablePath() -> String {
    let argument0 = CommandLine.arguments[0]
    if argument0.contains("/") { return absolutePath(argument0) }
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
    let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    return count > 0 ? String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self) : argument0
}
