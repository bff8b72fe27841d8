import APICore
import HTTP
import JSON
import Store

/// Lead Provider API v3: partnerships between schools, lead providers and delivery partners per
/// cohort. See docs/lead-provider-api.md.
public struct LeadProviderFamily: APIFamily {
    public let name = "lead-provider-v3"
    public let pathPrefix = "/api/v3"
    public let errorFormatter: any ErrorFormatter = LeadProviderErrorFormatter()
    public var storeIndexes: [IndexDefinition] { Collection.indexes }

    public init() {}

    public func registerRoutes(_ routes: RouteRegistry) {
        routes.add(.GET, "/api/v3/partnerships", PublicEndpoints.listPartnerships)
        routes.add(.POST, "/api/v3/partnerships", PublicEndpoints.createPartnership)
        routes.add(.GET, "/api/v3/partnerships/:id", PublicEndpoints.showPartnership)
        routes.add(.PUT, "/api/v3/partnerships/:id", PublicEndpoints.updatePartnership)
        routes.add(.PATCH, "/api/v3/partnerships/:id", PublicEndpoints.updatePartnership)
        routes.add(.GET, "/api/v3/schools", PublicEndpoints.listSchools)
        routes.add(.GET, "/api/v3/schools/:id", PublicEndpoints.showSchool)
        routes.add(.GET, "/api/v3/delivery-partners", PublicEndpoints.listDeliveryPartners)
        routes.add(.GET, "/api/v3/delivery-partners/:id", PublicEndpoints.showDeliveryPartner)

        routes.add(.GET, "/api/v3/admin/cohorts", AdminEndpoints.listCohorts)
        routes.add(.POST, "/api/v3/admin/cohorts", AdminEndpoints.createCohort)
        routes.add(.PATCH, "/api/v3/admin/cohorts/:year", AdminEndpoints.updateCohort)
        routes.add(.POST, "/api/v3/admin/lead-providers", AdminEndpoints.createNamed(Collection.leadProviders, type: "lead-provider"))
        routes.add(.POST, "/api/v3/admin/delivery-partners", AdminEndpoints.createNamed(Collection.deliveryPartners, type: "delivery-partner"))
        routes.add(.POST, "/api/v3/admin/delivery-partner-links", AdminEndpoints.createLink)
        routes.add(.POST, "/api/v3/admin/schools", AdminEndpoints.createSchool)
        routes.add(.PATCH, "/api/v3/admin/schools/:id", AdminEndpoints.updateSchool)
        routes.add(.POST, "/api/v3/admin/participants", AdminEndpoints.createParticipant)
        routes.add(.PATCH, "/api/v3/admin/participants/:id", AdminEndpoints.updateParticipant)
        routes.add(.POST, "/api/v3/admin/partnerships", AdminEndpoints.createAdditionalPartnership)
        routes.add(.POST, "/api/v3/admin/partnerships/rollover", AdminEndpoints.rollover)
    }
}
