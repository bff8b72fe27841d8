/// The rows a statement returned, copied out of libpq's result (which is freed before the call that
/// made it returns, so no caller can leak it). Values are in PostgreSQL's text format: `nil` is SQL
/// NULL, distinct from the empty string.
public struct PostgresResult: Sendable {
    /// Column names, in the order the statement selects them.
    public let columns: [String]
    /// One array per row, one value per column.
    public let rows: [[String?]]
    /// Rows inserted, updated, deleted or selected, as the command tag says (0 when it says none,
    /// e.g. for BEGIN or CREATE TABLE).
    public let affectedRows: Int
    /// The command tag: "INSERT 0 1", "UPDATE 3", "SELECT 2", "BEGIN"...
    public let commandTag: String

    public init(columns: [String], rows: [[String?]], affectedRows: Int, commandTag: String) {
        self.columns = columns
        self.rows = rows
        self.affectedRows = affectedRows
        self.commandTag = commandTag
    }

    public var isEmpty: Bool { rows.isEmpty }

    /// The index of a column by name, for callers that would rather not count positions.
    public func columnIndex(_ name: String) -> Int? { columns.firstIndex(of: name) }

    /// The value of `column` in the first row: for statements that return one value (a count, a
    /// RETURNING id). `nil` when there is no row or the value is NULL.
    public func singleValue(column: Int = 0) -> String? {
        guard let first = rows.first, column < first.count else { return nil }
        return first[column]
    }
}
