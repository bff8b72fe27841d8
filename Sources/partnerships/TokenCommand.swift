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
        subcommands: [Create.self, List.self, Revoke.self, OAuthClient.self]
    )

    /// Partners API OAuth2 clients: what a partner app authenticates with at /oauth2/token/.
    struct OAuthClient: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "oauth-client", abstract: "Register, list and revoke Partners API OAuth2 clients.",
            subcommands: [Create.self, List.self, Revoke.self])

        struct Create: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Register a client; prints CLIENT_ID and CLIENT_SECRET once (the secret is stored hashed).")
            @OptionGroup var location: StoreLocation
            @Option(help: "The client acts as staff with this name.") var staff: String?
            @Option(help: "The client acts as this Partners API user.") var partnersUser: Int?
            @Option(help: "A label for the client (the partner app's name).") var name: String?

            func validate() throws {
                guard (staff == nil) != (partnersUser == nil) else {
                    throw ValidationError("give exactly one of --partners-user or --staff")
                }
            }

            func run() throws {
                let store = try location.openExistingStore()
                let principal: PartnersPrincipal
                if let partnersUser {
                    guard PartnersFamily.userExists(partnersUser, in: store) else {
                        throw ValidationError("no Partners API user \(partnersUser)")
                    }
                    principal = .user(id: partnersUser)
                } else {
                    principal = .staff(Staff(name: staff!))
                }
                let description = Tokens.describe(principal.stored)
                let (id, secret) = try OAuth2.registerClient(in: store, principal: principal, name: name ?? description)
                print("CLIENT_ID=\(id)")
                print("CLIENT_SECRET=\(secret)")
                print("client for \(description); store the secret now, it is not shown again")
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List clients (never their secrets).")
            @OptionGroup var location: StoreLocation
            func run() throws {
                for line in OAuth2.listClients(in: try location.openExistingStore()) { print(line) }
            }
        }

        struct Revoke: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Revoke a client; its tokens stop working on the next request.")
            @OptionGroup var location: StoreLocation
            @Argument(help: "Client id (CLIENT_ID).") var id: String
            func run() throws {
                guard try OAuth2.revokeClient(in: try location.openExistingStore(), id: id) else {
                    throw ValidationError("no OAuth2 client \(id)")
                }
                print("revoked \(id)")
            }
        }
    }

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
                guard let id = LeadProviderFamily.storedLeadProviderID(leadProvider, in: store) else {
                    throw ValidationError("no lead provider \(leadProvider)")
                }
                principal = LeadProviderPrincipal.leadProvider(id: id)
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
