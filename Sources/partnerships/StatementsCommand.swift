import ArgumentParser
import JSON
import LeadProviderAPI

/// `partnerships lead-provider statements`: what staff do under /api/v3/admin/statements, from the
/// command line, on the store directly.
struct StatementsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "statements",
        abstract: "Lead Provider API financial statements: list, create, load a cohort's calendar, change, pay.",
        discussion:
            "Lines are tab-separated: id, lead provider, cohort, month and year, cut-off date, payment date, status, fee type.",
        subcommands: [List.self, Create.self, Calendar.self, Change.self, MarkPayable.self]
    )

    static func print(_ records: [JSON]) {
        for record in records { Swift.print(StatementAdministration.line(record)) }
    }

    /// Runs an operation, turning a refusal into the command's error.
    static func run(_ body: () throws -> [JSON]) throws {
        do {
            print(try body())
        } catch let refused as StatementAdministration.Refused {
            throw ValidationError(refused.description)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Statements, in payment date order per lead provider.")
        @OptionGroup var location: StoreLocation
        @Option(help: "Only this lead provider's.") var leadProvider: String?
        @Option(help: "Only this cohort's.") var cohort: String?

        func run() throws {
            StatementsCommand.print(
                StatementAdministration.list(
                    in: try location.openExistingStore(), leadProvider: leadProvider, cohort: cohort))
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One statement (one per month and year).")
        @OptionGroup var location: StoreLocation
        @Option var leadProvider: String
        @Option var cohort: String
        @Option(help: "The month's English name, e.g. January.") var month: String
        @Option var year: String
        @Option(help: "YYYY-MM-DD") var cutOff: String
        @Option(help: "YYYY-MM-DD, after the cut-off.") var payment: String
        @Option(help: "open (default), payable or paid.") var status: String?

        func run() throws {
            var fields: JSONObject = [
                "lead_provider_id": .string(leadProvider), "cohort": .string(cohort), "month": .string(month),
                "year": .string(year), "cut_off_date": .string(cutOff), "payment_date": .string(payment),
            ]
            if let status { fields["status"] = .string(status) }
            let store = try location.openExistingStore()
            try StatementsCommand.run { [try StatementAdministration.create(in: store, fields)] }
        }
    }

    struct Calendar: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A cohort's monthly statements for a lead provider, as the real service's seed data makes them.",
            discussion:
                "November of the cohort's year to August three years on; months that already have a statement keep it."
        )
        @OptionGroup var location: StoreLocation
        @Option var leadProvider: String
        @Option var cohort: String

        func run() throws {
            let store = try location.openExistingStore()
            try StatementsCommand.run {
                try StatementAdministration.calendar(in: store, leadProvider: leadProvider, cohort: cohort)
            }
        }
    }

    struct Change: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a statement's dates, month or year (until paid), or move its status forward.",
            discussion:
                "payable makes its eligible declarations payable; paid makes its payable declarations paid and claws back those awaiting clawback on it."
        )
        @OptionGroup var location: StoreLocation
        @Argument(help: "The statement's id.") var id: String
        @Option var month: String?
        @Option var year: String?
        @Option(help: "YYYY-MM-DD") var cutOff: String?
        @Option(help: "YYYY-MM-DD") var payment: String?
        @Option(help: "payable or paid.") var status: String?

        func run() throws {
            var fields = JSONObject()
            for (name, value) in [
                ("month", month), ("year", year), ("cut_off_date", cutOff), ("payment_date", payment),
                ("status", status),
            ] {
                if let value { fields[name] = .string(value) }
            }
            let store = try location.openExistingStore()
            try StatementsCommand.run { [try StatementAdministration.change(in: store, id: id, fields)] }
        }
    }

    struct MarkPayable: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "mark-payable",
            abstract: "Open statements whose cut-off has passed become payable, with their eligible declarations.",
            discussion: "What the real service does each day (Statements::MarkAsPayableJob)."
        )
        @OptionGroup var location: StoreLocation

        func run() throws {
            let store = try location.openExistingStore()
            try StatementsCommand.run { try StatementAdministration.markDuePayable(in: store) }
        }
    }
}
