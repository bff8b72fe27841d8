import JSON

/// An error a handler or the shared layers raise, in HTTP's own terms (a kind, a status, a heading,
/// a human detail, the field concerned): no family's vocabulary. Each API family renders it in its
/// own wire format through an `ErrorFormatter`.
public struct APIError: Error, Sendable, Equatable {
    public enum Kind: String, Sendable {
        case badRequest, malformedBody, unauthorized, forbidden, notFound, methodNotAllowed, conflict
        case payloadTooLarge, unsupportedMediaType, validation, requiredField, wrongType, unknownField
        case tooManyRequests, internalError, insufficientStorage, serviceUnavailable, preconditionFailed
    }

    public var kind: Kind
    public var status: HTTPStatus
    /// A short heading ("Not found", "Bad request"), or the field's name for a field error. Each
    /// family's `ErrorFormatter` decides whether and where its format shows it.
    public var title: String
    /// Human text shown to the caller.
    public var detail: String
    /// The payload field concerned, if any.
    public var field: String?

    public init(_ kind: Kind, status: HTTPStatus, title: String, detail: String, field: String? = nil) {
        self.kind = kind
        self.status = status
        self.title = title
        self.detail = detail
        self.field = field
    }

    public static func notFound(_ detail: String = "Not found.") -> APIError {
        APIError(.notFound, status: .notFound, title: "Not found", detail: detail)
    }
    public static func badRequest(_ detail: String, title: String = "Bad request") -> APIError {
        APIError(.badRequest, status: .badRequest, title: title, detail: detail)
    }
    public static func malformedBody(_ detail: String) -> APIError {
        APIError(.malformedBody, status: .badRequest, title: "Bad request", detail: detail)
    }
    public static func unauthorized(
        _ detail: String = "Authentication credentials were not provided or are invalid."
    ) -> APIError {
        APIError(.unauthorized, status: .unauthorized, title: "Unauthorized", detail: detail)
    }
    public static func forbidden(_ detail: String = "You do not have permission to perform this action.") -> APIError {
        APIError(.forbidden, status: .forbidden, title: "Forbidden", detail: detail)
    }
    public static func methodNotAllowed(_ method: HTTPMethod) -> APIError {
        APIError(
            .methodNotAllowed, status: .methodNotAllowed, title: "Method not allowed",
            detail: "Method \"\(method.rawValue)\" not allowed.")
    }
    public static func payloadTooLarge(limit: Int) -> APIError {
        APIError(
            .payloadTooLarge, status: .contentTooLarge, title: "Payload too large",
            detail: "The request body is larger than \(limit) bytes.")
    }
    public static func validation(field: String?, _ detail: String, title: String? = nil) -> APIError {
        APIError(
            .validation, status: .unprocessableContent, title: title ?? field ?? "Invalid", detail: detail, field: field
        )
    }
    /// `If-Match` named a version that is no longer the resource's current one (or there is none):
    /// nothing was changed.
    public static func preconditionFailed() -> APIError {
        APIError(
            .preconditionFailed, status: .preconditionFailed, title: "Precondition failed",
            detail:
                "The resource has changed since the version named in If-Match (or does not exist); nothing was changed. Fetch it again and retry."
        )
    }
    /// The store's disk is full: the write was not made (nothing was acknowledged); retry later.
    public static func insufficientStorage(requestID: String) -> APIError {
        APIError(
            .insufficientStorage, status: .insufficientStorage, title: "Insufficient storage",
            detail:
                "The server is out of disk space; your change was not saved. Retry later, quoting request id \(requestID) if it persists."
        )
    }
    public static func serviceUnavailable(requestID: String) -> APIError {
        APIError(
            .serviceUnavailable, status: .serviceUnavailable, title: "Service unavailable",
            detail:
                "The server cannot reach its database right now; nothing was changed by this request unless it says otherwise. Retry in a few seconds, quoting request id \(requestID) if it persists."
        )
    }
    public static func internalError(requestID: String) -> APIError {
        APIError(
            .internalError, status: .internalServerError, title: "Internal server error",
            detail: "Something went wrong on our side. Quote request id \(requestID) if you contact support.")
    }
}

/// Several errors answered together (e.g. every missing field of a create at once).
public struct APIErrors: Error, Sendable {
    public var errors: [APIError]
    public init(_ errors: [APIError]) {
        precondition(!errors.isEmpty)
        self.errors = errors
    }
    public var status: HTTPStatus { errors[0].status }
}

/// Renders errors in one API family's wire format.
public protocol ErrorFormatter: Sendable {
    func response(for errors: [APIError]) -> HTTPResponse
}

/// The format used outside any API family (`/healthz`, unknown paths): `{"error": "...", "detail": "..."}`.
public struct PlainErrorFormatter: ErrorFormatter {
    public init() {}
    public func response(for errors: [APIError]) -> HTTPResponse {
        let first = errors[0]
        return .json(["error": .string(first.title), "detail": .string(first.detail)], status: first.status)
    }
}
