import APICore
import HTTP
import JSON
import Store

/// Bulk loading of reference data (the import command and the demo data), through the same
/// schemas and rules as the staff endpoints.
public enum ReferenceData {
    public enum Kind: String, CaseIterable, Sendable {
        case cohorts
        case leadProviders = "lead-providers"
        case deliveryPartners = "delivery-partners"
        case links = "delivery-partner-links"
        case schools, participants

        var schema: ResourceSchema {
            switch self {
            case .cohorts: return Schemas.cohort
            case .leadProviders, .deliveryPartners: return Schemas.named
            case .links: return Schemas.link
            case .schools: return Schemas.adminSchool
            case .participants: return ParticipantSchemas.trainingRecord
            }
        }
    }

    public struct RowError: Error, CustomStringConvertible {
        public var row: Int
        public var message: String
        public var description: String { "row \(row): \(message)" }
    }

    /// Imports rows in one transaction: all or nothing. Returns the ids created, in order.
    /// Rows may carry an `id` (lead providers, delivery partners, schools) to keep ids stable.
    /// `progress` gets (rows checked and written into the transaction, rows) now and then.
    @discardableResult
    public static func importRows(
        _ rows: [JSONObject], kind: Kind, into store: Store, progress: ((Int, Int) -> Void)? = nil
    ) throws -> [String] {
        try store.write { tx -> [String] in
            var ids: [String] = []
            for (index, original) in rows.enumerated() {
                progress?(index, rows.count)
                // Ids compare as the API compares them (`LeadProviderID`): kept canonical.
                var row = kind.schema.canonicalizingIDs(original)
                let fixedID = row["id"]?.stringValue.map(LeadProviderID.canonical)
                row["id"] = nil
                let problems = kind.schema.validate(row, partial: false)
                if let problem = problems.first { throw RowError(row: index + 1, message: "\(problem)") }
                do {
                    ids.append(try insert(&tx, kind: kind, row, id: fixedID))
                } catch let errors as APIErrors {
                    throw RowError(
                        row: index + 1,
                        message: errors.errors.map { "\($0.title): \($0.detail)" }.joined(separator: "; "))
                }
            }
            progress?(rows.count, rows.count)
            return ids
        }
    }

    static func insert(_ tx: inout Transaction, kind: Kind, _ row: JSONObject, id fixedID: String?) throws -> String {
        let now = Timestamp.now().storageText
        switch kind {
        case .cohorts:
            let year = yearText(row["year"])!
            tx.put(
                Collection.cohorts, year,
                [
                    "id": .string(year), "year": .string(year),
                    "registration_opens_at": row["registration_opens_at"] ?? .null,
                    "registration_closes_at": row["registration_closes_at"] ?? .null, "created_at": .string(now),
                    "updated_at": .string(now),
                ])
            ScheduleRecords.installStandard(&tx, cohort: year, now: now)
            return year
        case .leadProviders, .deliveryPartners:
            let id = fixedID ?? Crypto.uuid()
            tx.put(
                kind == .leadProviders ? Collection.leadProviders : Collection.deliveryPartners, id,
                ["id": .string(id), "name": row["name"]!, "created_at": .string(now), "updated_at": .string(now)])
            return id
        case .links:
            let provider = row["lead_provider_id"]!.stringValue!, partner = row["delivery_partner_id"]!.stringValue!
            let cohort = yearText(row["cohort"])!
            try AdminEndpoints.requireExisting(tx, Collection.leadProviders, provider, field: "lead_provider_id")
            try AdminEndpoints.requireExisting(tx, Collection.deliveryPartners, partner, field: "delivery_partner_id")
            try AdminEndpoints.requireExisting(tx, Collection.cohorts, cohort, field: "cohort")
            let id = Collection.linkID(leadProvider: provider, deliveryPartner: partner, cohort: cohort)
            tx.put(
                Collection.links, id,
                [
                    "id": .string(id), "lead_provider_id": .string(provider), "delivery_partner_id": .string(partner),
                    "cohort": .string(cohort), "created_at": .string(now),
                ])
            return id
        case .schools:
            var body = row
            if let fixedID { body["id"] = .string(fixedID) }
            return try SchoolRecords.create(&tx, body)["id"]!.stringValue!
        case .participants:
            return try ParticipantRecords.create(&tx, row, id: fixedID)["id"]?.stringValue ?? ""
        }
    }

    /// Creates a partnership through the public rules (for demo data).
    public static func createPartnership(
        in store: Store, leadProvider: String, school: String, deliveryPartner: String,
        cohort: String, asOf now: Timestamp = .now()
    ) throws -> String {
        try store.write { tx -> String in
            let checked = try PartnershipRules.validateCreate(
                tx, provider: leadProvider,
                attributes: [
                    "cohort": .string(cohort), "school_id": .string(school),
                    "delivery_partner_id": .string(deliveryPartner),
                ], now: now, checkDuplicate: true)
            return PartnershipRules.insert(&tx, provider: leadProvider, checked, now: now)
        }
    }

    public static func isEmpty(_ store: Store) -> Bool { store.count(Collection.cohorts) == 0 }

    /// Turns CSV text (header row first) into rows. A `;` inside a list column
    /// (`funding_eligible_cohorts`) separates items; empty cells are absent.
    public static func rows(fromCSV text: String, kind: Kind) throws -> [JSONObject] {
        let table = CSV.parse(text)
        guard let header = table.first else { return [] }
        let listColumns: Set<String> = ["funding_eligible_cohorts"]
        let booleanColumns = Set(kind.schema.fields.filter { $0.type == .boolean }.map(\.name))
        return table.dropFirst().filter { !($0.count == 1 && $0[0].isEmpty) }.map { cells in
            var row = JSONObject()
            for (i, name) in header.enumerated() where i < cells.count && !cells[i].isEmpty {
                if listColumns.contains(name) {
                    row[name] = .array(cells[i].split(separator: ";").map { .string(String($0)) })
                } else if booleanColumns.contains(name), let flag = Bool(cells[i]) {
                    row[name] = .bool(flag)
                } else if cells[i] == "null" {
                    row[name] = .null
                } else {
                    row[name] = .string(cells[i])
                }
            }
            return row
        }
    }
}

/// RFC 4180 CSV: quoted fields, doubled quotes, CRLF or LF.
enum CSV {
    static func parse(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var iterator = Array(text.unicodeScalars)[...]
        while let c = iterator.popFirst() {
            if quoted {
                if c == "\"" {
                    if iterator.first == "\"" {
                        field.unicodeScalars.append("\"")
                        iterator = iterator.dropFirst()
                    } else {
                        quoted = false
                    }
                } else {
                    field.unicodeScalars.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                row.append(field)
                field = ""
            } else if c == "\n" || c == "\r" {
                if c == "\r", iterator.first == "\n" { iterator = iterator.dropFirst() }
                row.append(field)
                field = ""
                rows.append(row)
                row = []
            } else {
                field.unicodeScalars.append(c)
            }
        }
        if !field.isEmpty || !row.isEmpty {
            row.append(field)
            rows.append(row)
        }
        return rows
    }
}
