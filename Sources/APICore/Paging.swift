/// Slicing a list into pages; each family parses its own page parameters.
public enum Paging {
    /// Page `number` (1-based) of `size` items; past the end is empty.
    public static func page<T>(_ items: [T], number: Int, size: Int) -> ArraySlice<T> {
        guard let window = window(number: number, size: size), window.lowerBound < items.count else { return [] }
        return items[window.clamped(to: 0..<items.count)]
    }

    /// The item offsets page `number` covers; nil when the first offset is out of reach.
    public static func window(number: Int, size: Int) -> Range<Int>? {
        let (start, overflow) = (number - 1).multipliedReportingOverflow(by: size)
        guard !overflow, start >= 0, size > 0 else { return nil }
        let (end, past) = start.addingReportingOverflow(size)
        return start..<(past ? Int.max : end)
    }

    /// A strictly positive integer written in plain decimal digits ("0.8", "-1", "abc" are not).
    public static func positiveInteger(_ text: String) -> Int? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        if let value = Int(text) { return value > 0 ? value : nil }
        return Int.max  // more digits than an Int holds: a huge positive number, clamped by the caller
    }
}
