import ArgumentParser
import PostgresStore
import Server
import Settings
import Store
import WorkerPool

#if canImport(Glibc)
    import Glibc
#endif

/// `--data` and `--config` of every command that works on the store: the one place that decides
/// the store's folder (flag > $PARTNERSHIPS_DATA > `data` in the config file > state/data), and the
/// one way commands other than `serve` and `store init` open it: never creating a store.
struct StoreLocation: ParsableArguments {
    @Option(help: ArgumentHelp(Knob.data.help("Folder of the JSON store."), valueName: "folder"))
    var data: String?

    @Option(
        help: ArgumentHelp(
            Knob.store.help("The store on PostgreSQL (a postgres:// URL); wins over --data.", default: "default: none"),
            valueName: "url"))
    var store: String?

    @Option(
        help: ArgumentHelp(
            "Config file (key = value lines, see docs/operations.md; default: $\(Settings.configVariable), else none).",
            valueName: "file"))
    var config: String?

    /// Every setting, resolved once; `flags` are the command's other options that were given.
    func settings(flags: [Knob: String] = [:]) throws(CommandFailure) -> Settings {
        var flags = flags
        if let data { flags[.data] = data }
        if let store { flags[.store] = store }
        do {
            return try Settings.resolve(
                flags: flags, configFlag: config, environment: Settings.processEnvironment())
        } catch { throw CommandFailure(message: error.message) }
    }

    /// The store's folder, or its `postgres://` URL (`store` wins over `data`).
    func folder() throws(CommandFailure) -> String {
        let settings = try settings()
        return settings.text(.store) ?? settings.text(.data)!
    }

    /// Whether the store is on PostgreSQL.
    func isPostgres() throws(CommandFailure) -> Bool { PostgresStoreEngine.handles(try folder()) }

    /// Opens the store in the folder, which must hold one. Commands attach to the store the way
    /// workers do: a running stack's supervisor recovered it, and a command that replayed the
    /// journal under the exclusive lock (as recovery does) would hold up every write meanwhile. A
    /// store that needs repair is still recovered.
    func openExistingStore() throws -> Store {
        let folder = try requireStore()
        return try ServerAssembly.openStore(
            folder, indexes: ServerAssembly.allIndexes(),
            options: StoreOptions(recoverOnOpen: false, createIfMissing: false))
    }

    /// The folder, if it holds a store; else the error that says how to make one.
    func requireStore() throws(CommandFailure) -> String {
        let folder = try folder()
        // A database's schema is created (or checked) when the engine opens it.
        guard PostgresStoreEngine.handles(folder) || Store.exists(directory: folder) else {
            throw CommandFailure.noStore(folder)
        }
        return folder
    }
}

extension CommandFailure {
    static func noStore(_ folder: String) -> CommandFailure {
        let shown = folder.hasPrefix("/") ? folder : "\(folder) (\(absolutePath(folder)))"
        return CommandFailure(
            message: """
                there is no store in \(shown): nothing was done. Give the store's folder with --data \
                (or $\(Knob.data.variable), or `data` in a config file), or create a store there with \
                `partnerships store init --data \(folder)` (`partnerships serve` creates one when it starts)
                """)
    }
}

extension Knob {
    /// An option's help: what it is, then where else it can be set and its default.
    func help(_ text: String, default shown: String? = nil) -> String {
        let value = shown ?? defaultValue.map { "default: \($0)" }
        return "\(text) [$\(variable), `\(key)` in the config file\(value.map { "; \($0)" } ?? "")]"
    }
}

/// Printed by ArgumentParser as `Error: <message>` (exit code 1), without the usage text a
/// ValidationError adds.
struct CommandFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
