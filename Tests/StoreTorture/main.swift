// Helper process for the store's multi-process tests. Prints a line only after the store has
// acknowledged the write, so the tests know exactly which writes were promised.
import JSON
import Store

#if canImport(Glibc)
    import Glibc
#endif

struct Duplicate: Error {}

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    print("usage: store-torture write|unique|compact DIR ...")
    exit(2)
}
let indexes = [IndexDefinition(collection: "unique", name: "by_key") { [$0["key"]?.stringValue ?? ""] }]
let threshold = arguments.firstIndex(of: "--threshold").flatMap { Int(arguments[$0 + 1]) } ?? (32 << 20)
// A worker moves onto a new generation a slice per refresh (the server's workers do it between requests).
let store = try Store(
    directory: arguments[2], indexes: indexes,
    // Small slices: the few records a test's short merges leave to move still take several refreshes.
    options: StoreOptions(
        compactionThreshold: threshold, incrementalSwitch: arguments[1] == "worker", switchSlice: 3))
/// Prints and flushes at once: the test reads acknowledged ids even from a killed process.
func acknowledge(_ line: String) {
    print(line)
    fflush(nil)
}

switch arguments[1] {
case "write":  // write DIR COUNT PREFIX: one record per transaction
    let count = Int(arguments[3])!, prefix = arguments[4]
    for i in 0..<count {
        let id = "\(prefix)-\(i)"
        try store.write { tx in
            tx.put(
                "items", id, ["id": .string(id), "n": .int(i), "pad": .string(String(repeating: "x", count: i % 97))])
        }
        acknowledge(id)
    }
case "worker":  // worker DIR COUNT PREFIX: as a server worker, refreshing before each write and checking
    // that its own acknowledged writes read back (exit 3 on a stale read); every third write
    // updates an earlier record of its own, so switches move replaced records too.
    let count = Int(arguments[3])!, prefix = arguments[4]
    var written: [String: Int] = [:]
    for i in 0..<count {
        try store.refresh()
        for (id, n) in written where store.get("items", id)?["n"]?.intValue != n {
            let message = Array(
                "stale read of \(id) before write \(i): \(String(describing: store.get("items", id)))\n".utf8)
            _ = write(2, message, message.count)
            exit(3)
        }
        let id = i % 3 == 2 ? "\(prefix)-\(i / 3)" : "\(prefix)-\(i)"
        try store.write { tx in tx.put("items", id, ["id": .string(id), "n": .int(i)]) }
        written[id] = i
        acknowledge(id)
    }
case "unique":  // unique DIR PREFIX COUNT: try to claim keys PREFIX-0..COUNT-1
    let prefix = arguments[3], count = Int(arguments[4])!
    for i in 0..<count {
        let key = "\(prefix)-\(i)"
        do {
            try store.write { tx in
                guard tx.lookup("unique", index: "by_key", key: key).isEmpty else { throw Duplicate() }
                tx.put("unique", "\(key)-\(getpid())", ["key": .string(key), "pid": .int(Int(getpid()))])
            }
            acknowledge("won \(key)")
        } catch is Duplicate {
            acknowledge("duplicate \(key)")
        }
    }
case "compact":  // compact DIR [--threshold N]: compacts whenever the journal passes the threshold, until killed
    while true {
        try store.refresh()
        if store.needsCompaction, let report = try store.compact() { acknowledge("compacted \(report.generation)") }
        usleep(2_000)
    }
case "compact-once":  // compact-once DIR: one compaction (the crash tests stop it at a named step)
    if let report = try store.compact() { acknowledge("compacted \(report.generation)") }
case "restore":  // restore DIR BACKUP
    try store.restore(from: arguments[3])
    acknowledge("restored")
default:
    print("unknown command \(arguments[1])")
    exit(2)
}
