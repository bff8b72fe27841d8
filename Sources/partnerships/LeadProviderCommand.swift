import APICore
import ArgumentParser
import JSON
import LeadProviderAPI
import PartnersAPI
import Store
import TerminalProgress

#if canImport(Glibc)
    import Glibc
#endif

struct LeadProviderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lead-provider",
        abstract: "Lead Provider API reference data: import files, load demo data.",
        subcommands: [Import.self, Demo.self, StatementsCommand.self]
    )

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Import cohorts, lead providers, delivery partners, links, schools or participants from JSON or CSV.",
            discussion:
                "JSON: an array of objects with the staff endpoint fields (.jsonl: one per line). CSV: a header row with those names; list cells use ';'. All rows or none."
        )
        @OptionGroup var location: StoreLocation
        @Option(help: "What the file holds: \(ReferenceData.Kind.allCases.map(\.rawValue).joined(separator: ", ")).")
        var kind: String
        @Argument(help: "A .json (an array), .jsonl (one object per line) or .csv file.") var file: String
        @OptionGroup var progress: ProgressOptions

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
            } else if file.hasSuffix(".jsonl") || file.hasSuffix(".ndjson") {
                // JSON lines: one object per line, blank lines skipped.
                let lines = bytes.split(separator: UInt8(ascii: "\n")).filter { line in
                    line.contains { ![UInt8(ascii: " "), UInt8(ascii: "\r"), UInt8(ascii: "\t")].contains($0) }
                }
                rows = try lines.enumerated().map { index, line in
                    guard case .object(let object) = try JSON.parse(Array(line)) else {
                        throw ValidationError("\(file): line \(index + 1) is not an object")
                    }
                    return object
                }
            } else {
                guard case .array(let items) = try JSON.parse(bytes) else {
                    throw ValidationError("\(file): expected a JSON array of objects")
                }
                rows = try items.enumerated().map { index, item in
                    guard case .object(let object) = item else {
                        throw ValidationError("\(file): item \(index + 1) is not an object")
                    }
                    return object
                }
            }
            let store = try location.openExistingStore()
            let line = progress.report("import \(kind.rawValue)", unit: .records)
            let ids = try ReferenceData.importRows(rows, kind: kind, into: store, progress: line?.callback)
            line?.finish()
            print("imported \(ids.count) \(kind.rawValue)")
        }
    }

    struct Demo: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Load the demo data sets (Lead Provider API and Partners API, each once) and print tokens to try them.",
            discussion:
                "Prints shell assignments: LEAD_PROVIDER_TOKEN, PARTNERS_USER_TOKEN, STAFF_TOKEN (both APIs' staff endpoints), ids to try."
        )
        @OptionGroup var location: StoreLocation

        func run() throws {
            let store = try location.openExistingStore()
            var loaded = false
            if LeadProviderDemoData.isEmpty(store) {
                let world = try LeadProviderDemoData.load(into: store)
                let (_, providerToken) = try Tokens.create(
                    in: store, principal: LeadProviderPrincipal.leadProvider(id: world.firstLeadProvider), name: "demo")
                print("LEAD_PROVIDER_TOKEN=\(providerToken)")
                print("LEAD_PROVIDER_NAME=\"\(world.firstLeadProviderName)\"")
                print("DEMO_SUMMARY=\"\(world.summary)\"")
                loaded = true
            }
            if PartnersDemoData.isEmpty(store) {
                let world = try PartnersDemoData.load(into: store)
                let (_, userToken) = try Tokens.create(
                    in: store, principal: PartnersPrincipal.user(id: world.partnerUser), name: "demo")
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
            let (_, staffToken) = try Tokens.create(in: store, principal: Staff(name: "demo staff"), name: "demo")
            print("STAFF_TOKEN=\(staffToken)")
        }
    }
}
