import APICore
import HTTP
import JSON
import Store

/// GET /participants/transfers and /participants/{id}/transfers: a teacher's moves between schools,
/// derived as the real `API::Teachers::SchoolTransfers::History` derives them, from the training
/// records' schools and dates.
///
/// A teacher's records of one course, in start order, make their time at schools: a run of records
/// at the same school is one stay. A stay that has ended (its latest record has a `finished_on`)
/// is a transfer to the next stay, if any, unless the ECT completed induction and went nowhere.
/// The type is `new_provider` when the joining training is with another provider (or none),
/// `new_school` when with the same one, `unknown` when nothing joins yet; the status is
/// `incomplete` while the leaving date or the joining start is to come. A provider sees the
/// transfers it leaves or joins.
enum TransferOperations {
    static func register(api: inout OperationGroup<LeadProviderPrincipal>) {
        typealias D = LeadProviderDocs
        api.on(
            .get, "participants/transfers",
            doc: OperationDoc(
                "Retrieve all participants with transfers", tag: "Transfers",
                description:
                    "Participants who left or joined a school with you and moved school. Ordered by the participant's `created_at` unless `sort` says otherwise.",
                parameters: [D.updatedSince, D.sort] + D.paging,
                responses: [.init(200, "A list of participants with transfers", schema: D.list("ParticipantTransfer"))],
                errors: [400]),
            list)
        api.on(
            .get, "participants/:id/transfers",
            doc: OperationDoc(
                "Retrieve transfers for a given participant", tag: "Transfers",
                parameters: [D.uuid("Participant id. No transfer involving you: 404.")],
                responses: [.init(200, "Transfers for a given participant", schema: D.one("ParticipantTransfer"))],
                errors: [404]),
            show)
    }

    struct Transfer {
        var leaving: JSON
        var joining: JSON?

        /// When either side last changed.
        var updatedAt: String {
            max(leaving["updated_at"]?.stringValue ?? "", joining?["updated_at"]?.stringValue ?? "")
        }
    }

    /// The transfers of `teacher` that involve `provider`, in the order of the stays they leave.
    static func transfers(of teacher: JSON, provider: String, reader: some RecordReader) -> [Transfer] {
        let records = reader.records(
            Collection.participants, index: "by_teacher", key: teacher["id"]?.stringValue ?? "")
        let completedInduction = records.contains {
            $0["participant_type"]?.stringValue == "ect" && $0["induction_end_date"]?.stringValue != nil
        }
        var found: [Transfer] = []
        for type in ["ect", "mentor"] {
            let ordered = records.filter { ($0["participant_type"]?.stringValue ?? "ect") == type }.sorted {
                ($0["started_on"]?.stringValue ?? "", $0["created_at"]?.stringValue ?? "")
                    < ($1["started_on"]?.stringValue ?? "", $1["created_at"]?.stringValue ?? "")
            }
            var stays: [[JSON]] = []
            for record in ordered {
                if let last = stays.last?.last, last["school_id"] == record["school_id"] {
                    stays[stays.count - 1].append(record)
                } else {
                    stays.append([record])
                }
            }
            for (index, stay) in stays.enumerated() {
                guard let leaving = stay.last, leaving["finished_on"]?.stringValue != nil else { continue }
                let joining = index + 1 < stays.count ? stays[index + 1].first : nil
                if joining == nil, completedInduction { continue }
                guard
                    TrainingRecordLookup.isShown(leaving, to: provider)
                        || joining.map { TrainingRecordLookup.isShown($0, to: provider) } == true
                else { continue }
                found.append(Transfer(leaving: leaving, joining: joining))
            }
        }
        return found.sorted {
            ($0.leaving["started_on"]?.stringValue ?? "") < ($1.leaving["started_on"]?.stringValue ?? "")
        }
    }

    static func side(_ record: JSON, date: String, reader: some RecordReader) -> JSON {
        let school = reader.get(Collection.schools, record["school_id"]?.stringValue ?? "")
        let provider = record["lead_provider_id"]?.stringValue.flatMap { reader.get(Collection.leadProviders, $0) }
        return [
            "school_urn": school?["urn"] ?? .null, "provider": provider?["name"] ?? .null,
            "date": record[date] ?? .null,
        ]
    }

    static func resource(_ teacher: JSON, _ transfers: [Transfer], reader: some RecordReader, today: String) -> JSON {
        let shownTransfers = transfers.map { transfer -> JSON in
            let leaving = transfer.leaving, joining = transfer.joining
            let type: String
            if let joining {
                type = joining["lead_provider_id"] == leaving["lead_provider_id"] ? "new_school" : "new_provider"
            } else {
                type = "unknown"
            }
            let incomplete =
                (leaving["finished_on"]?.stringValue ?? "") > today
                || (joining?["started_on"]?.stringValue ?? "") > today
            return [
                "training_record_id": leaving["id"] ?? .null, "transfer_type": .string(type),
                "status": .string(incomplete ? "incomplete" : "complete"),
                "created_at": Day.of(leaving["created_at"]?.stringValue).map(JSON.string) ?? .null,
                "leaving": side(leaving, date: "finished_on", reader: reader),
                "joining": joining.map { side($0, date: "started_on", reader: reader) } ?? .null,
            ]
        }
        return LeadProviderAPI.resource(
            id: teacher["id"]?.stringValue ?? "", type: "participant-transfer",
            attributes: ParticipantSchemas.participantTransfer.serialize([
                "transfers": .array(shownTransfers),
                "updated_at": shown(.string(transfers.map(\.updatedAt).max() ?? "")),
            ]))
    }

    static func list(_ context: Context) throws -> HTTPResponse {
        let provider = try context.provider
        let query = try ListQuery(context.request.query)
        let since = try query.updatedSince()
        var found: [(teacher: JSON, transfers: [Transfer])] = []
        for teacher in ParticipantView.teachers(of: provider, in: context.store) {
            let transfers = transfers(of: teacher, provider: provider, reader: context.store)
            guard !transfers.isEmpty else { continue }
            if let since, (transfers.map(\.updatedAt).max() ?? "") < since { continue }
            found.append((teacher, transfers))
        }
        let sorted = query.sorted(found) { item, field in item.teacher[field]?.stringValue ?? "" }
        let today = Day.today()
        return document(
            .array(query.paged(sorted).map { resource($0.teacher, $0.transfers, reader: context.store, today: today) }))
    }

    static func show(_ context: Context) throws -> HTTPResponse {
        let provider = try context.provider
        let view = try ParticipantView.visible(context.pathID, provider: provider, reader: context.store)
        let transfers = transfers(of: view.teacher, provider: provider, reader: context.store)
        guard !transfers.isEmpty else { throw Failure.notFound }
        return document(resource(view.teacher, transfers, reader: context.store, today: Day.today()))
    }
}
