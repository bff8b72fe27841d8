import Foundation
import HTTP
import JSON
import Store
import XCTest

@testable import LeadProviderAPI

/// The partnership list pages straight from the index for a `created_at` sort. It must give exactly
/// what reading, filtering and sorting everything gives: same ties (imports share a stamp), stamps
/// out of creation order (concurrent creates), filters, pages past the end.
final class PartnershipListTests: XCTestCase {
    func testStreamedPagesEqualTheFullSort() throws {
        try compareStreamedWithFullSort(uniqueCreatedAt: false)
    }

    /// Unique created_at stamps: `filter[updated_since]` answers from its few matches.
    func testFewUpdatedSinceMatchesEqualTheFullSort() throws {
        try compareStreamedWithFullSort(uniqueCreatedAt: true)
    }

    /// A page is written from the records' stored text, not from decoded trees: it must show what
    /// the schema's serialization of the same attributes shows, in its order, with escapes, a
    /// missing school or delivery partner as null, and the participants counted.
    func testResourcesWrittenFromStoredTextAreTheSchemasSerialization() throws {
        let directory = NSTemporaryDirectory() + "lp-text-\(UUID().uuidString)"
        let store = try Store(directory: directory, indexes: Collection.indexes, options: StoreOptions(fsync: false))
        let school: JSON = [
            "id": "s1", "urn": "100001", "name": "Héllo \"School\"", "induction_tutor_name": "Ann \\ \"Tutor\"\n",
            "induction_tutor_email": nil,
        ]
        try store.write { tx in
            tx.put(Collection.schools, "s1", school)
            tx.put(Collection.deliveryPartners, "d1", ["id": "d1", "name": "Partner ü"])
            for (id, provider, status) in [("t1", "lp", "active"), ("t2", "lp", "left"), ("t3", "other", "active")] {
                tx.put(
                    Collection.participants, id,
                    [
                        "id": .string(id), "school_id": "s1", "cohort": "2025", "lead_provider_id": .string(provider),
                        "status": .string(status),
                    ])
            }
            tx.put(
                Collection.partnerships, "p1",
                [
                    "id": "p1", "lead_provider_id": "lp", "school_id": "s1", "delivery_partner_id": "d1",
                    "cohort": "2025", "created_at": "2024-01-02T03:04:05.123456Z", "updated_at": "2024-05-06T07:08:09Z",
                ])
            tx.put(
                Collection.partnerships, "p2",
                [
                    "id": "p2", "lead_provider_id": "lp", "school_id": "gone", "delivery_partner_id": "gone",
                    "cohort": "2026", "created_at": "2024-01-03T00:00:00.000000Z",
                    "updated_at": "2024-01-03T00:00:00.000000Z",
                ])
        }
        let page = try PublicEndpoints.partnershipsPage(ListQuery(QueryParameters("")), provider: "lp", store: store)
        let written = try JSON.parse(PublicEndpoints.partnershipResources(page, store: store))
        let expected: JSON = .array([
            resource(
                id: "p1", type: "partnership",
                attributes: Schemas.partnership.serialize([
                    "cohort": "2025", "urn": "100001", "school_id": "s1", "delivery_partner_id": "d1",
                    "delivery_partner_name": "Partner ü", "induction_tutor_name": "Ann \\ \"Tutor\"\n",
                    "induction_tutor_email": nil, "participants_currently_training": 1,
                    "created_at": "2024-01-02T03:04:05Z", "updated_at": "2024-05-06T07:08:09Z",
                ])),
            resource(
                id: "p2", type: "partnership",
                attributes: Schemas.partnership.serialize([
                    "cohort": "2026", "school_id": "gone", "delivery_partner_id": "gone",
                    "participants_currently_training": 0, "created_at": "2024-01-03T00:00:00Z",
                    "updated_at": "2024-01-03T00:00:00Z",
                ])),
        ])
        XCTAssertEqual(written, expected)
        XCTAssertEqual(written.serialized(), expected.serialized())  // the same bytes, in the same order
        // A single resource (GET one, create, update) is the same resource.
        let one = PublicEndpoints.partnershipDocument(
            PublicEndpoints.storedPartnership("p1", store: store)!, store: store)
        XCTAssertEqual(try JSON.parse(one.body), ["data": expected.arrayValue![0]])
    }

    func compareStreamedWithFullSort(uniqueCreatedAt: Bool) throws {
        let directory = NSTemporaryDirectory() + "lp-list-\(UUID().uuidString)"
        let store = try Store(directory: directory, indexes: Collection.indexes, options: StoreOptions(fsync: false))
        var random = SystemRandomNumberGenerator()
        let stamps = (0..<15).map { "2024-0\(1 + $0 % 9)-01T00:00:00.0000\($0 % 10)0Z" }
        var created = 0
        for batch in 0..<40 {
            try store.write { tx in
                let shared = stamps.randomElement(using: &random)!
                for n in 0..<Int.random(in: 1...6, using: &random) {
                    let id = "p\(batch)-\(n)"
                    let provider = n % 5 == 4 ? "other" : "lp"
                    created += 1
                    let createdAt =
                        uniqueCreatedAt ? "2024-0\(1 + created % 9)-01T00:00:00.\(100_000 + created)Z" : shared
                    tx.put(
                        Collection.partnerships, id,
                        [
                            "id": .string(id), "lead_provider_id": .string(provider), "school_id": .string("s\(n)"),
                            "delivery_partner_id": .string(["d1", "d2", "d3"].randomElement(using: &random)!),
                            "cohort": .string(["2023", "2024"].randomElement(using: &random)!),
                            "created_at": .string(createdAt),
                            "updated_at": .string(stamps.randomElement(using: &random)!),
                        ])
                }
            }
        }
        XCTAssertGreaterThan(store.lookup(Collection.partnerships, index: "by_lead_provider", key: "lp").count, 60)
        var compared = 0
        for sort in [
            "", "sort=created_at", "sort=-created_at", "sort=%2Bcreated_at", "sort=updated_at", "sort=-updated_at",
        ] {
            for filter in [
                "", "filter[cohort]=2024", "filter[cohort]=2023,x", "filter[delivery_partner_id]=d1,d3",
                "filter[updated_since]=2024-05-01T00:00:00Z", "filter[updated_since]=2024-09-01T00:00:00Z",
                "filter[updated_since]=2000-01-01T00:00:00Z", "filter[updated_since]=2030-01-01T00:00:00Z",
                "filter[cohort]=2024&filter[updated_since]=2024-05-01T00:00:00Z", "filter[cohort]=bad",
            ] {
                for paging in [
                    "", "page[per_page]=7", "page[per_page]=7&page[page]=3", "page[per_page]=1&page[page]=9",
                    "page[per_page]=50&page[page]=400", "page[page]=9223372036854775807",
                ] {
                    let text = [sort, filter, paging].filter { !$0.isEmpty }.joined(separator: "&")
                    let query = try ListQuery(QueryParameters(text))
                    let streamed = try PublicEndpoints.partnershipsPage(query, provider: "lp", store: store)
                    let sorted = PublicEndpoints.sortedPartnershipsPage(
                        query, provider: "lp", store: store,
                        where: try PublicEndpoints.PartnershipFilter(query).predicate)
                    XCTAssertEqual(streamed.map { $0.string("id")! }, sorted.map { $0["id"]!.stringValue! }, text)
                    compared += streamed.count
                }
            }
        }
        XCTAssertGreaterThan(compared, 500)
    }
}
