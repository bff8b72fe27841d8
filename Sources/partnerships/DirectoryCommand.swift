import APICore
import ArgumentParser
import DirectoryAPI
import Store

struct DirectoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "directory",
        abstract: "Directory API administration: organizations, directories, API keys, demo data.",
        subcommands: [Organization.self, Create.self, Key.self, Permissions.self, Demo.self]
    )

    struct Organization: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an organization; prints its id.")
        @OptionGroup var location: StoreLocation
        @Option(help: "Its name.") var name: String
        @Option(help: "Its email domain (used to match owner invites), e.g. acme.io.") var domain: String?
        func run() throws {
            print(try DirectoryAdmin.createOrganization(try location.openExistingStore(), name: name, domain: domain))
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a directory of an organization; prints its id.")
        @OptionGroup var location: StoreLocation
        @Option(help: "The owning organization's id.") var organization: String
        @Option(help: "The directory's name.") var name: String
        func run() throws {
            let store = try location.openExistingStore()
            guard DirectoryAdmin.organizationExists(store, organization) else {
                throw ValidationError("no organization \(organization)")
            }
            print(try DirectoryAdmin.createDirectory(store, organization: organization, name: name))
        }
    }

    struct Key: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an API key of an organization; prints it once (first line).")
        @OptionGroup var location: StoreLocation
        @Option(help: "The organization's id.") var organization: String
        @Option(help: "Comma-separated permission names (see `directory permissions`), or generic_directory:* for all.")
        var permissions: String
        @Option(help: "A label for the key.") var name: String = "directory key"
        func run() throws {
            let store = try location.openExistingStore()
            guard DirectoryAdmin.organizationExists(store, organization) else {
                throw ValidationError("no organization \(organization)")
            }
            let names = permissions.split(separator: ",").map { String($0.trimming(" ")) }
            do {
                let made = try DirectoryAdmin.createKey(
                    store, organization: organization, permissions: names, name: name)
                print(made.key)
                print(
                    "key id \(made.id) for organization \(organization); store it now, it is not shown again (revoke: partnerships token revoke ID)"
                )
            } catch let error as DirectoryAdmin.AdminError {
                throw ValidationError(error.description)
            }
        }
    }

    struct Permissions: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every permission name a key can hold.")
        func run() { DirectoryFamily.permissionNames.forEach { print($0) } }
    }

    struct Demo: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load a demo directory and print KEY=VALUE lines with an all-permissions key.")
        @OptionGroup var location: StoreLocation
        func run() throws {
            let result = try DirectoryAdmin.demo(try location.openExistingStore())
            print("DIRECTORY_KEY=\(result.key)")
            print("DIRECTORY_ID=\(result.directory)")
            print("DIRECTORY_ORGANIZATION=\(result.organization)")
            print("DIRECTORY_SUMMARY=\"\(result.summary)\"")
        }
    }
}
