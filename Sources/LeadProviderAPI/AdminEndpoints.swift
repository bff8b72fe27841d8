import APICore
import HTTP
import JSON
import Store

/// Reference data managed by DfE staff: cohorts, lead providers, delivery partners and their
/// links, schools, participants, additional partnerships and rollover. Staff tokens only.
enum AdminEndpoints {
    /// A plain JSON object body checked against `schema`; problems become 422s titled by field.
    static func payload(_ request: HTTPRequest, _ schema: ResourceSchema, partial: Bool) throws -> JSONObject {
        guard case .object(let object)? = request.jsonBody() else { throw Failure.badJSON }
        let problems = schema.validate(object, partial: partial)
        if !problems.isEmpty {
            throw APIErrors(
                problems.map { problem in
                    switch problem {
                    case .missing(let f): return Failure.missing(f)
                    case .wrongType(let f, let expected): return Failure.field(f, "'#/\(f)' must be a \(expected).")
                    case .notAllowed(let f): return Failure.field(f, "'#/\(f)' is not a field you can set.")
                    case .tooLong(let f, let limit):
                        return Failure.field(f, "'#/\(f)' must be at most \(limit) characters.")
                    case .invalidValue(let f): return Failure.field(f, "'#/\(f)' has an invalid value.")
                    case .outOfRange(let f):
                        return Failure.field(f, "'#/\(f)' must be an integer \(ResourceSchema.Problem.integerRange).")
                    }
                })
        }
        if partial && object.isEmpty { throw APIErrors([Failure.field("body", "Send at least one field to change.")]) }
        return schema.canonicalizingIDs(schema.normalized(object))
    }

    static func created(_ type: String, _ record: JSON, _ schema: ResourceSchema) -> HTTPResponse {
        var values: [String: JSON] = [:]
        for (key, value) in record.objectValue ?? [:] {
            values[key] = key.hasSuffix("_at") && value.stringValue != nil ? shown(value) : value
        }
        return document(
            resource(id: record["id"]?.stringValue ?? "", type: type, attributes: schema.serialize(values)),
            status: .created)
    }

    static func requireExisting(_ tx: Transaction, _ collection: String, _ id: String?, field: String) throws {
        guard let id, tx.get(collection, id) != nil else {
            throw APIErrors([Failure.field(field, "'#/\(field)' does not exist.")])
        }
    }

    // MARK: cohorts

    static func cohortRecord(_ record: JSON) -> JSON {
        var shownRecord = record
        shownRecord["status"] = .string(CohortStatus(record, now: .now()).rawValue)
        return shownRecord
    }

    static func createCohort(_ context: Context) throws -> HTTPResponse {
        let body = try payload(context.request, Schemas.cohort, partial: false)
        let year = yearText(body["year"])!
        let now = Timestamp.now().storageText
        let record = try context.store.write { tx -> JSON in
            guard tx.get(Collection.cohorts, year) == nil else {
                throw APIErrors([Failure.field("year", "Cohort \(year) already exists.")])
            }
            let record: JSON = [
                "id": .string(year), "year": .string(year),
                "registration_opens_at": body["registration_opens_at"] ?? .null,
                "registration_closes_at": body["registration_closes_at"] ?? .null, "created_at": .string(now),
                "updated_at": .string(now),
            ]
            tx.put(Collection.cohorts, year, record)
            ScheduleRecords.installStandard(&tx, cohort: year, now: now)
            return record
        }
        return created("cohort", cohortRecord(record), Schemas.cohort)
    }

    static func updateCohort(_ context: Context) throws -> HTTPResponse {
        let year = context.request.pathParameter("year")
        let body = try payload(context.request, Schemas.cohort, partial: true)
        let record = try context.store.write { tx -> JSON in
            guard var record = tx.get(Collection.cohorts, year) else { throw Failure.notFound }
            for key in ["registration_opens_at", "registration_closes_at"] {
                if let value = body[key] { record[key] = value }
            }
            record["updated_at"] = .string(Timestamp.now().storageText)
            tx.put(Collection.cohorts, year, record)
            return record
        }
        var response = created("cohort", cohortRecord(record), Schemas.cohort)
        response.status = .ok
        return response
    }

    static func listCohorts(_ context: Context) throws -> HTTPResponse {
        return document(
            .array(
                context.store.all(Collection.cohorts).map { record in
                    var values: [String: JSON] = [:]
                    for (key, value) in cohortRecord(record).objectValue ?? [:] {
                        values[key] = key.hasSuffix("_at") && value.stringValue != nil ? shown(value) : value
                    }
                    return resource(
                        id: record["id"]?.stringValue ?? "", type: "cohort",
                        attributes: Schemas.cohort.serialize(values))
                }))
    }

    // MARK: lead providers, delivery partners, links

    static func createNamed(_ collection: String, type: String) -> (Context) throws -> HTTPResponse {
        { context in
            let body = try payload(context.request, Schemas.named, partial: false)
            let id = Crypto.uuid(), now = Timestamp.now().storageText
            let record: JSON = [
                "id": .string(id), "name": body["name"]!, "created_at": .string(now), "updated_at": .string(now),
            ]
            try context.store.write { tx in tx.put(collection, id, record) }
            return created(type, record, Schemas.named)
        }
    }

    static func createLink(_ context: Context) throws -> HTTPResponse {
        let body = try payload(context.request, Schemas.link, partial: false)
        let provider = body["lead_provider_id"]!.stringValue!, partner = body["delivery_partner_id"]!.stringValue!
        let cohort = yearText(body["cohort"])!
        let id = Collection.linkID(leadProvider: provider, deliveryPartner: partner, cohort: cohort)
        let record = try context.store.write { tx -> JSON in
            try requireExisting(tx, Collection.leadProviders, provider, field: "lead_provider_id")
            try requireExisting(tx, Collection.deliveryPartners, partner, field: "delivery_partner_id")
            try requireExisting(tx, Collection.cohorts, cohort, field: "cohort")
            if let existing = tx.get(Collection.links, id) { return existing }
            let record: JSON = [
                "id": .string(id), "lead_provider_id": .string(provider), "delivery_partner_id": .string(partner),
                "cohort": .string(cohort), "created_at": .string(Timestamp.now().storageText),
            ]
            tx.put(Collection.links, id, record)
            return record
        }
        return created("delivery-partner-link", record, Schemas.link)
    }

    // MARK: schools and participants

    static func createSchool(_ context: Context) throws -> HTTPResponse {
        let body = try payload(context.request, Schemas.adminSchool, partial: false)
        let record = try context.store.write { tx -> JSON in try SchoolRecords.create(&tx, body) }
        return created("school", record, Schemas.adminSchool)
    }

    static func updateSchool(_ context: Context) throws -> HTTPResponse {
        let body = try payload(context.request, Schemas.adminSchool, partial: true)
        let id = context.pathID
        let record = try context.store.write { tx -> JSON in
            guard var record = tx.get(Collection.schools, id) else { throw Failure.notFound }
            if let urn = body["urn"]?.stringValue, urn != record["urn"]?.stringValue,
                !tx.lookup(Collection.schools, index: "by_urn", key: urn).isEmpty
            {
                throw APIErrors([Failure.field("urn", "A school with URN \(urn) already exists.")])
            }
            for (key, value) in body {
                record[key] =
                    key == "funding_eligible_cohorts"
                    ? .array((value.arrayValue ?? []).map { .string(yearText($0) ?? "") }) : value
            }
            record["updated_at"] = .string(Timestamp.now().storageText)
            tx.put(Collection.schools, id, record)
            return record
        }
        var response = created("school", record, Schemas.adminSchool)
        response.status = .ok
        return response
    }

    static func createParticipant(_ context: Context) throws -> HTTPResponse {
        let body = try payload(context.request, ParticipantSchemas.trainingRecord, partial: false)
        let record = try context.store.write { tx -> JSON in
            ParticipantRecords.shownToStaff(try ParticipantRecords.create(&tx, body), tx)
        }
        return created("training-record", record, ParticipantSchemas.trainingRecord)
    }

    static func updateParticipant(_ context: Context) throws -> HTTPResponse {
        let body = try payload(context.request, ParticipantSchemas.trainingRecord, partial: true)
        let id = context.pathID
        let record = try context.store.write { tx -> JSON in
            ParticipantRecords.shownToStaff(try ParticipantRecords.update(&tx, id: id, body), tx)
        }
        var response = created("training-record", record, ParticipantSchemas.trainingRecord)
        response.status = .ok
        return response
    }

    // MARK: partnerships

    static func createAdditionalPartnership(_ context: Context) throws -> HTTPResponse {
        let body = try payload(context.request, Schemas.adminPartnership, partial: false)
        let provider = body["lead_provider_id"]!.stringValue!
        let now = Timestamp.now()
        let id = try context.store.write { tx -> String in
            try requireExisting(tx, Collection.leadProviders, provider, field: "lead_provider_id")
            let checked = try PartnershipRules.validateCreate(
                tx, provider: provider, attributes: body, now: now, checkDuplicate: false)
            return PartnershipRules.insert(&tx, provider: provider, checked, now: now)
        }
        var response = PublicEndpoints.partnershipDocument(
            PublicEndpoints.storedPartnership(id, store: context.store)!, store: context.store)
        response.status = .created
        return response
    }

    /// Copies the school's most recent partnership (latest cohort, then latest created) into a cohort.
    static func rollover(_ context: Context) throws -> HTTPResponse {
        let body = try payload(context.request, Schemas.rollover, partial: false)
        let school = body["school_id"]!.stringValue!, cohort = yearText(body["cohort"])!
        let now = Timestamp.now()
        let id = try context.store.write { tx -> String in
            try requireExisting(tx, Collection.schools, school, field: "school_id")
            guard tx.get(Collection.cohorts, cohort) != nil else { throw APIErrors([Failure.cohortInvalid]) }
            let candidates = tx.lookup(Collection.partnerships, index: "by_school", key: school)
                .compactMap { tx.get(Collection.partnerships, $0) }
                .filter { ($0["cohort"]?.stringValue ?? "") != cohort }
            guard
                let latest = candidates.max(by: { a, b in
                    let ka = (a["cohort"]?.stringValue ?? "", a["created_at"]?.stringValue ?? "")
                    let kb = (b["cohort"]?.stringValue ?? "", b["created_at"]?.stringValue ?? "")
                    return ka < kb
                }), let provider = latest["lead_provider_id"]?.stringValue,
                let partner = latest["delivery_partner_id"]?.stringValue
            else {
                throw APIErrors([Failure.field("school_id", "This school has no partnership to roll over.")])
            }
            let existing = tx.lookup(Collection.partnerships, index: "by_school_cohort", key: "\(school)|\(cohort)")
                .compactMap { tx.get(Collection.partnerships, $0) }
            if existing.contains(where: { $0["lead_provider_id"]?.stringValue == provider }) {
                throw APIErrors([Failure.duplicate])
            }
            return PartnershipRules.insert(
                &tx, provider: provider, .init(cohort: cohort, school: school, deliveryPartner: partner), now: now)
        }
        var response = PublicEndpoints.partnershipDocument(
            PublicEndpoints.storedPartnership(id, store: context.store)!, store: context.store)
        response.status = .created
        return response
    }
}

/// Record creation shared by the staff endpoints and the import command.
public enum SchoolRecords {
    static func create(_ tx: inout Transaction, _ body: JSONObject) throws -> JSON {
        let urn = body["urn"]!.stringValue!
        guard tx.lookup(Collection.schools, index: "by_urn", key: urn).isEmpty else {
            throw APIErrors([Failure.field("urn", "A school with URN \(urn) already exists.")])
        }
        let id = (body["id"]?.stringValue).flatMap { $0.isEmpty ? nil : $0 } ?? Crypto.uuid()
        let now = Timestamp.now().storageText
        let record: JSON = [
            "id": .string(id), "urn": .string(urn), "name": body["name"] ?? .null,
            "funding_eligible_cohorts": .array(
                (body["funding_eligible_cohorts"]?.arrayValue ?? []).compactMap { yearText($0).map(JSON.string) }),
            "induction_tutor_name": body["induction_tutor_name"] ?? .null,
            "induction_tutor_email": body["induction_tutor_email"] ?? .null,
            "created_at": .string(now), "updated_at": .string(now),
        ]
        tx.put(Collection.schools, id, record)
        return record
    }
}
