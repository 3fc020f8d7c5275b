// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "p1mqtt",
    products: [
        .executable(name: "p1mqtt", targets: ["p1mqtt"]),
        .library(name: "P1MQTT", targets: ["P1MQTT"]),
        .library(name: "Mapping", targets: ["Mapping"]),
        .library(name: "P1MQTTWeb", targets: ["P1MQTTWeb"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // The local web page and API: SwiftNIO's HTTP/1 server (its parser, llhttp). Not Hummingbird, which
        // pulls in Foundation through swift-metrics and costs every user ~10 MB of resident memory, web page
        // or not (measured: 24 MB vs 10 MB for a minimal server).
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CMosquitto",
            pkgConfig: "libmosquitto",
            providers: [.apt(["libmosquitto-dev"])]
        ),
        // AES-128-GCM with the 12-byte tag of DLMS frames: swift-crypto refuses tags shorter than 16 bytes,
        // OpenSSL's EVP interface accepts them and is already on every machine that has libmosquitto.
        .systemLibrary(
            name: "COpenSSLCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // SQLite for the local history, from the system (Debian's libsqlite3): GRDB would bring Foundation.
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // glibc's malloc.h (malloc_trim), which the Glibc module leaves out; part of libc, nothing to install.
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),
        .target(name: "Mapping"),
        .target(
            name: "P1MQTT",
            dependencies: [
                "Mapping", "CMosquitto", "COpenSSLCrypto", "CMalloc",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The optional local outputs: web page, REST API, server-sent events, metrics, and the SQLite history.
        .target(
            name: "P1MQTTWeb",
            dependencies: [
                "P1MQTT", "Mapping", "CSQLite",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "p1mqtt",
            dependencies: [
                "P1MQTT", "Mapping", "P1MQTTWeb",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Helpers shared by the test targets: child processes with an empty signal mask, a capturing logger.
        .target(
            name: "P1MQTTTestSupport",
            dependencies: [.product(name: "Logging", package: "swift-log")],
            path: "Tests/P1MQTTTestSupport"
        ),
        .testTarget(name: "MappingTests", dependencies: ["Mapping"]),
        .testTarget(
            name: "P1MQTTTests",
            dependencies: ["P1MQTT", "Mapping", "p1mqtt", "P1MQTTTestSupport", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(name: "p1mqttTests", dependencies: ["p1mqtt", "P1MQTTTestSupport"]),
        .testTarget(
            name: "P1MQTTWebTests",
            dependencies: ["P1MQTTWeb", "P1MQTT", "Mapping", "p1mqtt", "P1MQTTTestSupport",
                           .product(name: "Logging", package: "swift-log")]
        ),
    ]
)
