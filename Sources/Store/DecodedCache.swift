import JSON

/// Recently decoded records, at most `limit`, the oldest replaced first (a ring of the keys in the
/// order they came in). Replacing one entry per new record keeps every request's cost flat:
/// emptied when full, the cache freed 8,192 decoded records inside one request (~10 ms every ~40
/// list pages). A key's ring slot may outlive its entry (`remove`); overwriting that slot then
/// removes nothing, or a newer entry of the same key a little early: the cache never holds more
/// entries than the ring has slots.
struct DecodedCache<Key: Hashable> {
    private var entries: [Key: JSON] = [:]
    private var ring: [Key] = []
    private var next = 0
    let limit: Int

    init(limit: Int) { self.limit = max(1, limit) }

    var count: Int { entries.count }
    var isEmpty: Bool { entries.isEmpty }

    subscript(key: Key) -> JSON? { entries[key] }

    mutating func insert(_ value: JSON, for key: Key) {
        if ring.count < limit {
            ring.append(key)
        } else {
            entries.removeValue(forKey: ring[next])
            ring[next] = key
            next = (next + 1) % limit
        }
        entries[key] = value
    }

    mutating func remove(_ key: Key) { entries.removeValue(forKey: key) }

    /// Frees one entry (a retired view is freed a slice at a time); false when none is left.
    mutating func freeOne() -> Bool {
        guard entries.popFirst() != nil else {
            ring = []
            return false
        }
        return true
    }
}
