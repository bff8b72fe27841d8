import APICore
import HTTP
import JSON
import Store

/// Participant declarations and the statements they are paid in: a lead provider's view, and the
/// staff operations that load schedules and statements.
enum DeclarationOperations {
    static func register(
        api: inout OperationGroup<LeadProviderPrincipal>, admin: inout OperationGroup<LeadProviderPrincipal>
    ) {}

    /// Resources these operations answer with (see `LeadProviderDocs.resources`).
    static let resources: [(component: String, type: String, attributes: ResourceSchema)] = []
    /// Staff payloads (see `LeadProviderDocs.inputs`).
    static let inputs: [(component: String, schema: ResourceSchema)] = []
}
