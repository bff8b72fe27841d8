import ArgumentParser
import JSON
import Logging
import Server
import Store
import TerminalProgress
import WorkerPool

#if canImport(Glibc)
    import Glibc
#endif

struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Inspect and maintain the JSON store (safe while the server runs).",
        subcommands: [Init.self, Verify.self, Compact.self, Backup.self, Restore.self, Stats.self]
    )

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an empty store (and its folder); a store already there is left as it is.",
            discussion:
                "Only this and `serve` create a store: every other command refuses a folder that holds none.")
        @OptionGroup var location: StoreLocation
        func run() throws {
            let folder = try location.folder()
            if try location.isPostgres() {
                // Opening creates the schema when there is none (under its migration lock).
                let store = try location.openExistingStore()
                print("the store's schema is ready in \(store.directory)")
                return
            }
            if Store.exists(directory: folder) {
                print("there is a store in \(folder) already; nothing done")
                return
            }
            let store = try Store(directory: folder, indexes: ServerAssembly.allIndexes())
            print("created an empty store in \(folder) (generation \(store.generation))")
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Check the head, every line of the data file and journal, and the hint against its data file; exit 1 on damage."
        )
        @OptionGroup var location: StoreLocation
        @OptionGroup var progress: ProgressOptions
        func run() throws {
            let report = progress.report("verify: data file", unit: .bytes)
            let (problems, notes) = Store.verify(
                directory: try location.requireStore(), indexes: ServerAssembly.allIndexes(), progress: report?.callback
            )
            report?.finish()
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
        @OptionGroup var location: StoreLocation
        @Flag(help: "Started by the supervisor: JSON log lines, no progress.") var background = false
        @Option(help: "Log file for --background (JSON lines; default stderr).") var log: String?
        @OptionGroup var progress: ProgressOptions
        func run() throws {
            if let log { try LogSetup.open(log) }
            let logger = Logger(label: "partnerships.compactor")
            if background {
                LogSetup.output.component = "compactor"
                SupervisorLink.endWithSupervisor()
            }
            // The merge yields the CPU to the workers serving requests, whether the supervisor
            // started it or an operator did beside a live server (on an idle machine it costs nothing).
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
            let store = try location.openExistingStore()
            let started = Scoreboard.monotonicNanoseconds()
            let line = background ? nil : progress.report("compact", unit: .records)
            guard let report = try store.compact(progress: line?.callback) else {
                if background {
                    logger.info("compaction skipped: another one is running")
                } else {
                    print("another compaction or restore is running; nothing done")
                }
                return
            }
            line?.finish()
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
        @OptionGroup var location: StoreLocation
        @Argument(help: "Backup file to write.") var file: String
        @OptionGroup var progress: ProgressOptions
        func run() throws {
            let store = try location.openExistingStore()
            let line = progress.report("backup", unit: .records)
            try store.backup(to: file, progress: line?.callback)
            line?.finish()
            print("backup written to \(file) (sequence \(store.lastSequence))")
        }
    }

    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace the store's content with a backup.",
            discussion:
                "Atomic and safe while workers run: they reload the restored state on their next request. The current content is lost unless you back it up first."
        )
        @OptionGroup var location: StoreLocation
        @Argument(help: "Backup file to restore.") var file: String
        @Flag(help: "Confirm that the current content may be replaced.") var force = false
        func run() throws {
            let folder = try location.folder()
            guard force else {
                throw ValidationError("restore replaces everything in \(folder): add --force to confirm")
            }
            let store = try location.openExistingStore()
            try store.restore(from: file)
            print("restored \(file): generation \(store.generation)")
        }
    }

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Generation, records per collection, file sizes.")
        @OptionGroup var location: StoreLocation
        func run() throws {
            let store = try location.openExistingStore()
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
