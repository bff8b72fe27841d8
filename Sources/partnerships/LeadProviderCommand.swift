import APICore
import ArgumentParser
import JSON
import LeadProviderAPI
import PartnersAPI
import Store
#if canImport(Glibc)
import Glibc
#endif

struct LeadProviderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lead-provider",
        abstract: "Lead Provider API reference data: import files, load demo data.",
        subcommands: [Import.self, Demo.self]
    )

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import cohorts, lead providers, delivery partners, links, schools or participants from JSON or CSV.",
            discussion: "JSON: an array of objects with the staff endpoint fields. CSV: a header row with those names; list cells use ';'. All rows or none.")
        @Option(help: "Folder of the JSON store.") var data: String = "state/data"
        @Option(help: "What the file holds: \(ReferenceData.Kind.allCases.map(\.rawValue).joined(separator: ", ")).") var kind: String
        @Argument(help: "A .json or .csv file.") var file: String

        func run() throws {
            guard let kind = ReferenceData.Kind(rawValue: kind) else { throw ValidationError("unknown --kind \(kind)") }
            guard let handle = fopen(file, "r") else { throw ValidationError("cannot read \(file)") }
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = fread(&buffer, 1, buffer.count, handle)
                if n <= 0 { break }
                bytes += buffer[0..<n]
            }
            fclose(handle)
            let rows: [JSONObject]
            if file.hasSuffix(".csv") {
                rows = try ReferenceData.rows(fromCSV: String(decoding: bytes, as: UTF8.self), kind: kind)
            } else {
                guard case .array(let items) = try JSON.parse(bytes) else { throw ValidationError("\(file): expected a JSON array of objects") }
                rows = try items.enumerated().map { index, item in
                    guard case .object(let object) = item else { throw ValidationError("\(file): item \(index + 1) is not an object") }
                    return object
                }
            }
            let store = try TokenCommand.openStore(data)
            let ids = try ReferenceData.importRows(rows, kind: kind, into: store)
            print("imported \(ids.count) \(kind.rawValue)")
        }
    }

    struct Demo: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load the demo data sets (Lead Provider API and Partners API, each once) and print tokens to try them.",
            discussion: "Prints shell assignments: LEAD_PROVIDER_TOKEN, PARTNERS_USER_TOKEN, STAFF_TOKEN (both APIs' staff endpoints), ids to try.")
        @Option(help: "Folder of the JSON store.") var data: String = "state/data"

        func run() throws {
            let store = try TokenCommand.openStore(data)
            var loaded = false
            if ReferenceData.isEmpty(store) {
                let world = try DemoData.load(into: store)
                let (_, providerToken) = try Tokens.create(in: store, principal: .leadProvider(id: world.firstLeadProvider), name: "demo")
                print("LEAD_PROVIDER_TOKEN=\(providerToken)")
                print("LEAD_PROVIDER_NAME=\"\(world.firstLeadProviderName)\"")
                print("DEMO_SUMMARY=\"\(world.summary)\"")
                loaded = true
            }
            if PartnersDemoData.isEmpty(store) {
                let world = try PartnersDemoData.load(into: store)
                let (_, userToken) = try Tokens.create(in: store, principal: .partnersUser(id: world.partnerUser), name: "demo")
                print("PARTNERS_USER_TOKEN=\(userToken)")
                print("PARTNERS_USER_NAME=\"\(world.partnerUserName)\"")
                print("PARTNERS_PARTNER_SLUG=\(world.partnerSlug)")
                print("PARTNERS_PROJECT_ID=\(world.project)")
                print("PARTNERS_PARTNERSHIP_ID=\(world.partnership)")
                print("PARTNERS_DEMO_SUMMARY=\"\(world.summary)\"")
                loaded = true
            }
            guard loaded else {
                print("demo data already loaded; tokens were printed when it was (see state/demo-tokens.txt)")
                return
            }
            let (_, staffToken) = try Tokens.create(in: store, principal: .staff(name: "demo staff"), name: "demo")
            print("STAFF_TOKEN=\(staffToken)")
        }
    }
}

/// A deterministic, realistic data set: four cohorts (closed, two open, one not yet open), three
/// lead providers, six delivery partners, 400 schools, participants and partnerships.
enum DemoData {
    struct World {
        var firstLeadProvider: String
        var firstLeadProviderName: String
        var summary: String
    }

    static func load(into store: Store) throws -> World {
        var random = SplitMix(seed: 2026)
        let year = 2026
        func stamp(_ y: Int, _ m: Int, _ d: Int) -> JSON { .string("\(y)-\(m < 10 ? "0" : "")\(m)-\(d < 10 ? "0" : "")\(d)T00:00:00Z") }
        let cohorts: [JSONObject] = [
            ["year": .string(String(year - 2)), "registration_opens_at": stamp(year - 3, 6, 1), "registration_closes_at": stamp(year - 1, 7, 31)],
            ["year": .string(String(year - 1)), "registration_opens_at": stamp(year - 2, 6, 1), "registration_closes_at": .null],
            ["year": .string(String(year)), "registration_opens_at": stamp(year - 1, 6, 1), "registration_closes_at": .null],
            ["year": .string(String(year + 1)), "registration_opens_at": stamp(year + 1, 6, 1), "registration_closes_at": .null],
        ]
        let years = cohorts.map { $0["year"]!.stringValue! }
        try ReferenceData.importRows(cohorts, kind: .cohorts, into: store)
        let providerNames = ["Ambition Teaching Trust", "Northern Lights Education", "Capital Teacher Development"]
        let providers = try ReferenceData.importRows(providerNames.map { ["name": .string($0)] }, kind: .leadProviders, into: store)
        let partnerNames = ["Pennine Teaching School Hub", "Thames Valley Partnership", "Severn Learning Alliance",
                            "Coastal Schools Network", "Midlands Mentoring Collaborative", "Fenland Teaching Hub"]
        let partners = try ReferenceData.importRows(partnerNames.map { ["name": .string($0)] }, kind: .deliveryPartners, into: store)
        var links: [JSONObject] = []
        for (p, provider) in providers.enumerated() {
            for (d, partner) in partners.enumerated() where d % 3 == p || d % 2 == p % 2 {
                for cohort in years { links.append(["lead_provider_id": .string(provider), "delivery_partner_id": .string(partner), "cohort": .string(cohort)]) }
            }
        }
        try ReferenceData.importRows(links, kind: .links, into: store)
        let towns = ["Ashford", "Barnsley", "Carlisle", "Dover", "Exeter", "Frome", "Gateshead", "Harrow", "Ipswich", "Kendal",
                     "Leeds", "Margate", "Norwich", "Oldham", "Preston", "Reading", "Salford", "Truro", "Wigan", "York"]
        let kinds = ["Primary School", "Academy", "High School", "Church of England Primary", "Community College", "Infant School"]
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
                "induction_tutor_email": .string(tutor.lowercased().replacingSpaces(with: ".") + "@school\(i).example.org"),
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
            let linked = Set(links.filter { $0["lead_provider_id"]?.stringValue == provider }.compactMap { $0["delivery_partner_id"]?.stringValue })
            guard let partner = partners.first(where: linked.contains) else { continue }
            let cohort = years[1 + (i / 3) % 2]
            if (try? ReferenceData.createPartnership(in: store, leadProvider: provider, school: school, deliveryPartner: partner, cohort: cohort)) != nil {
                partnerships += 1
            }
        }
        return World(firstLeadProvider: providers[0], firstLeadProviderName: providerNames[0],
                     summary: "\(years.count) cohorts, \(providers.count) lead providers, \(partners.count) delivery partners, \(schools.count) schools, \(participants.count) participants, \(partnerships) partnerships")
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
