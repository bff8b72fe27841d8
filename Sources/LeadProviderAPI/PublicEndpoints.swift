import APICore
import HTTP
import JSON
import Store

/// GET/POST/PUT/PATCH of partnerships, GET of schools and delivery partners: a lead provider's view.
enum PublicEndpoints {
    // MARK: partnerships

    static func partnershipResource(_ record: JSON, store: Store) -> JSON {
        let school = store.get(Collection.schools, record["school_id"]?.stringValue ?? "")
        let deliveryPartner = store.get(Collection.deliveryPartners, record["delivery_partner_id"]?.stringValue ?? "")
        let provider = record["lead_provider_id"]?.stringValue ?? ""
        let key = Collection.schoolCohortKey(record["school_id"], record["cohort"])
        let training = store.lookupRecords(Collection.participants, index: "by_school_cohort", key: key).filter {
            $0["status"]?.stringValue != "left" && $0["lead_provider_id"]?.stringValue == provider
        }.count
        let attributes: JSONObject = [
            "cohort": record["cohort"] ?? .null,
            "urn": school?["urn"] ?? .null,
            "school_id": record["school_id"] ?? .null,
            "delivery_partner_id": record["delivery_partner_id"] ?? .null,
            "delivery_partner_name": deliveryPartner?["name"] ?? .null,
            "induction_tutor_name": school?["induction_tutor_name"] ?? .null,
            "induction_tutor_email": school?["induction_tutor_email"] ?? .null,
            "participants_currently_training": .int(training),
            "created_at": shown(record["created_at"]),
            "updated_at": shown(record["updated_at"]),
        ]
        return resource(
            id: record["id"]?.stringValue ?? "", type: "partnership",
            attributes: Schemas.partnership.serialize(attributes))
    }

    static func listPartnerships(_ context: Context) throws -> HTTPResponse {
        let provider = try context.provider
        let query = try ListQuery(context.request.query)
        let page = try partnershipsPage(query, provider: provider, store: context.store)
        return document(.array(page.map { partnershipResource($0, store: context.store) }))
    }

    /// One page of a lead provider's partnerships. Sorted by `created_at` alone (the default), the
    /// page is read straight from the index kept in that order, stopping once it is full; any other
    /// sort reads, filters and sorts them all.
    static func partnershipsPage(_ query: ListQuery, provider: String, store: Store) throws -> [JSON] {
        let matches = try partnershipFilter(query)
        if query.sort.count == 1, query.sort[0].0 == "created_at" {
            return query.page(
                from: { offset, body in
                    store.forEach(
                        Collection.partnerships, index: "by_lead_provider", key: provider, descending: query.sort[0].1,
                        offset: offset, body)
                }, where: matches)
        }
        return sortedPartnershipsPage(query, provider: provider, store: store, where: matches)
    }

    /// Reads all of the provider's partnerships: any sort, and the reference the streamed page must equal.
    static func sortedPartnershipsPage(
        _ query: ListQuery, provider: String, store: Store, where matches: ((JSON) -> Bool)?
    ) -> [JSON] {
        var records = store.lookupRecords(Collection.partnerships, index: "by_lead_provider", key: provider)
        if let matches { records = records.filter(matches) }
        return Array(query.paged(query.sorted(records) { $0[$1]?.stringValue ?? "" }))
    }

    /// The list's filters (cohort, updated_since, delivery_partner_id) as one predicate; nil without any.
    static func partnershipFilter(_ query: ListQuery) throws -> ((JSON) -> Bool)? {
        let since = try query.updatedSince()
        // Non-integer years are dropped; if none is left, nothing matches.
        let years = query.filters["cohort"].map { cohorts in
            Set(cohorts.split(separator: ",").map { $0.trimming(" ") }.filter { Int($0) != nil }.map(String.init))
        }
        let partners = query.filters["delivery_partner_id"].map(LeadProviderID.canonicalList)
        if since == nil, years == nil, partners == nil { return nil }
        return { record in
            if let years, !years.contains(record["cohort"]?.stringValue ?? "") { return false }
            if let since, (record["updated_at"]?.stringValue ?? "") < since { return false }
            if let partners, !partners.contains(record["delivery_partner_id"]?.stringValue ?? "") { return false }
            return true
        }
    }

    static func ownPartnership(_ context: Context, provider: String) throws -> JSON {
        guard let record = context.store.get(Collection.partnerships, context.pathID),
            record["lead_provider_id"]?.stringValue == provider
        else { throw Failure.notFound }
        return record
    }

    static func showPartnership(_ context: Context) throws -> HTTPResponse {
        let provider = try context.provider
        return document(partnershipResource(try ownPartnership(context, provider: provider), store: context.store))
    }

    static func createPartnership(_ context: Context) throws -> HTTPResponse {
        let provider = try context.provider
        let attributes = try requestAttributes(context.request, permitted: Schemas.partnership)
        let now = Timestamp.now()
        let id = try context.store.write { tx -> String in
            let checked = try PartnershipRules.validateCreate(
                tx, provider: provider, attributes: attributes, now: now, checkDuplicate: true)
            return PartnershipRules.insert(&tx, provider: provider, checked, now: now)
        }
        return document(partnershipResource(context.store.get(Collection.partnerships, id)!, store: context.store))
    }

    static func updatePartnership(_ context: Context) throws -> HTTPResponse {
        let provider = try context.provider
        let id = context.pathID
        guard let existing = context.store.get(Collection.partnerships, id),
            existing["lead_provider_id"]?.stringValue == provider
        else {
            throw Failure.notFound
        }
        let attributes = try requestAttributes(
            context.request, permitted: Schemas.partnership, only: ["delivery_partner_id"])
        let now = Timestamp.now().storageText
        try context.store.write { tx in
            guard var record = tx.get(Collection.partnerships, id), record["lead_provider_id"]?.stringValue == provider
            else {
                throw Failure.notFound
            }
            let sent = attributes["delivery_partner_id"] ?? .null
            guard !sent.isNull, sent != .string("") else { throw APIErrors([Failure.missing("delivery_partner_id")]) }
            guard let partner = sent.stringValue, tx.get(Collection.deliveryPartners, partner) != nil else {
                throw APIErrors([Failure.deliveryPartnerInvalid])
            }
            let cohort = record["cohort"]?.stringValue ?? ""
            guard
                tx.get(
                    Collection.links,
                    Collection.linkID(leadProvider: provider, deliveryPartner: partner, cohort: cohort)) != nil
            else {
                throw APIErrors([Failure.deliveryPartnerNotLinked])
            }
            let siblings = tx.lookup(
                Collection.partnerships, index: "by_school_cohort",
                key: Collection.schoolCohortKey(record["school_id"], record["cohort"])
            )
            .compactMap { tx.get(Collection.partnerships, $0) }
            .filter { $0["lead_provider_id"]?.stringValue == provider }
            guard !siblings.contains(where: { $0["delivery_partner_id"]?.stringValue == partner }) else {
                throw APIErrors([Failure.deliveryPartnerAlready])
            }
            record["delivery_partner_id"] = .string(partner)
            record["updated_at"] = .string(now)
            tx.put(Collection.partnerships, id, record)
        }
        return document(partnershipResource(context.store.get(Collection.partnerships, id)!, store: context.store))
    }

    // MARK: schools

    /// The schools a cohort lists: eligible for funding in it, plus ineligible ones with a partnership in it.
    static func listedSchools(cohort: String, store: Store) -> [JSON] {
        var schools = store.lookupRecords(Collection.schools, index: "by_eligible_cohort", key: cohort)
        var seen = Set(schools.compactMap { $0["id"]?.stringValue })
        for partnership in store.lookupRecords(Collection.partnerships, index: "by_cohort", key: cohort) {
            guard let schoolID = partnership["school_id"]?.stringValue, !seen.contains(schoolID),
                let school = store.get(Collection.schools, schoolID)
            else { continue }
            seen.insert(schoolID)
            schools.append(school)
        }
        return schools
    }

    static func schoolView(
        _ school: JSON, cohort: String, provider: String, store: Store
    ) -> (resource: JSON, updatedAt: String) {
        let schoolID = school["id"]?.stringValue ?? ""
        let state = SchoolCohortState(store.get(Collection.schoolCohortState, "\(schoolID)|\(cohort)"))
        let interest = state.expressionOfInterest(provider)
        let updatedAt = state.updatedAt(school: school, provider: provider)
        let attributes = Schemas.school.serialize([
            "name": school["name"] ?? .null,
            "urn": school["urn"] ?? .null,
            "cohort": .string(cohort),
            "in_partnership": .bool(state.inPartnership),
            "induction_programme_choice": .string(state.programmeChoice),
            "expression_of_interest": .bool(interest),
            "induction_tutor_name": interest ? school["induction_tutor_name"] ?? .null : .null,
            "induction_tutor_email": interest ? school["induction_tutor_email"] ?? .null : .null,
            "created_at": shown(school["created_at"]),
            "updated_at": shown(.string(updatedAt)),
        ])
        return (resource(id: schoolID, type: "school", attributes: attributes), updatedAt)
    }

    static func requiredCohort(_ query: ListQuery) throws -> String {
        guard let cohort = query.filters["cohort"], !cohort.isEmpty else { throw Failure.cohortFilterMissing }
        return cohort
    }

    static func listSchools(_ context: Context) throws -> HTTPResponse {
        let provider = try context.provider
        let query = try ListQuery(context.request.query)
        let cohort = try requiredCohort(query)
        let since = try query.updatedSince()
        guard context.store.get(Collection.cohorts, cohort) != nil else { return document(.array([])) }
        var schools = listedSchools(cohort: cohort, store: context.store)
        if let urn = query.filters["urn"] { schools = schools.filter { $0["urn"]?.stringValue == urn } }
        var views = schools.map { schoolView($0, cohort: cohort, provider: provider, store: context.store) }
        if let since { views = views.filter { $0.updatedAt >= since } }
        let sorted = query.sorted(views) { view, field in
            field == "updated_at" ? view.updatedAt : view.resource["attributes"]?["created_at"]?.stringValue ?? ""
        }
        return document(.array(query.paged(sorted).map(\.resource)))
    }

    static func showSchool(_ context: Context) throws -> HTTPResponse {
        let provider = try context.provider
        let query = try ListQuery(context.request.query)
        let cohort = try requiredCohort(query)
        let id = context.pathID
        guard context.store.get(Collection.cohorts, cohort) != nil,
            let school = listedSchools(cohort: cohort, store: context.store).first(where: {
                $0["id"]?.stringValue == id
            })
        else {
            throw Failure.notFound
        }
        return document(schoolView(school, cohort: cohort, provider: provider, store: context.store).resource)
    }

    // MARK: delivery partners

    /// delivery partner id -> years in which `provider` works with it
    static func linkedYears(provider: String, store: Store) -> [String: [String]] {
        var years: [String: [String]] = [:]
        for link in store.lookupRecords(Collection.links, index: "by_lead_provider", key: provider) {
            guard let partner = link["delivery_partner_id"]?.stringValue, let cohort = link["cohort"]?.stringValue
            else { continue }
            years[partner, default: []].append(cohort)
        }
        return years.mapValues { Array(Set($0)).sorted() }
    }

    static func deliveryPartnerResource(_ record: JSON, years: [String]) -> JSON {
        resource(
            id: record["id"]?.stringValue ?? "", type: "delivery-partner",
            attributes: Schemas.deliveryPartner.serialize([
                "name": record["name"] ?? .null,
                "created_at": shown(record["created_at"]),
                "updated_at": shown(record["updated_at"]),
                "cohort": .array(years.map(JSON.string)),
            ]))
    }

    static func listDeliveryPartners(_ context: Context) throws -> HTTPResponse {
        let provider = try context.provider
        let query = try ListQuery(context.request.query)
        var years = linkedYears(provider: provider, store: context.store)
        if let cohorts = query.filters["cohort"] {
            let wanted = Set(cohorts.split(separator: ",").map { String($0.trimming(" ")) })
            years = years.filter { !wanted.isDisjoint(with: $0.value) }
        }
        let records = context.store.all(Collection.deliveryPartners).filter {
            years[$0["id"]?.stringValue ?? ""] != nil
        }
        let sorted = query.sorted(records) { $0[$1]?.stringValue ?? "" }
        return document(
            .array(
                query.paged(sorted).map { deliveryPartnerResource($0, years: years[$0["id"]?.stringValue ?? ""] ?? []) }
            ))
    }

    static func showDeliveryPartner(_ context: Context) throws -> HTTPResponse {
        let provider = try context.provider
        let id = context.pathID
        let years = linkedYears(provider: provider, store: context.store)
        guard let record = context.store.get(Collection.deliveryPartners, id), let linked = years[id] else {
            throw Failure.notFound
        }
        return document(deliveryPartnerResource(record, years: linked))
    }
}
