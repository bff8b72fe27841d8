import APICore
import JSON
import Store

/// The demo data's participants: for each lead provider, ECTs and mentors at its schools in the
/// three earlier cohorts, some deferred, withdrawn, leaving or joining, some moving school (with
/// the same provider or to another one) and some mentored by mentors who train elsewhere, so that
/// every participant operation answers something real. Deterministic, and a few dozen records.
enum DemoParticipants {
    static let first = ["Amara", "Ben", "Carys", "Dan", "Esi", "Finn", "Gita", "Hugo", "Isla", "Jamal", "Kim", "Leo"]
    static let last = ["Adeyemi", "Bennett", "Clarke", "Doyle", "Evans", "Fraser", "Gill", "Hughes", "Iqbal"]

    static func load(
        into store: Store, providers: [String], links: [JSONObject], schools: [String], years: [String]
    ) throws {
        let cohorts = Array(years.prefix(3))
        guard cohorts.count == 3, !providers.isEmpty else { return }
        // Provider p's schools: eight of every n-th school from p (n providers) that it is partnered
        // with in all three cohorts (a school ineligible for funding in one cohort is passed over,
        // as a training only shows once a partnership holds it). The earliest cohort is closed now:
        // its partnerships are dated a month after its registration opened.
        var own: [[String]] = []
        for (p, provider) in providers.enumerated() {
            guard
                let partner = links.first(where: { $0["lead_provider_id"]?.stringValue == provider })?[
                    "delivery_partner_id"]?.stringValue
            else { return }
            var chosen: [String] = []
            for school in stride(from: p, to: schools.count, by: providers.count).map({ schools[$0] })
            where chosen.count < 8 {
                let partnered = cohorts.allSatisfy { cohort in
                    let key = Collection.schoolCohortKey(.string(school), .string(cohort))
                    if store.lookupRecords(Collection.partnerships, index: "by_school_cohort", key: key)
                        .contains(where: { $0["lead_provider_id"]?.stringValue == provider })
                    {
                        return true
                    }
                    let opened = store.get(Collection.cohorts, cohort)?["registration_opens_at"]?.stringValue
                        .flatMap(Timestamp.parse)
                    let then =
                        cohort == cohorts[0]
                        ? opened.map { Timestamp(microseconds: $0.microseconds + 30 * 86_400_000_000) } : nil
                    return
                        (try? ReferenceData.createPartnership(
                            in: store, leadProvider: provider, school: school, deliveryPartner: partner, cohort: cohort,
                            asOf: then ?? Timestamp.now())) != nil
                }
                if partnered { chosen.append(school) }
            }
            guard chosen.count == 8 else { return }
            own.append(chosen)
        }
        var rows: [JSONObject] = []
        var names = 0
        func person() -> (id: String, name: String, email: String) {
            defer { names += 1 }
            let name = "\(first[names % first.count]) \(last[(names / first.count + names) % last.count])"
            return (Crypto.uuid(), name, name.lowercased().replacingSpaces(with: ".") + "\(names)@teacher.example.org")
        }
        func row(
            _ teacher: (id: String, name: String, email: String), school: String, cohort: String, provider: String?,
            type: String = "ect", started: String, _ extra: JSONObject = [:]
        ) -> JSONObject {
            var fields: JSONObject = [
                "teacher_id": .string(teacher.id), "full_name": .string(teacher.name), "email": .string(teacher.email),
                "trn": .string(String(3_000_000 + names * 37)), "school_id": .string(school), "cohort": .string(cohort),
                "lead_provider_id": provider.map(JSON.string) ?? .null, "training_programme": "provider_led",
                "participant_type": .string(type), "started_on": .string(started),
            ]
            for (key, value) in extra { fields[key] = value }
            return fields
        }
        for (p, provider) in providers.enumerated() {
            let other = providers[(p + 1) % providers.count]
            var mentors: [String] = []
            for m in 0..<3 {
                let mentor = person()
                mentors.append(mentor.id)
                rows.append(
                    row(
                        mentor, school: own[p][m], cohort: cohorts[1], provider: provider, type: "mentor",
                        started: "\(cohorts[1])-09-01", ["eligible_for_funding": true]))
            }
            // A mentor who trains with another provider: unfunded for this one.
            let unfunded = person()
            rows.append(
                row(
                    unfunded, school: own[p][0], cohort: cohorts[1], provider: other, type: "mentor",
                    started: "\(cohorts[1])-09-01"))
            for k in 0..<12 {
                let ect = person()
                let cohort = cohorts[k % 3], year = Int(cohort) ?? 2025
                let school = own[p][k % 6]
                var extra: JSONObject = [
                    "mentor_id": .string(k % 4 == 3 ? unfunded.id : mentors[k % 3]),
                    "eligible_for_funding": k % 5 == 4 ? .null : true,
                    "pupil_premium_uplift": .bool(k % 2 == 0), "sparsity_uplift": .bool(k % 7 == 0),
                    "working_pattern": k % 4 == 1 ? "part_time" : "full_time",
                ]
                var started = "\(cohort)-09-01"
                switch k % 6 {
                case 1:
                    extra["training_status"] = "deferred"
                    extra["deferral"] = ["reason": "career-break", "date": .string("\(cohort)-10-15T09:00:00Z")]
                case 2:
                    extra["training_status"] = "withdrawn"
                    extra["withdrawal"] = [
                        "reason": "left-teaching-profession", "date": .string("\(cohort)-10-15T09:00:00Z"),
                    ]
                case 3: extra["finished_on"] = .string("\(year + 1)-03-31")
                case 4: extra["finished_on"] = .string("\(year + 2)-07-31")
                case 5: started = "\(year + 1)-01-05"
                default: break
                }
                if k == 6 { extra["induction_end_date"] = .string("\(year + 2)-07-20") }
                rows.append(row(ect, school: school, cohort: cohort, provider: provider, started: started, extra))
                if k % 6 == 3 {
                    // The move: to another of this provider's schools, or to another provider's.
                    let (joining, school) = k == 3 ? (other, own[(p + 1) % providers.count][6]) : (provider, own[p][6])
                    rows.append(
                        row(
                            ect, school: school, cohort: cohort, provider: joining, started: "\(year + 1)-04-15",
                            ["mentor_id": .string(mentors[0]), "eligible_for_funding": true]))
                }
            }
        }
        try ReferenceData.importRows(rows, kind: .participants, into: store)
    }
}
