/// A five-character SQLSTATE code, as the server sends it with every error. Callers decide on the
/// code, never on the message text (which is translated and reworded between server versions).
public struct SQLState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let uniqueViolation = SQLState(rawValue: "23505")
    public static let foreignKeyViolation = SQLState(rawValue: "23503")
    public static let notNullViolation = SQLState(rawValue: "23502")
    public static let checkViolation = SQLState(rawValue: "23514")
    public static let serializationFailure = SQLState(rawValue: "40001")
    /// A statement sent to a transaction that an earlier error already failed.
    public static let inFailedTransaction = SQLState(rawValue: "25P02")
    public static let deadlockDetected = SQLState(rawValue: "40P01")
    public static let syntaxError = SQLState(rawValue: "42601")
    public static let undefinedTable = SQLState(rawValue: "42P01")
    public static let duplicatePreparedStatement = SQLState(rawValue: "42P05")
    public static let queryCanceled = SQLState(rawValue: "57014")
    /// A lock wait ran past `lock_timeout`.
    public static let lockNotAvailable = SQLState(rawValue: "55P03")
    /// The server ended this session: `pg_terminate_backend`, or a fast or smart shutdown.
    public static let adminShutdown = SQLState(rawValue: "57P01")
    public static let crashShutdown = SQLState(rawValue: "57P02")
    public static let cannotConnectNow = SQLState(rawValue: "57P03")

    /// The first two characters: "23" integrity constraint, "40" transaction rollback, "08"
    /// connection exception, and so on (PostgreSQL's appendix A).
    public var errorClass: String { String(rawValue.prefix(2)) }

    /// A failure the same transaction may succeed at when run again from its start.
    public var isRetryableTransactionFailure: Bool { self == .serializationFailure || self == .deadlockDetected }

    /// The session is gone or never was: class 08, or the server shutting the session down.
    public var meansConnectionLost: Bool {
        errorClass == "08" || self == .adminShutdown || self == .crashShutdown || self == .cannotConnectNow
    }

    public var description: String { rawValue }
}

/// Why a call to PostgreSQL failed: what kind of failure (so a worker can answer 503 when the
/// database is away and 409 or 500 otherwise), the server's SQLSTATE and message when there is one.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// Opening a session failed (server down, refused, authentication): nothing was sent.
        case connectionFailed
        /// The session broke during or before the call. Whether a statement that was sent took effect
        /// is unknown; the next call opens a new session first.
        case connectionLost
        /// The server ran the statement and refused it: `sqlState` says why.
        case server
        /// This client was misused (a statement name not prepared, a COPY result, a NUL in a parameter).
        case client
    }

    public let kind: Kind
    public let sqlState: SQLState?
    /// The server's primary message, or libpq's when the server said nothing.
    public let message: String
    public let detail: String?
    /// For constraint violations: the violated constraint's name (e.g. the unique index's).
    public let constraint: String?

    public init(
        kind: Kind, sqlState: SQLState? = nil, message: String, detail: String? = nil, constraint: String? = nil
    ) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.constraint = constraint
    }

    public var isUniqueViolation: Bool { sqlState == .uniqueViolation }
    public var isSerializationFailure: Bool { sqlState == .serializationFailure }
    /// True when the database could not be reached or the session broke: the caller answers "try
    /// again later" (503) rather than "you made a mistake".
    public var isConnectionProblem: Bool { kind == .connectionFailed || kind == .connectionLost }

    public var description: String {
        var text = "PostgreSQL"
        switch kind {
        case .connectionFailed: text += " connection failed"
        case .connectionLost: text += " connection lost"
        case .server: text += " error"
        case .client: text += " client error"
        }
        if let sqlState { text += " \(sqlState)" }
        text += ": \(message)"
        if let detail { text += " (\(detail))" }
        return text
    }
}
