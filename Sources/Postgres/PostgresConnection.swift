import CLibPQ

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One session with a PostgreSQL server, for one single-threaded worker: every call blocks until the
/// server answers, so it is not to be shared between threads (it is not Sendable).
///
/// The session is opened again on the first call after it broke (server restart, `pg_terminate_backend`,
/// a network cut), and the statements prepared on the old session are prepared again on the new one
/// before their first use. The call during which the session broke still fails with `.connectionLost`:
/// the client cannot know whether the server ran what it sent, so only the caller may decide to retry.
/// A session that broke inside a transaction stays failed until the caller's `rollback()`, so the rest
/// of that transaction's statements cannot silently run outside it on a new session.
public final class PostgresConnection {
    /// How long opening a session may take unless the connection string says otherwise: without it,
    /// libpq waits as long as the kernel does (minutes), and every request would hang with it.
    public static let defaultConnectTimeoutSeconds = 5

    /// A statement registered with `prepare`: executed by name, with its parameters sent apart from
    /// the SQL (no quoting, no injection), planned once per session.
    public struct PreparedStatement: Hashable, Sendable {
        public let name: String
        public let sql: String
    }

    public enum IsolationLevel: String, Sendable {
        case readCommitted = "READ COMMITTED"
        case repeatableRead = "REPEATABLE READ"
        case serializable = "SERIALIZABLE"
    }

    private let connectionString: String
    private let applicationName: String
    /// Run-time parameters (`SET name = value`) every new session starts with: a reconnect must not
    /// silently drop them.
    private let sessionSettings: [(name: String, value: String)]
    private var handle: OpaquePointer?
    /// Every statement `prepare` registered, by name: what a new session prepares again.
    private var statements: [String: PreparedStatement] = [:]
    /// The names prepared on the current session (empty after a reconnect; filled on first use).
    private var preparedOnSession: Set<String> = []
    /// Set by `begin`, cleared by `commit`/`rollback`: libpq's own transaction status is lost with
    /// the session, and this is what keeps a broken transaction from continuing on a new one.
    private var transactionOpen = false
    /// The session broke while `transactionOpen`: every call fails until `rollback()`.
    private var transactionLost = false

    /// Sessions opened after the first one (for tests and for the worker's status report).
    public private(set) var reconnectCount = 0

    /// Exchanges this connection waited for the server's answer to: one per statement run alone, one
    /// per pipeline however many statements it carries. What a request pays in latency (each is a
    /// network round trip plus the server's turn), so the engine logs it per request.
    public private(set) var roundTrips = 0

    /// A ROLLBACK sent by `rollbackInBackground()` whose answer is not read yet: read (and its
    /// pipeline left) before anything else is sent.
    private var backgroundRollbackPending = false
    /// What `begin(..., deferred: true)` has not sent yet (its BEGIN and first statements): sent
    /// ahead of the next statement, in the same round trip.
    private var deferredSteps: [Step] = []
    /// The deferred steps start with a ROLLBACK of a transaction the server still has open.
    private var deferredEndsOpenTransaction = false

    /// One statement of a `pipeline`: a prepared statement with its text parameters, a statement not
    /// worth preparing with its parameters, or a command without parameters (BEGIN, COMMIT...).
    public enum Step: Sendable {
        case prepared(PreparedStatement, [String?])
        case query(String, [String?])
        case command(String)
    }

    /// Opens a session now, so a wrong address or password is reported at start-up and not on the first
    /// request. `connectionString` is a libpq connection string, `key=value ...` or `postgres://...`.
    /// `sessionSettings` are set on this session and on every one opened after it (e.g. lock_timeout).
    public init(
        _ connectionString: String, applicationName: String = "partnerships",
        sessionSettings: [(name: String, value: String)] = []
    ) throws {
        self.connectionString = connectionString
        self.applicationName = applicationName
        self.sessionSettings = sessionSettings
        try openSession()
    }

    deinit {
        if let handle { PQfinish(handle) }
    }

    /// True while the session is up as far as libpq knows (a server-side close is only seen on the
    /// next call).
    public var isConnected: Bool { handle.map { PQstatus($0) == CONNECTION_OK } ?? false }

    /// Between `begin()` and `commit()`/`rollback()`.
    public var isInTransaction: Bool { transactionOpen }

    /// A transaction was begun with `deferred` and nothing of it has been sent yet.
    public var isDeferred: Bool { !deferredSteps.isEmpty }

    /// The server's process id for this session (what `pg_terminate_backend` takes); nil when closed.
    public var serverProcessID: Int32? { isConnected ? PQbackendPID(handle) : nil }

    // MARK: Statements

    /// Registers `sql` under `name` and prepares it on the current session (so a syntax error is
    /// reported here, once). Preparing the same name with the same SQL again returns it; with another
    /// SQL it is an error, since the name is how callers share a statement.
    @discardableResult
    public func prepare(_ name: String, _ sql: String) throws -> PreparedStatement {
        let statement = PreparedStatement(name: name, sql: sql)
        if let known = statements[name] {
            guard known.sql == sql else {
                throw PostgresError(kind: .client, message: "statement \"\(name)\" is already prepared with other SQL")
            }
            return known
        }
        try ensureSession()
        try prepareOnSession(statement)
        statements[name] = statement
        return statement
    }

    /// Runs a prepared statement with text parameters (`nil` is NULL) and returns its rows.
    @discardableResult
    public func execute(_ statement: PreparedStatement, _ parameters: [String?] = []) throws -> PostgresResult {
        guard statements[statement.name] == statement else {
            throw PostgresError(kind: .client, message: "statement \"\(statement.name)\" was not prepared here")
        }
        if !deferredSteps.isEmpty { return try pipeline([.prepared(statement, parameters)])[0] }
        try ensureSession()
        if !preparedOnSession.contains(statement.name) { try prepareOnSession(statement) }
        return try withCStrings(parameters) { values in
            try run { PQexecPrepared($0, statement.name, Int32(values.count), values, nil, nil, 0) }
        }
    }

    /// Runs `steps` in one round trip (libpq's pipeline mode: all sent, then all answers read) and
    /// returns one result per step. The first statement that fails is thrown, once every answer is
    /// read; the server skips the statements after it. Outside a transaction the steps are one
    /// implicit transaction (all or nothing); inside one, a failure fails the transaction, as any
    /// failed statement does. Deferred steps of `begin` go first.
    @discardableResult
    public func pipeline(_ given: [Step]) throws -> [PostgresResult] {
        let steps = deferredSteps + given
        let skipped = deferredSteps.count
        for step in steps {
            let parameters: [String?]
            switch step {
            case .prepared(let statement, let values):
                guard statements[statement.name] == statement else {
                    throw PostgresError(kind: .client, message: "statement \"\(statement.name)\" was not prepared here")
                }
                parameters = values
            case .query(_, let values): parameters = values
            case .command: parameters = []
            }
            guard !parameters.contains(where: { $0?.utf8.contains(0) == true }) else {
                throw PostgresError(
                    kind: .client, message: "a parameter contains a NUL byte, which PostgreSQL text cannot hold")
            }
        }
        deferredSteps = []
        deferredEndsOpenTransaction = false
        try ensureSession()
        for case .prepared(let statement, _) in steps where !preparedOnSession.contains(statement.name) {
            try prepareOnSession(statement)
        }
        guard let handle else { throw PostgresError(kind: .connectionLost, message: "no session") }
        guard PQenterPipelineMode(handle) == 1 else {
            throw PostgresError(
                kind: .client, message: "libpq could not enter pipeline mode: \(Self.errorMessage(of: handle))")
        }
        roundTrips += 1
        for step in steps {
            let sent: Int32
            switch step {
            case .prepared(let statement, let parameters):
                sent = try withCStrings(parameters) { values in
                    PQsendQueryPrepared(handle, statement.name, Int32(values.count), values, nil, nil, 0)
                }
            case .query(let sql, let parameters):
                sent = try withCStrings(parameters) { values in
                    PQsendQueryParams(handle, sql, Int32(values.count), nil, values, nil, nil, 0)
                }
            case .command(let sql):
                sent = PQsendQueryParams(handle, sql, 0, nil, nil, nil, nil, 0)
            }
            guard sent == 1 else { throw brokenPipeline(handle) }
        }
        guard PQpipelineSync(handle) == 1 else { throw brokenPipeline(handle) }
        var results: [PostgresResult] = []
        results.reserveCapacity(steps.count)
        var firstError: PostgresError?
        for _ in steps {
            guard let result = PQgetResult(handle) else { throw brokenPipeline(handle) }
            defer { PQclear(result) }
            switch PQresultStatus(result) {
            case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
                results.append(Self.copy(result))
            case PGRES_PIPELINE_ABORTED:
                results.append(PostgresResult(columns: [], rows: [], affectedRows: 0, commandTag: ""))
            default:
                let error = failure(result: result, handle: handle)
                // The session is closed: nothing more can be read from it.
                if error.kind == .connectionLost { throw error }
                if firstError == nil { firstError = error }
                results.append(PostgresResult(columns: [], rows: [], affectedRows: 0, commandTag: ""))
            }
            // Each statement's answers end with a NULL.
            if let extra = PQgetResult(handle) {
                PQclear(extra)
                throw brokenPipeline(handle)
            }
        }
        guard let sync = PQgetResult(handle) else { throw brokenPipeline(handle) }
        let synced = PQresultStatus(sync) == PGRES_PIPELINE_SYNC
        PQclear(sync)
        guard synced, PQexitPipelineMode(handle) == 1 else { throw brokenPipeline(handle) }
        if let firstError { throw firstError }
        return Array(results.dropFirst(skipped))
    }

    /// A pipeline whose exchange went wrong (a send failed, an answer was missing or out of order):
    /// the session cannot be trusted to be in step any more, so it is closed, as a lost one is.
    private func brokenPipeline(_ handle: OpaquePointer) -> PostgresError {
        let message = Self.errorMessage(of: handle)
        if transactionOpen { transactionLost = true }
        closeSession()
        return PostgresError(kind: .connectionLost, message: message.isEmpty ? "the pipeline broke" : message)
    }

    /// Runs one statement that is not worth preparing (schema changes, a one-off query), its
    /// parameters sent apart from the SQL as `$1`, `$2`...
    @discardableResult
    public func execute(_ sql: String, _ parameters: [String?] = []) throws -> PostgresResult {
        if !deferredSteps.isEmpty { return try pipeline([.query(sql, parameters)])[0] }
        try ensureSession()
        return try withCStrings(parameters) { values in
            try run { PQexecParams($0, sql, Int32(values.count), nil, values, nil, nil, 0) }
        }
    }

    /// Runs several statements separated by semicolons, without parameters (a schema script). They
    /// run in one implicit transaction unless the script has its own BEGIN/COMMIT; the result is the
    /// last statement's.
    @discardableResult
    public func runScript(_ sql: String) throws -> PostgresResult {
        // A script is several statements, which a pipeline cannot carry: a deferred BEGIN goes first.
        if !deferredSteps.isEmpty { try pipeline([]) }
        try ensureSession()
        return try run { PQexec($0, sql) }
    }

    // MARK: Transactions

    /// Begins a transaction with `steps` (e.g. the writer lock, or a read) in the same round trip,
    /// ending first (rolled back) the transaction that is open when `replacing` says one may be.
    /// `deferred`: nothing is sent now; the BEGIN and `steps` go ahead of the next statement, in
    /// its round trip (a write whose first statement is its COMMIT costs one). Returns the
    /// steps' results when sent now.
    @discardableResult
    public func begin(
        _ isolation: IsolationLevel, readOnly: Bool = false, replacing: Bool = false, deferred: Bool = false,
        then steps: [Step]
    ) throws -> [PostgresResult] {
        guard !transactionOpen || replacing else {
            throw PostgresError(kind: .client, message: "begin() inside a transaction (no nested transactions)")
        }
        var prefix = try endingOpenTransaction()
        prefix.append(.command("BEGIN ISOLATION LEVEL \(isolation.rawValue)\(readOnly ? " READ ONLY" : "")"))
        transactionOpen = true
        if deferred {
            deferredSteps = prefix + steps
            deferredEndsOpenTransaction = prefix.count > 1
            return []
        }
        return try pipeline(prefix + steps).suffix(steps.count).map { $0 }
    }

    /// Ends the open transaction, if any (rolled back), and runs `steps` outside one, in one round
    /// trip: a statement that must not see the snapshot of the transaction it ends.
    @discardableResult
    public func rollback(then steps: [Step]) throws -> [PostgresResult] {
        let prefix = try endingOpenTransaction()
        return try pipeline(prefix + steps).suffix(steps.count).map { $0 }
    }

    /// What ends the open transaction in the next round trip (a ROLLBACK, or nothing when the server
    /// has none: its BEGIN still deferred, or its session broken, which is replaced now); the
    /// transaction counts as ended from here.
    private func endingOpenTransaction() throws -> [Step] {
        settleBackgroundRollback()
        // Whether the server has a transaction of ours open: not when its BEGIN is still deferred
        // (unless that deferral itself ends one), nor when the session broke (the server ended it).
        var serverHasOne = transactionOpen && !transactionLost
        if !deferredSteps.isEmpty { serverHasOne = deferredEndsOpenTransaction }
        deferredSteps = []
        deferredEndsOpenTransaction = false
        transactionOpen = false
        transactionLost = false
        if serverHasOne, isConnected { return [.command("ROLLBACK")] }
        // A broken idle session is replaced now, before the next statement counts on it.
        try ensureSession()
        return []
    }

    /// Runs `steps` and then COMMIT, in one round trip, and ends the transaction whatever the
    /// outcome: when a step fails the server never runs the COMMIT, and the transaction is rolled
    /// back here. Errors as `commit()`'s.
    @discardableResult
    public func commit(after steps: [Step]) throws -> [PostgresResult] {
        guard transactionOpen else { throw PostgresError(kind: .client, message: "commit() without begin()") }
        if transactionLost {
            transactionOpen = false
            transactionLost = false
            throw PostgresError(kind: .connectionLost, message: "the session broke during this transaction")
        }
        let results: [PostgresResult]
        do {
            results = try pipeline(steps + [.command("COMMIT")])
        } catch let error as PostgresError {
            if error.kind == .connectionLost {
                transactionOpen = false
                transactionLost = false
            } else if transactionOpen {
                // A step failed (the COMMIT was skipped), or COMMIT itself failed: a rollback ends
                // either (after a failed COMMIT the server has no transaction: it only warns).
                try? rollback()
            }
            throw error
        }
        transactionOpen = false
        if results.last?.commandTag == "ROLLBACK" {
            throw PostgresError(
                kind: .server, sqlState: .inFailedTransaction,
                message: "the transaction was rolled back, not committed: a statement in it had failed")
        }
        return Array(results.dropLast())
    }

    /// Ends the open transaction with a ROLLBACK sent without waiting for its answer, which the
    /// next call reads: for a read-only transaction whose end nobody waits on (a request's read
    /// snapshot, ended as its response goes out).
    public func rollbackInBackground() {
        guard transactionOpen else { return }
        transactionOpen = false
        guard dropDeferredSteps() else { return }
        defer { transactionLost = false }
        guard !transactionLost, let handle, PQstatus(handle) == CONNECTION_OK else { return }
        guard PQenterPipelineMode(handle) == 1, PQsendQueryParams(handle, "ROLLBACK", 0, nil, nil, nil, nil, 0) == 1,
            PQpipelineSync(handle) == 1
        else {
            // The session is not in a state to trust: a new one ends the transaction as surely.
            closeSession()
            return
        }
        backgroundRollbackPending = true
    }

    /// Reads the answer of a background ROLLBACK (there by now, normally) and leaves its pipeline.
    private func settleBackgroundRollback() {
        guard backgroundRollbackPending else { return }
        backgroundRollbackPending = false
        guard let handle else { return }
        var clean = false
        if let answer = PQgetResult(handle) {
            clean = PQresultStatus(answer) == PGRES_COMMAND_OK
            PQclear(answer)
        }
        if clean, let extra = PQgetResult(handle) {
            PQclear(extra)
            clean = false
        }
        if clean, let sync = PQgetResult(handle) {
            clean = PQresultStatus(sync) == PGRES_PIPELINE_SYNC
            PQclear(sync)
        } else {
            clean = false
        }
        if clean { clean = PQexitPipelineMode(handle) == 1 }
        // Whatever went wrong, a new session has no transaction and no answer pending.
        if !clean { closeSession() }
    }

    /// `readOnly`: the server refuses any write in it (a request's read snapshot).
    public func begin(_ isolation: IsolationLevel = .readCommitted, readOnly: Bool = false) throws {
        guard !transactionOpen else {
            throw PostgresError(kind: .client, message: "begin() inside a transaction (no nested transactions)")
        }
        settleBackgroundRollback()
        try ensureSession()
        try run { PQexec($0, "BEGIN ISOLATION LEVEL \(isolation.rawValue)\(readOnly ? " READ ONLY" : "")") }
        transactionOpen = true
    }

    /// Commits. A commit the server refuses (a deferred constraint, a serialization failure) rolls the
    /// transaction back on the server, and so ends it here too. When the session breaks during the
    /// commit the outcome is unknown: the error is `.connectionLost`.
    public func commit() throws {
        guard transactionOpen else { throw PostgresError(kind: .client, message: "commit() without begin()") }
        defer {
            transactionOpen = false
            transactionLost = false
        }
        if transactionLost {
            throw PostgresError(kind: .connectionLost, message: "the session broke during this transaction")
        }
        if !deferredSteps.isEmpty {
            _ = try commit(after: [])
            return
        }
        let outcome = try run { PQexec($0, "COMMIT") }
        // COMMIT of a transaction an earlier statement failed is not an error to the server: it rolls
        // back and answers with the tag ROLLBACK. A caller that caught that statement's error and
        // went on must not take it for a commit.
        if outcome.commandTag == "ROLLBACK" {
            throw PostgresError(
                kind: .server, sqlState: .inFailedTransaction,
                message: "the transaction was rolled back, not committed: a statement in it had failed")
        }
    }

    /// Rolls back and ends the transaction. On a session that broke, the server has already rolled it
    /// back: this only ends it here, without an error, so that cleanup paths need not tell the cases apart.
    public func rollback() throws {
        guard transactionOpen else { return }
        defer {
            transactionOpen = false
            transactionLost = false
        }
        guard dropDeferredSteps() else { return }
        guard !transactionLost, isConnected else { return }
        try run { PQexec($0, "ROLLBACK") }
    }

    /// Forgets the statements deferred to the next call, which the server never saw (this
    /// transaction's BEGIN among them). True when a transaction is open on the server all the same
    /// (one it had open before, which the deferred steps were to end): the caller still ends it.
    private func dropDeferredSteps() -> Bool {
        guard !deferredSteps.isEmpty else { return true }
        let endsOpen = deferredEndsOpenTransaction
        deferredSteps = []
        deferredEndsOpenTransaction = false
        return endsOpen
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws (its error
    /// is rethrown, not the rollback's).
    @discardableResult
    public func transaction<Result>(
        _ isolation: IsolationLevel = .readCommitted, _ body: (PostgresConnection) throws -> Result
    ) throws -> Result {
        try begin(isolation)
        let result: Result
        do {
            result = try body(self)
        } catch {
            do {
                try rollback()
            } catch {
                // The session is gone (the server rolls back by itself) and the next call opens a new
                // one: the body's error is the one that says what went wrong.
            }
            throw error
        }
        try commit()
        return result
    }

    // MARK: Sessions

    /// Closes the current session and opens a new one now (a caller that wants to know at once that
    /// the server is back, e.g. a health check). Any open transaction is lost.
    public func reconnect() throws {
        if transactionOpen { transactionLost = true }
        closeSession()
        try openSession()
        reconnectCount += 1
    }

    private func openSession() throws {
        handle = try Self.open(connectionString, applicationName: applicationName)
        for setting in sessionSettings {
            try withCStrings([setting.name, setting.value]) { values in
                try run { PQexecParams($0, "SELECT set_config($1, $2, false)", 2, nil, values, nil, nil, 0) }
            }
        }
    }

    private static func open(_ connectionString: String, applicationName: String) throws -> OpaquePointer {
        // The connection string is expanded in place of "dbname" (expand_dbname = 1); keywords are
        // applied in order, so one it sets itself wins over the defaults listed before it.
        let keywords = ["connect_timeout", "fallback_application_name", "dbname"]
        let values = ["\(defaultConnectTimeoutSeconds)", applicationName, connectionString]
        let connection = try withCStrings(keywords) { keywordPointers in
            try withCStrings(values) { valuePointers in
                PQconnectdbParams(keywordPointers + [nil], valuePointers + [nil], 1)
            }
        }
        guard let connection else {
            throw PostgresError(kind: .connectionFailed, message: "libpq could not allocate a connection")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = errorMessage(of: connection)
            PQfinish(connection)
            throw PostgresError(kind: .connectionFailed, message: message)
        }
        // Notices (e.g. "relation already exists, skipping" from CREATE ... IF NOT EXISTS) would
        // otherwise go to the worker's stderr unstructured; nothing here acts on them.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        return connection
    }

    private func closeSession() {
        if let handle { PQfinish(handle) }
        handle = nil
        preparedOnSession.removeAll()
        backgroundRollbackPending = false
    }

    /// Before every call: fails while a broken transaction waits for its rollback; otherwise opens a
    /// new session when there is none or libpq saw the last one break.
    private func ensureSession() throws {
        settleBackgroundRollback()
        if transactionLost {
            throw PostgresError(
                kind: .connectionLost, message: "the session broke during this transaction; roll it back first")
        }
        if let handle, PQstatus(handle) == CONNECTION_OK { return }
        if transactionOpen {
            transactionLost = true
            throw PostgresError(kind: .connectionLost, message: "the session broke during this transaction")
        }
        closeSession()
        try openSession()
        reconnectCount += 1
    }

    private func prepareOnSession(_ statement: PreparedStatement) throws {
        try run { PQprepare($0, statement.name, statement.sql, 0, nil) }
        preparedOnSession.insert(statement.name)
    }

    /// Calls libpq, copies the result out and frees it on every path; turns a failure into a
    /// PostgresError, and a broken session into `.connectionLost` (closing it, so the next call
    /// opens a new one, or waits for the rollback inside a transaction).
    @discardableResult
    private func run(_ call: (OpaquePointer) -> OpaquePointer?) throws -> PostgresResult {
        settleBackgroundRollback()
        guard let handle else { throw PostgresError(kind: .connectionLost, message: "no session") }
        roundTrips += 1
        let result = call(handle)
        defer { PQclear(result) }
        let status = result.map(PQresultStatus) ?? PGRES_FATAL_ERROR
        switch status {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return Self.copy(result!)
        case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
            // Not supported: the session now waits for COPY data this client never sends, so it is
            // dropped rather than left in that state.
            closeSession()
            throw PostgresError(kind: .client, message: "COPY is not supported by this client")
        default:
            throw failure(result: result, handle: handle)
        }
    }

    private func failure(result: OpaquePointer?, handle: OpaquePointer) -> PostgresError {
        func field(_ code: Int32) -> String? {
            guard let result, let value = PQresultErrorField(result, code) else { return nil }
            return String(cString: value)
        }
        let sqlState = field(ErrorField.sqlState).map(SQLState.init(rawValue:))
        let message = field(ErrorField.primaryMessage) ?? Self.errorMessage(of: handle)
        let lost = PQstatus(handle) != CONNECTION_OK || sqlState?.meansConnectionLost == true
        if lost {
            if transactionOpen { transactionLost = true }
            closeSession()
        }
        return PostgresError(
            kind: lost ? .connectionLost : .server, sqlState: sqlState, message: message,
            detail: field(ErrorField.detail), constraint: field(ErrorField.constraintName))
    }

    private static func errorMessage(of handle: OpaquePointer) -> String {
        guard let text = PQerrorMessage(handle) else { return "unknown libpq error" }
        let message = String(cString: text)
        return String(message.reversed().drop(while: \.isWhitespace).reversed())
    }

    private static func copy(_ result: OpaquePointer) -> PostgresResult {
        let columnCount = PQnfields(result)
        let rowCount = PQntuples(result)
        let columns = (0..<columnCount).map { String(cString: PQfname(result, $0)) }
        var rows: [[String?]] = []
        rows.reserveCapacity(Int(rowCount))
        for row in 0..<rowCount {
            var values: [String?] = []
            values.reserveCapacity(Int(columnCount))
            for column in 0..<columnCount {
                if PQgetisnull(result, row, column) != 0 {
                    values.append(nil)
                } else {
                    // Text format values are NUL-terminated, but the length is known: no scan.
                    let bytes = UnsafeRawPointer(PQgetvalue(result, row, column)!)
                    let buffer = UnsafeRawBufferPointer(start: bytes, count: Int(PQgetlength(result, row, column)))
                    values.append(String(decoding: buffer, as: UTF8.self))
                }
            }
            rows.append(values)
        }
        let tag = String(cString: PQcmdStatus(result))
        return PostgresResult(
            columns: columns, rows: rows, affectedRows: Int(String(cString: PQcmdTuples(result))) ?? 0, commandTag: tag)
    }
}

/// postgres_ext.h's PG_DIAG_* codes for PQresultErrorField: character-literal macros, which Swift does
/// not import, so they are spelled here (they are part of the wire protocol and never change).
private enum ErrorField {
    static let sqlState = Int32(UInt8(ascii: "C"))
    static let primaryMessage = Int32(UInt8(ascii: "M"))
    static let detail = Int32(UInt8(ascii: "D"))
    static let constraintName = Int32(UInt8(ascii: "n"))
}

/// Hands `body` C strings for `values` (a NULL pointer for nil), freed when it returns. A string with
/// a NUL byte is refused: libpq would silently cut it there.
private func withCStrings<Result>(
    _ values: [String?], _ body: ([UnsafePointer<CChar>?]) throws -> Result
) throws -> Result {
    var copies: [UnsafeMutablePointer<CChar>?] = []
    copies.reserveCapacity(values.count)
    defer { copies.forEach { free($0) } }
    for value in values {
        guard let value else {
            copies.append(nil)
            continue
        }
        guard !value.utf8.contains(0) else {
            throw PostgresError(
                kind: .client, message: "a parameter contains a NUL byte, which PostgreSQL text cannot hold")
        }
        guard let copy = strdup(value) else {
            throw PostgresError(kind: .client, message: "out of memory copying a parameter")
        }
        copies.append(copy)
    }
    return try body(copies.map { $0.map { UnsafePointer($0) } })
}
