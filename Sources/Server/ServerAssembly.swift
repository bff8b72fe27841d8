import APICore
import DirectoryAPI
import HTTP
import LeadProviderAPI
import PartnersAPI
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

    public static func application(
        dataDirectory: String, scoreboardPath: String?, testRoutes: Bool, responseCacheBytes: Int = 0
    ) throws -> Application {
        let families = families(scoreboardPath: scoreboardPath, testRoutes: testRoutes)
        // The supervisor recovered the store before it started any worker: workers only attach.
        let store = try Store(
            directory: dataDirectory, indexes: allIndexes(),
            options: StoreOptions(recoverOnOpen: false, incrementalSwitch: true))
        return Application(families: families, store: store, responseCacheBytes: responseCacheBytes)
    }

    public static func workerLoop(
        dataDirectory: String, bodyLimit: Int, maxRequests: Int, responseCacheBytes: Int, testRoutes: Bool,
        reopenLog: (@Sendable () throws -> Void)? = nil
    ) throws -> WorkerLoop {
        let scoreboard = ProcessEnvironment()[WorkerEnvironment.scoreboard]
        let application = try application(
            dataDirectory: dataDirectory, scoreboardPath: scoreboard, testRoutes: testRoutes,
            responseCacheBytes: responseCacheBytes)
        return WorkerLoop(
            application: application,
            options: WorkerOptions(
                bodyLimit: bodyLimit, maxRequests: maxRequests,
                testHooks: testRoutes, reopenLog: reopenLog))
    }
}
