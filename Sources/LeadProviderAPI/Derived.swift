import APICore
import JSON
import Store

enum CohortStatus: String {
    case notYetOpen = "not_yet_open"
    case open, closed

    init(_ cohort: JSON, now: Timestamp) {
        let opens = cohort["registration_opens_at"]?.stringValue.flatMap(Timestamp.parse)
        let closes = cohort["registration_closes_at"]?.stringValue.flatMap(Timestamp.parse)
        if let opens, now < opens {
            self = .notYetOpen
        } else if let closes, now > closes {
            self = .closed
        } else {
            self = .open
        }
    }
}

/// The values derived from partnerships and participants for one school in one cohort, and the
/// times they last changed. Kept as a record so that a school's `updated_at` can move when they
/// change, which `filter[updated_since]` must see.
struct SchoolCohortState {
    var inPartnership = false
    var programmeChoice = "not_yet_known"
    var changedAt: String? = nil
    /// lead provider id -> (expression of interest, when it last changed)
    var interest: [String: (value: Bool, changedAt: String)] = [:]

    init() {}

    init(_ record: JSON?) {
        guard let record else { return }
        inPartnership = record["in_partnership"]?.boolValue ?? false
        programmeChoice = record["programme_choice"]?.stringValue ?? "not_yet_known"
        changedAt = record["changed_at"]?.stringValue
        for (provider, entry) in record["interest"]?.objectValue ?? [:] {
            interest[provider] = (entry["value"]?.boolValue ?? false, entry["changed_at"]?.stringValue ?? "")
        }
    }

    var json: JSON {
        [
            "in_partnership": .bool(inPartnership), "programme_choice": .string(programmeChoice),
            "changed_at": JSON(changedAt),
            "interest": .object(
                JSONObject(
                    interest.sorted { $0.key < $1.key }.map {
                        ($0.key, ["value": .bool($0.value.value), "changed_at": .string($0.value.changedAt)] as JSON)
                    })),
        ]
    }

    func expressionOfInterest(_ provider: String) -> Bool { interest[provider]?.value ?? false }

    /// The school's `updated_at` as `provider` sees it in this cohort.
    func updatedAt(school: JSON, provider: String) -> String {
        var latest = school["updated_at"]?.stringValue ?? ""
        if let changedAt, changedAt > latest { latest = changedAt }
        if let entry = interest[provider], entry.changedAt > latest { latest = entry.changedAt }
        return latest
    }

    static func programmeChoice(_ activeParticipants: [JSON]) -> String {
        if activeParticipants.isEmpty { return "not_yet_known" }
        if activeParticipants.contains(where: { $0["training_programme"]?.stringValue == "provider_led" }) {
            return "provider_led"
        }
        return "school_led"
    }

    /// Recomputes the state of `school` in `cohort` inside a write and stores it when it changed.
    static func recompute(_ tx: inout Transaction, school: String, cohort: String, now: String) {
        let key = "\(school)|\(cohort)"
        let partnerships = tx.lookup(Collection.partnerships, index: "by_school_cohort", key: key).compactMap {
            tx.get(Collection.partnerships, $0)
        }
        let active = tx.lookup(Collection.participants, index: "by_school_cohort", key: key)
            .compactMap { tx.get(Collection.participants, $0) }
            .filter { $0["status"]?.stringValue != "left" }
        let old = SchoolCohortState(tx.get(Collection.schoolCohortState, key))
        var new = old
        new.inPartnership = !partnerships.isEmpty
        new.programmeChoice = programmeChoice(active)
        if new.inPartnership != old.inPartnership || new.programmeChoice != old.programmeChoice { new.changedAt = now }
        let interested = Set(partnerships.compactMap { $0["lead_provider_id"]?.stringValue })
            .union(active.compactMap { $0["lead_provider_id"]?.stringValue })
        for provider in interested.union(old.interest.keys) {
            let value = interested.contains(provider)
            if old.interest[provider]?.value != value { new.interest[provider] = (value, now) }
        }
        if new.json != old.json || tx.get(Collection.schoolCohortState, key) == nil {
            tx.put(Collection.schoolCohortState, key, new.json)
        }
    }
}
