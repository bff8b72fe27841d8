import APICore
import DirectoryAPI
import HTTP
import LeadProviderAPI
import PartnersAPI
import PostgresStore
import Store
import WorkerPool

/// Which families a worker serves, and the store they share. The one place to add a family.
public enum ServerAssembly {
    public static func families(scoreboardPath: String?, testRoutes: Bool) -> [any APIFamily] {
        var families: [any APIFamily] = [
            OperationsFamily(scoreboardPath: scoreboardPath), LeadProviderFamily(), PartnersFamily(), DirectoryFamily(),
        ]
        if testRoutes { families.append(TestSupportFamily()) }
        return families
    }

    /// Every index any family declares: what the store's hint files hold, whoever opens the store
    /// (a worker, the supervisor, an admin command, the compactor).
    public static func allIndexes() -> [IndexDefinition] {
        Application.indexes(of: families(scoreboardPath: nil, testRoutes: true))
    }

    /// The store at `location`: a `postgres://` URL opens the PostgreSQL engine (the database must
    /// be reachable: a worker that cannot connect does not start), anything else is the JSON
    /// store's folder, opened with `options`.
    public static func openStore(
        _ location: String, indexes: [IndexDefinition], options: StoreOptions = StoreOptions()
    ) throws -> Store {
        guard PostgresStoreEngine.handles(location) else {
            return try Store(directory: location, indexes: indexes, options: options)
        }
        return Store(engine: try PostgresStoreEngine(url: location, indexes: indexes), indexes: indexes)
    }

    public static func application(
        dataDirectory: String, scoreboardPath: String?, testRoutes: Bool, responseCacheBytes: Int = 0
    ) throws -> Application {
        var timings: [String: String] = [:]
        return try application(
            dataDirectory: dataDirectory, scoreboardPath: scoreboardPath, testRoutes: testRoutes,
            responseCacheBytes: responseCacheBytes, timings: &timings)
    }

    /// The same, noting each step's milliseconds in `timings` ("families_ms", "store_ms", "application_ms").
    static func application(
        dataDirectory: String, scoreboardPath: String?, testRoutes: Bool, responseCacheBytes: Int,
        timings: inout [String: String]
    ) throws -> Application {
        var started = Scoreboard.monotonicNanoseconds()
        func lap(_ name: String) {
            let now = Scoreboard.monotonicNanoseconds()
            let tenths = (now - started) / 100_000
            timings[name] = "\(tenths / 10).\(tenths % 10)"
            started = now
        }
        let families = families(scoreboardPath: scoreboardPath, testRoutes: testRoutes)
        let indexes = allIndexes()
        lap("families_ms")
        // The supervisor recovered the store before it started any worker: workers only attach.
        let store = try openStore(
            dataDirectory, indexes: indexes,
            options: StoreOptions(recoverOnOpen: false, incrementalSwitch: true, refreshHousekeepingMicroseconds: 0))
        lap("store_ms")
        let application = Application(families: families, store: store, responseCacheBytes: responseCacheBytes)
        lap("application_ms")
        return application
    }

    public static func workerLoop(
        dataDirectory: String, bodyLimit: Int, maxRequests: Int, responseCacheBytes: Int, testRoutes: Bool,
        reopenLog: (@Sendable () throws -> Void)? = nil
    ) throws -> WorkerLoop {
        let scoreboard = ProcessEnvironment()[WorkerEnvironment.scoreboard]
        var timings: [String: String] = [:]
        let application = try application(
            dataDirectory: dataDirectory, scoreboardPath: scoreboard, testRoutes: testRoutes,
            responseCacheBytes: responseCacheBytes, timings: &timings)
        var options = WorkerOptions(
            bodyLimit: bodyLimit, maxRequests: maxRequests, testHooks: testRoutes, reopenLog: reopenLog)
        options.startup = timings
        return WorkerLoop(application: application, options: options)
    }
}
