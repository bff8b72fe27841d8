import APICore

/// The calendar arithmetic of statements, on `YYYY-MM-DD` strings (what records store). The real
/// service's API seed data (app/services/api_seed_data/statements.rb) gives each lead provider, per
/// cohort, one statement a month from November of the cohort's year to August three years on: its
/// cut-off is the last day of the month before, its payment date the 25th, and January, April,
/// August and November are the output-fee months declarations are paid in (Statements::FeeTypeForMonth).
enum StatementCalendar {
    static let months = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
        "November", "December",
    ]
    static let outputFeeMonths: Set<Int> = [1, 4, 8, 11]

    /// The months of a cohort's calendar, as (year, month).
    static func months(cohort: Int) -> [(year: Int, month: Int)] {
        var result: [(Int, Int)] = []
        var (year, month) = (cohort, 11)
        while (year, month) <= (cohort + 3, 8) {
            result.append((year, month))
            (year, month) = month == 12 ? (year + 1, 1) : (year, month + 1)
        }
        return result
    }

    static func date(_ year: Int, _ month: Int, _ day: Int) -> String {
        "\(year)-\(month < 10 ? "0" : "")\(month)-\(day < 10 ? "0" : "")\(day)"
    }

    static func daysIn(_ year: Int, _ month: Int) -> Int {
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    }

    /// The last day of the month before.
    static func cutOff(_ year: Int, _ month: Int) -> String {
        month == 1 ? date(year - 1, 12, 31) : date(year, month - 1, daysIn(year, month - 1))
    }

    static func paymentDate(_ year: Int, _ month: Int) -> String { date(year, month, 25) }

    /// The seeds' status for a statement as of `today`: paid two months after its payment date,
    /// payable once its cut-off has passed, open before.
    static func status(_ year: Int, _ month: Int, today: String) -> String {
        let later = month + 2 > 12 ? (year + 1, month + 2 - 12) : (year, month + 2)
        if paymentDate(later.0, later.1) < today { return "paid" }
        if cutOff(year, month) < today { return "payable" }
        return "open"
    }

    /// 1...12 for a month's English name.
    static func number(ofMonth name: String) -> Int? { months.firstIndex(of: name).map { $0 + 1 } }
}

extension Day {
    /// The day (UTC) of a time: a rule's "today" under a clock the caller chooses.
    static func of(_ time: Timestamp) -> String { String(time.storageText.prefix(10)) }
}
