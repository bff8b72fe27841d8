import APICore
import HTTP
import JSON
import Store

/// Partner entry edits held for approval: a submitted edit lives in the entry's `review` slot,
/// apart from the live fields, until staff of the directory approve it (applied), reject it
/// (kept with the reason, not applied) or the submitter discards it.
///
/// States: none -> submitted -> approved | rejected | (discard) none. Approving or rejecting needs
/// `generic_directory:approve_partner_entries`, so the keys that submit edits need not approve them.
enum ApprovalFlow {
    static func reviewResponse(_ stored: JSON?) -> JSON {
        guard let stored, case .object = stored else { return .null }
        return [
            "status": stored["status"] ?? .null,
            "changes": Wire.camelKeys(stored["changes"] ?? [:]),
            "submitted_at": stored["submitted_at"] ?? .null,
            "reviewed_at": stored["reviewed_at"] ?? .null,
            "reason": stored["reason"] ?? .null,
        ]
    }

    static let rejection = ResourceSchema(
        "ReviewRejection", [Field("reason", .string, nullable: true, maxLength: 2000)])

    static func register(_ routes: inout OperationGroup<Caller>) {
        let kind = Entries.partner
        let item = kind.responseSchema.openAPI()
        let tag = "Partner entry: Edits approval flow"
        let base = kind.itemPath + "review/"

        routes.on(
            .post, base + "submit/", access: .role(.permission(.update, kind.permission)),
            doc: OperationDoc(
                "Partner entry submit review", tag: tag,
                description:
                    "Holds the given changes (same fields as an update) for approval; the live entry does not change.",
                requestBody: OpenAPIShapes.optional(
                    OpenAPIShapes.casing(kind.writeSchema.openAPI(writableOnly: true), camel: true)),
                responses: [.init(200, "The entry with its review.", schema: item)], errors: [400, 403, 404, 409])
        ) { context in
            try transition(context) { record, tx, directory in
                let changes = try Entries.payload(kind, context, directory: directory, partial: true, current: record)
                try hold(changes, in: &record, directory: directory, tx)
            }
        }
        routes.on(
            .post, base + "approve/", access: .role(.permission(.approve, kind.permission)),
            doc: OperationDoc(
                "Partner entry approve review", tag: tag, description: "Applies the submitted edit to the live entry.",
                responses: [.init(200, "The updated entry.", schema: item)], errors: [403, 404, 409])
        ) { context in
            try transition(context) { record, tx, directory in
                let changes = try submitted(record)
                try Entries.apply(changes, to: &record, kind: kind, directory: directory, &tx)
                record["review"]?["status"] = "approved"
                record["review"]?["reviewed_at"] = .string(Timestamp.now().storageText)
            }
        }
        routes.on(
            .post, base + "reject/", access: .role(.permission(.approve, kind.permission)),
            doc: OperationDoc(
                "Partner entry reject changes", tag: tag,
                description: "Refuses the submitted edit; the live entry is unchanged.",
                requestBody: OpenAPIShapes.optional(rejection.openAPI(writableOnly: true)),
                responses: [.init(200, "The entry with its rejected review.", schema: item)],
                errors: [400, 403, 404, 409])
        ) { context in
            try transition(context) { record, _, _ in
                _ = try submitted(record)
                let body =
                    context.request.body.isEmpty ? [:] : try Wire.payload(context.request, rejection, partial: true)
                record["review"]?["status"] = "rejected"
                record["review"]?["reason"] = body["reason"] ?? .null
                record["review"]?["reviewed_at"] = .string(Timestamp.now().storageText)
            }
        }
        routes.on(
            .post, base + "discard/", access: .role(.permission(.update, kind.permission)),
            doc: OperationDoc(
                "Partner entry discard review", tag: tag, description: "Withdraws the submitted edit.",
                responses: [.init(200, "The entry without a pending review.", schema: item)], errors: [403, 404, 409])
        ) { context in
            try transition(context) { record, _, _ in
                _ = try submitted(record)
                record["review"] = .null
            }
        }
    }

    /// Stores `changes` in the entry's review slot as a submitted edit; the live fields stay as they are.
    static func hold(_ changes: JSONObject, in record: inout JSON, directory: String, _ tx: Transaction) throws {
        if record["review"]?["status"]?.stringValue == "submitted" {
            throw Wire.conflict("An edit of this entry is already waiting for review. Discard it first.")
        }
        try References.check(Entries.partner.references, changes, directory: directory, tx)
        _ = try Entries.nestedItems(changes, kind: Entries.partner)
        record["review"] = [
            "status": "submitted", "changes": .object(changes),
            "submitted_at": .string(Timestamp.now().storageText),
            "reviewed_at": .null, "reason": .null,
        ]
    }

    /// With the directory's `require_edit_approval` on, only keys that may approve edits change a
    /// partner entry directly; the edits of other keys are held for review instead.
    static func holdsEdits(of kind: EntryKind, by caller: Caller, in directory: JSON) -> Bool {
        kind.collection == Entries.partner.collection
            && Directories.setting("require_edit_approval", of: directory).boolValue == true
            && !caller.holds(Permission(.approve, kind.permission))
    }

    /// The direct writes to a partner entry's sub-resources that `holdsEdits` forbids: 403, naming
    /// the way that is open (inline lists through review/submit/).
    static func refuseDirectEdit(of spec: ResourceSpec, by caller: Caller, in directory: JSON) throws {
        guard spec.parent == .partnerEntry else { return }
        try refuseDirectEdit(of: Entries.partner, by: caller, in: directory)
    }

    /// The same for writes to the entry itself that a review cannot hold (its recommended order, a
    /// new entry that would be public at once).
    static func refuseDirectEdit(of kind: EntryKind, by caller: Caller, in directory: JSON) throws {
        guard holdsEdits(of: kind, by: caller, in: directory) else { return }
        throw APIError.forbidden(
            "This directory requires edits of partner entries to be approved, and this API key lacks the permission "
                + "\(Permission(.approve, Entries.partner.permission).name): submit the change with review/submit/.")
    }

    static func submitted(_ record: JSON) throws -> JSONObject {
        guard record["review"]?["status"]?.stringValue == "submitted",
            let changes = record["review"]?["changes"]?.objectValue
        else {
            throw Wire.conflict("This entry has no edit waiting for review.")
        }
        return changes
    }

    static func transition(
        _ context: Context, _ change: (inout JSON, inout Transaction, String) throws -> Void
    ) throws -> HTTPResponse {
        let kind = Entries.partner
        let directory = try context.directory()
        let id = try Entries.entry(kind, context, directory)["id"]?.stringValue ?? ""
        let saved = try context.store.write { tx -> JSON in
            guard var record = tx.get(kind.collection, id) else { throw Wire.notFound() }
            try change(&record, &tx, directory["id"]?.stringValue ?? "")
            tx.put(kind.collection, id, record)
            return record
        }
        return .json(kind.response(saved, context.store))
    }
}
