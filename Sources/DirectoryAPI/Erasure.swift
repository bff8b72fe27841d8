import APICore
import HTTP
import JSON
import Store

/// Erasing what visitors sent (contact requests, matchmaking requests, reviews: personal data). The
/// record is deleted, and the directory's audit log keeps who erased what and when, without the
/// personal data itself.
enum Erasure {
    static let auditLog = "dir_audit_log"

    static let entry = ResourceSchema(
        "AuditLogEntry",
        [
            Field("id", .uuid, readOnly: true),
            Field("action", .enumeration(["erased"]), readOnly: true),
            Field("resource", .enumeration(erasable.map(\.resource)), readOnly: true),
            Field("record_id", .uuid, readOnly: true, "The id of the erased record."),
            Field("by", .string, readOnly: true, "The key's organization: api-key:<organization id>."),
            Field("created", .dateTime, readOnly: true),
        ])

    /// What may be erased: the collection, its name in the log, its path and its permission resource.
    static let erasable: [(collection: String, resource: String, path: String, permission: String, tag: String)] = [
        (Collections.contactRequests, "contact_request", "contact-requests", "contact_requests", "Contact requests"),
        (Collections.matchmaking, "matchmaking_request", "matchmaking-requests", "matchmaking", "Matchmaking"),
        (Collections.reviews, "review", "reviews", "reviews", "Reviews"),
    ]

    static func register(_ routes: inout OperationGroup<Caller>) {
        for target in erasable {
            let parameter = target.path == "reviews" ? "review_id" : "request_id"
            routes.on(
                .delete, "directories/:directory_id/\(target.path)/:\(parameter)/",
                access: .role(.permission(.delete, target.permission)),
                doc: OperationDoc(
                    "Erase a \(target.resource.replacingUnderscores)", tag: target.tag,
                    description:
                        "Deletes the record and its personal data; the directory's audit log records the erasure.",
                    responses: [.init(204, "Erased.")], errors: [403, 404])
            ) { context in
                try erase(target.collection, context.request.pathParameter(parameter), context)
            }
        }
        routes.on(
            .get, "directories/:directory_id/audit-log/", access: .role(.permission(.read, "audit_log")),
            doc: OperationDoc(
                "Get the audit log", tag: "Directory",
                description: "Erasures of personal data, newest first.",
                parameters: OpenAPIShapes.pageParameters,
                responses: [
                    .init(200, "A page of audit log entries.", schema: OpenAPIShapes.page(of: entry.openAPI()))
                ],
                errors: [400, 403, 404])
        ) { context in
            let directory = try context.directory()
            let records = newestFirst(Collections.records(auditLog, of: directory, context.store))
            return .json(try Wire.page(records.map { serialize(entry, $0) }, context.request))
        }
    }

    static func erase(_ collection: String, _ id: String, _ context: Context) throws -> HTTPResponse {
        let directory = try context.directory()
        let directoryID = directory["id"]?.stringValue ?? ""
        _ = try owned(collection, id, directory, context.store)
        try context.store.write { tx in
            guard tx.get(collection, id)?["directory_id"]?.stringValue == directoryID else { throw Wire.notFound() }
            tx.delete(collection, id)
            log(collection, id, directory: directoryID, by: Reviews.actor(context.principal), &tx)
        }
        return .noContent()
    }

    /// Records in the audit log that `id` of `collection` (one of `erasable`) was erased.
    static func log(_ collection: String, _ id: String, directory: String, by actor: JSON, _ tx: inout Transaction) {
        let resource = erasable.first { $0.collection == collection }?.resource ?? collection
        let logged: JSON = [
            "id": .string(Crypto.uuid()), "directory_id": .string(directory), "action": "erased",
            "resource": .string(resource), "record_id": .string(id), "by": actor,
            "created": .string(Timestamp.now().storageText),
        ]
        tx.put(auditLog, logged["id"]!.stringValue!, logged)
    }
}
