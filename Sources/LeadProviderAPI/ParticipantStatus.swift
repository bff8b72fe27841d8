import APICore
import JSON

/// A training record's statuses as the API shows them.
enum ParticipantStatus {
    /// active | deferred | withdrawn, as lead providers set it (`API::TrainingPeriods::TrainingStatus`).
    static func training(_ record: JSON) -> String { record["training_status"]?.stringValue ?? "active" }

    /// The withdrawal or deferral of the current training status, if it is one.
    static func currentChange(_ record: JSON) -> JSON? {
        switch training(record) {
        case "withdrawn": return record["withdrawal"]
        case "deferred": return record["deferral"]
        default: return nil
        }
    }

    /// active | joining | leaving | left on `today`, as the real `API::TrainingPeriods::TeacherStatus`
    /// derives it: a withdrawal or deferral ends the training on its day (leaving until then, left
    /// after); an ECT who completed induction or a mentor whose funding ended before the training
    /// did stays active; otherwise the end date says leaving or left, a start date to come joining.
    /// A record without dates (loaded before issue 16) keeps the status the school reported.
    static func participant(_ record: JSON, today: String) -> String {
        let finished = record["finished_on"]?.stringValue
        if let change = currentChange(record) {
            let changed = Day.of(change["date"]?.stringValue) ?? today
            let end = min(finished ?? changed, changed)
            return end > today ? "leaving" : "left"
        }
        let completedOn =
            record["participant_type"]?.stringValue == "mentor"
            ? record["mentor_funding_end_date"]?.stringValue : record["induction_end_date"]?.stringValue
        if let completedOn, finished.map({ completedOn <= $0 }) ?? true { return "active" }
        if let finished { return finished > today ? "leaving" : "left" }
        if let started = record["started_on"]?.stringValue { return started > today ? "joining" : "active" }
        return record["status"]?.stringValue ?? "active"
    }

    /// Whether the record's dates take in `today` (the real `contains_today`).
    static func ongoing(_ record: JSON, today: String) -> Bool {
        (record["started_on"]?.stringValue ?? "") <= today && (record["finished_on"]?.stringValue ?? today) >= today
    }
}

/// Days as the API stores and compares them: `YYYY-MM-DD` (UTC), which order as text.
enum Day {
    static func today() -> String { String(Timestamp.now().storageText.prefix(10)) }

    /// The day of a stored or sent timestamp.
    static func of(_ timestamp: String?) -> String? {
        guard let timestamp, let time = Timestamp.parse(timestamp) else { return nil }
        return String(time.storageText.prefix(10))
    }
}
