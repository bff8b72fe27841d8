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
                if record["review"]?["status"]?.stringValue == "submitted" {
                    throw Wire.conflict("An edit of this entry is already waiting for review. Discard it first.")
                }
                let changes = try Wire.payload(context.request, kind.writeSchema, partial: true)
                try References.check(kind.references, changes, directory: directory, tx)
                _ = try Entries.nestedItems(changes, kind: kind)
                record["review"] = [
                    "status": "submitted", "changes": .object(changes),
                    "submitted_at": .string(Timestamp.now().storageText),
                    "reviewed_at": .null, "reason": .null,
                ]
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
