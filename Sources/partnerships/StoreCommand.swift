import APICore
import ArgumentParser
import CSystemShims
import JSON
import Logging
import PostgresStore
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
        subcommands: [Init.self, Verify.self, Compact.self, Backup.self, Restore.self, Stats.self, Migrate.self]
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
            if try location.isPostgres() {
                // Every record read back and parsed (a value that is not JSON throws here).
                let contents = try Migrate.load(try location.folder(), indexes: ServerAssembly.allIndexes())
                print("\(contents.records.count) records read back, every one JSON")
                print("ok")
                return
            }
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
            yieldToOtherSessions()
            func skipped() {
                if background {
                    logger.info("compaction skipped: another one is running")
                } else {
                    print("another compaction or restore is running; nothing done")
                }
            }
            // Before opening the store, which replays its journal: that costs CPU beside the workers.
            if CompactionWatch.compactionRunning(directory: try location.requireStore()) { return skipped() }
            let store = try location.openExistingStore()
            let started = Scoreboard.monotonicNanoseconds()
            let line = background ? nil : progress.report("compact", unit: .records)
            guard let report = try store.compact(progress: line?.callback, onSwitched: yieldTheCPUEntirely)
            else { return skipped() }
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
            if try location.isPostgres() {
                // The backup format, as `store migrate --to FILE` writes it (pg_dump is the database's
                // own backup; this one restores into a JSON store too).
                let contents = try Migrate.load(try location.folder(), indexes: ServerAssembly.allIndexes())
                try BackupFile.write(contents, to: file)
                print("backup written to \(file) (\(contents.records.count) records, change \(contents.lastSequence))")
                return
            }
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

/// Linux's autogroup scheduler shares the CPU between sessions before nice values count, so a niced
/// compaction started from a script beside a live server still took a core's fair share from the
/// workers (measured: write-heavy p50 from 13 to 25-40 ms while it ran). Without a terminal (a
/// script, cron, the supervisor) it moves to a session of its own, niced as a session (10, as the
/// process is: about a tenth of a busy session's share; not 19, which on a saturated machine left
/// it seconds between the steps after its switch); from a terminal it stays in the operator's
/// session, where Ctrl-C reaches it, niced only.
private func yieldToOtherSessions() {
    guard isatty(STDIN_FILENO) == 0, isatty(STDERR_FILENO) == 0, setsid() >= 0 else { return }
    let autogroup = open("/proc/self/autogroup", O_WRONLY | O_CLOEXEC)
    guard autogroup >= 0 else { return }
    defer { close(autogroup) }
    _ = write(autogroup, "10", 2)
}

/// After its switch a compactor only frees its merge's memory and exits: nothing any client waits
/// for. It then runs only on a CPU nobody else wants (SCHED_IDLE), so that freeing does not take a
/// core from the workers while they move onto the new generation (perf at 100k records: a full core
/// for ~0.2 s, in the half-second where write-heavy requests slowed to p50 55 ms). Not before: the
/// steps up to the old files' removal must not wait seconds on a saturated machine.
private func yieldTheCPUEntirely() {
    _ = partnerships_run_only_when_idle()
}

extension StoreCommand {
    struct Migrate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Copy a store between engines: a JSON store's folder into PostgreSQL, or PostgreSQL into a backup file.",
            discussion: """
                --from FOLDER --to postgres://...: every record (each collection in creation order), \
                every sequence, in one transaction into an empty schema. --from postgres://... --to FILE: \
                a backup file, which `store restore` loads into a JSON store. Either way the copy is read \
                back and compared with the source, per collection: the count and a SHA-256 over the \
                records sorted by id; exit 1 when they differ. Run it with the server stopped (or \
                read-only): writes made meanwhile are not copied.
                """)
        @Option(help: "The source: a JSON store's folder, or a postgres:// URL.") var from: String
        @Option(help: "The destination: a postgres:// URL (an empty schema), or a backup file to write.")
        var to: String

        func run() throws {
            let indexes = ServerAssembly.allIndexes()
            let source = try Self.load(from, indexes: indexes)
            if PostgresStoreEngine.handles(to) {
                let engine = try PostgresStoreEngine(url: to, indexes: indexes)
                let present = try engine.store.collectionCounts().reduce(0) { $0 + $1.count }
                guard present == 0 else {
                    throw CommandFailure(
                        message: "\(engine.location) holds \(present) records already: migrate into an empty schema")
                }
                try engine.store.write { tx in
                    for record in source.records { try tx.put(record.collection, record.id, record.value) }
                    for (name, value) in source.sequences { try tx.setSequence(name, value) }
                }
            } else {
                guard !PostgresStoreEngine.handles(from) || !Store.exists(directory: to) else {
                    throw CommandFailure(message: "\(to) is a store's folder: give a backup file to write")
                }
                try BackupFile.write(source, to: to)
            }
            let copy = try Self.load(to, indexes: indexes)
            let expected = Self.summary(source), found = Self.summary(copy)
            var differ = expected.sequences != found.sequences
            for name in Set(expected.collections.keys).union(found.collections.keys).sorted() {
                let a = expected.collections[name], b = found.collections[name]
                let same = a?.count == b?.count && a?.checksum == b?.checksum
                if !same { differ = true }
                print(
                    "\(same ? "ok" : "DIFFERS") \(name): \(a?.count ?? 0) -> \(b?.count ?? 0) records, sha256 \(a?.checksum.prefix(16) ?? "-") -> \(b?.checksum.prefix(16) ?? "-")"
                )
            }
            print("\(differ ? "DIFFERS" : "ok") sequences: \(expected.sequences.count) -> \(found.sequences.count)")
            if differ { throw ExitCode(1) }
            print(
                "migrated \(source.records.count) records from \(PostgresStoreEngine.redacted(from)) to \(PostgresStoreEngine.redacted(to))"
            )
        }

        /// A store's whole content: a folder through a backup of it (consistent while writers run),
        /// a database through one read of each collection, a file as it is.
        static func load(_ location: String, indexes: [IndexDefinition]) throws -> BackupFile.Contents {
            if PostgresStoreEngine.handles(location) {
                let engine = try PostgresStoreEngine(url: location, indexes: indexes)
                try engine.store.refresh()
                var records: [BackupFile.Record] = []
                for (name, _) in try engine.store.collectionCounts() {
                    for (id, value) in try engine.store.records(name) {
                        records.append(BackupFile.Record(collection: name, id: id, value: value))
                    }
                }
                return BackupFile.Contents(
                    records: records, sequences: try engine.store.sequences(), lastSequence: engine.changeCount)
            }
            guard Store.exists(directory: location) else { return try BackupFile.read(location) }
            let store = try Store(
                directory: location, indexes: indexes,
                options: StoreOptions(recoverOnOpen: false, createIfMissing: false))
            let temporary = location + "/migrate-\(getpid()).backup"
            defer { unlink(temporary) }
            try store.backup(to: temporary)
            return try BackupFile.read(temporary)
        }

        /// Per collection: the count and a SHA-256 over its records sorted by id (id, then the value as
        /// the serializer writes it), so the order each engine lists them in does not matter.
        static func summary(
            _ contents: BackupFile.Contents
        ) -> (
            collections: [String: (count: Int, checksum: String)], sequences: [String: Int]
        ) {
            var byCollection: [String: [(String, JSON)]] = [:]
            for record in contents.records {
                byCollection[record.collection, default: []].append((record.id, record.value))
            }
            var result: [String: (count: Int, checksum: String)] = [:]
            for (name, records) in byCollection {
                var bytes: [UInt8] = []
                for (id, value) in records.sorted(by: { $0.0 < $1.0 }) {
                    bytes += Array(id.utf8) + [0] + value.serialized() + [0x0A]
                }
                result[name] = (records.count, Crypto.sha256Hex(bytes))
            }
            return (result, contents.sequences)
        }
    }
}
