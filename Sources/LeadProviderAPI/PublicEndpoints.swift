import APICore
import HTTP
import JSON
import Store

/// GET/POST/PUT/PATCH of partnerships, GET of schools and delivery partners: a lead provider's view.
enum PublicEndpoints {
    // MARK: partnerships

    /// What a partnership's resource shows of other records: its school, its delivery partner, and
    /// the participants of its school and cohort (those training with its provider are counted).
    struct Related {
        var school: JSONObjectText?
        var deliveryPartner: JSONObjectText?
        var participants: [JSON]

        /// For each of `records`, read together: on PostgreSQL a page of 100 costs two round trips
        /// instead of three per record. Schools and delivery partners stay the stored text.
        static func of(_ records: [JSONObjectText], store: Store) -> [Related] {
            // Each delivery partner read once: a page's partnerships share a few (found by a
            // short scan; hashing every id cost as much as the reads it saved).
            var keys: [(collection: String, id: String)] = []
            var partners: [(id: String, position: Int)] = []
            let wanted = records.map { record in
                let school = record.string("school_id"), partner = record.string("delivery_partner_id") ?? ""
                keys.append((Collection.schools, school ?? ""))
                let schoolPosition = keys.count - 1
                let partnerPosition: Int
                if let known = partners.first(where: { $0.id == partner }) {
                    partnerPosition = known.position
                } else {
                    keys.append((Collection.deliveryPartners, partner))
                    partnerPosition = keys.count - 1
                    if partners.count < 16 { partners.append((partner, partnerPosition)) }
                }
                return (
                    school: schoolPosition, deliveryPartner: partnerPosition,
                    participants: Collection.schoolCohortKey(school, record.string("cohort"))
                )
            }
            let found = store.texts(keys).map { $0.map(JSONObjectText.init) }
            let participants = store.lookupRecords(
                Collection.participants, index: "by_school_cohort", keys: wanted.map(\.participants))
            return records.indices.map {
                Related(
                    school: found[wanted[$0].school], deliveryPartner: found[wanted[$0].deliveryPartner],
                    participants: participants[$0])
            }
        }
    }

    /// The document of one partnership (GET one, and what a create or an update answers).
    static func partnershipDocument(_ record: JSONObjectText, store: Store) -> HTTPResponse {
        var out: [UInt8] = []
        writePartnership(record, related: Related.of([record], store: store)[0], into: &out)
        return document(serialized: out)
    }

    /// A partnership as stored (not decoded: its resource is written from the text).
    static func storedPartnership(_ id: String, store: Store) -> JSONObjectText? {
        store.texts([(Collection.partnerships, id)])[0].map(JSONObjectText.init)
    }

    /// The resources of `records`, as a JSON array, written from their stored text
    /// (`JSONObjectText`) and that of the records they show: no tree per record.
    static func partnershipResources(_ records: [JSONObjectText], store: Store) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(records.count * 512 + 2)
        out.append(UInt8(ascii: "["))
        for (number, (record, related)) in zip(records, Related.of(records, store: store)).enumerated() {
            if number > 0 { out.append(UInt8(ascii: ",")) }
            writePartnership(record, related: related, into: &out)
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    /// What a partnership resource is written from.
    struct PartnershipSource {
        var record: JSONObjectText
        var related: Related
        var training: Int
    }

    static let partnershipWriter = Schemas.partnership.textWriter(
        [
            "cohort": { $0.record.text("cohort").map { .text($0) } },
            "urn": { $0.related.school?.text("urn").map { .text($0) } },
            "school_id": { $0.record.text("school_id").map { .text($0) } },
            "delivery_partner_id": { $0.record.text("delivery_partner_id").map { .text($0) } },
            "delivery_partner_name": { $0.related.deliveryPartner?.text("name").map { .text($0) } },
            "induction_tutor_name": { $0.related.school?.text("induction_tutor_name").map { .text($0) } },
            "induction_tutor_email": { $0.related.school?.text("induction_tutor_email").map { .text($0) } },
            "participants_currently_training": { .value(.int($0.training)) },
            "created_at": { shown(text: $0.record.text("created_at")) },
            "updated_at": { shown(text: $0.record.text("updated_at")) },
        ] as [String: @Sendable (PartnershipSource) -> ResourceSchema.Written?])

    static func writePartnership(_ record: JSONObjectText, related: Related, into out: inout [UInt8]) {
        let provider = related.participants.isEmpty ? "" : record.string("lead_provider_id") ?? ""
        let training = related.participants.filter {
            $0["status"]?.stringValue != "left" && $0["lead_provider_id"]?.stringValue == provider
        }.count
        writeResource(id: record.text("id"), type: "partnership", into: &out) { out in
            partnershipWriter.write(PartnershipSource(record: record, related: related, training: training), into: &out)
        }
    }

    static func listPartnerships(_ context: Context) throws -> HTTPResponse {
        let provider = try context.provider
        let query = try ListQuery(context.request.query)
        let page = try partnershipsPage(query, provider: provider, store: context.store)
        return document(serialized: partnershipResources(page, store: context.store))
    }

    /// One page of a lead provider's partnerships. Sorted by `created_at` or `updated_at` alone, the
    /// page is read straight from an index kept in that order, stopping once it is full: from the
    /// page's offset when no filter is left to apply, otherwise filtering while it walks. A single
    /// `filter[cohort]` is an index of its own; `filter[updated_since]` is dropped when every
    /// partnership matches it, and answered from its few matches when few do. Any other sort reads,
    /// filters and sorts them all.
    /// With no filter left, the page is the stored text of its records, never decoded.
    static func partnershipsPage(_ query: ListQuery, provider: String, store: Store) throws -> [JSONObjectText] {
        let requested = try PartnershipFilter(query)
        var filter = requested
        guard query.sort.count == 1, ["created_at", "updated_at"].contains(query.sort[0].0) else {
            return sortedPartnershipsPage(query, provider: provider, store: store, where: requested.predicate)
                .map(JSONObjectText.init)
        }
        if let years = filter.years, years.isEmpty { return [] }  // no valid year: nothing can match
        let (field, descending) = query.sort[0]
        var index = field == "created_at" ? "by_lead_provider" : "by_lead_provider_updated"
        var key = provider
        if field == "created_at", let years = filter.years, years.count == 1 {
            index = "by_lead_provider_cohort"
            key = Collection.providerCohortKey(.string(provider), .string(years.first!))
            filter.years = nil
        }
        if let since = filter.since {
            switch updatedSince(since, provider: provider, store: store) {
            case .everything: filter.since = nil
            case .few(let matches) where field == "created_at":
                let kept = requested.predicate.map { matches.filter($0) } ?? matches
                return query.paged(query.sorted(kept) { $0[$1]?.stringValue ?? "" }).map(JSONObjectText.init)
            case .few, .many: break
            }
        }
        guard let predicate = filter.predicate else {
            return query.page(
                from: { offset, body in
                    store.forEachText(
                        Collection.partnerships, index: index, key: key, descending: descending, offset: offset
                    ) { body(JSONObjectText($0)) }
                }, where: nil)
        }
        return query.page(
            from: { offset, body in
                store.forEach(
                    Collection.partnerships, index: index, key: key, descending: descending, offset: offset, body)
            }, where: predicate
        ).map(JSONObjectText.init)
    }

    /// Bounds the work `filter[updated_since]` may do up front (each match is a record decoded).
    static let fewUpdatedLimit = 2_000

    enum UpdatedSince {
        case everything
        /// Every match, in creation order (what the full path sorts from).
        case few([JSON])
        case many
    }

    /// How many of the provider's partnerships were updated at or after `since`, from the index in
    /// updated_at order: its oldest entry tells whether all were; walking from its newest finds
    /// the matches when there are at most `fewUpdatedLimit`.
    static func updatedSince(_ since: String, provider: String, store: Store) -> UpdatedSince {
        var oldest: String?
        store.forEach(Collection.partnerships, index: "by_lead_provider_updated", key: provider) { record in
            oldest = record["updated_at"]?.stringValue ?? ""
            return false
        }
        guard let oldest else { return .everything }
        if oldest >= since { return .everything }
        var matches: [JSON] = []
        var complete = false
        store.forEach(Collection.partnerships, index: "by_lead_provider_updated", key: provider, descending: true) {
            record in
            guard (record["updated_at"]?.stringValue ?? "") >= since else {
                complete = true
                return false
            }
            matches.append(record)
            return matches.count <= fewUpdatedLimit
        }
        guard complete else { return .many }
        // The full path sorts the list in creation order by created_at: the same order here, unless
        // two matches share a created_at (their creation order is not known here; rare: the walk does it).
        let byCreation = matches.sorted {
            ($0["created_at"]?.stringValue ?? "") < ($1["created_at"]?.stringValue ?? "")
        }
        for (a, b) in zip(byCreation, byCreation.dropFirst())
        where a["created_at"]?.stringValue == b["created_at"]?.stringValue {
            return .many
        }
        return .few(byCreation)
    }

    /// Reads all of the provider's partnerships: any sort, and the reference the streamed page must equal.
    static func sortedPartnershipsPage(
        _ query: ListQuery, provider: String, store: Store, where matches: ((JSON) -> Bool)?
    ) -> [JSON] {
        var records = store.lookupRecords(Collection.partnerships, index: "by_lead_provider", key: provider)
        if let matches { records = records.filter(matches) }
        return Array(query.paged(query.sorted(records) { $0[$1]?.stringValue ?? "" }))
    }

    /// The list's filters: cohort, updated_since, delivery_partner_id.
    struct PartnershipFilter {
        var since: String?
        /// Non-integer years are dropped; if none is left, nothing matches.
        var years: Set<String>?
        var partners: Set<String>?

        init(_ query: ListQuery) throws {
            since = try query.updatedSince()
            years = query.cohortYears()
            partners = query.filters["delivery_partner_id"].map(LeadProviderID.canonicalList)
        }

        /// The filters left, as one predicate; nil when none is.
        var predicate: ((JSON) -> Bool)? {
            if since == nil, years == nil, partners == nil { return nil }
            return { [since, years, partners] record in
                if let years, !years.contains(record["cohort"]?.stringValue ?? "") { return false }
                if let since, (record["updated_at"]?.stringValue ?? "") < since { return false }
                if let partners, !partners.contains(record["delivery_partner_id"]?.stringValue ?? "") { return false }
                return true
            }
        }
    }

    static func ownPartnership(_ context: Context, provider: String) throws -> JSONObjectText {
        guard let record = storedPartnership(context.pathID, store: context.store),
            record.string("lead_provider_id") == provider
        else { throw Failure.notFound }
        return record
    }

    static func showPartnership(_ context: Context) throws -> HTTPResponse {
        let provider = try context.provider
        return partnershipDocument(try ownPartnership(context, provider: provider), store: context.store)
    }

    static func createPartnership(_ context: Context) throws -> HTTPResponse {
        let provider = try context.provider
        let attributes = try requestAttributes(context.request, type: "partnership", permitted: Schemas.partnership)
        let now = Timestamp.now()
        let id = try context.store.write { tx -> String in
            let checked = try PartnershipRules.validateCreate(
                tx, provider: provider, attributes: attributes, now: now, checkDuplicate: true)
            return PartnershipRules.insert(&tx, provider: provider, checked, now: now)
        }
        return partnershipDocument(storedPartnership(id, store: context.store)!, store: context.store)
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
            context.request, type: "partnership", permitted: Schemas.partnership, only: ["delivery_partner_id"])
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
        return partnershipDocument(storedPartnership(id, store: context.store)!, store: context.store)
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

    /// `filter[cohort]` must be sent; it is read as the year column reads it (`RailsInteger`), so a
    /// blank or non-numeric one is a cohort that does not exist (an empty list, a 404).
    static func requiredCohort(_ query: ListQuery) throws -> String {
        guard query.filterNames.contains("cohort") else { throw Failure.cohortFilterMissing }
        return query.filters["cohort"].flatMap(RailsInteger.read).map(String.init) ?? ""
    }

    /// `filter[urn]` compared as the real service's integer URN column compares it.
    static func urnMatches(_ filter: String) -> (JSON) -> Bool {
        let wanted = RailsInteger.read(filter)
        return { school in
            guard let wanted, let urn = school["urn"]?.stringValue else { return false }
            return RailsInteger.read(urn) == wanted
        }
    }

    static func listSchools(_ context: Context) throws -> HTTPResponse {
        let provider = try context.provider
        let query = try ListQuery(context.request.query)
        let cohort = try requiredCohort(query)
        let since = try query.updatedSince()
        guard context.store.get(Collection.cohorts, cohort) != nil else { return document(.array([])) }
        var schools = listedSchools(cohort: cohort, store: context.store)
        if let urn = query.filters["urn"] { schools = schools.filter(urnMatches(urn)) }
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
