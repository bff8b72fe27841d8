import ArgumentParser
import WorkerPool

@main
struct Partnerships: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partnerships",
        abstract: "The Partnerships API server: a FastCGI worker pool behind nginx, and its admin commands.",
        version: BuildInfo.description,
        subcommands: [
            Serve.self, Worker.self, StoreCommand.self, TokenCommand.self, LeadProviderCommand.self,
            DirectoryCommand.self,
            OpenAPICommand.self, RoutesCommand.self, VersionCommand.self,
        ]
    )

    static func main() {
        LogSetup.bootstrap()
        main(nil)
    }
}

/// `partnerships version`: the same line as `partnerships --version`.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Print the version and the git commit this binary was built from (unknown unless the build was told)."
    )

    func run() { print(BuildInfo.description) }
}
