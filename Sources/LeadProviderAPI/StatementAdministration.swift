import APICore
import HTTP
import JSON
import Store

/// The staff statement operations for the command line (`partnerships lead-provider statements`):
/// the same schema checks and records as `/api/v3/admin/statements`.
public enum StatementAdministration {
    /// A refusal, worded as the API words it ("field: detail").
    public struct Refused: Error, CustomStringConvertible {
        public var description: String
    }

    /// One line per statement: id, lead provider, cohort, month year, cut-off, payment date, status, fee type.
    public static func line(_ record: JSON) -> String {
        [
            record["id"]?.stringValue ?? "", record["lead_provider_id"]?.stringValue ?? "",
            record["cohort"]?.stringValue ?? "",
            "\(record["month"]?.stringValue ?? "") \(record["year"]?.stringValue ?? "")",
            record["cut_off_date"]?.stringValue ?? "", record["payment_date"]?.stringValue ?? "",
            StatementStatus(record).rawValue, record["output_fee"]?.boolValue == true ? "output" : "service",
        ].joined(separator: "\t")
    }

    public static func create(in store: Store, _ fields: JSONObject) throws -> JSON {
        let body = try checked(fields, partial: false)
        return try refusing { try store.write { tx in try StatementRecords.create(&tx, body, now: .now()) } }
    }

    public static func calendar(in store: Store, leadProvider: String, cohort: String) throws -> [JSON] {
        let body = try checked(
            ["lead_provider_id": .string(leadProvider), "cohort": .string(cohort)], StatementSchemas.calendar,
            partial: false)
        return try refusing {
            try store.write { tx in
                try StatementRecords.calendar(
                    &tx, leadProvider: body["lead_provider_id"]?.stringValue ?? "", cohort: cohort, now: .now())
            }
        }
    }

    public static func change(in store: Store, id: String, _ fields: JSONObject) throws -> JSON {
        guard !fields.isEmpty else { throw Refused(description: "nothing to change") }
        let body = try checked(fields, partial: true)
        return try refusing {
            try store.write { tx in
                try StatementRecords.change(&tx, id: LeadProviderID.canonical(id), body, now: .now())
            }
        }
    }

    public static func markDuePayable(in store: Store) throws -> [JSON] {
        try refusing { try store.write { tx in try StatementRecords.markDuePayable(&tx, now: .now()) } }
    }

    /// Every statement, or one provider's (canonical id), in payment date order.
    public static func list(in store: Store, leadProvider: String?, cohort: String?) -> [JSON] {
        let providers =
            leadProvider.map { [LeadProviderID.canonical($0)] }
            ?? store.all(Collection.leadProviders).compactMap { $0["id"]?.stringValue }.sorted()
        return providers.flatMap { store.lookupRecords(Collection.statements, index: "by_lead_provider", key: $0) }
            .filter { cohort == nil || $0["cohort"]?.stringValue == cohort }
    }

    static func checked(
        _ fields: JSONObject, _ schema: ResourceSchema = StatementSchemas.adminStatement, partial: Bool
    ) throws -> JSONObject {
        let problems = schema.validate(fields, partial: partial)
        guard problems.isEmpty else {
            throw Refused(description: problems.map(describe).joined(separator: "; "))
        }
        return schema.canonicalizingIDs(fields)
    }

    static func describe(_ problem: ResourceSchema.Problem) -> String {
        switch problem {
        case .missing(let field): return "\(field): missing"
        case .wrongType(let field, let expected): return "\(field): must be a \(expected)"
        case .notAllowed(let field): return "\(field): not a field you can set"
        case .tooLong(let field, let limit): return "\(field): at most \(limit) characters"
        case .invalidValue(let field): return "\(field): invalid value"
        case .outOfRange(let field): return "\(field): out of range"
        }
    }

    static func refusing<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let errors as APIErrors {
            throw Refused(description: errors.errors.map { "\($0.title): \($0.detail)" }.joined(separator: "; "))
        } catch let error as APIError {
            throw Refused(
                description: error.kind == .notFound ? "no such statement" : "\(error.title): \(error.detail)")
        }
    }
}
