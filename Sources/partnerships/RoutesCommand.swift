import APICore
import ArgumentParser
import Server

/// Every route the workers serve, from the same `Operation` declarations the router and the
/// OpenAPI documents are built from: method, path, family, who may call it, summary.
struct RoutesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "routes",
        abstract: "List every route: method, path, family, required access and summary.")

    @Flag(help: "Include the /_test routes (mounted only with `serve --enable-test-routes`).") var testRoutes = false
    @Option(help: "Only routes of this family (e.g. lead-provider-v3).") var family: String?

    func run() throws {
        var rows: [[String]] = [["METHOD", "PATH", "FAMILY", "ACCESS", "SUMMARY"]]
        for each in ServerAssembly.families(scoreboardPath: nil, testRoutes: testRoutes)
        where family == nil || each.name == family {
            for route in each.routes {
                rows.append([
                    route.method.rawValue, route.pattern, each.name, route.requirement.description,
                    route.doc?.summary ?? "-",
                ])
            }
        }
        guard rows.count > 1 else { throw ValidationError("no family named \(family ?? "")") }
        let widths = (0..<4).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            let padded = (0..<4).map { row[$0] + String(repeating: " ", count: widths[$0] - row[$0].count) }
            print((padded + [row[4]]).joined(separator: "  "))
        }
    }
}
