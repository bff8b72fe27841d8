import APICore
import HTTP
import JSON
import Store

/// Who calls the Partners API: staff, a user of this API (partner members, project owners), or
/// nobody in particular on the operations that show public data. A token of another family is no
/// credential here (401).
public enum PartnersPrincipal: Principal, TokenPrincipal, Equatable {
    case staff(Staff)
    case user(id: Int)
    /// No credentials, on an operation open to anyone (`Access.optionallyAuthenticated`). Never stored.
    case anonymous

    static let kind = "partners_user"

    /// An OAuth2 access token (`Bearer`), or an API key (`APIKey`, or `Bearer` for staff tooling).
    /// As Ulule's: an API key reads; a write with the `APIKey` word is refused (403).
    public static func authenticate(_ context: RequestContext) throws -> PartnersPrincipal {
        _ = try UluleVersion.requested(context.request)
        let header = context.request.header(.authorization)
        let principal: PartnersPrincipal
        if let token = Tokens.credential(from: header, schemes: ["Bearer"]),
            let access = try OAuth2.principal(accessToken: token, context.store)
        {
            guard let owner = PartnersPrincipal(stored: access.principal) else { throw Failure.unauthorized }
            principal = owner
            context.credentialExpiresAt = access.expires
        } else {
            principal = try fromToken(context, schemes: ["APIKey", "Bearer"], otherwise: Failure.unauthorized)
        }
        let method = context.request.method
        if method != .get && method != .head && Tokens.credential(from: header, schemes: ["APIKey"]) != nil {
            throw Failure.forbidden(
                "An API key only reads: writes need an OAuth2 access token (Authorization: Bearer <token>).")
        }
        return principal
    }

    /// No `Authorization` header: anonymous. Credentials that are not valid: 401 since version
    /// 2020-10-07; before it the request goes on anonymously, as Ulule's changelog says.
    public static func authenticateIfPresent(_ context: RequestContext) throws -> PartnersPrincipal {
        let version = try UluleVersion.requested(context.request)
        guard let header = context.request.header(.authorization), !header.allSatisfy({ $0 == " " || $0 == "\t" })
        else { return .anonymous }
        do {
            return try authenticate(context)
        } catch let error as APIError where error.kind == .unauthorized && version < .refusesInvalidCredentials {
            return .anonymous
        }
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
        // Not a kind `init?(stored:)` reads back: a token can never stand for nobody.
        case .anonymous: return ["kind": "partners_anonymous"]
        }
    }

    var isStaff: Bool { if case .staff = self { return true } else { return false } }
    var isAnonymous: Bool { self == .anonymous }
    var userID: Int? { if case .user(let id) = self { return id } else { return nil } }

    /// The refusal for a caller who may not do something: 401 for nobody (credentials may help), 403 otherwise.
    func refusal(_ detail: String) -> APIError { isAnonymous ? Failure.unauthorized : Failure.forbidden(detail) }

    /// A partner user: a member of the partner, or the partner's own user (its `user_id`).
    func isMember(of partner: Int, _ store: Store) -> Bool {
        guard let userID else { return false }
        if store.get(Collection.memberships, "\(partner)|\(userID)") != nil { return true }
        return store.get(Collection.partners, String(partner))?["user_id"]?.intValue == userID
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
        guard $0.isStaff else { throw $0.refusal("This endpoint is only accessible to staff.") }
    }
}

/// What a Partners API handler gets: the request, the store and the caller (maybe anonymous).
typealias Context = Authenticated<PartnersPrincipal>

/// Ulule's pagination: newest first, `limit` (default and maximum 20) and `since`, a Unix time in
/// seconds: the page holds what was created before it. Records created in the same second are
/// ordered by id (newest first too); `next` carries the last record's id as `since_id`, so a page
/// boundary inside one second skips and repeats nothing. A record stored before `created_at`
/// existed counts as created at 0 (the epoch).
struct CursorPage {
    static let maximum = 20
    var limit = maximum
    /// Unix seconds: only records created before it (or in that second with an id below `sinceID`).
    var since: Int?
    var sinceID: Int?

    init(_ query: QueryParameters) throws {
        if let text = query["limit"] {
            guard let value = Paging.positiveInteger(text) else {
                throw Failure.wrongType("limit", "limit must be a positive integer.")
            }
            limit = min(value, Self.maximum)
        }
        if let text = query["since"] {
            guard let value = Self.nonNegativeInteger(text) else {
                throw Failure.wrongType("since", "since must be a Unix timestamp in seconds.")
            }
            since = value
        }
        if let text = query["since_id"] {
            guard let value = Paging.positiveInteger(text) else {
                throw Failure.wrongType("since_id", "since_id must be a positive integer.")
            }
            guard since != nil else { throw Failure.value("since_id", "since_id needs since.") }
            sinceID = value
        }
    }

    static func nonNegativeInteger(_ text: String) -> Int? { text == "0" ? 0 : Paging.positiveInteger(text) }

    /// A record's place in the order: its creation second, then its id.
    static func key(_ record: JSON) -> (seconds: Int, id: Int) {
        let created = record["created_at"]?.stringValue.flatMap(Timestamp.parse)?.microseconds ?? 0
        return (created / 1_000_000, record["id"]?.intValue ?? 0)
    }

    /// The page after the cursor, newest first, and the meta block (`extraQuery` keeps filters in `next`).
    func page(_ records: [JSON], extraQuery: String = "") -> (items: [JSON], meta: JSON) {
        let keyed = records.map { (key: Self.key($0), record: $0) }
        let cursor = since.map { ($0, sinceID ?? 0) }
        let ordered = keyed.filter { cursor == nil || $0.key < cursor! }.sorted { $0.key > $1.key }
        let items = ordered.prefix(limit)
        var next = JSON.null
        if ordered.count > limit, let last = items.last?.key {
            next = .string("?limit=\(limit)&since=\(last.seconds)&since_id=\(last.id)\(extraQuery)")
        }
        return (items.map(\.record), ["limit": .int(limit), "next": next])
    }
}

/// The `Ulule-Version` header: a date (`YYYY-MM-DD`) naming the behaviour a client was written for.
/// Without it, the newest behaviour we serve. Ulule's changelog entries we honour are the constants.
struct UluleVersion: Comparable {
    static let header = HTTPField.Name("Ulule-Version")!
    /// The project's `name` (and other texts) became i18n objects.
    static let i18nTexts = UluleVersion(2017, 9, 15)
    /// The partnership's `presale` field was renamed `project`.
    static let partnershipProject = UluleVersion(2018, 9, 3)
    /// A project that is not online became readable by every authenticated user.
    static let projectDetailForAllUsers = UluleVersion(2018, 10, 4)
    /// Unknown `extra_fields` values became an error.
    static let validatesExtraFields = UluleVersion(2019, 3, 7)
    /// The project's `main_image` became an i18n object of images.
    static let i18nMainImage = UluleVersion(2020, 4, 8)
    /// Invalid credentials on an operation open to anyone became a 401.
    static let refusesInvalidCredentials = UluleVersion(2020, 10, 7)
    /// The newest changelog entry: what a request without the header gets.
    static let latest = UluleVersion(2020, 11, 10)

    /// yyyymmdd, so that the order of dates is the order of integers.
    let day: Int
    init(_ year: Int, _ month: Int, _ day: Int) { self.day = year * 10_000 + month * 100 + day }

    static func < (a: UluleVersion, b: UluleVersion) -> Bool { a.day < b.day }

    /// A calendar date written `YYYY-MM-DD`, or nil.
    static func parse(_ text: String) -> UluleVersion? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, zip(parts, [4, 2, 2]).allSatisfy({ $0.count == $1 && $0.allSatisfy(\.isASCII) }),
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
            parts.allSatisfy({ $0.allSatisfy(\.isNumber) }), (1...12).contains(month)
        else { return nil }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        guard (1...days).contains(day) else { return nil }
        return UluleVersion(year, month, day)
    }

    /// The request's version; a header that is not a date is a 400 on every operation.
    static func requested(_ request: HTTPRequest) throws -> UluleVersion {
        guard let text = request.header(header) else { return latest }
        guard let version = parse(text.trimmingSpaces) else {
            throw Failure.value(
                "Ulule-Version", "Ulule-Version must be a date written YYYY-MM-DD, such as 2020-11-10.")
        }
        return version
    }
}

extension Authenticated<PartnersPrincipal> {
    /// Already checked when the caller was authenticated: never fails here.
    var version: UluleVersion { (try? UluleVersion.requested(request)) ?? .latest }
}
