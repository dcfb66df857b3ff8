// swift-tools-version: 6.1
// Benchmarks live in their own package so that `swift build` / `swift test` of Vigil
// never build the benchmark toolchain. Run: `cd Benchmarks && swift package benchmark`.
import PackageDescription

let package = Package(
    name: "VigilBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "Vigil", path: ".."),
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "Predicates",
            dependencies: [
                .product(name: "VigilLanguage", package: "Vigil"),
                .product(name: "VigilCompiler", package: "Vigil"),
                .product(name: "VigilRuntime", package: "Vigil"),
                .product(name: "Benchmark", package: "package-benchmark"),
            ],
            path: "Benchmarks/Predicates",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
        .executableTarget(
            name: "Matcher",
            dependencies: [
                .product(name: "VigilLanguage", package: "Vigil"),
                .product(name: "VigilCompiler", package: "Vigil"),
                .product(name: "VigilRuntime", package: "Vigil"),
                .product(name: "Benchmark", package: "package-benchmark"),
            ],
            path: "Benchmarks/Matcher",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
        .executableTarget(
            name: "Lake",
            dependencies: [
                .product(name: "VigilLake", package: "Vigil"),
                .product(name: "VigilRuntime", package: "Vigil"),
                .product(name: "Benchmark", package: "package-benchmark"),
            ],
            path: "Benchmarks/Lake",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
        .executableTarget(
            name: "Decode",
            dependencies: [
                .product(name: "VigilRuntime", package: "Vigil"),
                .product(name: "Benchmark", package: "package-benchmark"),
            ],
            path: "Benchmarks/Decode",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
        .executableTarget(
            name: "FrontEnd",
            dependencies: [
                .product(name: "VigilLanguage", package: "Vigil"),
                .product(name: "Benchmark", package: "package-benchmark"),
            ],
            path: "Benchmarks/FrontEnd",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
    ]
)
