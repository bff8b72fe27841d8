import Postgres

/// The store's tables, in one PostgreSQL schema (namespace) of their own, created and upgraded by
/// numbered migrations. Each migration runs once, in a transaction, under an advisory lock: hosts
/// that start at the same moment on an empty database create it once, and a host whose binary is
/// older than the database refuses to run on it (as the JSON store refuses a newer `format`).
///
/// Why each table looks as it does is in docs/store-postgres.md; in short:
/// - `records`: every collection in one table, keyed (collection, id). `value` is `json`, not
///   `jsonb`: `json` keeps the text as written, so attribute order (part of the Lead Provider
///   contract) survives and the JSON store and PostgreSQL hold byte-identical records, which is what
///   migration checksums compare. `rank` is creation order (kept by an update, new after a delete).
/// - `index_entries`: one row per (record, index, distinct key), the keys computed in Swift by the
///   IndexDefinition closures on put; the primary key is the order a list is read in.
/// - `sequences`: the durable counters of `nextSequence`.
/// - `store_state`: one row, the change counter every write bumps (what workers compare to know
///   whether their caches still hold).
/// Text columns that are compared or sorted are `COLLATE "C"`: byte order of UTF-8, the order the
/// JSON store sorts index order values in, whatever the database's locale.
public enum PostgresSchema {
    /// The migrations, in order: entry n brings the schema from version n to n + 1. Never edit one
    /// that has shipped; add the next.
    static func migrations(_ schema: String) -> [String] {
        [
            """
            CREATE TABLE \(schema).records (
                collection text COLLATE "C" NOT NULL,
                id text COLLATE "C" NOT NULL,
                rank bigint NOT NULL DEFAULT nextval('\(schema).record_rank'),
                value json NOT NULL,
                written_change bigint NOT NULL,
                PRIMARY KEY (collection, id)
            );
            CREATE INDEX records_in_creation_order ON \(schema).records (collection, rank);
            CREATE TABLE \(schema).index_entries (
                collection text COLLATE "C" NOT NULL,
                index_name text COLLATE "C" NOT NULL,
                key text COLLATE "C" NOT NULL,
                ord text COLLATE "C" NOT NULL,
                rank bigint NOT NULL,
                id text COLLATE "C" NOT NULL,
                PRIMARY KEY (collection, index_name, key, ord, rank) INCLUDE (id),
                FOREIGN KEY (collection, id) REFERENCES \(schema).records (collection, id) ON DELETE CASCADE
            );
            CREATE INDEX index_entries_descending
                ON \(schema).index_entries (collection, index_name, key, ord DESC, rank) INCLUDE (id);
            CREATE INDEX index_entries_of_record ON \(schema).index_entries (collection, id);
            CREATE TABLE \(schema).sequences (
                name text COLLATE "C" PRIMARY KEY,
                value bigint NOT NULL
            );
            CREATE TABLE \(schema).store_state (
                singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
                change_count bigint NOT NULL
            );
            INSERT INTO \(schema).store_state (change_count) VALUES (0);
            """
        ]
    }

    /// The version this build writes and reads.
    public static let currentVersion = 1

    /// Advisory lock namespaces (the first of the two int4 keys; the second is the schema name's
    /// hash): one for migrations, one for the single writer. Arbitrary constants, spelled "PS" and
    /// "PW" in ASCII so they are recognisable in pg_locks.
    static let migrationLockSpace: Int32 = 0x5053
    static let writerLockSpace: Int32 = 0x5057

    /// A schema name is spliced into SQL (identifiers cannot be parameters): letters, digits and
    /// underscores only, starting with a letter, at most 40 bytes so index names built from it fit
    /// PostgreSQL's 63.
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.isASCIILetter, name.utf8.count <= 40 else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCIILetter || ("0"..."9").contains($0) || $0 == "_" }
    }

    /// Creates the schema or brings it to `currentVersion`; does nothing when it is there. Returns
    /// the migrations it applied (0 when none), for the start-up log.
    @discardableResult
    public static func prepare(_ connection: PostgresConnection, schema: String) throws -> Int {
        precondition(isValidName(schema), "invalid schema name \(schema)")
        return try connection.transaction { db in
            try db.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))", [String(migrationLockSpace), schema])
            try db.runScript(
                """
                CREATE SCHEMA IF NOT EXISTS \(schema);
                CREATE SEQUENCE IF NOT EXISTS \(schema).record_rank;
                CREATE TABLE IF NOT EXISTS \(schema).schema_version (
                    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
                    version integer NOT NULL
                );
                INSERT INTO \(schema).schema_version (version) VALUES (0) ON CONFLICT DO NOTHING;
                """)
            let found = Int(try db.execute("SELECT version FROM \(schema).schema_version").singleValue() ?? "") ?? 0
            guard found <= currentVersion else {
                throw PostgresStoreError.newerSchema(found: found, supported: currentVersion)
            }
            let pending = migrations(schema).dropFirst(found)
            for migration in pending { try db.runScript(migration) }
            try db.execute("UPDATE \(schema).schema_version SET version = $1", [String(currentVersion)])
            return pending.count
        }
    }

    /// A unique constraint on one index's keys: at most one record of `collection` under each key
    /// of `index` (a partial unique index on index_entries, named from the pair).
    static func uniqueIndexStatement(_ schema: String, _ unique: UniqueIndex) -> String {
        """
        CREATE UNIQUE INDEX IF NOT EXISTS \(unique.constraintName)
            ON \(schema).index_entries (key)
            WHERE collection = '\(unique.collection)' AND index_name = '\(unique.index)'
        """
    }
}

/// An index of which each key may list one record at most (e.g. a partnership's (lead provider,
/// school, year)): enforced by the database as well as by the families' checks, so that a write
/// made around the single-writer lock (by hand, by a future bug) still cannot break it.
public struct UniqueIndex: Hashable, Sendable {
    public let collection: String
    public let index: String

    public init(collection: String, index: String) {
        precondition(
            PostgresSchema.isValidName(collection) && PostgresSchema.isValidName(index),
            "collection and index names of a unique index are letters, digits and underscores")
        self.collection = collection
        self.index = index
        // PostgreSQL would cut a longer name (with a notice only), and errors would then name another.
        precondition(constraintName.utf8.count <= 63, "unique index name \(constraintName) is over 63 bytes")
    }

    /// The constraint's name, which a unique violation names (PostgresError.constraint).
    public var constraintName: String { "unique_\(collection)_\(index)" }
}

extension Unicode.Scalar {
    fileprivate var isASCIILetter: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) }
}
