/// Where the pages of a long index key begin, so that a deep page (`page[page]=800` of a lead
/// provider's 100k partnerships) starts its index walk at its place instead of counting the
/// entries before it: OFFSET 80,000 walked 80,000 index entries, ~33 ms of the database's CPU.
///
/// One worker's map, per (collection, index, key, direction): the (ord, rank) of every
/// `stride`-th entry, as a snapshot with change counter N saw them. It holds exactly while the
/// counter stays at N (every write of every host moves it), and each page read from it carries
/// its own snapshot's counter, so a map a write made stale is never used, however the write and
/// the read interleave: the page is then read again by OFFSET.
///
/// Making a map walks the whole key once (about the cost of its last page by OFFSET), so it is made
/// only on a second deep page of the key at the same counter: under a steady stream of writes
/// the counter moves between pages and the lists stay on OFFSET, as before.
struct PageBoundaries {
    struct Key: Hashable {
        let collection: String
        let index: String
        let key: String
        let descending: Bool
    }

    struct Map {
        let changeCount: Int
        /// (ord, rank) of the entries at positions 0, stride, 2 x stride, ... (as the database
        /// writes them: ord as stored, rank in decimal).
        let starts: [(ord: String, rank: String)]
        var lastUsed: Int
    }

    /// Entries between boundaries: a page from a boundary skips fewer than this by OFFSET.
    static let stride = 100
    /// Maps kept at once (each ~100 bytes per `stride` entries: ~100 KB for 100k entries).
    static let capacity = 16

    private var maps: [Key: Map] = [:]
    /// The counter at the last deep page of a key read without a map.
    private var deepPagesWithoutMap: [Key: Int] = [:]
    private var uses = 0

    /// The boundary at or before `offset` and the entries left to skip from it, when a map of the
    /// key holds at `changeCount`.
    mutating func start(of key: Key, offset: Int, changeCount: Int) -> (ord: String, rank: String, skip: Int)? {
        guard offset >= Self.stride, var map = maps[key] else { return nil }
        guard map.changeCount == changeCount else {
            maps[key] = nil
            return nil
        }
        let index = min(offset / Self.stride, map.starts.count - 1)
        guard index >= 0 else { return nil }
        uses += 1
        map.lastUsed = uses
        maps[key] = map
        let start = map.starts[index]
        return (start.ord, start.rank, offset - index * Self.stride)
    }

    /// Whether a deep page read without a map should make one first: it is the key's second at
    /// this counter.
    mutating func shouldMake(_ key: Key, offset: Int, changeCount: Int) -> Bool {
        guard offset >= Self.stride else { return false }
        if deepPagesWithoutMap[key] == changeCount { return true }
        if deepPagesWithoutMap.count >= Self.capacity * 4 { deepPagesWithoutMap.removeAll(keepingCapacity: true) }
        deepPagesWithoutMap[key] = changeCount
        return false
    }

    mutating func keep(_ key: Key, changeCount: Int, starts: [(ord: String, rank: String)]) {
        deepPagesWithoutMap[key] = nil
        guard !starts.isEmpty else { return }
        if maps[key] == nil, maps.count >= Self.capacity,
            let oldest = maps.min(by: { $0.value.lastUsed < $1.value.lastUsed })?.key
        {
            maps[oldest] = nil
        }
        uses += 1
        maps[key] = Map(changeCount: changeCount, starts: starts, lastUsed: uses)
    }

    /// Whether the key's map was made at `changeCount` (a page read from it checks its own).
    func holds(_ key: Key, at changeCount: Int) -> Bool { maps[key]?.changeCount == changeCount }

    /// A page read from the map saw another counter: the map no longer holds.
    mutating func drop(_ key: Key) { maps[key] = nil }

    var count: Int { maps.count }
}
