import ArgumentParser

/// The benchmarks, kept out of the production binary `partnerships`: the store's own figures and
/// the load test's seed. Same command names as when they were `partnerships` subcommands.
@main
struct PartnershipsBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partnerships-bench",
        abstract: "Benchmarks of the Partnerships server: store figures and the load test's seed (not for serving).",
        subcommands: [StoreCommand.self, BenchSeedCommand.self]
    )
}

/// `partnerships-bench store benchmark` (and the hidden `store benchmark-writer` it starts as child
/// processes); the admin commands of `partnerships store` stay in the production binary.
struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Measure the JSON store (not a test).",
        subcommands: [Benchmark.self, BenchmarkWriter.self, SwitchBenchmark.self]
    )
}
