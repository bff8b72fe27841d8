/// A path trie: one node per segment, static children looked up by hash, at most one `:param`
/// child per node. Matching costs one dictionary lookup per segment, whatever the number of routes.
/// Trailing slashes are not significant (`/a/b` and `/a/b/` are the same route).
public final class Router<Handler> {
    private final class Node {
        var staticChildren: [Substring: Node] = [:]
        var parameterChild: (name: String, node: Node)?
        var handlers: [HTTPMethod: Handler] = [:]
        var pattern: String?
    }

    public enum Match {
        case found(Handler, parameters: [String: String], pattern: String)
        /// The path exists with other methods: a 405 with an `Allow` header.
        case methodNotAllowed(allowed: [HTTPMethod])
        case notFound
    }

    private let root = Node()

    public init() {}

    public func add(_ method: HTTPMethod, _ pattern: String, _ handler: Handler) {
        var node = root
        for segment in Self.segments(of: pattern) {
            if segment.first == ":" {
                let name = String(segment.dropFirst())
                if let existing = node.parameterChild {
                    precondition(
                        existing.name == name, "route \(pattern): parameter :\(name) conflicts with :\(existing.name)")
                    node = existing.node
                } else {
                    let child = Node()
                    node.parameterChild = (name, child)
                    node = child
                }
            } else if let child = node.staticChildren[segment] {
                node = child
            } else {
                let child = Node()
                node.staticChildren[segment] = child
                node = child
            }
        }
        precondition(node.handlers[method] == nil, "route \(method.rawValue) \(pattern) registered twice")
        node.handlers[method] = handler
        node.pattern = pattern
    }

    public func match(_ method: HTTPMethod, _ path: String) -> Match {
        var parameters: [String: String] = [:]
        guard let node = find(root, Self.segments(of: path)[...], &parameters) else { return .notFound }
        if let handler = node.handlers[method] ?? (method == .head ? node.handlers[.get] : nil) {
            return .found(handler, parameters: parameters, pattern: node.pattern ?? path)
        }
        let allowed = HTTPMethod.served.filter { node.handlers[$0] != nil }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed: allowed)
    }

    /// Static segments win over parameters; backtracks so `/a/:id/x` and `/a/b/y` can coexist.
    private func find(_ node: Node, _ rest: ArraySlice<Substring>, _ parameters: inout [String: String]) -> Node? {
        guard let segment = rest.first else { return node.handlers.isEmpty ? nil : node }
        if let child = node.staticChildren[segment], let found = find(child, rest.dropFirst(), &parameters) {
            return found
        }
        if let (name, child) = node.parameterChild {
            let previous = parameters[name]
            parameters[name] = String(segment)
            if let found = find(child, rest.dropFirst(), &parameters) { return found }
            parameters[name] = previous
        }
        return nil
    }

    /// Split on the UTF-8 bytes: `String.split` walks grapheme clusters, which cost more than the
    /// whole trie lookup (measured on every request by deploy/loadtest). "/" is ASCII, so the byte
    /// ranges are valid String indexes.
    static func segments(of path: String) -> [Substring] {
        path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true).map { Substring($0) }
    }
}
