import APICore
import HTTP
import JSON
import Store

/// Financial statements: what a lead provider is paid, per cohort and month. Providers read their
/// output-fee statements (the real `API::Statements::Query` lists no service-fee ones); staff create
/// them one at a time or as a cohort's whole calendar, change their dates, and move them along
/// open -> payable -> paid, which moves the declarations attached to them (`StatementRecords.advance`).
enum StatementSchemas {
    /// The official `Statement` resource.
    static let statement = ResourceSchema(
        "StatementAttributes",
        [
            Field("month", .string, readOnly: true, "The calendar month of the statement, e.g. `May`."),
            Field("year", .yearString, readOnly: true, "The calendar year of the statement."),
            Field("cohort", .yearString, readOnly: true, "The cohort the statement funds."),
            Field("cut_off_date", .date, readOnly: true, "The milestone cut-off or review point for the statement."),
            Field(
                "payment_date", .date, readOnly: true,
                "When DfE expects to pay the eligible declarations attached to the statement."),
            Field("paid", .boolean, readOnly: true, "DfE has paid the declarations attached to the statement."),
            Field("created_at", .dateTime, readOnly: true),
            Field("updated_at", .dateTime, readOnly: true),
        ])

    /// A statement as staff create, change and see it.
    static let adminStatement = ResourceSchema(
        "AdminStatement",
        [
            Field("lead_provider_id", .uuid, required: true),
            Field("cohort", .yearString, required: true),
            Field("month", .enumeration(StatementCalendar.months), required: true),
            Field("year", .yearString, required: true),
            Field(
                "cut_off_date", .date, required: true,
                "Declarations dated up to this day can be attached (while the statement is open)."),
            Field("payment_date", .date, required: true, "Must be later than the cut-off date."),
            Field(
                "status", .enumeration(StatementStatus.allCases.map(\.rawValue)),
                "open (the default), payable or paid. A change moves forward only, and moves the statement's declarations with it."
            ),
            Field(
                "output_fee", .boolean, readOnly: true,
                "January, April, August and November statements: declarations are paid in these."),
            Field("paid", .boolean, readOnly: true),
            Field("created_at", .dateTime, readOnly: true),
            Field("updated_at", .dateTime, readOnly: true),
        ])

    /// A cohort's whole calendar for one lead provider.
    static let calendar = ResourceSchema(
        "StatementCalendar",
        [
            Field("lead_provider_id", .uuid, required: true),
            Field("cohort", .yearString, required: true),
        ])
}

/// The real `Statement` model's states.
enum StatementStatus: String, CaseIterable {
    case open, payable, paid

    init(_ record: JSON) {
        self = record["status"]?.stringValue.flatMap(StatementStatus.init(rawValue:)) ?? .open
    }
}

enum StatementEndpoints {
    static func view(_ record: JSON) -> JSON {
        resource(
            id: record["id"]?.stringValue ?? "", type: "statement",
            attributes: StatementSchemas.statement.serialize([
                "month": record["month"] ?? .null, "year": record["year"] ?? .null, "cohort": record["cohort"] ?? .null,
                "cut_off_date": record["cut_off_date"] ?? .null, "payment_date": record["payment_date"] ?? .null,
                "paid": .bool(StatementStatus(record) == .paid), "created_at": shown(record["created_at"]),
                "updated_at": shown(record["updated_at"]),
            ]))
    }

    static func staffView(_ record: JSON) -> JSON {
        var values: [String: JSON] = [:]
        for (key, value) in record.objectValue ?? [:] { values[key] = value }
        values["status"] = .string(StatementStatus(record).rawValue)
        values["paid"] = .bool(StatementStatus(record) == .paid)
        values["created_at"] = shown(record["created_at"])
        values["updated_at"] = shown(record["updated_at"])
        return resource(
            id: record["id"]?.stringValue ?? "", type: "statement",
            attributes: StatementSchemas.adminStatement.serialize(values))
    }

    /// `filter[cohort]`, `filter[updated_since]`, paging; in payment date order, as the real query.
    static func list(_ context: Context) throws -> HTTPResponse {
        let provider = try context.provider
        let query = try ListQuery(context.request.query, sortable: [])
        let years = DeclarationFilter.years(query.filters["cohort"])
        let since = try query.updatedSince()
        let page = query.page(
            from: { offset, body in
                context.store.forEach(
                    Collection.statements, index: "by_lead_provider", key: provider, offset: offset, body)
            },
            where: { record in
                guard record["output_fee"]?.boolValue == true else { return false }
                if let years, !years.contains(record["cohort"]?.stringValue ?? "") { return false }
                if let since, (record["updated_at"]?.stringValue ?? "") < since { return false }
                return true
            })
        return document(.array(page.map(view)))
    }

    static func show(_ context: Context) throws -> HTTPResponse {
        let provider = try context.provider
        guard let record = context.store.get(Collection.statements, context.pathID),
            record["lead_provider_id"]?.stringValue == provider, record["output_fee"]?.boolValue == true
        else { throw Failure.notFound }
        return document(view(record))
    }

    // MARK: staff

    static func create(_ context: Context) throws -> HTTPResponse {
        let body = try AdminEndpoints.payload(context.request, StatementSchemas.adminStatement, partial: false)
        let record = try context.store.write { tx in try StatementRecords.create(&tx, body, now: Timestamp.now()) }
        return document(staffView(record), status: .created)
    }

    static func createCalendar(_ context: Context) throws -> HTTPResponse {
        let body = try AdminEndpoints.payload(context.request, StatementSchemas.calendar, partial: false)
        let now = Timestamp.now()
        let records = try context.store.write { tx in
            try StatementRecords.calendar(
                &tx, leadProvider: body["lead_provider_id"]?.stringValue ?? "", cohort: yearText(body["cohort"]) ?? "",
                now: now)
        }
        return document(.array(records.map(staffView)), status: .created)
    }

    static func update(_ context: Context) throws -> HTTPResponse {
        let body = try AdminEndpoints.payload(context.request, StatementSchemas.adminStatement, partial: true)
        let id = context.pathID
        let record = try context.store.write { tx in
            try StatementRecords.change(&tx, id: id, body, now: Timestamp.now())
        }
        return document(staffView(record))
    }

    /// What the real `Statements::MarkAsPayableJob` does each day.
    static func markPayable(_ context: Context) throws -> HTTPResponse {
        let now = Timestamp.now()
        let records = try context.store.write { tx in try StatementRecords.markDuePayable(&tx, now: now) }
        return document(.array(records.map(staffView)))
    }
}

/// Statement records: creation, the calendar, changes and the status moves, shared by the staff
/// endpoints, the `partnerships lead-provider statements` command and the demo data.
enum StatementRecords {
    static func statements(provider: String, cohort: String, in reader: some RecordReader) -> [JSON] {
        reader.records(Collection.statements, index: "by_lead_provider", key: provider).filter {
            $0["cohort"]?.stringValue == cohort
        }
    }

    /// The provider's output-fee statement of the cohort with the earliest cut-off on or after
    /// `today` (the real `Statements::Search` by deadline date) in one of `statuses`: where a new
    /// eligible declaration is paid (open) or a paid one clawed back (open or payable: the real
    /// search takes any status, but there a statement is paid only after its cut-off has passed,
    /// while staff here may pay one early).
    static func nextOutputStatement(
        provider: String, cohort: String, today: String, statuses: Set<StatementStatus>, in reader: some RecordReader
    ) -> JSON? {
        statements(provider: provider, cohort: cohort, in: reader)
            .filter {
                $0["output_fee"]?.boolValue == true && ($0["cut_off_date"]?.stringValue ?? "") >= today
                    && statuses.contains(StatementStatus($0))
            }
            .min { ($0["cut_off_date"]?.stringValue ?? "") < ($1["cut_off_date"]?.stringValue ?? "") }
    }

    static func create(_ tx: inout Transaction, _ body: JSONObject, now: Timestamp) throws -> JSON {
        let provider = body["lead_provider_id"]?.stringValue ?? ""
        let cohort = yearText(body["cohort"]) ?? ""
        try AdminEndpoints.requireExisting(tx, Collection.leadProviders, provider, field: "lead_provider_id")
        try AdminEndpoints.requireExisting(tx, Collection.cohorts, cohort, field: "cohort")
        let month = body["month"]?.stringValue ?? "", year = yearText(body["year"]) ?? ""
        try checkUnique(tx, provider: provider, cohort: cohort, month: month, year: year, except: nil)
        let cutOff = body["cut_off_date"]?.stringValue ?? "", payment = body["payment_date"]?.stringValue ?? ""
        try checkDates(cutOff: cutOff, payment: payment)
        let status = body["status"]?.stringValue ?? StatementStatus.open.rawValue
        let record = make(
            provider: provider, cohort: cohort, month: month, year: year, cutOff: cutOff, payment: payment,
            status: StatementStatus(rawValue: status) ?? .open, now: now.storageText)
        tx.put(Collection.statements, record["id"]?.stringValue ?? "", record)
        return record
    }

    static func make(
        provider: String, cohort: String, month: String, year: String, cutOff: String, payment: String,
        status: StatementStatus, now: String
    ) -> JSON {
        let number = StatementCalendar.number(ofMonth: month) ?? 0
        return [
            "id": .string(Crypto.uuid()), "lead_provider_id": .string(provider), "cohort": .string(cohort),
            "month": .string(month), "year": .string(year), "cut_off_date": .string(cutOff),
            "payment_date": .string(payment), "status": .string(status.rawValue), "paid": .bool(status == .paid),
            "output_fee": .bool(StatementCalendar.outputFeeMonths.contains(number)), "created_at": .string(now),
            "updated_at": .string(now),
        ]
    }

    /// The cohort's calendar for the provider (see `StatementCalendar`), statuses as of now as the
    /// seeds set them; months that already have a statement keep it. Answers the whole calendar.
    static func calendar(_ tx: inout Transaction, leadProvider: String, cohort: String, now: Timestamp) throws -> [JSON]
    {
        try AdminEndpoints.requireExisting(tx, Collection.leadProviders, leadProvider, field: "lead_provider_id")
        try AdminEndpoints.requireExisting(tx, Collection.cohorts, cohort, field: "cohort")
        guard let year = Int(cohort) else { throw APIErrors([Failure.cohortInvalid]) }
        let today = Day.of(now)
        var existing: [String: JSON] = [:]
        for record in statements(provider: leadProvider, cohort: cohort, in: tx) {
            existing["\(record["month"]?.stringValue ?? "") \(record["year"]?.stringValue ?? "")"] = record
        }
        return StatementCalendar.months(cohort: year).map { (y, m) in
            let month = StatementCalendar.months[m - 1]
            if let kept = existing["\(month) \(y)"] { return kept }
            let record = make(
                provider: leadProvider, cohort: cohort, month: month, year: String(y),
                cutOff: StatementCalendar.cutOff(y, m), payment: StatementCalendar.paymentDate(y, m),
                status: StatementStatus(rawValue: StatementCalendar.status(y, m, today: today)) ?? .open,
                now: now.storageText)
            tx.put(Collection.statements, record["id"]?.stringValue ?? "", record)
            return record
        }
    }

    static func checkUnique(
        _ tx: Transaction, provider: String, cohort: String, month: String, year: String, except: String?
    ) throws {
        let clash = statements(provider: provider, cohort: cohort, in: tx).contains {
            $0["month"]?.stringValue == month && $0["year"]?.stringValue == year && $0["id"]?.stringValue != except
        }
        if clash {
            throw APIErrors([
                Failure.field(
                    "month", "A statement for \(month) \(year) already exists for this lead provider and cohort.")
            ])
        }
    }

    static func checkDates(cutOff: String, payment: String) throws {
        guard payment > cutOff else {
            throw APIErrors([
                Failure.field("payment_date", "The '#/payment_date' must be later than the '#/cut_off_date'.")
            ])
        }
    }

    /// Dates, month and year change until the statement is paid; `status` moves forward only.
    static func change(_ tx: inout Transaction, id: String, _ body: JSONObject, now: Timestamp) throws -> JSON {
        guard var record = tx.get(Collection.statements, id) else { throw Failure.notFound }
        for fixed in ["lead_provider_id", "cohort"] where body[fixed] != nil {
            throw APIErrors([Failure.field(fixed, "'#/\(fixed)' cannot be changed: create another statement.")])
        }
        let current = StatementStatus(record)
        guard current != .paid else {
            throw APIErrors([Failure.field("status", "This statement has been paid: it can no longer change.")])
        }
        for key in ["month", "year", "cut_off_date", "payment_date"] {
            if let value = body[key] { record[key] = key == "year" ? .string(yearText(value) ?? "") : value }
        }
        try checkDates(
            cutOff: record["cut_off_date"]?.stringValue ?? "", payment: record["payment_date"]?.stringValue ?? "")
        try checkUnique(
            tx, provider: record["lead_provider_id"]?.stringValue ?? "", cohort: record["cohort"]?.stringValue ?? "",
            month: record["month"]?.stringValue ?? "", year: record["year"]?.stringValue ?? "", except: id)
        let number = StatementCalendar.number(ofMonth: record["month"]?.stringValue ?? "") ?? 0
        record["output_fee"] = .bool(StatementCalendar.outputFeeMonths.contains(number))
        record["updated_at"] = .string(now.storageText)
        tx.put(Collection.statements, id, record)
        if let wanted = body["status"]?.stringValue.flatMap(StatementStatus.init(rawValue:)), wanted != current {
            let order = StatementStatus.allCases
            guard order.firstIndex(of: wanted)! > order.firstIndex(of: current)! else {
                throw APIErrors([
                    Failure.field("status", "A statement's status moves forward only: open, then payable, then paid.")
                ])
            }
            if current == .open { advance(&tx, statement: id, to: .payable, now: now) }
            if wanted == .paid { advance(&tx, statement: id, to: .paid, now: now) }
        }
        return tx.get(Collection.statements, id) ?? record
    }

    /// One step of a statement and its declarations, as the real services take it.
    /// Payable (`Statements::MarkAsPayable`): its eligible declarations become payable.
    /// Paid (`Statements::AuthorisePayment`): its payable declarations become paid (with their
    /// uplifts), and those awaiting clawback on it are clawed back.
    static func advance(_ tx: inout Transaction, statement id: String, to status: StatementStatus, now: Timestamp) {
        guard var statement = tx.get(Collection.statements, id) else { return }
        let stamp = JSON.string(now.storageText)
        for var declaration in tx.records(Collection.declarations, index: "by_statement", key: id) {
            let state = declaration["state"]?.stringValue ?? ""
            let paidHere = declaration["statement_id"]?.stringValue == id
            let clawedHere = declaration["clawback_statement_id"]?.stringValue == id
            switch (status, state) {
            case (.payable, "eligible") where paidHere: declaration["state"] = "payable"
            case (.paid, "payable") where paidHere:
                declaration["state"] = "paid"
                declaration["uplift_paid"] = .bool(DeclarationRecords.hasUplift(declaration))
            case (.paid, "awaiting-clawback") where clawedHere: declaration["state"] = "clawed-back"
            default: continue
            }
            declaration["updated_at"] = stamp
            tx.put(Collection.declarations, declaration["id"]?.stringValue ?? "", declaration)
        }
        statement["status"] = .string(status.rawValue)
        statement["paid"] = .bool(status == .paid)
        statement["updated_at"] = stamp
        tx.put(Collection.statements, id, statement)
    }

    /// Open statements whose cut-off has passed become payable (the real daily job).
    static func markDuePayable(_ tx: inout Transaction, now: Timestamp) throws -> [JSON] {
        let today = Day.of(now)
        let due = tx.records(Collection.statements, index: "by_status", key: StatementStatus.open.rawValue).filter {
            ($0["cut_off_date"]?.stringValue ?? "") < today
        }
        .sorted { ($0["cut_off_date"]?.stringValue ?? "") < ($1["cut_off_date"]?.stringValue ?? "") }
        return due.compactMap { record in
            let id = record["id"]?.stringValue ?? ""
            advance(&tx, statement: id, to: .payable, now: now)
            return tx.get(Collection.statements, id)
        }
    }
}
