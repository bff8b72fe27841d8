import APICore
import HTTP
import JSON
import Store

/// Who calls the Lead Provider API: DfE staff or one lead provider. Another family's token (a
/// Partners API user, a Directory key) is no credential here: 401 like an unknown token, as the
/// real service knows no such token.
public enum LeadProviderPrincipal: Principal, TokenPrincipal, Equatable {
    case staff(Staff)
    case leadProvider(id: String)

    static let kind = "lead_provider"

    public static func authenticate(_ context: RequestContext) throws -> LeadProviderPrincipal {
        try fromToken(context, schemes: ["Bearer"], otherwise: APIError.unauthorized())
    }

    public init?(stored: JSON) {
        if let staff = Staff(stored: stored) {
            self = .staff(staff)
        } else if stored["kind"]?.stringValue == Self.kind, let id = stored["lead_provider_id"]?.stringValue {
            self = .leadProvider(id: id)
        } else {
            return nil
        }
    }

    public var stored: JSON {
        switch self {
        case .staff(let staff): return staff.stored
        case .leadProvider(let id): return ["kind": .string(Self.kind), "lead_provider_id": .string(id)]
        }
    }
}

extension Role<LeadProviderPrincipal> {
    static let staff = Role("staff") { guard case .staff = $0 else { throw Failure.staffOnly } }
    static let leadProvider = Role("lead provider") {
        guard case .leadProvider = $0 else { throw Failure.leadProvidersOnly }
    }
}

/// What a Lead Provider handler gets: the request, the store and the authenticated caller.
typealias Context = Authenticated<LeadProviderPrincipal>

extension Authenticated<LeadProviderPrincipal> {
    /// The calling lead provider's id (the `leadProvider` role admitted only lead providers).
    var provider: String {
        get throws {
            guard case .leadProvider(let id) = principal else { throw Failure.leadProvidersOnly }
            return id
        }
    }
}

struct ListQuery {
    var page = 1
    var perPage = 100
    /// (field, descending) in priority order.
    var sort: [(String, Bool)] = [("created_at", false)]
    /// `filter[...]` values, without the blank ones (empty or spaces): the real service reads a blank
    /// filter as none (its `extract_conditions` and date filters give nil, which its queries ignore).
    var filters: [String: String]
    /// Every filter sent, blank or not: a required filter need only be there (its `required_filters`).
    var filterNames: Set<String>

    static let maximumPerPage = 3000

    init(_ query: QueryParameters, sortable: Set<String> = ["created_at", "updated_at"]) throws {
        let sent = query.nested("filter")
        // `filter=x` or `filter[]=x`: its `params[:filter]` is no hash, which it refuses first.
        guard !query.contains("filter"), sent[""] == nil else { throw Failure.filterNotAHash }
        filterNames = Set(sent.keys)
        filters = sent.filter { !$0.value.allSatisfy(\.isWhitespace) }
        let pageGroup = query.nested("page")
        if let text = pageGroup["page"] {
            guard let value = Paging.positiveInteger(text) else { throw Failure.pageInvalid }
            page = value
        }
        if let text = pageGroup["per_page"] {
            guard let value = Paging.positiveInteger(text) else { throw Failure.pageInvalid }
            perPage = min(value, Self.maximumPerPage)
        }
        if let text = query["sort"] {
            let parsed = text.split(separator: ",").compactMap { item -> (String, Bool)? in
                let trimmed = item.trimming(" ")
                let descending = trimmed.hasPrefix("-")
                let name =
                    descending
                    ? String(trimmed.dropFirst())
                    : String(trimmed.hasPrefix("+") ? trimmed.dropFirst() : Substring(trimmed))
                return sortable.contains(name) ? (name, descending) : nil
            }
            if !parsed.isEmpty { sort = parsed }
        }
    }

    /// `filter[updated_since]`, as a stored-format timestamp to compare with.
    func updatedSince() throws -> String? {
        guard let text = filters["updated_since"] else { return nil }
        guard let time = Timestamp.parse(text) else { throw Failure.updatedSinceInvalid }
        return time.storageText
    }

    /// Sorts by the requested keys; ties keep creation order. Keys are read once per item and only
    /// indexes move while sorting (moving JSON values costs a retain/release each: that was 77% of
    /// a 100k-record list in deploy/loadtest's profile); input already in order is returned as is.
    func sorted<T>(_ items: [T], key: (T, String) -> String) -> [T] {
        let columns = sort.map { field, _ in items.map { key($0, field) } }
        func before(_ a: Int, _ b: Int) -> Bool {
            for (column, (_, descending)) in zip(columns, sort) where column[a] != column[b] {
                return descending ? column[a] > column[b] : column[a] < column[b]
            }
            return a < b
        }
        if zip(items.indices, items.indices.dropFirst()).allSatisfy(before) { return items }
        return items.indices.sorted(by: before).map { items[$0] }
    }

    func paged<T>(_ items: [T]) -> ArraySlice<T> { Paging.page(items, number: page, size: perPage) }

    /// This query's page of the items `walk` visits in the final order, from the offset it is given
    /// (it stops when its body returns false), keeping those that match: what `paged` gives of the
    /// filtered list, without reading past the page, nor before it when nothing is filtered out.
    func page<T>(from walk: (_ offset: Int, _ body: (T) -> Bool) -> Void, where matches: ((T) -> Bool)?) -> [T] {
        guard let window = Paging.window(number: page, size: perPage) else { return [] }
        var items: [T] = []
        guard let matches else {
            walk(window.lowerBound) { item in
                items.append(item)
                return items.count < window.count
            }
            return items
        }
        var skipped = 0
        walk(0) { item in
            guard matches(item) else { return true }
            if skipped < window.lowerBound {
                skipped += 1
                return true
            }
            items.append(item)
            return items.count < window.count
        }
        return items
    }
}

/// A JSON:API document with a `data` member: single resource or list, never meta or links.
func document(_ data: JSON, status: HTTPStatus = .ok) -> HTTPResponse { .json(["data": data], status: status) }

func resource(id: String, type: String, attributes: JSON) -> JSON {
    ["id": .string(id), "type": .string(type), "attributes": attributes]
}

/// `document` of data already serialized (`writeResource`).
func document(serialized data: [UInt8], status: HTTPStatus = .ok) -> HTTPResponse {
    var body: [UInt8] = []
    body.reserveCapacity(data.count + 9)
    body.append(contentsOf: #"{"data":"#.utf8)
    body.append(contentsOf: data)
    body.append(UInt8(ascii: "}"))
    return .json(serialized: body, status: status)
}

/// What `resource(id:type:attributes:)` serializes to, written into `out`: `id` is the stored text
/// of the record's id (a string; anything else is shown as ""), `attributes` writes the attributes.
func writeResource(
    id: ArraySlice<UInt8>?, type: String, into out: inout [UInt8], attributes: (inout [UInt8]) -> Void
) {
    out.append(contentsOf: #"{"id":"#.utf8)
    if let id, id.first == UInt8(ascii: "\"") {
        out.append(contentsOf: id)
    } else {
        out.append(contentsOf: #""""#.utf8)
    }
    out.append(contentsOf: #","type":"#.utf8)
    JSON.appendString(type, to: &out)
    out.append(contentsOf: #","attributes":"#.utf8)
    attributes(&out)
    out.append(UInt8(ascii: "}"))
}

/// The `attributes` of a JSON:API request (`{"data":{"attributes":{...}}}`) as the real service
/// reads them (`params.require(:data).expect(attributes: [...])`): only the writable attributes of
/// `schema` (or those of them named in `only`), only scalar values (a string, number, boolean or
/// null: an array or an object is dropped, so the attribute counts as missing), uuid attributes in
/// canonical form. No `data` object, a `data.type` other than the operation's `type` (the official
/// document requires it; the real service does not read it), or no attribute left (none sent, an
/// empty, null or non-object `attributes`, only unknown ones): 400 `Failure.badJSON`.
func requestAttributes(
    _ request: HTTPRequest, type: String, permitted schema: ResourceSchema, only: Set<String>? = nil
) throws
    -> JSONObject
{
    guard let body = request.jsonBody(), case .object(let data)? = body["data"],
        data["type"]?.stringValue == type, case .object(let sent)? = data["attributes"]
    else { throw Failure.badJSON }
    var attributes = JSONObject()
    for field in schema.fields where !field.readOnly && only?.contains(field.name) ?? true {
        switch sent[field.name] {
        case nil, .array?, .object?: continue
        case let value?: attributes[field.name] = value
        }
    }
    guard !attributes.isEmpty else { throw Failure.badJSON }
    return schema.canonicalizingIDs(attributes)
}
