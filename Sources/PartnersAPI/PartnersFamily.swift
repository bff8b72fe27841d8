import APICore
import HTTP
import JSON
import Store

/// Partners API v1: partners, projects and their partnerships. See docs/partners-api.md.
public struct PartnersFamily: APIFamily {
    public let name = "partners-v1"
    public let pathPrefix = "/v1"
    public let errorFormatter: any ErrorFormatter = PartnersErrorFormatter()
    public var storeIndexes: [IndexDefinition] { Collection.indexes }

    public init() {}

    public func registerRoutes(_ routes: RouteRegistry) {
        routes.add(.GET, "/v1/partnerships/:id", Endpoints.showPartnership)
        routes.add(.PATCH, "/v1/partnerships/:id", Endpoints.updatePartnership)
        routes.add(.DELETE, "/v1/partnerships/:id", Endpoints.deletePartnership)
        routes.add(.GET, "/v1/projects/:id", Endpoints.showProject)
        routes.add(.GET, "/v1/projects/:id/partnerships", Endpoints.listProjectPartnerships)
        routes.add(.POST, "/v1/projects/:id/partnerships", Endpoints.createPartnership)
        routes.add(.GET, "/v1/partners/:partner", Endpoints.showPartner)
        routes.add(.GET, "/v1/partners/:partner/projects", Endpoints.partnerProjects)

        routes.add(.POST, "/v1/admin/users", AdminEndpoints.createUser)
        routes.add(.POST, "/v1/admin/partners") { try AdminEndpoints.savePartner($0, creating: true) }
        routes.add(.PATCH, "/v1/admin/partners/:id") { try AdminEndpoints.savePartner($0, creating: false) }
        routes.add(.POST, "/v1/admin/partners/:id/members", AdminEndpoints.addMember)
        routes.add(.DELETE, "/v1/admin/partners/:id/members/:user_id", AdminEndpoints.removeMember)
        routes.add(.POST, "/v1/admin/projects") { try AdminEndpoints.saveProject($0, creating: true) }
        routes.add(.PATCH, "/v1/admin/projects/:id") { try AdminEndpoints.saveProject($0, creating: false) }
    }

    /// Whether a Partners API user exists (the token command checks before issuing a token).
    public static func userExists(_ id: Int, in store: Store) -> Bool { store.get(Collection.users, String(id)) != nil }
}
