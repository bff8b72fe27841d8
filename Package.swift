// swift-tools-version:6.0
import PackageDescription

// The commit `partnerships --version` names: the deploy scripts set PARTNERSHIPS_BUILD_COMMIT (git
// describe) for their builds; any other build says the commit is unknown rather than guess it.
let buildCommit = (Context.environment["PARTNERSHIPS_BUILD_COMMIT"] ?? "").filter {
    $0.isASCII && ($0.isLetter || $0.isNumber || "-._+".contains($0))
}

let package = Package(
    name: "Partnerships",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "partnerships", targets: ["partnerships"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.12.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
    ],
    targets: [
        // libfcgi through its Debian package; the shim includes fcgiapp.h only (never fcgi_stdio.h).
        .systemLibrary(name: "CFastCGI", pkgConfig: "fcgi", providers: [.apt(["libfcgi-dev"])]),
        // SHA-256, constant-time compare and random bytes from libcrypto (tokens are stored hashed).
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // zlib's crc32 (slice-by-N; the store checksums every line it writes and reads).
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // libpq, PostgreSQL's C client, through its Debian package: synchronous calls suit the
        // single-threaded workers (one connection each), as libfcgi does.
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // ppoll and friends: GNU extensions Swift's Glibc module does not export.
        .target(name: "CSystemShims", cSettings: [.define("PARTNERSHIPS_BUILD_COMMIT", to: "\"\(buildCommit)\"")]),
        // swift-log's LogHandler for the server's log: one JSON object per line, one write(2) each,
        // on a file SIGUSR1 reopens. Nothing project-specific.
        .target(name: "JSONLogging", dependencies: [.product(name: "Logging", package: "swift-log")]),
        // The server's settings, resolved once: flag > PARTNERSHIPS_* variable > config file > default.
        .target(name: "Settings"),
        // A JSON value with its own parser and serializer: the wire format and the store format.
        .target(name: "JSON"),
        // libfcgi accept loop, request reading with a body cap, CGI response writing.
        .target(name: "FastCGI", dependencies: ["CFastCGI", .product(name: "HTTPTypes", package: "swift-http-types")]),
        // Transport-free HTTP: request/response values, router, query parsing, errors. Methods,
        // statuses and header fields are swift-http-types', under typealiases (Sources/HTTP/Message.swift).
        .target(name: "HTTP", dependencies: ["JSON", .product(name: "HTTPTypes", package: "swift-http-types")]),
        // The supervisor: socket binding, worker processes, signals, scoreboard.
        .target(name: "WorkerPool", dependencies: ["CSystemShims", .product(name: "Logging", package: "swift-log")]),
        // A small synchronous PostgreSQL client over libpq: prepared statements, text parameters,
        // SQLSTATE errors, reconnection. Knows nothing of the store.
        .target(name: "Postgres", dependencies: ["CLibPQ"]),
        // The store's engine on PostgreSQL: records, index entries, sequences and a change counter in
        // tables any number of hosts share, writes serialized by one advisory lock.
        .target(name: "PostgresStore", dependencies: ["Postgres", "Store", "JSON"]),
        // The file-locked JSON store: immutable data files read through mmap, a binary hint file per
        // data file (ids, offsets, index keys), an fsynced journal, all shared by every worker.
        .target(
            name: "Store",
            dependencies: ["JSON", "CSystemShims", "CZlib", .product(name: "Logging", package: "swift-log")]),
        // What every API family shares: request context, family protocol, auth, pagination, schemas.
        .target(
            name: "APICore",
            dependencies: ["HTTP", "JSON", "Store", "COpenSSL", .product(name: "Logging", package: "swift-log")]),
        // Lead Provider API v3 (seed 001).
        .target(
            name: "LeadProviderAPI",
            dependencies: ["APICore", "HTTP", "JSON", "Store", .product(name: "Logging", package: "swift-log")]),
        // Partners API v1 (seed 000).
        .target(
            name: "PartnersAPI",
            dependencies: ["APICore", "HTTP", "JSON", "Store", .product(name: "Logging", package: "swift-log")]),
        // Directory API (seed 002).
        .target(
            name: "DirectoryAPI",
            dependencies: ["APICore", "HTTP", "JSON", "Store", .product(name: "Logging", package: "swift-log")]),
        // Glue of one worker: FastCGI request -> HTTP router -> handlers -> response.
        .target(
            name: "Server",
            dependencies: [
                "FastCGI", "HTTP", "JSON", "WorkerPool", "Store", "PostgresStore", "APICore", "LeadProviderAPI",
                "PartnersAPI", "DirectoryAPI",
                .product(name: "Logging", package: "swift-log"),
            ]),
        // One progress line on a terminal for long commands (count, rate, time left); quiet otherwise.
        .target(
            name: "TerminalProgress", dependencies: [.product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "partnerships",
            dependencies: [
                "Server", "WorkerPool", "Store", "PostgresStore", "JSON", "APICore", "LeadProviderAPI", "PartnersAPI",
                "CSystemShims",
                "DirectoryAPI", "JSONLogging", "Settings",
                "TerminalProgress", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // The benchmarks (`store benchmark`, `bench-seed` for deploy/loadtest): their own executable,
        // not in the production binary. Built with `swift build --product partnerships-bench`.
        .executableTarget(
            name: "partnerships-bench",
            dependencies: [
                "Server", "WorkerPool", "Store", "JSON", "APICore", "LeadProviderAPI", "TerminalProgress",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ], path: "Benchmarks/PartnershipsBench"),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(name: "SettingsTests", dependencies: ["Settings"]),
        .testTarget(
            name: "JSONLoggingTests",
            dependencies: ["JSONLogging", "JSON", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "HTTPTests", dependencies: ["HTTP", "JSON"]),
        // Against a real server, found through PARTNERSHIPS_TEST_POSTGRES_URL (deploy/test starts one).
        .testTarget(name: "PostgresTests", dependencies: ["Postgres"]),
        .testTarget(name: "PostgresStoreTests", dependencies: ["PostgresStore", "Postgres", "Store", "JSON"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "JSON", "store-torture"], exclude: ["Fixtures"]),
        // A writer process the store tests start, kill and race against each other.
        .executableTarget(name: "store-torture", dependencies: ["Store", "JSON"], path: "Tests/StoreTorture"),
        .testTarget(
            name: "WorkerPoolTests",
            dependencies: ["WorkerPool", "FastCGI", .product(name: "HTTPTypes", package: "swift-http-types")]),
        .testTarget(name: "APICoreTests", dependencies: ["APICore", "JSON", "Store", "HTTP"]),
        // The whole application in-process (temporary store, tokens, requests): each family's rules in milliseconds.
        .target(
            name: "TestClient", dependencies: ["Server", "APICore", "HTTP", "JSON", "Store"], path: "Tests/TestClient"),
        .testTarget(
            name: "LeadProviderAPITests",
            dependencies: ["LeadProviderAPI", "PartnersAPI", "APICore", "HTTP", "JSON", "Store", "TestClient"]),
        .testTarget(
            name: "PartnersAPITests",
            dependencies: ["PartnersAPI", "LeadProviderAPI", "APICore", "HTTP", "JSON", "TestClient"]),
        .testTarget(
            name: "DirectoryAPITests", dependencies: ["DirectoryAPI", "APICore", "HTTP", "JSON", "Store", "TestClient"]),
        .testTarget(
            name: "ServerTests", dependencies: ["Server", "APICore", "HTTP", "JSON", "Store", "FastCGI", "PostgresStore"]),
    ]
)
