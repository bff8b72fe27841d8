import APICore
import HTTP
import JSON
import Store

/// The roles of this API and who may see what.
struct Caller {
    let principal: Principal

    static func from(_ context: RequestContext) throws -> Caller {
        guard let token = Tokens.credential(from: context.request.headers["authorization"], schemes: ["APIKey", "Bearer"]),
              let principal = Tokens.authenticate(token, store: context.store) else { throw Failure.unauthorized }
        switch principal {
        case .staff, .partnersUser: return Caller(principal: principal)
        default: throw Failure.unauthorized  // a token of another API family is not a credential here
        }
    }

    var isStaff: Bool { if case .staff = principal { return true } else { return false } }
    var userID: Int? { if case .partnersUser(let id) = principal { return id } else { return nil } }

    func requireStaff() throws {
        guard isStaff else { throw Failure.forbidden("This endpoint is only accessible to staff.") }
    }

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

/// `limit` (default and maximum 20) and `since` (the last id of the previous page).
struct CursorPage {
    static let maximum = 20
    var limit = maximum
    var since = 0

    init(_ query: QueryParameters) throws {
        if let text = query["limit"] {
            guard let value = Paging.positiveInteger(text) else {
                throw APIError(.wrongType, status: .badRequest, title: "Type", detail: "limit must be a positive integer.", field: "limit")
            }
            limit = min(value, Self.maximum)
        }
        if let text = query["since"] {
            guard let value = Paging.positiveInteger(text) else {
                throw APIError(.wrongType, status: .badRequest, title: "Type", detail: "since must be a positive integer.", field: "since")
            }
            since = value
        }
    }

    /// Records ordered by id; the page after `since`, and the meta block.
    func page(_ records: [JSON], extraQuery: String = "") -> (items: [JSON], meta: JSON) {
        let ordered = records.sorted { ($0["id"]?.intValue ?? 0) < ($1["id"]?.intValue ?? 0) }
            .filter { ($0["id"]?.intValue ?? 0) > since }
        let items = Array(ordered.prefix(limit))
        let next: JSON = ordered.count > limit ? .string("?limit=\(limit)&since=\(items.last?["id"]?.intValue ?? 0)\(extraQuery)") : .null
        return (items, ["limit": .int(limit), "next": next])
    }
}
