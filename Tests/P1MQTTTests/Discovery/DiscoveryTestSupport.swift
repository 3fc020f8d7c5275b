import Foundation
import Mapping
@testable import P1MQTT
import Synchronization
import Testing
import P1MQTTTestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Records everything the publisher sends, in order (a pure in-test MQTT stand-in).
final class DiscoverySink: MessageSink, Sendable {
    struct Sent: Sendable, Hashable {
        var topic: String
        var payload: [UInt8]
        var qos: Int
        var retain: Bool
        var text: String { String(decoding: payload, as: UTF8.self) }
    }

    private let storage = Mutex<[Sent]>([])

    @discardableResult
    func send(topic: String, payload: [UInt8], qos: Int, retain: Bool) -> Bool {
        storage.withLock { $0.append(Sent(topic: topic, payload: payload, qos: qos, retain: retain)) }
        return true
    }

    var sent: [Sent] { storage.withLock { $0 } }

    /// The discovery messages (config topics below the prefix), in order.
    func discoverySent(prefix: String = "homeassistant") -> [Sent] {
        sent.filter { $0.topic.hasPrefix(prefix + "/") && $0.topic.hasSuffix("/config") }
    }

    /// The discovery messages as validator input.
    func discovery(prefix: String = "homeassistant") -> [(topic: String, payload: [UInt8])] {
        discoverySent(prefix: prefix).map { ($0.topic, $0.payload) }
    }
}

/// A telegram file to run through discovery.
struct DiscoveryTelegramFile: Sendable, CustomTestStringConvertible {
    var path: String
    /// The decryption key, for encrypted frames.
    var key: String?
    var name: String { URL(fileURLWithPath: path).lastPathComponent }
    var testDescription: String { name }
}

/// One pure publisher run over a telegram file.
struct DiscoveryRun {
    var sink: DiscoverySink
    var publisher: Publisher
    var configuration: Bridge.Configuration
    var telegrams: [Telegram]
}

enum DiscoveryFixtures {
    /// The package root (this file is Tests/P1MQTTTests/Discovery/DiscoveryTestSupport.swift).
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    static let sharedDirectory = "/work/shared/telegrams"
    /// The key of the synthetic encrypted Smarty frame.
    static let testKey = "000102030405060708090A0B0C0D0E0F"

    static func example(_ name: String) -> String { repository + "/examples/telegrams/" + name }

    static func files(in directory: String, key: (String) -> String? = { _ in nil }) -> [DiscoveryTelegramFile] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".txt") || $0.hasSuffix(".bin") }.sorted().map {
            DiscoveryTelegramFile(path: directory + "/" + $0, key: key($0))
        }
    }

    /// examples/telegrams/*.txt (read at test time, never copied).
    static let exampleFiles = files(in: repository + "/examples/telegrams")
    /// /work/shared/telegrams/*.txt and the encrypted .bin (with its key); empty when the folder is absent.
    static let sharedFiles = files(in: sharedDirectory) { $0.hasSuffix(".bin") ? testKey : nil }
    static var sharedAvailable: Bool { !sharedFiles.isEmpty }

    /// The settings `p1mqtt run --source file:F [--key K] [--base-topic B]` with `homeassistant.mode` would use.
    static func settings(_ file: DiscoveryTelegramFile, mode: DiscoveryOptions.Mode, base: String = "p1mqtt") -> Settings {
        var settings = Settings()
        settings.source = "file:" + file.path
        settings.key = file.key
        settings.discoveryMode = mode
        settings.baseTopic = base
        return settings
    }

    /// Decodes the file and publishes every telegram through a fresh publisher configured exactly as
    /// `p1mqtt run` would be (BridgeFactory), into a recording sink.
    static func publish(_ file: DiscoveryTelegramFile, mode: DiscoveryOptions.Mode, base: String = "p1mqtt") throws -> DiscoveryRun {
        let configuration = try BridgeFactory.configuration(from: settings(file, mode: mode, base: base))
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: file.path)))
        var decoder = TelegramDecoder(options: configuration.decoder)
        let telegrams = decoder.decodeAll(bytes).compactMap { event -> Telegram? in
            if case .telegram(let telegram) = event { return telegram }
            return nil
        }
        let sink = DiscoverySink()
        let publisher = Publisher(options: configuration.publish)
        for (index, telegram) in telegrams.enumerated() {
            publisher.publish(telegram, to: sink, now: Double(index))
        }
        publisher.flush(to: sink)
        if let stats = configuration.publish.statsTopic {
            // The bridge, not the publisher, publishes the stats document its diagnostic entities read; stand in
            // for it so "every state topic receives a value" holds as it does with `p1mqtt run`.
            sink.send(topic: configuration.publish.topics.own(stats), payload: Array(#"{"telegrams":{"rejected":0}}"#.utf8),
                      qos: 0, retain: true)
        }
        return DiscoveryRun(sink: sink, publisher: publisher, configuration: configuration, telegrams: telegrams)
    }

    /// What a broker retains after these messages: the last payload per topic, empty payloads deleting.
    static func retained(_ messages: [(topic: String, payload: [UInt8])]) -> [String: String] {
        var result: [String: String] = [:]
        for message in messages {
            result[message.topic] = message.payload.isEmpty ? nil : String(decoding: message.payload, as: UTF8.self)
        }
        return result
    }

    /// Validator input from broker messages.
    static func messages(_ retained: [String: String]) -> [(topic: String, payload: [UInt8])] {
        retained.sorted { $0.key < $1.key }.map { ($0.key, Array($0.value.utf8)) }
    }

    /// A short description of how two topic → payload maps differ.
    static func difference(_ actual: [String: String], _ expected: [String: String]) -> String {
        let missing = Set(expected.keys).subtracting(actual.keys).sorted()
        let extra = Set(actual.keys).subtracting(expected.keys).sorted()
        let changed = Set(actual.keys).intersection(expected.keys).filter { actual[$0] != expected[$0] }.sorted()
        return "missing \(missing), unexpected \(extra), different payloads \(changed.map { "\($0): got \(actual[$0] ?? "") expected \(expected[$0] ?? "")" })"
    }

    static func decode(_ bytes: [UInt8]) throws -> Telegram {
        try #require(TestTelegrams.decode(bytes).telegrams.first, "the test telegram did not decode")
    }
}

/// Running the real `p1mqtt` against a real broker.
enum DiscoveryProcesses {
    /// `p1mqtt` next to the test bundle (`swift build --build-tests` builds it), `.build/debug/p1mqtt` otherwise.
    static let executable: String = {
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for candidate in [here, here.deletingLastPathComponent(), Bundle.main.bundleURL] {
            let url = candidate.appendingPathComponent("p1mqtt")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url.path }
        }
        return DiscoveryFixtures.repository + "/.build/debug/p1mqtt"
    }()

    static var isAvailable: Bool { BrokerFixture.isAvailable && FileManager.default.isExecutableFile(atPath: executable) }

    static func temporaryDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() + "/p1mqtt-discovery-XXXXXX").utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer -> Bool in
            guard let base = buffer.baseAddress else { return false }
            return mkdtemp(base) != nil
        }
        guard created else { throw ChildProcess.Failure(description: "mkdtemp failed") }
        return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A configuration file selecting device-based discovery, or nil for entity mode (the default).
    static func configArguments(_ mode: DiscoveryOptions.Mode, in directory: String) throws -> [String] {
        guard mode == .device else { return [] }
        let path = directory + "/device-mode.json"
        try #"{"homeassistant": {"mode": "device"}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        return ["--config", path]
    }

    /// Starts `p1mqtt <arguments>` with an empty signal mask.
    static func start(_ arguments: [String], in directory: String, name: String = "p1mqtt") throws -> ChildProcess {
        try ChildProcess(executable: executable, arguments: arguments, directory: directory, name: name)
    }

    /// `p1mqtt run` replaying a file at full speed and exiting at its end; waits for the exit.
    static func replay(_ file: DiscoveryTelegramFile, mode: DiscoveryOptions.Mode, broker: BrokerFixture, base: String? = nil,
                       in directory: String, name: String = "p1mqtt") throws -> ChildProcess {
        var arguments = ["run", "--source", "file:" + file.path, "--rate", "max", "--exit-at-end",
                         "--broker", "127.0.0.1:\(broker.port)"]
        if let key = file.key { arguments += ["--key", key] }
        if let base { arguments += ["--base-topic", base] }
        arguments += try configArguments(mode, in: directory)
        return try start(arguments, in: directory, name: name)
    }

    static func diagnostics(_ child: ChildProcess) -> String {
        "--- p1mqtt stderr ---\n\(child.stderr)--- stdout ---\n\(child.stdout)"
    }

    /// The retained messages a new subscriber to `topic` gets: collects until nothing new arrived for `quiet`
    /// after the first message, or until `timeout` (an empty answer takes the whole timeout).
    static func retained(_ broker: BrokerFixture, topic: String, timeout: Duration = .seconds(3),
                         quiet: Duration = .milliseconds(400)) async throws -> [String: String] {
        try await broker.retained(topic: topic, timeout: timeout, quiet: quiet)
    }

    /// Takes snapshots until two in a row are equal and `condition` holds, or `timeout` passes.
    static func steadyRetained(_ broker: BrokerFixture, topic: String, within timeout: Duration,
                               until condition: ([String: String]) -> Bool) async throws -> [String: String] {
        let deadline = ContinuousClock.now + timeout
        var previous: [String: String]?
        while true {
            let state = try await retained(broker, topic: topic, timeout: .seconds(1), quiet: .milliseconds(300))
            if state == previous && condition(state) { return state }
            if ContinuousClock.now >= deadline { return state }
            previous = state
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Clears a retained message: `mosquitto_pub -r -n` (a zero-length retained payload).
    static func clearRetained(_ topic: String, on broker: BrokerFixture) throws {
        let result = try BrokerFixture.run("/usr/bin/mosquitto_pub", ["-h", "127.0.0.1", "-p", String(broker.port), "-t", topic,
                                                                      "-r", "-n", "-q", "1"])
        guard result.status == 0 else {
            throw BrokerFixture.Failure(description: "mosquitto_pub -r -n \(topic) failed: \(result.output)")
        }
    }
}
