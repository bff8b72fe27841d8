import APICore
import JSON
import Store

/// A small, deterministic Partners API data set for `deploy/up`: users, partners with members,
/// projects with owners, and partnerships (one default per project), written in one transaction.
public enum PartnersDemoData {
    public struct World: Sendable {
        /// A member of the first partner: the user whose token the demo prints.
        public var partnerUser: Int
        public var partnerUserName: String
        public var partnerSlug: String
        public var project: Int
        public var partnership: Int
        public var summary: String
    }

    public static func isEmpty(_ store: Store) -> Bool { store.count(Collection.partners) == 0 }

    public static func load(into store: Store) throws -> World {
        let partnerNames = [
            ("Greenfield Foundation", "greenfield"), ("Open Arts Collective", "open-arts"),
            ("Riverside Makers", "riverside-makers"),
        ]
        let projectNames = [
            "Community Garden", "Street Library", "Repair Café", "Youth Orchestra", "Solar Rooftops", "River Clean-up",
            "Film Festival", "Coding Club",
        ]
        let statuses = ["online", "online", "pending", "online", "new", "online", "online", "online"]
        // Created an hour apart, the last one an hour ago: lists (newest first) show the last project first.
        let now = Timestamp.now().microseconds
        func created(_ index: Int, of count: Int) -> JSON {
            .string(Timestamp(microseconds: now - (count - index) * 3_600_000_000).storageText)
        }
        return try store.write { tx -> World in
            func user(_ name: String) -> Int {
                let id = tx.nextSequence(Collection.users)
                tx.put(
                    Collection.users, String(id),
                    [
                        "id": .int(id), "name": .string(name),
                        "email": .string(
                            name.lowercased().split(separator: " ").joined(separator: ".") + "@example.org"),
                    ])
                return id
            }
            var partners: [Int] = [], members: [Int] = []
            for (name, slug) in partnerNames {
                let member = user("\(name.split(separator: " ")[0]) Staffer")
                let id = tx.nextSequence(Collection.partners)
                tx.put(
                    Collection.partners, String(id),
                    [
                        "id": .int(id), "name": .string(name), "slug": .string(slug),
                        "url": .string("https://\(slug).example.org"), "user_id": .int(member),
                        "logo": .null, "ribbon": .null,
                    ])
                tx.put(Collection.memberships, "\(id)|\(member)", ["partner_id": .int(id), "user_id": .int(member)])
                partners.append(id)
                members.append(member)
            }
            var projects: [Int] = [], partnerships: [Int] = []
            for (i, name) in projectNames.enumerated() {
                let owner = user("Owner \(i + 1)")
                let id = tx.nextSequence(Collection.projects)
                let slug = name.lowercased().split(whereSeparator: { $0 == " " || $0 == "-" }).joined(separator: "-")
                tx.put(
                    Collection.projects, String(id),
                    [
                        "id": .int(id), "slug": .string(slug), "name": ["en": .string(name)],
                        "owner_id": .int(owner), "status": .string(statuses[i]), "lang": "en",
                        "type": "project", "currency": "EUR", "goal": .int(1000 * (i + 1)),
                        "amount_raised": .int(300 * (i + 1) * (1 + i % 3)),
                        // The Film Festival's campaign is over; the Community Garden won a prize.
                        "finished": .bool(name == "Film Festival"), "is_winner": .bool(i == 0),
                        "created_at": created(i, of: projectNames.count),
                    ])
                projects.append(id)
                // Each project partners with one or two partners; the first one is its default.
                for (k, partner) in [partners[i % partners.count], partners[(i + 1) % partners.count]].prefix(1 + i % 2)
                    .enumerated()
                {
                    let pid = tx.nextSequence(Collection.partnerships)
                    tx.put(
                        Collection.partnerships, String(pid),
                        [
                            "id": .int(pid), "partner_id": .int(partner), "project_id": .int(id),
                            "is_default": .bool(k == 0), "is_support": .bool(k == 1),
                            "created_at": created(i, of: projectNames.count),
                        ])
                    partnerships.append(pid)
                }
            }
            return World(
                partnerUser: members[0], partnerUserName: "\(partnerNames[0].0.split(separator: " ")[0]) Staffer",
                partnerSlug: partnerNames[0].1, project: projects[0], partnership: partnerships[0],
                summary:
                    "\(partners.count) partners, \(projects.count) projects, \(partnerships.count) partnerships, \(members.count + projects.count) users"
            )
        }
    }
}
