import APICore
import ArgumentParser
import LeadProviderAPI
import PartnersAPI
import Server
import Store

struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Create, list and revoke API tokens (stored only as SHA-256 hashes).",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token and print it once (first line of stdout).")
        @OptionGroup var location: StoreLocation
        @Option(help: "A Lead Provider API token for this lead provider id.") var leadProvider: String?
        @Option(help: "A staff token with this name (Lead Provider and Partners APIs).") var staff: String?
        @Option(help: "A Partners API token for this user id.") var partnersUser: Int?
        @Option(help: "A label for the token (e.g. its purpose).") var name: String?

        func validate() throws {
            guard [leadProvider != nil, staff != nil, partnersUser != nil].filter({ $0 }).count == 1 else {
                throw ValidationError("give exactly one of --lead-provider, --partners-user or --staff")
            }
        }

        func run() throws {
            let store = try location.openExistingStore()
            let principal: any TokenPrincipal
            if let leadProvider {
                guard LeadProviderFamily.leadProviderExists(leadProvider, in: store) else {
                    throw ValidationError("no lead provider \(leadProvider)")
                }
                principal = LeadProviderPrincipal.leadProvider(id: leadProvider)
            } else if let partnersUser {
                guard PartnersFamily.userExists(partnersUser, in: store) else {
                    throw ValidationError("no Partners API user \(partnersUser)")
                }
                principal = PartnersPrincipal.user(id: partnersUser)
            } else {
                principal = Staff(name: staff!)
            }
            let description = Tokens.describe(principal.stored)
            let (id, token) = try Tokens.create(in: store, principal: principal, name: name ?? description)
            print(token)
            print("token id \(id) for \(description); store it now, it is not shown again")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never the tokens themselves).")
        @OptionGroup var location: StoreLocation
        func run() throws {
            for info in Tokens.list(in: try location.openExistingStore()) {
                let state = info.revokedAt == nil ? "active" : "revoked \(info.revokedAt!)"
                print(
                    "\(info.id)  \(Tokens.describe(info.principal))  \"\(info.name)\"  created \(info.createdAt)  last used \(info.lastUsedAt ?? "never")  \(state)"
                )
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a token by its id; effective on the next request.")
        @OptionGroup var location: StoreLocation
        @Argument(help: "Token id (from `token list`).") var id: String
        func run() throws {
            guard try Tokens.revoke(in: try location.openExistingStore(), id: id) else {
                throw ValidationError("no token \(id)")
            }
            print("revoked \(id)")
        }
    }
}
