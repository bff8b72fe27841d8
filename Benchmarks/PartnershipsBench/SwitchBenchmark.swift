import ArgumentParser
import JSON
import Server
import Store
import WorkerPool

#if canImport(Glibc)
    import Glibc
#endif

/// What a worker pays for the journal tail, on a real store (a load test's data file and journal,
/// the application's indexes): attaching with the whole tail (a cold start replays it), and the
/// switch to a generation a compaction published while writes went on (the records written
/// during the merge move onto the new data file). Reported, never asserted.
extension StoreCommand {
    struct SwitchBenchmark: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "switch-benchmark",
            abstract: "Time a worker's journal replay and generation switch on a real store (not a test).")
        @Option(help: "A data file (or backup) to start from, e.g. a load test's data-<g>.jsonl.")
        var dataFile: String
        @Option(help: "A journal whose entries are written on top of it, e.g. that load test's journal-<g>.jsonl.")
        var journal: String
        @Option(help: "How many of the journal's last entries are written while the compaction merges.")
        var during: Int = 3_000
        @Option(help: "Rounds (each on a fresh copy).") var rounds: Int = 3
        @Option(help: "Scratch folder (the restored base is kept there between runs).")
        var scratch: String = "/tmp/partnerships-switch-benchmark"
        @Option(help: "Internal: compact this store and exit.") var compactChild: String?
        @Option(help: "Internal: attach this many more times (to profile the replay).") var extraAttaches: Int = 0
        @Option(help: "Internal: switch this many more views (to profile the switch).") var extraSwitches: Int = 0

        func run() throws {
            if let compactChild {
                let store = try Store(directory: compactChild, indexes: ServerAssembly.allIndexes())
                let report = try store.compact()
                print("carried \(report?.carriedJournalBytes ?? -1) bytes, lock \(report?.lockedMicroseconds ?? -1) µs")
                return
            }
            let indexes = ServerAssembly.allIndexes()
            let base = "\(scratch)/base"
            if !Store.exists(directory: base) {
                let started = now()
                let store = try Store(directory: base, indexes: indexes)
                try store.restore(from: dataFile)
                print("restored the base in \(format(now() - started, 1)) s")
            }
            let entries = try journalEntries(journal)
            let before = entries.count - during
            precondition(before > 0, "--during must be below the journal's \(entries.count) entries")
            print(
                "| round | replay: entries | replay ms (CPU ms) | CPU µs per entry | switch: entries written during the merge | switch at once ms (CPU ms) | CPU µs per entry | switch in slices: longest refresh ms (CPU ms), refreshes |"
            )
            print("|---:|---:|---:|---:|---:|---:|---:|---:|")
            for round in 1...rounds {
                let directory = "\(scratch)/round"
                _ = system("rm -rf '\(directory)' && cp -a '\(base)' '\(directory)'")
                let writer = try Store(directory: directory, indexes: indexes, options: StoreOptions(fsync: false))
                for entry in entries[..<before] { try write(entry, to: writer) }

                // A worker's cold attach: map the generation, replay the whole journal tail.
                let attachStart = now(), attachCPU = cpuNow()
                let worker = try Store(
                    directory: directory, indexes: indexes, options: StoreOptions(recoverOnOpen: false))
                let replay = now() - attachStart, replayCPU = cpuNow() - attachCPU
                for _ in 0..<extraAttaches {
                    _ = try Store(directory: directory, indexes: indexes, options: StoreOptions(recoverOnOpen: false))
                }

                // A worker as the server runs it: the move onto the new generation a slice per refresh.
                let sliced = try Store(
                    directory: directory, indexes: indexes,
                    options: StoreOptions(recoverOnOpen: false, incrementalSwitch: true))
                let others = try (0..<extraSwitches).map { _ in
                    try Store(directory: directory, indexes: indexes, options: StoreOptions(recoverOnOpen: false))
                }
                let generation = worker.generation
                let compactor = spawn([
                    executablePath(), "store", "switch-benchmark", "--data-file", dataFile, "--journal", journal,
                    "--compact-child", directory,
                ])
                // The merge has its view once its data file exists: what is written from now on is
                // carried over by the switch.
                while access("\(directory)/data-\(generation + 1).jsonl.tmp", F_OK) != 0 { usleep(200) }
                for entry in entries[before...] {
                    try write(entry, to: writer)
                    try worker.refresh()
                    try sliced.refresh()
                    for other in others { try other.refresh() }
                }
                var status: Int32 = 0
                waitpid(compactor, &status, 0)
                precondition(status == 0, "the compaction failed")
                let switchStart = now(), switchCPU = cpuNow()
                try worker.refresh()
                let switched = now() - switchStart, switchedCPU = cpuNow() - switchCPU
                for other in others { try other.refresh() }
                var longest = 0.0, longestCPU = 0.0, refreshes = 0
                for _ in 0..<100 where sliced.hasPendingSwitch || refreshes == 0 {
                    let started = now(), startedCPU = cpuNow()
                    try sliced.refresh()
                    longest = max(longest, now() - started)
                    longestCPU = max(longestCPU, cpuNow() - startedCPU)
                    refreshes += 1
                }
                precondition(worker.generation == generation + 1, "the compaction switched too early")
                print(
                    "| \(round) | \(before) | \(format(replay * 1e3, 1)) (\(format(replayCPU * 1e3, 1))) | \(format(replayCPU * 1e6 / Double(before), 1)) | \(during) | \(format(switched * 1e3, 1)) (\(format(switchedCPU * 1e3, 1))) | \(format(switchedCPU * 1e6 / Double(during), 1)) | \(format(longest * 1e3, 1)) (\(format(longestCPU * 1e3, 1))), \(refreshes) |"
                )
            }
        }

        /// Each entry's operations, in order (durable counters are left to the writes themselves).
        private func journalEntries(_ path: String) throws -> [[JSON]] {
            guard let file = fopen(path, "r") else { throw ValidationError("cannot open \(path)") }
            defer { fclose(file) }
            var entries: [[JSON]] = []
            var line: UnsafeMutablePointer<CChar>? = nil
            var capacity = 0
            defer { free(line) }
            // The journal's end: zeros written ahead of it (`StoreOptions.journalPreallocationBytes`).
            while getline(&line, &capacity, file) > 0, line![0] != 0 {
                let text = String(cString: line!)
                guard case .object(let entry) = try JSON.parse(text), let operations = entry["ops"]?.arrayValue else {
                    throw ValidationError("not a journal entry: \(text.prefix(80))")
                }
                entries.append(operations)
            }
            return entries
        }

        private func write(_ operations: [JSON], to store: Store) throws {
            try store.write { tx in
                for operation in operations {
                    guard let kind = operation["op"]?.stringValue, let collection = operation["c"]?.stringValue,
                        let id = operation["id"]?.stringValue
                    else { continue }
                    if kind == "put", let value = operation["v"] { tx.put(collection, id, value) }
                    if kind == "del" { tx.delete(collection, id) }
                }
            }
        }

        private func spawn(_ argv: [String]) -> pid_t {
            var pid: pid_t = 0
            let cArgs = argv.map { strdup($0) } + [nil]
            defer { cArgs.forEach { free($0) } }
            posix_spawn(&pid, argv[0], nil, nil, cArgs, environ)
            return pid
        }
    }
}

/// This thread's CPU time, seconds: what a step costs whatever else the machine runs.
private func cpuNow() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}
