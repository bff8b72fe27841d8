import APICore
import HTTP
import JSON
import Store

/// Creating a partnership: the reference's validation order, inside the write so the checks see
/// every other worker's acknowledged writes (two racing creates: exactly one wins).
enum PartnershipRules {
    struct Checked {
        var cohort: String
        var school: String
        var deliveryPartner: String
    }

    /// Presence, cohort exists, started, open, school exists, eligible, delivery partner exists,
    /// linked to the provider in the cohort, duplicate, school-led. A field's later checks are
    /// skipped once it has an error; checks that need another field wait for it to be valid.
    static func validateCreate(
        _ tx: Transaction, provider: String, attributes: JSONObject, now: Timestamp,
        checkDuplicate: Bool
    ) throws -> Checked {
        var errors: [APIError] = []
        func text(_ name: String) -> String? {
            name == "cohort"
                ? yearText(attributes[name]) : attributes[name]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        }
        let present = ["cohort", "school_id", "delivery_partner_id"].filter { name in
            guard let value = attributes[name], !value.isNull else { return false }
            if case .string(let s) = value, s.isEmpty { return false }
            return true
        }
        for name in ["cohort", "school_id", "delivery_partner_id"] where !present.contains(name) {
            errors.append(Failure.missing(name))
        }
        let cohort = text("cohort"), school = text("school_id"), partner = text("delivery_partner_id")
        let link = partner.flatMap { partner in
            cohort.map { Collection.linkID(leadProvider: provider, deliveryPartner: partner, cohort: $0) }
        }
        // The records checked below, read together (one round trip under PostgreSQL's writer lock).
        tx.prefetch(
            [
                cohort.map { (Collection.cohorts, $0) }, school.map { (Collection.schools, $0) },
                partner.map { (Collection.deliveryPartners, $0) }, link.map { (Collection.links, $0) },
            ].compactMap { $0 })

        var cohortExists = false, cohortValid = false
        if present.contains("cohort") {
            if let cohort, let record = tx.get(Collection.cohorts, cohort) {
                cohortExists = true
                switch CohortStatus(record, now: now) {
                case .notYetOpen: errors.append(Failure.cohortFuture)
                case .closed: errors.append(Failure.cohortClosed)
                case .open: cohortValid = true
                }
            } else {
                errors.append(Failure.cohortInvalid)
            }
        }

        var schoolValid = false
        if present.contains("school_id") {
            if let school, let record = tx.get(Collection.schools, school) {
                let eligible = (record["funding_eligible_cohorts"]?.arrayValue ?? []).contains {
                    $0.stringValue == cohort
                }
                if cohortExists && !eligible {
                    errors.append(Failure.schoolIneligible)
                } else {
                    schoolValid = cohortExists
                }
            } else {
                errors.append(Failure.schoolInvalid)
            }
        }

        if present.contains("delivery_partner_id") {
            if let partner, tx.get(Collection.deliveryPartners, partner) != nil {
                if cohortExists, let link, tx.get(Collection.links, link) == nil {
                    errors.append(Failure.deliveryPartnerNotLinked)
                }
            } else {
                errors.append(Failure.deliveryPartnerInvalid)
            }
        }

        if schoolValid, let school, let cohort {
            let key = "\(school)|\(cohort)"
            if checkDuplicate {
                let existing = tx.lookup(Collection.partnerships, index: "by_school_cohort", key: key).compactMap {
                    tx.get(Collection.partnerships, $0)
                }
                if existing.contains(where: { $0["lead_provider_id"]?.stringValue == provider }) {
                    errors.append(Failure.duplicate)
                }
            }
            let active = tx.lookup(Collection.participants, index: "by_school_cohort", key: key)
                .compactMap { tx.get(Collection.participants, $0) }
                .filter { $0["status"]?.stringValue != "left" }
            if SchoolCohortState.programmeChoice(active) == "school_led" { errors.append(Failure.schoolLed) }
        }
        if !errors.isEmpty { throw APIErrors(errors) }
        _ = cohortValid
        return Checked(cohort: cohort!, school: school!, deliveryPartner: partner!)
    }

    @discardableResult
    static func insert(_ tx: inout Transaction, provider: String, _ checked: Checked, now: Timestamp) -> String {
        let id = Crypto.uuid()
        let stamp = now.storageText
        tx.put(
            Collection.partnerships, id,
            [
                "id": .string(id), "lead_provider_id": .string(provider), "school_id": .string(checked.school),
                "delivery_partner_id": .string(checked.deliveryPartner), "cohort": .string(checked.cohort),
                "created_at": .string(stamp), "updated_at": .string(stamp),
            ])
        TrainingRecordLookup.attachToPartnership(
            &tx, provider: provider, school: checked.school, cohort: checked.cohort,
            deliveryPartner: checked.deliveryPartner, now: stamp)
        SchoolCohortState.recompute(&tx, school: checked.school, cohort: checked.cohort, now: stamp)
        return id
    }
}
