/// Slicing a list into pages; each family parses its own page parameters.
public enum Paging {
    /// Page `number` (1-based) of `size` items; past the end is empty.
    public static func page<T>(_ items: [T], number: Int, size: Int) -> ArraySlice<T> {
        let (start, overflow) = (number - 1).multipliedReportingOverflow(by: size)
        guard !overflow, start >= 0, start < items.count else { return [] }
        return items[start..<min(items.count, start + size)]
    }

    /// A strictly positive integer written in plain decimal digits ("0.8", "-1", "abc" are not).
    public static func positiveInteger(_ text: String) -> Int? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        if let value = Int(text) { return value > 0 ? value : nil }
        return Int.max  // more digits than an Int holds: a huge positive number, clamped by the caller
    }
}
