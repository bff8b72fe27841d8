import APICore
import ArgumentParser
import JSON
import LeadProviderAPI
import Server
import Store
import TerminalProgress

#if canImport(Glibc)
    import Glibc
#endif

/// Seeds a fresh store for deploy/loadtest: Lead Provider API reference data with fixed ids (so the
/// Lua scripts can build valid, unique payloads from a counter) and `--partnerships` partnerships
/// of one lead provider (the "list 100 of 100k" target). Goes through the same import and
/// partnership rules as the API, with fsync off while loading, then compacts (the data and hint
/// files are fsynced) so the stack starts from one durable generation.
struct BenchSeedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-seed",
        abstract: "Seed an empty store for the load test (fixed ids; prints tokens as shell variables).")

    @Option(help: "Folder of the JSON store (must be empty).") var data: String
    @Option(help: "Schools; each is eligible in both open cohorts.") var schools: Int = 50_000
    @Option(help: "Partnerships of the list lead provider (at most 2 x --schools).") var partnerships: Int = 100_000
    @Option(
        help:
            "Partnerships of the update lead provider: each is updated at most once per load test run (at most 2 x --schools)."
    )
    var updateTargets: Int = 100_000
    @Option(help: "Lead providers that create partnerships (each can create 2 x --schools).") var creators: Int = 4
    @Option(
        help:
            "Folder to write ids files to: list-ids.txt (first 1,000 of the list provider), update-ids.txt (all update targets)."
    )
    var ids: String

    /// The open cohorts creates use; the Lua scripts know them too (deploy/load/lib.lua).
    static let cohorts = ["2025", "2026"]
    /// Provider 0 owns the listed partnerships, provider 1 the update targets; 2... create.
    @OptionGroup var progress: ProgressOptions

    var providers: Int { 2 + creators }
    static let deliveryPartners = 3

    /// A valid UUID whose last 12 digits are `index` (decimal digits are hex digits too).
    static func fixedID(_ kind: String, _ index: Int) -> String {
        let digits = String(index)
        return "\(kind)-0000-4000-8000-" + String(repeating: "0", count: 12 - digits.count) + digits
    }
    static func school(_ i: Int) -> String { fixedID("5c000000", i) }
    static func provider(_ i: Int) -> String { fixedID("1b000000", i) }
    static func deliveryPartner(_ i: Int) -> String { fixedID("d0000000", i) }

    func validate() throws {
        guard partnerships <= 2 * schools, updateTargets <= 2 * schools else {
            throw ValidationError("--partnerships and --update-targets must be at most 2 x --schools")
        }
    }

    func run() throws {
        // Every family's indexes, as the server builds them.
        let families = Application.indexes(of: ServerAssembly.families(scoreboardPath: nil, testRoutes: false))
        let store = try Store(directory: data, indexes: families, options: StoreOptions(fsync: false))
        guard ReferenceData.isEmpty(store) else {
            throw ValidationError("\(data) already holds data: seed an empty folder")
        }
        let started = now()

        let years = Self.cohorts
        try ReferenceData.importRows(
            years.map { year in
                [
                    "year": .string(year), "registration_opens_at": .string("\(Int(year)! - 1)-06-01T00:00:00Z"),
                    "registration_closes_at": .null,
                ]
            }, kind: .cohorts, into: store)
        try ReferenceData.importRows(
            (0..<providers).map { ["id": .string(Self.provider($0)), "name": .string("Bench Provider \($0)")] },
            kind: .leadProviders, into: store)
        try ReferenceData.importRows(
            (0..<Self.deliveryPartners).map {
                ["id": .string(Self.deliveryPartner($0)), "name": .string("Bench Partner \($0)")]
            },
            kind: .deliveryPartners, into: store)
        var links: [JSONObject] = []
        for p in 0..<providers {
            for d in 0..<Self.deliveryPartners {
                for year in years {
                    links.append([
                        "lead_provider_id": .string(Self.provider(p)),
                        "delivery_partner_id": .string(Self.deliveryPartner(d)), "cohort": .string(year),
                    ])
                }
            }
        }
        try ReferenceData.importRows(links, kind: .links, into: store)
        // Schools in batches: one transaction each, so no single journal line gets huge.
        let schoolsLine = progress.report("bench-seed: schools", unit: .records)
        for batchStart in stride(from: 0, to: schools, by: 5_000) {
            schoolsLine?.update(batchStart, of: schools)
            try ReferenceData.importRows(
                (batchStart..<min(schools, batchStart + 5_000)).map { i in
                    [
                        "id": .string(Self.school(i)), "urn": .string(String(500_000 + i)),
                        "name": .string("Bench School \(i)"),
                        "funding_eligible_cohorts": .array(years.map(JSON.string)),
                        "induction_tutor_name": .string("Tutor \(i)"),
                        "induction_tutor_email": .string("tutor\(i)@school\(i).example.org"),
                    ]
                }, kind: .schools, into: store)
        }

        schoolsLine?.update(schools, of: schools)
        schoolsLine?.finish()

        func seedPartnerships(provider: Int, count: Int) throws -> [String] {
            let line = progress.report("bench-seed: partnerships of lead provider \(provider)", unit: .records)
            defer { line?.finish() }
            return try (0..<count).map { i in
                line?.update(i + 1, of: count)
                return try ReferenceData.createPartnership(
                    in: store, leadProvider: Self.provider(provider), school: Self.school(i % schools),
                    deliveryPartner: Self.deliveryPartner(0), cohort: years[i / schools])
            }
        }
        let listed = try seedPartnerships(provider: 0, count: partnerships)
        let updateTargetIDs = try seedPartnerships(provider: 1, count: updateTargets)
        // One durable snapshot: the loading writes above were not fsynced.
        let compactLine = progress.report("bench-seed: compact", unit: .records)
        try store.compact(progress: compactLine?.callback)
        compactLine?.finish()
        try writeLines(listed.prefix(1_000), to: ids + "/list-ids.txt")
        try writeLines(updateTargetIDs[...], to: ids + "/update-ids.txt")

        let durable = try Store(directory: data, indexes: families)
        for p in 0..<providers {
            print(
                "PROVIDER_\(p)_TOKEN=\(try Tokens.create(in: durable, principal: LeadProviderPrincipal.leadProvider(id: Self.provider(p)), name: "loadtest").token)"
            )
        }
        print(
            "STAFF_TOKEN=\(try Tokens.create(in: durable, principal: Staff(name: "loadtest"), name: "loadtest").token)")
        print("SEED_SCHOOLS=\(schools)")
        print("SEED_CREATORS=\(creators)")
        print("SEED_UPDATE_TARGETS=\(updateTargets)")
        print("SEED_PARTNERSHIPS=\(partnerships)")
        print("SEED_SECONDS=\(format(now() - started, 1))")
    }

    private func writeLines(_ lines: ArraySlice<String>, to path: String) throws {
        guard let file = fopen(path, "w") else { throw ValidationError("cannot write \(path)") }
        for line in lines { fputs(line + "\n", file) }
        fclose(file)
    }
}
