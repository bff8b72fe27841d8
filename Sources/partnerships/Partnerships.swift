import ArgumentParser

@main
struct Partnerships: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partnerships",
        abstract: "The Partnerships API server: a FastCGI worker pool behind nginx, and its admin commands.",
        subcommands: [
            Serve.self, Worker.self, StoreCommand.self, TokenCommand.self, LeadProviderCommand.self,
            DirectoryCommand.self,
            OpenAPICommand.self, RoutesCommand.self,
        ]
    )

    static func main() {
        LogSetup.bootstrap()
        main(nil)
    }
}
