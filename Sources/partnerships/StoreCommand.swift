import ArgumentParser
import JSON
import Logging
import Server
import Store
import WorkerPool

#if canImport(Glibc)
    import Glibc
#endif

struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Inspect and maintain the JSON store (safe while the server runs).",
        subcommands: [Verify.self, Compact.self, Backup.self, Restore.self, Stats.self]
    )

    struct Location: ParsableArguments {
        @Option(help: "Folder of the JSON store.")
        var data: String = "state/data"
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Check the head, every line of the data file and journal, and the hint against its data file; exit 1 on damage."
        )
        @OptionGroup var location: Location
        func run() throws {
            let (problems, notes) = Store.verify(directory: location.data, indexes: ServerAssembly.allIndexes())
            notes.forEach { print($0) }
            if !problems.isEmpty {
                problems.forEach { print("PROBLEM: \($0)") }
                throw ExitCode(1)
            }
            print("ok")
        }
    }

    struct Compact: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Merge the data file and the journal into a new generation now (writers keep going meanwhile).")
        @OptionGroup var location: Location
        @Flag(help: "Started by the supervisor: JSON log lines, no progress.") var background = false
        @Option(help: "Log file for --background (JSON lines; default stderr).") var log: String?
        func run() throws {
            if let log { try LogSetup.open(log) }
            let logger = Logger(label: "partnerships.compactor")
            if background {
                LogSetup.output.component = "compactor"
                SupervisorLink.endWithSupervisor()
                // In the background the merge yields the CPU to the workers serving requests.
                _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
            }
            let store = try TokenCommand.openStore(location.data)
            let started = Scoreboard.monotonicNanoseconds()
            let showProgress = !background && isatty(2) != 0
            guard
                let report = try store.compact(
                    progress: showProgress
                        ? { done, total in
                            writeStandardError("\r  \(done) / \(total) records")
                        } : nil)
            else {
                if background {
                    logger.info("compaction skipped: another one is running")
                } else {
                    print("another compaction or restore is running; nothing done")
                }
                return
            }
            if showProgress { writeStandardError("\n") }
            let milliseconds = (Scoreboard.monotonicNanoseconds() - started) / 1_000_000
            if background {
                logger.info(
                    "compacted",
                    metadata: [
                        "generation": "\(report.generation)", "records": "\(report.records)",
                        "data_bytes": "\(report.dataBytes)", "carried_journal_bytes": "\(report.carriedJournalBytes)",
                        "switch_us": "\(report.lockedMicroseconds)", "duration_ms": "\(milliseconds)",
                    ])
            } else {
                print(
                    "compacted: generation \(report.generation), \(report.records) records, \(report.dataBytes) bytes in \(milliseconds) ms (lock held \(report.lockedMicroseconds) µs)"
                )
            }
        }
    }

    struct Backup: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a consistent copy of the store to FILE.")
        @OptionGroup var location: Location
        @Argument(help: "Backup file to write.") var file: String
        func run() throws {
            let store = try TokenCommand.openStore(location.data)
            try store.backup(to: file)
            print("backup written to \(file) (sequence \(store.lastSequence))")
        }
    }

    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace the store's content with a backup.",
            discussion:
                "Atomic and safe while workers run: they reload the restored state on their next request. The current content is lost unless you back it up first."
        )
        @OptionGroup var location: Location
        @Argument(help: "Backup file to restore.") var file: String
        @Flag(help: "Confirm that the current content may be replaced.") var force = false
        func run() throws {
            guard force else {
                throw ValidationError("restore replaces everything in \(location.data): add --force to confirm")
            }
            let store = try TokenCommand.openStore(location.data)
            try store.restore(from: file)
            print("restored \(file): generation \(store.generation)")
        }
    }

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Generation, records per collection, file sizes.")
        @OptionGroup var location: Location
        func run() throws {
            let store = try TokenCommand.openStore(location.data)
            let stats = try store.statistics()
            let report: JSON = [
                "generation": .int(stats.generation), "epoch": .int(stats.epoch),
                "last_sequence": .int(stats.lastSequence),
                "journal_bytes": .int(stats.journalBytes), "data_bytes": .int(stats.dataBytes),
                "hint_bytes": .int(stats.hintBytes),
                "records": .object(
                    JSONObject(stats.records.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })),
            ]
            print(report.prettyPrinted())
        }
    }
}

/// Progress lines for a terminal (stderr, unbuffered).
func writeStandardError(_ text: String) {
    var text = text
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}
