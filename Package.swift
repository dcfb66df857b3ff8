// swift-tools-version: 6.1
import PackageDescription

// The modules on the per-event path. Their state lives in stored properties and
// captured locals that Swift checks for exclusive access at run time on every access
// (AccessSet::insert, begin/endAccess and the TLS lookup behind them: ~5 % of a run in
// perf). Release builds turn the run-time checks off; the compiler's static checks
// still apply, and debug builds (the test suite) keep the run-time ones.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "Vigil",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "vigil", targets: ["vigil"]),
        .library(name: "VigilLanguage", targets: ["VigilLanguage"]),
        .library(name: "VigilCompiler", targets: ["VigilCompiler"]),
        .library(name: "VigilRuntime", targets: ["VigilRuntime"]),
        .library(name: "VigilLake", targets: ["VigilLake"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.20.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.60.0"),
    ],
    targets: [
        // Debian's libpcre2-dev, found through pkg-config `libpcre2-8`.
        .systemLibrary(
            name: "CPCRE2",
            pkgConfig: "libpcre2-8",
            providers: [.apt(["libpcre2-dev"])]
        ),
        // Debian's libzstd-dev: ZSTD compression of Parquet pages.
        .systemLibrary(
            name: "CZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]
        ),
        // Debian's libsnappy-dev: SNAPPY compression of Parquet pages, when chosen.
        .systemLibrary(
            name: "CSnappy",
            pkgConfig: "snappy",
            providers: [.apt(["libsnappy-dev"])]
        ),
        // The one place that talks to PCRE2: the front end uses it to reject bad
        // regexes at check time, the runtime to match. Keeping it apart lets the
        // runtime match regexes without importing the language front end.
        .target(name: "VigilRegex", dependencies: ["CPCRE2"]),
        // Text primitives the front end and the runtime share (UTF-8 validation, JSON
        // string quoting), so neither has to import the other.
        .target(name: "VigilText"),
        .target(name: "VigilLanguage", dependencies: ["VigilRegex", "VigilText"]),
        // `__builtin_prefetch` for the runtime's reorder buffer (Swift has none).
        .target(name: "CPrefetch"),
        .target(name: "VigilRuntime", dependencies: ["VigilRegex", "VigilText", "CPrefetch"], swiftSettings: hotPath),
        .target(name: "VigilCompiler", dependencies: ["VigilLanguage", "VigilRuntime"]),
        .target(name: "VigilLake", dependencies: ["VigilRuntime", "VigilText", "VigilConnectors", "CZstd", "CSnappy"]),
        .target(name: "VigilConnectors", dependencies: ["VigilRuntime"], swiftSettings: hotPath),
        // Alert dispatch: channels (stdout, files with rotation, webhooks), routing,
        // the on-disk spool and retries. The only module that talks HTTP.
        .target(
            name: "VigilDispatch",
            dependencies: ["VigilRuntime", "VigilText", "VigilConnectors",
                           .product(name: "AsyncHTTPClient", package: "async-http-client"),
                           .product(name: "Yams", package: "Yams")],
            swiftSettings: hotPath
        ),
        // `vigil test`: rule test files (YAML), the runner, diffs and explanations.
        .target(
            name: "VigilTesting",
            dependencies: ["VigilLanguage", "VigilCompiler", "VigilRuntime", "VigilConnectors", "VigilLake", "VigilText",
                           .product(name: "Yams", package: "Yams")]
        ),
        .executableTarget(
            name: "vigil",
            dependencies: [
                "VigilLanguage", "VigilCompiler", "VigilRuntime", "VigilConnectors", "VigilTesting", "VigilDispatch", "VigilLake",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // The run loop's state lives in locals its nested functions capture, which
            // Swift checks for exclusive access at run time on every event (~2 % of a
            // run in perf). The compiler's static checks still apply.
            swiftSettings: hotPath
        ),
        .testTarget(name: "VigilLanguageTests", dependencies: ["VigilLanguage"], exclude: ["Diagnostics"]),
        .testTarget(
            name: "VigilCompilerTests",
            dependencies: ["VigilLanguage", "VigilCompiler", "VigilRuntime"],
            exclude: ["Dumps"]
        ),
        .testTarget(
            name: "VigilRuntimeTests",
            dependencies: ["VigilLanguage", "VigilCompiler", "VigilRuntime", "VigilText"],
            exclude: ["Behaviour"]
        ),
        .testTarget(name: "VigilTestingTests", dependencies: ["VigilTesting", "VigilRuntime"], exclude: ["Cases"]),
        .testTarget(
            name: "VigilDispatchTests",
            dependencies: ["VigilDispatch", "VigilRuntime", "vigil",
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "NIOHTTP1", package: "swift-nio")]
        ),
        .testTarget(name: "VigilLakeTests", dependencies: ["VigilLake", "VigilRuntime"], exclude: ["delta-log.golden"]),
        .testTarget(name: "VigilCLITests", dependencies: ["VigilLanguage", "vigil"]),
        .testTarget(name: "VigilConnectorsTests", dependencies: ["VigilConnectors"]),
    ]
)
