// swift-tools-version:6.1
import PackageDescription

// Every target compiles in Swift 6 mode with complete concurrency checking and these upcoming features.
let strictSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let grdb: Target.Dependency = .product(name: "GRDB", package: "GRDB.swift")
let log: Target.Dependency = .product(name: "Logging", package: "swift-log")
let lifecycle: Target.Dependency = .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let crypto: Target.Dependency = .product(name: "Crypto", package: "swift-crypto")
let postgres: Target.Dependency = .product(name: "PostgresNIO", package: "postgres-nio")
let tracing: Target.Dependency = .product(name: "Tracing", package: "swift-distributed-tracing")
let allLibraries: [Target.Dependency] = [
    "ReportsSupport", "Transport", "Security", "Rendering", "Upstream", "Atlassian", "Microsoft", "JobQueue",
    "Reports", "SQLiteBackend", "PostgresBackend", "ServiceSetup", "ReportsAPI", "StorageBackends",
]

let testProducts: [Target.Dependency] = [
    grdb, log, lifecycle, crypto,
    .product(name: "JWTKit", package: "jwt-kit"),
    .product(name: "Hummingbird", package: "hummingbird"),
    .product(name: "HummingbirdTesting", package: "hummingbird"),
    .product(name: "HTTPTypes", package: "swift-http-types"),
    postgres,
]

let package = Package(
    name: "onenote-reports",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "enqueuer", targets: ["Enqueuer"]),
        .executable(name: "worker", targets: ["Worker"]),
        .executable(name: "sandbox", targets: ["Sandbox"]),
        .executable(name: "queue-bench", targets: ["QueueBench"]),
        .executable(name: "fit-bench", targets: ["FITBench"]),
        .executable(name: "hello-bench", targets: ["HelloBench"]),
        .executable(name: "render-bench", targets: ["RenderBench"]),
        .executable(name: "snapshot-bench", targets: ["SnapshotBench"]),
        .executable(name: "transport-bench", targets: ["TransportBench"]),
        .executable(name: "reports-fuzz", targets: ["ReportsFuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.8.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        // Only the OTLP/HTTP exporter: the gRPC one would add grpc-swift to every build for nothing.
        .package(url: "https://github.com/swift-otel/swift-otel", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        // Sources/Shared holds one library target per concern; dependencies point one way (the module
        // graph is drawn in docs/architecture.md). Executables only parse arguments and wire these up.
        .target(
            name: "ReportsSupport", dependencies: [log], path: "Sources/Shared/ReportsSupport",
            swiftSettings: strictSettings),
        // libcurl for the outbound transport (Debian's libcurl4-openssl-dev; `make deps` installs it).
        .systemLibrary(name: "CCurl", path: "Sources/Shared/CCurl"),
        .target(
            name: "Transport", dependencies: ["ReportsSupport", "CCurl", tracing], path: "Sources/Shared/Transport",
            swiftSettings: strictSettings),
        .target(
            name: "Security",
            dependencies: ["ReportsSupport", "Transport", log, crypto, .product(name: "JWTKit", package: "jwt-kit")],
            path: "Sources/Shared/Security", swiftSettings: strictSettings
        ),
        .target(
            name: "Upstream", dependencies: ["ReportsSupport", "Transport", "Security"],
            path: "Sources/Shared/Upstream", swiftSettings: strictSettings
        ),
        .target(
            name: "Atlassian", dependencies: ["Upstream", "Transport", "Security", "ReportsSupport"],
            path: "Sources/Shared/Atlassian", swiftSettings: strictSettings
        ),
        // What a report shows, built from Jira's issues, for any destination to write.
        .target(
            name: "Rendering", dependencies: ["Atlassian"], path: "Sources/Shared/Rendering",
            swiftSettings: strictSettings),
        .target(
            name: "Microsoft",
            dependencies: [
                "Reports", "JobQueue", "Upstream", "Transport", "Security", "Rendering", "ReportsSupport", log,
                lifecycle, tracing,
            ],
            path: "Sources/Shared/Microsoft", swiftSettings: strictSettings
        ),
        .target(
            name: "JobQueue", dependencies: ["ReportsSupport", log, lifecycle, tracing],
            path: "Sources/Shared/JobQueue", swiftSettings: strictSettings
        ),
        .target(
            name: "Reports",
            dependencies: [
                "ReportsSupport", "JobQueue", "Security", "Upstream", "Atlassian", "Rendering", log, crypto, lifecycle,
                tracing,
            ],
            path: "Sources/Shared/Reports", swiftSettings: strictSettings
        ),
        // One module per storage backend: its schema and migrations (Database/), the job queue on it
        // (Queue/) and the stores behind Reports' protocols (Stores/).
        .target(
            name: "SQLiteBackend",
            dependencies: [
                "Reports", "JobQueue", "Security", "Upstream", "Atlassian", "Microsoft", "Rendering", "ReportsSupport",
                grdb, log, lifecycle, crypto,
            ],
            path: "Sources/Shared/SQLiteBackend", swiftSettings: strictSettings
        ),
        .target(
            name: "PostgresBackend",
            dependencies: [
                "Reports", "JobQueue", "Security", "Atlassian", "Microsoft", "Rendering", "ReportsSupport", postgres,
                log, lifecycle, crypto,
            ],
            path: "Sources/Shared/PostgresBackend", swiftSettings: strictSettings
        ),
        // Spans leave the process over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set (docs/tracing.md).
        .target(
            name: "Telemetry",
            dependencies: [log, lifecycle, tracing, .product(name: "OTel", package: "swift-otel")],
            path: "Sources/Shared/Telemetry", swiftSettings: strictSettings
        ),
        .target(
            name: "ServiceSetup",
            dependencies: [
                "ReportsSupport", "Transport", "Reports", "Telemetry", log, lifecycle,
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ],
            path: "Sources/Shared/ServiceSetup", swiftSettings: strictSettings
        ),
        // The one place that picks the storage backend from REPORTS_DATABASE for the executables.
        .target(
            name: "StorageBackends",
            dependencies: [
                "ServiceSetup", "Reports", "SQLiteBackend", "PostgresBackend", "JobQueue", "Microsoft", "Security",
                "ReportsSupport",
                log, lifecycle, grdb, postgres,
            ],
            path: "Sources/Shared/StorageBackends", swiftSettings: strictSettings
        ),
        .target(
            name: "ReportsAPI",
            dependencies: [
                "Reports", "JobQueue", "Security", "Upstream", "Atlassian", "Microsoft", "Rendering", "Transport",
                "ReportsSupport",
                log,
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                tracing,
            ],
            path: "Sources/Shared/ReportsAPI", swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "Enqueuer",
            dependencies: [
                "ReportsAPI", "Reports", "ServiceSetup", "StorageBackends", "JobQueue",
                "Security", "Transport", "Upstream", "Atlassian", "Microsoft", "ReportsSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "Worker",
            dependencies: [
                "Reports", "ServiceSetup", "StorageBackends", "JobQueue", "Security", "Upstream",
                "Atlassian", "Microsoft",
                "Transport", "ReportsSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictSettings
        ),
        // Local stand-ins for Atlassian and Microsoft: the demo and the end-to-end tests run against it.
        .executableTarget(
            name: "Sandbox",
            dependencies: [
                "Security", "Transport", "ReportsSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // Benchmarks live apart from the tests: `swift run -c release queue-bench`.
        .executableTarget(
            name: "QueueBench",
            dependencies: [
                "JobQueue", "SQLiteBackend", "PostgresBackend", "ReportsSupport",
                postgres,
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Benchmarks/QueueBench",
            exclude: ["pg-baseline.sql", "pg-same-statements.c"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "FITBench",
            dependencies: [
                "Security", "Transport", log,
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            path: "Benchmarks/FITBench",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "TransportBench",
            dependencies: ["Transport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Benchmarks/TransportBench",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "RenderBench",
            dependencies: ["Rendering", "Atlassian", "Microsoft"],
            path: "Benchmarks/RenderBench",
            swiftSettings: strictSettings
        ),
        // Links the test helpers for their stores over a fresh SQLite file and a throwaway PostgreSQL.
        .executableTarget(
            name: "SnapshotBench",
            dependencies: ["JobQueue", "Rendering", "Reports", "ReportsTesting", "TestSupport"],
            path: "Benchmarks/SnapshotBench",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "HelloBench",
            dependencies: [.product(name: "Hummingbird", package: "hummingbird")],
            path: "Benchmarks/HelloBench",
            swiftSettings: strictSettings
        ),
        // Fuzz targets: `make fuzz` builds this with libFuzzer and ASan; a plain build replays
        // the committed corpora (Fuzz/Corpus) through the same invariants.
        .target(name: "CFuzzDriver", path: "Fuzz/CFuzzDriver"),
        .executableTarget(
            name: "ReportsFuzz",
            dependencies: allLibraries + ["CFuzzDriver", .product(name: "Crypto", package: "swift-crypto"), grdb],
            path: "Fuzz/ReportsFuzz",
            swiftSettings: strictSettings
        ),
        // Test helpers as libraries (like HummingbirdTesting), each linking only what it needs, so a
        // test target links what it tests and the helpers it uses. TestSupport: temporary directories,
        // a test clock, waiting with a deadline, child processes, loopback ports and networks.
        .target(
            name: "TestSupport",
            dependencies: [
                "ReportsSupport", log, .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            path: "Tests/TestSupport", swiftSettings: strictSettings),
        // A migrated SQLite file with its queue, jobs to enqueue, a worker runtime in a ServiceGroup.
        .target(
            name: "QueueTesting", dependencies: ["TestSupport", "JobQueue", "SQLiteBackend", lifecycle],
            path: "Tests/QueueTesting", swiftSettings: strictSettings),
        // A throwaway PostgreSQL cluster (initdb on loopback) shared by a test run.
        .target(
            name: "PostgresTesting", dependencies: ["PostgresBackend", log], path: "Tests/PostgresTesting",
            swiftSettings: strictSettings),
        // The whole stack's fixtures: reports over either backend, the in-process API harness and the
        // real-process stack.
        .target(
            name: "ReportsTesting",
            dependencies: allLibraries + testProducts + [
                "ReportsTestDoubles", "SecurityTesting", "TestSupport", "QueueTesting", "PostgresTesting",
            ],
            path: "Tests/ReportsTesting", swiftSettings: strictSettings
        ),
        // Security's fixtures (FITs, vault and state ciphertexts made in Python, a JWKS server on
        // loopback) and seeded randomness: what the unit tests of Security link.
        .target(
            name: "SecurityTesting",
            dependencies: [
                "Security", "Transport", log, .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            path: "Tests/SecurityTesting", swiftSettings: strictSettings
        ),
        // The domain's test doubles (in-memory stores, a recording destination): what the unit tests of
        // Reports link instead of the whole stack.
        .target(
            name: "ReportsTestDoubles",
            dependencies: ["Reports", "JobQueue", "Rendering", "Security", "Transport", crypto],
            path: "Tests/ReportsTestDoubles", swiftSettings: strictSettings
        ),
        // Unit tests per module (run in parallel), the conformance suite written against the queue and
        // store operations (serialised: lease and heartbeat timing), and the real-process tests
        // (serialised). `make test` runs all three groups.
        testTarget(
            "TransportTests",
            [
                "Atlassian", "Microsoft", "Security", "TestSupport", "Transport", "Upstream",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]),
        testTarget("SecurityTests", ["Security", "SecurityTesting", crypto]),
        testTarget(
            "ReportsTests",
            [
                "Atlassian", "JobQueue", "Microsoft", "Rendering", "Reports", "ReportsSupport", "ReportsTestDoubles",
                "Security", "Transport", "Upstream", log,
            ]),
        testTarget("RenderingTests", ["Atlassian", "Rendering"]),
        testTarget(
            "JobQueueTests",
            [
                "JobQueue", "QueueTesting", "ReportsSupport", "SecurityTesting", "SQLiteBackend", "ServiceSetup",
                "TestSupport", lifecycle, log,
            ]),
        testTarget(
            "UpstreamTests",
            [
                "Atlassian", "Microsoft", "QueueTesting", "Rendering", "Reports", "ReportsSupport", "SQLiteBackend",
                "Sandbox", "Security", "TestSupport", "Transport", "Upstream",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"), crypto,
            ]),
        testTarget(
            "SQLiteBackendTests",
            [
                "JobQueue", "QueueTesting", "Reports", "ReportsSupport", "ReportsTesting", "Security",
                "SecurityTesting", "ServiceSetup", "SQLiteBackend", "TestSupport", crypto, grdb,
            ]),
        // A report run end to end in one process on both backends: the handler, the OneNote
        // destination and the API over the sandbox on loopback.
        testTarget(
            "PipelineTests",
            [
                "Atlassian", "Enqueuer", "JobQueue", "Microsoft", "PostgresBackend", "PostgresTesting", "QueueTesting",
                "Rendering", "Reports", "ReportsAPI", "ReportsSupport", "ReportsTesting", "SQLiteBackend", "Sandbox",
                "Security", "TestSupport", "Transport", "Upstream",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"), crypto, grdb, lifecycle, log, postgres,
            ]),
        testTarget(
            "ReportsAPITests",
            [
                "Enqueuer", "JobQueue", "Microsoft", "Rendering", "Reports", "ReportsAPI", "ReportsSupport",
                "ReportsTesting", "SecurityTesting", "SQLiteBackend", "Security", "TestSupport", "Transport",
                "Upstream",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"), crypto, grdb, log,
            ]),
        testTarget(
            "PostgresBackendTests",
            [
                "PostgresBackend", "PostgresTesting", "ReportsSupport", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), log, postgres,
            ]),
        testTarget(
            "ConformanceTests",
            [
                "Atlassian", "JobQueue", "Microsoft", "QueueTesting", "Rendering", "Reports", "ReportsSupport",
                "ReportsTesting",
                "SQLiteBackend", "Sandbox", "Security", "TestSupport", "Transport", "Upstream",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"), crypto, grdb, log,
            ]),
        // The tree itself: the architecture drawing against Package.swift, comments against the code.
        .testTarget(name: "SourceTreeTests", swiftSettings: strictSettings),
        testTarget(
            "IntegrationTests",
            [
                "JobQueue", "Microsoft", "PostgresBackend", "PostgresTesting", "QueueTesting", "Reports",
                "ReportsSupport", "ReportsTesting", "SecurityTesting", "SQLiteBackend", "Security", "ServiceSetup",
                "TestSupport", "Transport", "Worker",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"), crypto, grdb, log,
            ]),
    ]
)

/// A test target links what it tests (the modules it imports, an executable when it starts its entry
/// point in-process) and the test helpers, not everything.
func testTarget(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .testTarget(name: name, dependencies: dependencies, swiftSettings: strictSettings)
}
