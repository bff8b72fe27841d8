import ArgumentParser
import JSON
import Store
import WorkerPool

#if canImport(Glibc)
    import Glibc
#endif

/// Store figures at several sizes: durable create throughput (1 and 2 writer processes), the cost
/// of a write at the largest size relative to the smallest, point reads, 100-item indexed lists,
/// cold open, resident memory. Reported, never asserted: absolute numbers vary run to run.
extension StoreCommand {
    static let benchmarkIndexes = [
        IndexDefinition(collection: "records", name: "by_group") { [$0["group"]?.stringValue ?? ""] }
    ]

    static func benchmarkRecord(_ index: Int, prefix: String) -> (String, JSON) {
        let id = "\(prefix)-\(index)"
        return (
            id,
            [
                "id": .string(id), "group": .string("g\(index / 100)"), "cohort": "2025",
                "school_id": .string("school-\(index % 5000)"), "lead_provider_id": "lp-1",
                "delivery_partner_id": .string("dp-\(index % 40)"), "delivery_partner_name": "Example Delivery Partner",
                "induction_tutor_name": "Jo Example", "induction_tutor_email": "jo@example.org",
                "created_at": "2026-11-22T10:00:00Z", "updated_at": "2026-11-22T10:00:00Z",
            ]
        )
    }

    struct Benchmark: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure the store at 1k, 10k and 100k records (not a test).")
        @Option(help: "Sizes to measure.") var sizes: [Int] = [1_000, 10_000, 100_000]
        @Option(help: "Durable creates measured at each size.") var writes: Int = 400
        @Option(help: "Scratch folder (removed afterwards).") var scratch: String = "/tmp/partnerships-store-benchmark"

        func run() throws {
            print(
                "| records (after the run) | creates/s, 1 writer | creates/s, 2 writers | µs per create | point read µs | 100-item list µs | cold open ms | private MiB after a read sweep (of it heap) | compaction s | read p99 / max µs during it | durable write p99 / max ms during it |"
            )
            print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
            var firstCost: Double? = nil
            var lastCost = 0.0
            for size in sizes {
                let directory = "\(scratch)/\(size)"
                _ = system("rm -rf '\(directory)'")
                // Preload without fsync: the figures below measure durable writes at this size.
                let loader = try Store(
                    directory: directory, indexes: StoreCommand.benchmarkIndexes, options: StoreOptions(fsync: false))
                var loaded = 0
                while loaded < size {
                    let batch = min(1000, size - loaded)
                    try loader.write { tx in
                        for i in loaded..<(loaded + batch) {
                            let (id, record) = StoreCommand.benchmarkRecord(i, prefix: "pre")
                            tx.put("records", id, record)
                        }
                    }
                    loaded += batch
                }
                try loader.compact()

                // Switches generations as a worker does (a slice of the move per refresh).
                let store = try Store(
                    directory: directory, indexes: StoreCommand.benchmarkIndexes,
                    options: StoreOptions(incrementalSwitch: true))
                let start = now()
                for i in 0..<writes {
                    let (id, record) = StoreCommand.benchmarkRecord(i, prefix: "one")
                    try store.write { tx in tx.put("records", id, record) }
                }
                let oneWriter = Double(writes) / (now() - start)
                let cost = 1e6 / oneWriter
                if firstCost == nil { firstCost = cost }
                lastCost = cost

                // Both writers open the store first (a cold open is measured separately), then start together.
                let barrier = "\(scratch)/go-\(size)"
                unlink(barrier)
                let children = (0..<2).map {
                    spawnWriter(directory: directory, count: writes, prefix: "two\($0)", barrier: barrier)
                }
                while (0..<2).contains(where: { access("\(barrier).ready.two\($0)", F_OK) != 0 }) { usleep(1000) }
                let twoStart = now()
                close(open(barrier, O_CREAT | O_WRONLY, 0o644))
                for pid in children {
                    var status: Int32 = 0
                    waitpid(pid, &status, 0)
                }
                let twoWriters = Double(2 * writes) / (now() - twoStart)

                try store.refresh()
                let total = store.count("records")
                let reads = 20_000
                let readStart = now()
                var found = 0
                for i in 0..<reads { if store.get("records", "pre-\((i &* 7919) % size)") != nil { found += 1 } }
                let pointRead = (now() - readStart) / Double(reads) * 1e6
                precondition(found == reads)

                let lists = 2_000
                let listStart = now()
                var listed = 0
                for i in 0..<lists {
                    listed += store.lookupRecords("records", index: "by_group", key: "g\(i % max(1, size / 100))").count
                }
                let list = (now() - listStart) / Double(lists) * 1e6
                precondition(listed >= lists * min(100, size))

                // Reads (and a durable write every 20th) in this process while another merges.
                let compactor = spawnCompactor(directory: directory)
                let compactionStart = now()
                var readLatencies: [Double] = [], writeLatencies: [Double] = []
                var iteration = 0
                while waitpid(compactor, nil, WNOHANG) == 0 {
                    let t = now()
                    try store.refresh()
                    precondition(store.get("records", "pre-\((iteration &* 7919) % size)") != nil)
                    readLatencies.append(now() - t)
                    if iteration % 20 == 0 {
                        let (id, record) = StoreCommand.benchmarkRecord(iteration, prefix: "during")
                        let w = now()
                        try store.write { tx in tx.put("records", id, record) }
                        writeLatencies.append(now() - w)
                    }
                    iteration += 1
                }
                let compactionSeconds = now() - compactionStart
                try store.refresh()
                precondition(store.generation > 1, "the compactor did not switch generations")

                let (openMilliseconds, privateMiB, heapMiB) = measureColdOpen(directory: directory, size: size)
                print(
                    "| \(total) | \(format(oneWriter, 0)) | \(format(twoWriters, 0)) | \(format(cost, 0)) | \(format(pointRead, 2)) | \(format(list, 1)) | \(format(openMilliseconds, 1)) | \(format(privateMiB, 1)) (\(format(heapMiB, 1))) | \(format(compactionSeconds, 2)) | \(format(percentile(readLatencies, 0.99) * 1e6, 0)) / \(format((readLatencies.max() ?? 0) * 1e6, 0)) | \(format(percentile(writeLatencies, 0.99) * 1e3, 2)) / \(format((writeLatencies.max() ?? 0) * 1e3, 2)) |"
                )
                _ = system("rm -rf '\(directory)'")
            }
            if let firstCost, sizes.count > 1 {
                print(
                    "\ncost per durable create at \(sizes.last!) records relative to \(sizes.first!): \(format(lastCost / firstCost, 2))x"
                )
            }
        }

        private func spawnWriter(directory: String, count: Int, prefix: String, barrier: String) -> pid_t {
            spawnBenchmarkWriter([
                "--data", directory, "--count", String(count), "--prefix", prefix, "--barrier", barrier,
            ])
        }

        private func spawnCompactor(directory: String) -> pid_t {
            spawnBenchmarkWriter(["--data", directory, "--count", "0", "--prefix", "none", "--compact"])
        }

        /// `partnerships-bench store benchmark-writer ARGUMENTS` as a child process.
        private func spawnBenchmarkWriter(_ arguments: [String]) -> pid_t {
            let argv = [executablePath(), "store", "benchmark-writer"] + arguments
            var pid: pid_t = 0
            let cArgs = argv.map { strdup($0) } + [nil]
            defer { cArgs.forEach { free($0) } }
            posix_spawn(&pid, argv[0], nil, nil, cArgs, environ)
            return pid
        }

        /// A fresh process opens the store, reads 5,000 random records and 200 lists, and reports
        /// its open time and its private memory (smaps_rollup: what each worker costs on its own),
        /// and the heap part of it. The rest is file pages no other process maps at that moment:
        /// which depends on what this benchmark's own reader last touched (workers share them).
        private func measureColdOpen(directory: String, size: Int) -> (Double, Double, Double) {
            let command =
                "'\(executablePath())' store benchmark-writer --data '\(directory)' --count 0 --prefix none --sweep \(size)"
            guard let pipe = popen(command, "r") else { return (0, 0, 0) }
            var buffer = [CChar](repeating: 0, count: 256)
            var text = ""
            while fgets(&buffer, 256, pipe) != nil {
                text += String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            pclose(pipe)
            let parts = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Double($0) }
            return parts.count >= 3 ? (parts[0], parts[1], parts[2]) : (0, 0, 0)
        }
    }

    struct BenchmarkWriter: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "benchmark-writer", shouldDisplay: false)
        @Option var data: String
        @Option var count: Int
        @Option var prefix: String
        @Option var barrier: String?
        @Option var sweep: Int?
        @Flag var compact = false

        func run() throws {
            let start = now()
            let store = try Store(directory: data, indexes: StoreCommand.benchmarkIndexes)
            let opened = (now() - start) * 1000
            if compact {
                try store.compact()
                return
            }
            if let sweep {
                var generator = SystemRandomNumberGenerator()
                for _ in 0..<5_000 {
                    precondition(store.get("records", "pre-\(Int.random(in: 0..<sweep, using: &generator))") != nil)
                }
                for _ in 0..<200 {
                    _ = store.lookupRecords(
                        "records", index: "by_group",
                        key: "g\(Int.random(in: 0..<max(1, sweep / 100), using: &generator))")
                }
                print("\(format(opened, 2)) \(format(privateMiB(), 2)) \(format(anonymousMiB(), 2))")
                return
            }
            if let barrier {
                close(open("\(barrier).ready.\(prefix)", O_CREAT | O_WRONLY, 0o644))
                while access(barrier, F_OK) != 0 { usleep(200) }
            }
            for i in 0..<count {
                let (id, record) = StoreCommand.benchmarkRecord(i, prefix: prefix)
                try store.write { tx in tx.put("records", id, record) }
            }
            if count == 0 { print("\(format(opened, 2)) \(format(residentMiB(), 2))") }
        }
    }
}

func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

func residentMiB() -> Double {
    guard let file = fopen("/proc/self/statm", "r") else { return 0 }
    defer { fclose(file) }
    var size = 0, resident = 0
    withUnsafeMutablePointer(to: &size) { s in
        withUnsafeMutablePointer(to: &resident) { r in _ = withVaList([s, r]) { vfscanf(file, "%ld %ld", $0) } }
    }
    return Double(resident * Int(sysconf(Int32(_SC_PAGESIZE)))) / 1_048_576
}

/// Private_Clean + Private_Dirty of this process (smaps_rollup): memory no other process shares.
func privateMiB() -> Double {
    smapsRollupMiB(["Private_Clean:", "Private_Dirty:"])
}

/// The anonymous part of this process's memory (its heap): what it holds whatever other processes
/// map. The rest of its private memory is file pages no other process maps at that moment.
func anonymousMiB() -> Double {
    smapsRollupMiB(["Anonymous:"])
}

private func smapsRollupMiB(_ fields: [String]) -> Double {
    guard let file = fopen("/proc/self/smaps_rollup", "r") else { return 0 }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 256)
    var kib = 0
    while fgets(&line, 256, file) != nil {
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if fields.contains(where: { text.hasPrefix($0) }) {
            kib += Int(text.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
        }
    }
    return Double(kib) / 1024
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

func format(_ value: Double, _ decimals: Int) -> String {
    var multiplier = 1.0
    for _ in 0..<decimals { multiplier *= 10 }
    let rounded = (value * multiplier).rounded() / multiplier
    return decimals == 0 ? String(Int(rounded)) : String(rounded)
}
