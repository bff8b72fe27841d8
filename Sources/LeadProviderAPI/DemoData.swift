import APICore
import JSON
import Store

/// A deterministic, realistic data set: four cohorts (closed, two open, one not yet open), three
/// lead providers, six delivery partners, 400 schools, participants and partnerships.
public enum LeadProviderDemoData {
    public struct World: Sendable {
        public var firstLeadProvider: String
        public var firstLeadProviderName: String
        public var summary: String
    }

    public static func isEmpty(_ store: Store) -> Bool { ReferenceData.isEmpty(store) }

    public static func load(into store: Store) throws -> World {
        var random = SplitMix(seed: 2026)
        let year = 2026
        func stamp(_ y: Int, _ m: Int, _ d: Int) -> JSON {
            .string("\(y)-\(m < 10 ? "0" : "")\(m)-\(d < 10 ? "0" : "")\(d)T00:00:00Z")
        }
        let cohorts: [JSONObject] = [
            [
                "year": .string(String(year - 2)), "registration_opens_at": stamp(year - 3, 6, 1),
                "registration_closes_at": stamp(year - 1, 7, 31),
            ],
            [
                "year": .string(String(year - 1)), "registration_opens_at": stamp(year - 2, 6, 1),
                "registration_closes_at": .null,
            ],
            [
                "year": .string(String(year)), "registration_opens_at": stamp(year - 1, 6, 1),
                "registration_closes_at": .null,
            ],
            [
                "year": .string(String(year + 1)), "registration_opens_at": stamp(year + 1, 6, 1),
                "registration_closes_at": .null,
            ],
        ]
        let years = cohorts.map { $0["year"]!.stringValue! }
        try ReferenceData.importRows(cohorts, kind: .cohorts, into: store)
        let providerNames = ["Ambition Teaching Trust", "Northern Lights Education", "Capital Teacher Development"]
        let providers = try ReferenceData.importRows(
            providerNames.map { ["name": .string($0)] }, kind: .leadProviders, into: store)
        let partnerNames = [
            "Pennine Teaching School Hub", "Thames Valley Partnership", "Severn Learning Alliance",
            "Coastal Schools Network", "Midlands Mentoring Collaborative", "Fenland Teaching Hub",
        ]
        let partners = try ReferenceData.importRows(
            partnerNames.map { ["name": .string($0)] }, kind: .deliveryPartners, into: store)
        var links: [JSONObject] = []
        for (p, provider) in providers.enumerated() {
            for (d, partner) in partners.enumerated() where d % 3 == p || d % 2 == p % 2 {
                for cohort in years {
                    links.append([
                        "lead_provider_id": .string(provider), "delivery_partner_id": .string(partner),
                        "cohort": .string(cohort),
                    ])
                }
            }
        }
        try ReferenceData.importRows(links, kind: .links, into: store)
        let towns = [
            "Ashford", "Barnsley", "Carlisle", "Dover", "Exeter", "Frome", "Gateshead", "Harrow", "Ipswich", "Kendal",
            "Leeds", "Margate", "Norwich", "Oldham", "Preston", "Reading", "Salford", "Truro", "Wigan", "York",
        ]
        let kinds = [
            "Primary School", "Academy", "High School", "Church of England Primary", "Community College",
            "Infant School",
        ]
        let first = ["Sam", "Alex", "Priya", "Tom", "Aisha", "Ben", "Chloe", "Dev", "Ella", "Femi"]
        let last = ["Patel", "Jones", "Smith", "Khan", "Brown", "Okafor", "Taylor", "Evans", "Wilson", "Ahmed"]
        var schoolRows: [JSONObject] = []
        for i in 0..<400 {
            let town = towns[i % towns.count], kind = kinds[random.next(kinds.count)]
            let eligible = years.filter { _ in random.next(10) < 9 }
            let tutor = "\(first[random.next(first.count)]) \(last[random.next(last.count)])"
            schoolRows.append([
                "urn": .string(String(100_000 + i * 7)), "name": .string("\(town) \(kind) \(i / towns.count + 1)"),
                "funding_eligible_cohorts": .array(eligible.map(JSON.string)),
                "induction_tutor_name": .string(tutor),
                "induction_tutor_email": .string(
                    tutor.lowercased().replacingSpaces(with: ".") + "@school\(i).example.org"),
            ])
        }
        let schools = try ReferenceData.importRows(schoolRows, kind: .schools, into: store)
        var participants: [JSONObject] = []
        for school in schools where random.next(3) > 0 {
            for _ in 0..<(1 + random.next(4)) {
                let schoolLed = random.next(6) == 0
                participants.append([
                    "school_id": .string(school), "cohort": .string(years[1 + random.next(2)]),
                    "lead_provider_id": schoolLed ? .null : .string(providers[random.next(providers.count)]),
                    "training_programme": .string(schoolLed ? "school_led" : "provider_led"),
                    "status": .string(random.next(10) == 0 ? "left" : "active"),
                ])
            }
        }
        try ReferenceData.importRows(participants, kind: .participants, into: store)
        var partnerships = 0
        for (i, school) in schools.enumerated() where i % 3 == 0 {
            let provider = providers[i % providers.count]
            let linked = Set(
                links.filter { $0["lead_provider_id"]?.stringValue == provider }.compactMap {
                    $0["delivery_partner_id"]?.stringValue
                })
            guard let partner = partners.first(where: linked.contains) else { continue }
            let cohort = years[1 + (i / 3) % 2]
            if (try? ReferenceData.createPartnership(
                in: store, leadProvider: provider, school: school, deliveryPartner: partner, cohort: cohort)) != nil
            {
                partnerships += 1
            }
        }
        try DemoParticipants.load(into: store, providers: providers, links: links, schools: schools, years: years)
        try DeclarationDemoData.load(into: store)
        return World(
            firstLeadProvider: providers[0], firstLeadProviderName: providerNames[0],
            summary:
                "\(years.count) cohorts, \(providers.count) lead providers, \(partners.count) delivery partners, \(schools.count) schools, \(participants.count) participants, \(partnerships) partnerships"
        )
    }
}

/// A small deterministic generator, so the demo data is the same on every machine.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next(_ bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Int(z % UInt64(bound))
    }
}

extension String {
    func replacingSpaces(with separator: String) -> String { split(separator: " ").joined(separator: separator) }
}
