import Postgres

/// Every statement the engine runs, registered with the connection (which prepares each once per
/// session, and again after a reconnect; a SQL error in one is reported at start-up). Parameters are text; numbers are
/// cast in SQL. Reads order by `rank` (creation) or by (ord, rank): exactly the orders of the JSON
/// store's hint file and overlay.
struct Statements {
    let changeCount: PostgresConnection.PreparedStatement
    let get: PostgresConnection.PreparedStatement
    let all: PostgresConnection.PreparedStatement
    let count: PostgresConnection.PreparedStatement
    let lookup: PostgresConnection.PreparedStatement
    let lookupRecords: PostgresConnection.PreparedStatement
    let getMany: PostgresConnection.PreparedStatement
    let lookupWithRecords: PostgresConnection.PreparedStatement
    let lookupRecordsMany: PostgresConnection.PreparedStatement
    let pageAscending: PostgresConnection.PreparedStatement
    let pageDescending: PostgresConnection.PreparedStatement
    let nextPageAscending: PostgresConnection.PreparedStatement
    let nextPageDescending: PostgresConnection.PreparedStatement
    let boundariesAscending: PostgresConnection.PreparedStatement
    let boundariesDescending: PostgresConnection.PreparedStatement
    let pageFromBoundaryAscending: PostgresConnection.PreparedStatement
    let pageFromBoundaryDescending: PostgresConnection.PreparedStatement
    let writerLock: PostgresConnection.PreparedStatement
    let bumpChangeCount: PostgresConnection.PreparedStatement
    let put: PostgresConnection.PreparedStatement
    let fileKeys: PostgresConnection.PreparedStatement
    let delete: PostgresConnection.PreparedStatement
    let nextSequence: PostgresConnection.PreparedStatement
    let sequenceValue: PostgresConnection.PreparedStatement
    let setSequence: PostgresConnection.PreparedStatement
    let collections: PostgresConnection.PreparedStatement
    let allSequences: PostgresConnection.PreparedStatement
    let savepoint: PostgresConnection.PreparedStatement
    let releaseSavepoint: PostgresConnection.PreparedStatement
    let rollbackToSavepoint: PostgresConnection.PreparedStatement

    init(schema s: String, connection: PostgresConnection) throws {
        // Names carry the schema: two stores on one connection (tests) must not share a statement.
        func statement(_ name: String, _ sql: String) throws -> PostgresConnection.PreparedStatement {
            try connection.prepare("\(s)_\(name)", sql)
        }
        // A page: the index entries are cut to the page first (OFFSET skips index tuples only), then
        // joined to their records. Joined before the cut, each skipped entry cost a record lookup: a
        // page at offset 1,000 took 4.3 ms instead of 0.9.
        func page(_ condition: String, descending: Bool, limit: String) -> String {
            let direction = descending ? " DESC" : ""
            return """
                SELECT r.id, r.value, e.ord, e.rank
                FROM (
                    SELECT id, ord, rank FROM \(s).index_entries
                    WHERE collection = $1 AND index_name = $2 AND key = $3\(condition)
                    ORDER BY ord\(direction), rank\(limit)
                ) e JOIN \(s).records r ON r.collection = $1 AND r.id = e.id
                ORDER BY e.ord\(direction), e.rank
                """
        }
        changeCount = try statement("change_count", "SELECT change_count FROM \(s).store_state")
        get = try statement("get", "SELECT value FROM \(s).records WHERE collection = $1 AND id = $2")
        all = try statement("all", "SELECT id, value FROM \(s).records WHERE collection = $1 ORDER BY rank")
        count = try statement("count", "SELECT count(*) FROM \(s).records WHERE collection = $1")
        lookup = try statement(
            "lookup",
            "SELECT id FROM \(s).index_entries WHERE collection = $1 AND index_name = $2 AND key = $3 ORDER BY rank")
        lookupRecords = try statement(
            "lookup_records",
            """
            SELECT r.id, r.value
            FROM \(s).index_entries e JOIN \(s).records r ON r.collection = e.collection AND r.id = e.id
            WHERE e.collection = $1 AND e.index_name = $2 AND e.key = $3 ORDER BY e.rank
            """)
        // Many keys in one statement (a page's related records): each key with its position in the
        // arrays, which the answer is sorted back into.
        getMany = try statement(
            "get_many",
            """
            SELECT k.ordinal, r.value
            FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(collection, id, ordinal)
            JOIN \(s).records r ON r.collection = k.collection AND r.id = k.id
            """)
        // A lookup that brings the first $4 records with their ids (a write's "lookup, then get
        // each" in one round trip); past the cap the CASE never runs its subquery, so a long list
        // costs its index entries only.
        lookupWithRecords = try statement(
            "lookup_with_records",
            """
            SELECT e.id,
                CASE WHEN e.n <= $4::bigint
                    THEN (SELECT r.value FROM \(s).records r WHERE r.collection = $1 AND r.id = e.id) END
            FROM (
                SELECT id, rank, row_number() OVER (ORDER BY rank) AS n FROM \(s).index_entries
                WHERE collection = $1 AND index_name = $2 AND key = $3
            ) e
            ORDER BY e.rank
            """)
        lookupRecordsMany = try statement(
            "lookup_records_many",
            """
            SELECT k.ordinal, r.id, r.value
            FROM unnest($3::text[]) WITH ORDINALITY AS k(key, ordinal)
            JOIN \(s).index_entries e ON e.collection = $1 AND e.index_name = $2 AND e.key = k.key
            JOIN \(s).records r ON r.collection = e.collection AND r.id = e.id
            ORDER BY k.ordinal, e.rank
            """)
        pageAscending = try statement(
            "page_asc", page("", descending: false, limit: " OFFSET $4::bigint LIMIT $5::bigint"))
        pageDescending = try statement(
            "page_desc", page("", descending: true, limit: " OFFSET $4::bigint LIMIT $5::bigint"))
        // Keyset continuation from the last row of the previous batch: (ord, rank) after it in the
        // same order. Descending mixes directions (ord down, rank up), so it is spelled out.
        nextPageAscending = try statement(
            "next_page_asc", page(" AND (ord, rank) > ($4, $5::bigint)", descending: false, limit: " LIMIT $6::bigint"))
        nextPageDescending = try statement(
            "next_page_desc",
            page(
                " AND (ord < $4 OR (ord = $4 AND rank > $5::bigint))", descending: true, limit: " LIMIT $6::bigint"))
        // A key's page boundaries (`PageBoundaries`): the (ord, rank) of every $4-th entry from the
        // first, and the change counter of the snapshot that saw them. store_state's one row comes
        // out even for a key with no entries, so the counter always does.
        func boundaries(descending: Bool) -> String {
            let direction = descending ? " DESC" : ""
            return """
                SELECT s.change_count, e.ord, e.rank
                FROM \(s).store_state s LEFT JOIN LATERAL (
                    SELECT ord, rank, row_number() OVER (ORDER BY ord\(direction), rank) AS n
                    FROM \(s).index_entries WHERE collection = $1 AND index_name = $2 AND key = $3
                ) e ON (e.n - 1) % $4::bigint = 0
                ORDER BY e.n
                """
        }
        boundariesAscending = try statement("boundaries_asc", boundaries(descending: false))
        boundariesDescending = try statement("boundaries_desc", boundaries(descending: true))
        // A page from a boundary: the entry at ($4, $5) and on, OFFSET the rest of the way (less
        // than one stride), with the snapshot's change counter in each row (alone in one row when
        // the page is empty), which tells whether the boundary still holds. Descending, `ord <= $4`
        // is where the (ord DESC, rank) index starts the walk; the OR drops the entries of ord $4
        // before the boundary's rank.
        func pageFromBoundary(_ condition: String, descending: Bool) -> String {
            let direction = descending ? " DESC" : ""
            return """
                SELECT s.change_count, p.id, p.value, p.ord, p.rank
                FROM \(s).store_state s LEFT JOIN LATERAL (
                    \(page(condition, descending: descending, limit: " OFFSET $6::bigint LIMIT $7::bigint"))
                ) p ON true
                ORDER BY p.ord\(direction), p.rank
                """
        }
        pageFromBoundaryAscending = try statement(
            "page_from_boundary_asc", pageFromBoundary(" AND (ord, rank) >= ($4, $5::bigint)", descending: false))
        pageFromBoundaryDescending = try statement(
            "page_from_boundary_desc",
            pageFromBoundary(" AND ord <= $4 AND (ord < $4 OR rank >= $5::bigint)", descending: true))
        writerLock = try statement("writer_lock", "SELECT pg_advisory_xact_lock($1::int, hashtext($2))")
        bumpChangeCount = try statement(
            "bump_change_count", "UPDATE \(s).store_state SET change_count = change_count + 1 RETURNING change_count")
        // An update keeps the record's rank (ON CONFLICT leaves it) and drops its old index entries;
        // fileKeys adds the new ones. The CTE's DELETE and the upsert see the same snapshot, and
        // touch different tables. The change number is the one the write's bump (sent before it,
        // in the same transaction) set: no round trip to learn it first.
        put = try statement(
            "put",
            """
            WITH unfiled AS (DELETE FROM \(s).index_entries WHERE collection = $1 AND id = $2)
            INSERT INTO \(s).records (collection, id, value, written_change)
            VALUES ($1, $2, $3::json, (SELECT change_count FROM \(s).store_state))
            ON CONFLICT (collection, id) DO UPDATE SET value = EXCLUDED.value, written_change = EXCLUDED.written_change
            """)
        fileKeys = try statement(
            "file_keys",
            """
            INSERT INTO \(s).index_entries (collection, index_name, key, ord, rank, id)
            SELECT $1, entry.index_name, entry.key, entry.ord, r.rank, $2
            FROM \(s).records r, unnest($3::text[], $4::text[], $5::text[]) AS entry(index_name, key, ord)
            WHERE r.collection = $1 AND r.id = $2
            """)
        delete = try statement("delete", "DELETE FROM \(s).records WHERE collection = $1 AND id = $2")
        nextSequence = try statement(
            "next_sequence",
            """
            INSERT INTO \(s).sequences (name, value) VALUES ($1, 1)
            ON CONFLICT (name) DO UPDATE SET value = \(s).sequences.value + 1 RETURNING value
            """)
        // `Transaction` computes a counter's next value itself (reading it under the writer lock), so
        // its recorded operation sets the value rather than adding one.
        sequenceValue = try statement("sequence_value", "SELECT value FROM \(s).sequences WHERE name = $1")
        setSequence = try statement(
            "set_sequence",
            """
            INSERT INTO \(s).sequences (name, value) VALUES ($1, $2::bigint)
            ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value
            """)
        collections = try statement(
            "collections", "SELECT collection, count(*) FROM \(s).records GROUP BY collection ORDER BY collection")
        allSequences = try statement("all_sequences", "SELECT name, value FROM \(s).sequences ORDER BY name")
        // One held write: its statements are taken back alone when its body throws.
        savepoint = try statement("savepoint", "SAVEPOINT held_write")
        releaseSavepoint = try statement("release_savepoint", "RELEASE SAVEPOINT held_write")
        rollbackToSavepoint = try statement("rollback_to_savepoint", "ROLLBACK TO SAVEPOINT held_write")
    }
}
