import Postgres
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The server the tests talk to: deploy/test starts a throwaway cluster
/// (deploy/postgres-test-cluster) and sets PARTNERSHIPS_TEST_POSTGRES_URL; without it these tests
/// are reported as skipped, with the reason, rather than passing without running.
enum TestServer {
    static let url: String? = {
        guard let value = getenv("PARTNERSHIPS_TEST_POSTGRES_URL") else { return nil }
        let url = String(cString: value)
        return url.isEmpty ? nil : url
    }()
    static let skipNote: Comment =
        "PARTNERSHIPS_TEST_POSTGRES_URL is not set: no PostgreSQL to test against (deploy/test starts one; by hand: deploy/postgres-test-cluster start)"

    static func connect() throws -> PostgresConnection { try PostgresConnection(url!) }

    /// A new session and a new table of `columns` on it, named as `tableName` names them.
    static func freshTable(_ base: String, columns: String) throws -> (PostgresConnection, String) {
        let connection = try connect()
        let table = tableName(base)
        try connection.execute("CREATE TABLE \(table) (\(columns))")
        return (connection, table)
    }

    /// A table name no other test (nor an earlier run on the same cluster) uses, since the tests run
    /// in parallel on one database.
    static func tableName(_ base: String) -> String {
        "\(base)_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Ends `connection`'s session from the server side, as an administrator or a failover would, and
    /// waits until the server process is gone.
    static func terminate(_ connection: PostgresConnection) throws {
        let pid = try #require(connection.serverProcessID)
        let admin = try connect()
        let answer = try admin.execute("SELECT pg_terminate_backend($1, 10000)", [String(pid)])
        #expect(answer.singleValue() == "t")
    }
}

/// Catches the PostgresError a call throws (failing the test when it throws nothing or another error).
func postgresError(_ call: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> PostgresError? {
    do {
        try call()
        Issue.record("expected a PostgresError, got none", sourceLocation: sourceLocation)
        return nil
    } catch let error as PostgresError {
        return error
    } catch {
        Issue.record("expected a PostgresError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

@Suite(.enabled(if: TestServer.url != nil, TestServer.skipNote))
struct PostgresConnectionTests {
    @Test func parametersAndResultsKeepNullApartFromTheEmptyString() throws {
        let connection = try TestServer.connect()
        let result = try connection.execute(
            "SELECT $1::text AS present, $2::text AS absent, ''::text AS empty, NULL::int AS no_number, $3::text AS word",
            ["a value", nil, "grüße ✓ 'quoted' \"double\""])
        #expect(result.columns == ["present", "absent", "empty", "no_number", "word"])
        #expect(result.rows.count == 1)
        #expect(result.rows[0] == ["a value", nil, "", nil, "grüße ✓ 'quoted' \"double\""])
        #expect(result.columnIndex("empty") == 2)
        #expect(result.commandTag == "SELECT 1")
    }

    @Test func commandTagsCountTheRowsAStatementTouched() throws {
        let (connection, table) = try TestServer.freshTable("counted", columns: "id text PRIMARY KEY, n int")
        let insert = try connection.execute("INSERT INTO \(table) VALUES ('a', 1), ('b', 2), ('c', 3)")
        #expect(insert.affectedRows == 3)
        let update = try connection.execute("UPDATE \(table) SET n = n + 1 WHERE n >= $1", ["2"])
        #expect(update.affectedRows == 2)
        #expect(update.commandTag == "UPDATE 2")
        let none = try connection.execute("DELETE FROM \(table) WHERE id = $1", ["missing"])
        #expect(none.affectedRows == 0)
        let rows = try connection.execute("SELECT id, n FROM \(table) ORDER BY id")
        #expect(rows.rows == [["a", "1"], ["b", "3"], ["c", "4"]])
        try connection.execute("DROP TABLE \(table)")
    }

    @Test func aUniqueViolationCarriesItsSQLStateAndConstraintAndLeavesTheSessionUsable() throws {
        let (connection, table) = try TestServer.freshTable("unique", columns: "id text PRIMARY KEY")
        let insert = try connection.prepare("insert_\(table)", "INSERT INTO \(table) (id) VALUES ($1)")
        try connection.execute(insert, ["one"])
        let error = postgresError { try connection.execute(insert, ["one"]) }
        #expect(error?.sqlState == .uniqueViolation)
        #expect(error?.isUniqueViolation == true)
        #expect(error?.kind == .server)
        #expect(error?.isConnectionProblem == false)
        #expect(error?.constraint == "\(table)_pkey")
        #expect(error?.detail?.contains("(id)=(one)") == true)
        #expect(error?.message.contains("duplicate key") == true)
        // The session survives a statement the server refused, without a reconnect.
        try connection.execute(insert, ["two"])
        #expect(try connection.execute("SELECT count(*) FROM \(table)").singleValue() == "2")
        #expect(connection.reconnectCount == 0)
        try connection.execute("DROP TABLE \(table)")
    }

    @Test func aSyntaxErrorIsReportedWhenTheStatementIsPrepared() throws {
        let connection = try TestServer.connect()
        let error = postgresError { try connection.prepare("broken", "SELEKT 1") }
        #expect(error?.sqlState == .syntaxError)
        #expect(error?.kind == .server)
        // Not registered: executing it is a client error, and the name can be prepared properly.
        let statement = try connection.prepare("broken", "SELECT 1")
        #expect(try connection.execute(statement).singleValue() == "1")
        #expect(postgresError { try connection.prepare("broken", "SELECT 2") }?.kind == .client)
    }

    @Test func aStatementIsPreparedOncePerSession() throws {
        let connection = try TestServer.connect()
        let statement = try connection.prepare("add", "SELECT $1::int + $2::int")
        for i in 0..<5 {
            #expect(try connection.execute(statement, [String(i), "10"]).singleValue() == String(i + 10))
        }
        // Preparing it again with the same SQL is the same statement, not a second PREPARE.
        let again = try connection.prepare("add", "SELECT $1::int + $2::int")
        #expect(again == statement)
        let prepared = try connection.execute("SELECT count(*) FROM pg_prepared_statements WHERE name = 'add'")
        #expect(prepared.singleValue() == "1")
    }

    @Test func aTerminatedSessionFailsOneCallAsLostThenReconnects() throws {
        let connection = try TestServer.connect()
        let firstPID = try #require(connection.serverProcessID)
        try TestServer.terminate(connection)
        let error = postgresError { try connection.execute("SELECT 1") }
        #expect(error?.kind == .connectionLost)
        #expect(error?.isConnectionProblem == true)
        #expect(try connection.execute("SELECT 1").singleValue() == "1")
        #expect(connection.reconnectCount == 1)
        #expect(connection.serverProcessID != firstPID)
    }

    @Test func preparedStatementsArePreparedAgainAfterAReconnect() throws {
        let (connection, table) = try TestServer.freshTable("reprepared", columns: "id text PRIMARY KEY, value text")
        let insert = try connection.prepare("insert", "INSERT INTO \(table) (id, value) VALUES ($1, $2)")
        let select = try connection.prepare("select", "SELECT value FROM \(table) WHERE id = $1")
        try connection.execute(insert, ["before", "1"])

        try TestServer.terminate(connection)
        #expect(postgresError { try connection.execute(select, ["before"]) }?.kind == .connectionLost)

        // Both statements work on the new session, though only `prepare` was ever called for them.
        try connection.execute(insert, ["after", "2"])
        #expect(try connection.execute(select, ["before"]).singleValue() == "1")
        #expect(try connection.execute(select, ["after"]).singleValue() == "2")
        #expect(connection.reconnectCount == 1)
        let prepared = try connection.execute("SELECT name FROM pg_prepared_statements ORDER BY name")
        #expect(prepared.rows == [["insert"], ["select"]])
        try connection.execute("DROP TABLE \(table)")
    }

    @Test func aRolledBackTransactionLeavesNothing() throws {
        let (connection, table) = try TestServer.freshTable("rolled_back", columns: "id text PRIMARY KEY")
        let insert = try connection.prepare("insert", "INSERT INTO \(table) (id) VALUES ($1)")

        try connection.begin()
        try connection.execute(insert, ["explicit"])
        #expect(connection.isInTransaction)
        try connection.rollback()
        #expect(!connection.isInTransaction)

        struct Refused: Error {}
        #expect(throws: Refused.self) {
            try connection.transaction { tx in
                try tx.execute(insert, ["a"])
                try tx.execute(insert, ["b"])
                throw Refused()
            }
        }
        // A statement the server refuses fails the whole transaction, and `transaction` rolls it back.
        let duplicate = postgresError {
            try connection.transaction { tx in
                try tx.execute(insert, ["c"])
                try tx.execute(insert, ["c"])
            }
        }
        #expect(duplicate?.sqlState == .uniqueViolation)
        #expect(try connection.execute("SELECT count(*) FROM \(table)").singleValue() == "0")

        try connection.transaction { tx in try tx.execute(insert, ["kept"]) }
        #expect(try connection.execute("SELECT id FROM \(table)").rows == [["kept"]])
        try connection.execute("DROP TABLE \(table)")
    }

    @Test func committingATransactionThatHadFailedIsAnErrorNotASilentRollback() throws {
        let (connection, table) = try TestServer.freshTable("failed_tx", columns: "id text PRIMARY KEY")
        try connection.begin()
        try connection.execute("INSERT INTO \(table) VALUES ('a')")
        // The caller catches a refused statement and goes on: the transaction has failed all the same.
        #expect(
            postgresError { try connection.execute("INSERT INTO \(table) VALUES ('a')") }?.isUniqueViolation == true)
        #expect(
            postgresError { try connection.execute("INSERT INTO \(table) VALUES ('b')") }?.sqlState
                == .inFailedTransaction)
        let error = postgresError { try connection.commit() }
        #expect(error?.sqlState == .inFailedTransaction)
        #expect(!connection.isInTransaction)
        #expect(try connection.execute("SELECT count(*) FROM \(table)").singleValue() == "0")
        try connection.execute("DROP TABLE \(table)")
    }

    @Test func aTransactionWhoseSessionBrokeDoesNotContinueOnANewOne() throws {
        let (connection, table) = try TestServer.freshTable("broken_tx", columns: "id text PRIMARY KEY")
        let insert = try connection.prepare("insert", "INSERT INTO \(table) (id) VALUES ($1)")

        try connection.begin()
        try connection.execute(insert, ["first"])
        try TestServer.terminate(connection)
        #expect(postgresError { try connection.execute(insert, ["second"]) }?.kind == .connectionLost)
        // Had the client reconnected here, "third" would be committed on its own, outside the transaction.
        #expect(postgresError { try connection.execute(insert, ["third"]) }?.kind == .connectionLost)
        #expect(postgresError { try connection.commit() }?.kind == .connectionLost)
        #expect(!connection.isInTransaction)

        #expect(try connection.execute("SELECT count(*) FROM \(table)").singleValue() == "0")
        #expect(connection.reconnectCount == 1)
        try connection.execute("DROP TABLE \(table)")
    }

    @Test func rollbackAfterALostSessionEndsTheTransactionWithoutAnError() throws {
        let connection = try TestServer.connect()
        try connection.begin()
        try TestServer.terminate(connection)
        #expect(postgresError { try connection.execute("SELECT 1") }?.kind == .connectionLost)
        try connection.rollback()
        #expect(!connection.isInTransaction)
        #expect(try connection.execute("SELECT 1").singleValue() == "1")
    }

    @Test func concurrentSerializableTransactionsThatConflictFailWithASerializationFailure() throws {
        let setup = try TestServer.connect()
        let table = TestServer.tableName("write_skew")
        try setup.execute("CREATE TABLE \(table) (n int)")
        let first = try TestServer.connect()
        let second = try TestServer.connect()
        // Each reads what the other writes (write skew): serializable isolation lets one commit only.
        try first.begin(.serializable)
        try second.begin(.serializable)
        #expect(try first.execute("SELECT count(*) FROM \(table)").singleValue() == "0")
        #expect(try second.execute("SELECT count(*) FROM \(table)").singleValue() == "0")
        try first.execute("INSERT INTO \(table) VALUES (1)")
        try second.execute("INSERT INTO \(table) VALUES (2)")
        try first.commit()
        let error = postgresError { try second.commit() }
        #expect(error?.sqlState == .serializationFailure)
        #expect(error?.sqlState?.isRetryableTransactionFailure == true)
        #expect(error?.kind == .server)
        #expect(!second.isInTransaction)
        #expect(try setup.execute("SELECT n FROM \(table)").rows == [["1"]])
        try setup.execute("DROP TABLE \(table)")
    }

    @Test func nestedBeginAndAStrayCommitAreClientErrors() throws {
        let connection = try TestServer.connect()
        #expect(postgresError { try connection.commit() }?.kind == .client)
        try connection.begin()
        #expect(postgresError { try connection.begin() }?.kind == .client)
        try connection.rollback()
    }

    @Test func aParameterWithANulByteIsRefusedRatherThanCut() throws {
        let connection = try TestServer.connect()
        let error = postgresError { try connection.execute("SELECT $1::text", ["before\u{0}after"]) }
        #expect(error?.kind == .client)
    }

    @Test func aScriptRunsEveryStatement() throws {
        let connection = try TestServer.connect()
        let table = TestServer.tableName("script")
        try connection.runScript(
            """
            CREATE TABLE \(table) (id int);
            INSERT INTO \(table) VALUES (1);
            INSERT INTO \(table) VALUES (2);
            """)
        #expect(try connection.execute("SELECT sum(id) FROM \(table)").singleValue() == "3")
        try connection.execute("DROP TABLE \(table)")
    }
}

/// Several statements per round trip: pipelines, a BEGIN deferred to the next statement, COMMIT
/// with the changes before it, and a rollback nobody waits for.
@Suite(.enabled(if: TestServer.url != nil, TestServer.skipNote))
struct PostgresPipelineTests {
    @Test func aPipelineRunsItsStatementsInOrderInOneRoundTrip() throws {
        let (connection, table) = try TestServer.freshTable("pipeline", columns: "id text PRIMARY KEY")
        let insert = try connection.prepare("insert", "INSERT INTO \(table) (id) VALUES ($1)")
        let count = try connection.prepare("count", "SELECT count(*) FROM \(table)")
        let before = connection.roundTrips
        let results = try connection.pipeline([
            .prepared(insert, ["a"]), .prepared(insert, ["b"]), .prepared(count, []),
        ])
        #expect(connection.roundTrips == before + 1)
        #expect(results.map(\.commandTag) == ["INSERT 0 1", "INSERT 0 1", "SELECT 1"])
        #expect(results[2].singleValue() == "2")

        // The first failure is thrown; the server skips what follows it (not run, not an error), and
        // outside a transaction the pipeline was one implicit transaction: "c" is gone with it.
        let duplicate = postgresError {
            try connection.pipeline([.prepared(insert, ["c"]), .prepared(insert, ["a"]), .prepared(insert, ["d"])])
        }
        #expect(duplicate?.sqlState == .uniqueViolation)
        #expect(try connection.execute("SELECT string_agg(id, ',' ORDER BY id) FROM \(table)").singleValue() == "a,b")
        try connection.execute("DROP TABLE \(table)")
    }

    @Test func aDeferredBeginGoesWithTheNextStatementAndCommitWithTheChanges() throws {
        let (connection, table) = try TestServer.freshTable("deferred", columns: "id text PRIMARY KEY")
        let insert = try connection.prepare("insert", "INSERT INTO \(table) (id) VALUES ($1)")
        let observer = try TestServer.connect()
        let before = connection.roundTrips
        try connection.begin(.readCommitted, deferred: true, then: [.prepared(insert, ["a"])])
        #expect(connection.isInTransaction && connection.isDeferred)
        #expect(connection.roundTrips == before)
        #expect(try connection.execute("SELECT count(*) FROM \(table)").singleValue() == "1")
        #expect(connection.roundTrips == before + 1)
        #expect(try observer.execute("SELECT count(*) FROM \(table)").singleValue() == "0")
        try connection.commit(after: [.prepared(insert, ["b"])])
        #expect(connection.roundTrips == before + 2)
        #expect(!connection.isInTransaction)
        #expect(try observer.execute("SELECT count(*) FROM \(table)").singleValue() == "2")

        // A change the server refuses: nothing of the transaction is committed, and it is over.
        try connection.begin(.readCommitted, deferred: true, then: [.prepared(insert, ["c"])])
        let refused = postgresError { try connection.commit(after: [.prepared(insert, ["a"])]) }
        #expect(refused?.sqlState == .uniqueViolation)
        #expect(!connection.isInTransaction)
        #expect(try observer.execute("SELECT count(*) FROM \(table)").singleValue() == "2")

        // Rolled back before anything was sent: the server never saw it.
        try connection.begin(.readCommitted, deferred: true, then: [.prepared(insert, ["z"])])
        try connection.rollback()
        #expect(try connection.execute("SELECT count(*) FROM \(table)").singleValue() == "2")
        try connection.execute("DROP TABLE \(table)")
    }

    @Test func aBackgroundRollbackEndsTheTransactionOnTheServerWithoutWaiting() throws {
        let connection = try TestServer.connect()
        let observer = try TestServer.connect()
        let pid = try #require(connection.serverProcessID)
        try connection.begin(.repeatableRead, readOnly: true, then: [.command("SELECT 1")])
        func state() throws -> String? {
            try observer.execute("SELECT state FROM pg_stat_activity WHERE pid = $1", [String(pid)]).singleValue()
        }
        #expect(try state() == "idle in transaction")
        let before = connection.roundTrips
        connection.rollbackInBackground()
        #expect(connection.roundTrips == before)
        #expect(!connection.isInTransaction)
        // Sent, not waited for: the server ends it on its own.
        var ended = false
        for _ in 0..<200 where !ended {
            ended = try state() == "idle"
            if !ended { usleep(5_000) }
        }
        #expect(ended)
        // Its answer is read before the next statement's.
        #expect(try connection.execute("SELECT 2").singleValue() == "2")
        // Replacing an open transaction rolls it back in the new one's round trip.
        try connection.begin(.repeatableRead, readOnly: true, then: [.command("SELECT 1")])
        let replacing = connection.roundTrips
        let answer = try connection.begin(.readCommitted, replacing: true, then: [.command("SELECT 3")])
        #expect(answer.first?.singleValue() == "3")
        #expect(connection.roundTrips == replacing + 1)
        try connection.rollback()
    }

    @Test func aBackgroundRollbackOnASessionThatBrokeLeavesTheNextCallToReconnect() throws {
        let connection = try TestServer.connect()
        try connection.begin(.repeatableRead, readOnly: true, then: [.command("SELECT 1")])
        connection.rollbackInBackground()
        try TestServer.terminate(connection)
        // The next call finds the session gone (as any call would, once) and the one after reconnects.
        _ = try? connection.execute("SELECT 1")
        #expect(try connection.execute("SELECT 2").singleValue() == "2")
        try connection.begin(.repeatableRead, readOnly: true, then: [.command("SELECT 1")])
        try TestServer.terminate(connection)
        // A begin replacing a transaction on a session that broke starts afresh on a new session.
        _ = try? connection.begin(.readCommitted, replacing: true, then: [.command("SELECT 1")])
        try? connection.rollback()
        let answer = try connection.begin(.readCommitted, replacing: true, then: [.command("SELECT 4")])
        #expect(answer.first?.singleValue() == "4")
        try connection.rollback()
    }
}

/// Failures to reach a server need no server: they run whether or not one was started.
struct PostgresConnectionFailureTests {
    @Test func nobodyListeningIsAConnectionFailureWithLibpqsMessage() throws {
        // Port 1 on loopback: privileged, and nothing of ours listens there.
        let error = postgresError { _ = try PostgresConnection("postgres://nobody@127.0.0.1:1/none") }
        #expect(error?.kind == .connectionFailed)
        #expect(error?.isConnectionProblem == true)
        #expect(error?.sqlState == nil)
        #expect(error?.message.isEmpty == false)
    }

    @Test func aMalformedConnectionStringIsAConnectionFailure() throws {
        let error = postgresError { _ = try PostgresConnection("postgres://[not a url") }
        #expect(error?.kind == .connectionFailed)
    }
}
