import APICore
import HTTP
import JSON
import Store

/// Who calls the Partners API: staff, or a user of this API (partner members, project owners).
/// A token of another family is no credential here (401).
public enum PartnersPrincipal: Principal, TokenPrincipal, Equatable {
    case staff(Staff)
    case user(id: Int)

    static let kind = "partners_user"

    public static func authenticate(_ context: RequestContext) throws -> PartnersPrincipal {
        try fromToken(context, schemes: ["APIKey", "Bearer"], otherwise: Failure.unauthorized)
    }

    public init?(stored: JSON) {
        if let staff = Staff(stored: stored) {
            self = .staff(staff)
        } else if stored["kind"]?.stringValue == Self.kind, let id = stored["user_id"]?.intValue {
            self = .user(id: id)
        } else {
            return nil
        }
    }

    public var stored: JSON {
        switch self {
        case .staff(let staff): return staff.stored
        case .user(let id): return ["kind": .string(Self.kind), "user_id": .int(id)]
        }
    }

    var isStaff: Bool { if case .staff = self { return true } else { return false } }
    var userID: Int? { if case .user(let id) = self { return id } else { return nil } }

    func isMember(of partner: Int, _ store: Store) -> Bool {
        guard let userID else { return false }
        return store.get(Collection.memberships, "\(partner)|\(userID)") != nil
    }

    /// Staff, the project owner, and partner users of a partner in partnership with the project.
    func canListPartnerships(of project: JSON, _ store: Store) -> Bool {
        if isStaff { return true }
        guard let userID else { return false }
        if project["owner_id"]?.intValue == userID { return true }
        let projectID = String(project["id"]?.intValue ?? 0)
        return store.lookupRecords(Collection.partnerships, index: "by_project", key: projectID).contains {
            isMember(of: $0["partner_id"]?.intValue ?? 0, store)
        }
    }
}

extension Role<PartnersPrincipal> {
    static let staff = Role("staff") {
        guard $0.isStaff else { throw Failure.forbidden("This endpoint is only accessible to staff.") }
    }
}

/// What a Partners API handler gets: the request, the store and the authenticated caller.
typealias Context = Authenticated<PartnersPrincipal>

/// `limit` (default and maximum 20) and `since` (the last id of the previous page).
struct CursorPage {
    static let maximum = 20
    var limit = maximum
    var since = 0

    init(_ query: QueryParameters) throws {
        if let text = query["limit"] {
            guard let value = Paging.positiveInteger(text) else {
                throw APIError(
                    .wrongType, status: .badRequest, title: "Type", detail: "limit must be a positive integer.",
                    field: "limit")
            }
            limit = min(value, Self.maximum)
        }
        if let text = query["since"] {
            guard let value = Paging.positiveInteger(text) else {
                throw APIError(
                    .wrongType, status: .badRequest, title: "Type", detail: "since must be a positive integer.",
                    field: "since")
            }
            since = value
        }
    }

    /// Records ordered by id; the page after `since`, and the meta block.
    func page(_ records: [JSON], extraQuery: String = "") -> (items: [JSON], meta: JSON) {
        let ordered = records.sorted { ($0["id"]?.intValue ?? 0) < ($1["id"]?.intValue ?? 0) }
            .filter { ($0["id"]?.intValue ?? 0) > since }
        let items = Array(ordered.prefix(limit))
        let next: JSON =
            ordered.count > limit
            ? .string("?limit=\(limit)&since=\(items.last?["id"]?.intValue ?? 0)\(extraQuery)") : .null
        return (items, ["limit": .int(limit), "next": next])
    }
}
