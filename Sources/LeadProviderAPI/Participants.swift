import APICore
import HTTP
import JSON
import Store

/// Participants (ECTs and mentors), their training status and schedule, transfers and unfunded
/// mentors: a lead provider's view, and the staff operations that load what providers cannot change.
enum ParticipantOperations {
    static func register(
        api: inout OperationGroup<LeadProviderPrincipal>, admin: inout OperationGroup<LeadProviderPrincipal>
    ) {
        ScheduleOperations.register(admin: &admin)
    }

    /// Resources these operations answer with (see `LeadProviderDocs.resources`).
    static let resources: [(component: String, type: String, attributes: ResourceSchema)] =
        ScheduleOperations.resources
    /// Staff payloads (see `LeadProviderDocs.inputs`).
    static let inputs: [(component: String, schema: ResourceSchema)] = ScheduleOperations.inputs
}
