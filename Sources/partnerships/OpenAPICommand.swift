import APICore
import ArgumentParser
import JSON
import Server

#if canImport(Glibc)
    import Glibc
#endif

/// Writes the OpenAPI document of every family that publishes one. The docs build calls it, so a
/// family that sets `openAPIInfo` appears in the hosted docs with no change to the docs pipeline.
struct OpenAPICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "openapi",
        abstract: "Write one OpenAPI 3.1 document per API family (<family name>.json) into a folder.")

    @Option(help: "Folder to write the documents into (created if missing).") var output: String

    func run() throws {
        guard mkdir(output, 0o755) == 0 || errno == EEXIST else { throw ValidationError("cannot create \(output)") }
        for family in ServerAssembly.families(scoreboardPath: nil, testRoutes: false) {
            guard let document = OpenAPIDocument.build(family) else { continue }
            let unresolved = OpenAPISchema.unresolvedReferences(in: document)
            guard unresolved.isEmpty else {
                throw ValidationError("\(family.name): unresolved $ref \(unresolved.joined(separator: ", "))")
            }
            let path = "\(output)/\(family.name).json"
            try write(document.prettyPrinted() + "\n", to: path)
            print(
                "\(path)  \(document["paths"]?.objectValue?.keys.count ?? 0) paths  \(document["info"]?["title"]?.stringValue ?? "")"
            )
        }
    }

    private func write(_ text: String, to path: String) throws {
        // Temp file + rename: a docs server never sees half a document.
        let temporary = path + ".tmp"
        guard let handle = fopen(temporary, "w") else { throw ValidationError("cannot write \(temporary)") }
        let bytes = Array(text.utf8)
        let written = fwrite(bytes, 1, bytes.count, handle)
        guard fclose(handle) == 0, written == bytes.count, rename(temporary, path) == 0 else {
            throw ValidationError("cannot write \(path)")
        }
    }
}
