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
                    XCTAssertEqual(streamed.map { $0["id"]!.stringValue! }, sorted.map { $0["id"]!.stringValue! }, text)
                    compared += streamed.count
                }
            }
        }
        XCTAssertGreaterThan(compared, 500)
    }
}
