import Foundation
import Mapping
@testable import P1MQTT
import Testing
import P1MQTTTestSupport

/// Every telegram replayed by the real `p1mqtt run` into a real mosquitto: the retained discovery is valid for
/// Home Assistant and is exactly what the publisher produces in-process.
@Suite("Discovery: every telegram through a real broker",
       .enabled(if: DiscoveryProcesses.isAvailable, "needs mosquitto, mosquitto-clients and the built p1mqtt"))
struct DiscoveryBrokerValidationTests {
    @Test("examples/telegrams, entity and device mode", .timeLimit(.minutes(1)), arguments: DiscoveryFixtures.exampleFiles)
    func exampleTelegram(_ file: DiscoveryTelegramFile) async throws {
        for mode in DiscoveryOptions.Mode.allCases { try await Self.check(file, mode) }
    }

    @Test("shared telegrams, entity and device mode", .timeLimit(.minutes(1)),
          .enabled(if: DiscoveryFixtures.sharedAvailable, "needs /work/shared/telegrams"), arguments: DiscoveryFixtures.sharedFiles)
    func sharedTelegram(_ file: DiscoveryTelegramFile) async throws {
        for mode in DiscoveryOptions.Mode.allCases { try await Self.check(file, mode) }
    }

    static func check(_ file: DiscoveryTelegramFile, _ mode: DiscoveryOptions.Mode) async throws {
        let broker = try BrokerFixture()
        defer { broker.stop() }
        let directory = try DiscoveryProcesses.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let child = try DiscoveryProcesses.replay(file, mode: mode, broker: broker, in: directory)
        let termination = await child.waitForExit(timeout: .seconds(20))
        if termination == nil { await child.killAndWait() }
        try #require(termination == .exited(0), "\(file.name) \(mode): \(DiscoveryProcesses.diagnostics(child))")

        let expected = DiscoveryFixtures.retained(try DiscoveryFixtures.publish(file, mode: mode).sink.discovery())
        let retained = try await DiscoveryProcesses.retained(broker, topic: "homeassistant/#")
        let errors = HADiscoveryValidator().errors(DiscoveryFixtures.messages(retained))
        #expect(errors == [], "\(file.name), \(mode) mode, from the broker:\n\(errors.joined(separator: "\n"))")
        #expect(!retained.isEmpty)
        let complete = retained == expected
        #expect(complete, "\(file.name) \(mode): the broker does not retain exactly what p1mqtt publishes: \(DiscoveryFixtures.difference(retained, expected))\n\(DiscoveryProcesses.diagnostics(child))")
    }
}

/// Birth message, broker restart and two meters on one broker, with the real executable.
@Suite("Discovery: Home Assistant restarts, broker restarts, two meters", .serialized,
       .enabled(if: DiscoveryProcesses.isAvailable, "needs mosquitto, mosquitto-clients and the built p1mqtt"))
struct DiscoveryBrokerBehaviourTests {
    /// p1mqtt with the simulator, every value published once (a 1 h minimum interval), so anything that comes
    /// back later was re-published on purpose, not by the next telegram.
    static func startSimulator(_ broker: BrokerFixture, in directory: String) throws -> ChildProcess {
        try DiscoveryProcesses.start(["run", "--source", "simulator", "--broker", "127.0.0.1:\(broker.port)",
                                      "--min-interval", "3600"], in: directory)
    }

    /// Waits until the retained discovery and states are steady; returns (configs, states without the
    /// telegram JSON and the status).
    static func steadyState(_ broker: BrokerFixture, _ child: ChildProcess) async throws -> (configs: [String: String], states: [String: String]) {
        let configs = try await DiscoveryProcesses.steadyRetained(broker, topic: "homeassistant/#", within: .seconds(15)) {
            $0.count >= 10
        }
        try #require(configs.count >= 10, "no discovery retained: \(configs.keys.sorted())\n\(DiscoveryProcesses.diagnostics(child))")
        let all = try await DiscoveryProcesses.steadyRetained(broker, topic: "p1mqtt/#", within: .seconds(10)) {
            $0["p1mqtt/status"] == "online" && $0.count >= 10
        }
        #expect(all["p1mqtt/status"] == "online")
        let states = all.filter { $0.key != "p1mqtt/telegram" && $0.key != "p1mqtt/status" }
        try #require(!states.isEmpty)
        #expect(HADiscoveryValidator().errors(DiscoveryFixtures.messages(configs)) == [])
        return (configs, states)
    }

    @Test("after HA's birth message, cleared configs and states are published again within 5 s", .timeLimit(.minutes(1)))
    func birthMessage() async throws {
        let broker = try BrokerFixture()
        defer { broker.stop() }
        let directory = try DiscoveryProcesses.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let child = try Self.startSimulator(broker, in: directory)
        let (configs, states) = try await Self.steadyState(broker, child)
        let sensorConfigs = configs.filter { $0.key.hasPrefix("homeassistant/sensor/") }
        try #require(!sensorConfigs.isEmpty)

        // Home Assistant lost its entities (and the retained copies are gone too).
        for topic in sensorConfigs.keys.sorted() + states.keys.sorted() { try DiscoveryProcesses.clearRetained(topic, on: broker) }
        let cleared = try await DiscoveryProcesses.retained(broker, topic: "#", timeout: .seconds(2))
        let lingering = Set(cleared.keys).intersection(sensorConfigs.keys).union(Set(cleared.keys).intersection(states.keys))
        try #require(lingering.isEmpty, "not cleared: \(lingering.sorted())")

        // Nothing comes back on its own.
        try await Task.sleep(for: .milliseconds(1500))
        let unprompted = try await DiscoveryProcesses.retained(broker, topic: "#", timeout: .seconds(1))
        let back = Set(unprompted.keys).intersection(Set(sensorConfigs.keys).union(states.keys))
        #expect(back.isEmpty, "re-published without a birth message: \(back.sorted())")

        // Home Assistant announces itself (not retained).
        let subscriber = try broker.startSubscriber(topic: "#", count: 1_000_000)
        try await Task.sleep(for: .milliseconds(300))
        let birth = ContinuousClock.now
        try broker.publish(topic: "homeassistant/status", message: "online", retain: false)
        var firstConfig: Duration?
        var seen: [String: String] = [:]
        while ContinuousClock.now - birth < .seconds(5) {
            for message in subscriber.messages { seen[message.topic] = message.payload }
            if firstConfig == nil, !Set(seen.keys).isDisjoint(with: sensorConfigs.keys) { firstConfig = ContinuousClock.now - birth }
            if sensorConfigs.allSatisfy({ seen[$0.key] == $0.value }) && states.keys.allSatisfy({ seen[$0] != nil }) { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        _ = await subscriber.waitForExit(timeout: .zero)
        let missingConfigs = sensorConfigs.filter { seen[$0.key] != $0.value }.keys.sorted()
        let missingStates = states.keys.filter { seen[$0] == nil }.sorted()
        #expect(missingConfigs.isEmpty, "configs not re-published within 5 s: \(missingConfigs)\n\(DiscoveryProcesses.diagnostics(child))")
        #expect(missingStates.isEmpty, "states not re-published within 5 s: \(missingStates)")
        if let firstConfig {
            #expect(firstConfig >= .milliseconds(800), "re-published \(firstConfig) after the birth message; p1mqtt should wait 1–3 s")
        }

        // And they are retained again.
        let after = try await DiscoveryProcesses.retained(broker, topic: "homeassistant/sensor/#")
        #expect(sensorConfigs.allSatisfy { after[$0.key] == $0.value })
        await child.killAndWait()
    }

    @Test("after a broker restart without persistence, discovery and states are back within 10 s", .timeLimit(.minutes(1)))
    func brokerRestart() async throws {
        let broker = try BrokerFixture()
        defer { broker.stop() }
        let directory = try DiscoveryProcesses.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let child = try Self.startSimulator(broker, in: directory)
        let (configs, states) = try await Self.steadyState(broker, child)

        try broker.restart()
        let restarted = ContinuousClock.now
        let subscriber = try broker.startSubscriber(topic: "#", count: 1_000_000)
        var seen: [String: String] = [:]
        while ContinuousClock.now - restarted < .seconds(10) {
            for message in subscriber.messages { seen[message.topic] = message.payload }
            if configs.allSatisfy({ seen[$0.key] == $0.value }) && states.keys.allSatisfy({ seen[$0] != nil })
                && seen["p1mqtt/status"] == "online" { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        _ = await subscriber.waitForExit(timeout: .zero)
        let missingConfigs = configs.filter { seen[$0.key] != $0.value }.keys.sorted()
        let missingStates = states.keys.filter { seen[$0] == nil }.sorted()
        #expect(missingConfigs.isEmpty, "configs not back within 10 s: \(missingConfigs)\n\(DiscoveryProcesses.diagnostics(child))")
        #expect(missingStates.isEmpty, "states not back within 10 s: \(missingStates)")
        #expect(seen["p1mqtt/status"] == "online")
        let retained = try await DiscoveryProcesses.retained(broker, topic: "homeassistant/#")
        // Every config from before is back unchanged; a value that appeared meanwhile (the gas flow, once the
        // meter's 5-minute gas stamp moves on) may add one.
        let same = configs.allSatisfy { retained[$0.key] == $0.value }
        #expect(same, "\(DiscoveryFixtures.difference(retained, configs))")
        await child.killAndWait()
    }

    @Test("two meters on one broker: no colliding topics, unique ids or device identifiers", .timeLimit(.minutes(1)),
          arguments: DiscoveryOptions.Mode.allCases)
    func twoMeters(_ mode: DiscoveryOptions.Mode) async throws {
        let broker = try BrokerFixture()
        defer { broker.stop() }
        let directory = try DiscoveryProcesses.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let meters = [(DiscoveryTelegramFile(path: DiscoveryFixtures.example("dsmr5.txt")), "meter_a"),
                      (DiscoveryTelegramFile(path: DiscoveryFixtures.example("dsmr5_two_gas.txt")), "meter_b")]
        let children = try meters.enumerated().map { index, meter in
            try DiscoveryProcesses.replay(meter.0, mode: mode, broker: broker, base: meter.1, in: directory, name: "p1mqtt-\(index)")
        }
        for child in children {
            let termination = await child.waitForExit(timeout: .seconds(20))
            if termination == nil { await child.killAndWait() }
            #expect(termination == .exited(0), "\(DiscoveryProcesses.diagnostics(child))")
        }

        let validator = HADiscoveryValidator()
        let runs = try meters.map { try DiscoveryFixtures.publish($0.0, mode: mode, base: $0.1) }
        let expected = runs.map { DiscoveryFixtures.retained($0.sink.discovery()) }
        #expect(Set(expected[0].keys).isDisjoint(with: expected[1].keys), "the two meters share config topics")
        let entities = runs.map { validator.entities($0.sink.discovery()) }
        #expect(Set(entities[0].compactMap(\.uniqueID)).isDisjoint(with: entities[1].compactMap(\.uniqueID)))
        #expect(Set(entities[0].flatMap(\.deviceIdentifiers)).isDisjoint(with: entities[1].flatMap(\.deviceIdentifiers)))

        let retained = try await DiscoveryProcesses.retained(broker, topic: "homeassistant/#")
        let union = expected[0].merging(expected[1]) { first, _ in first }
        let complete = retained == union
        #expect(complete, "\(DiscoveryFixtures.difference(retained, union))\n\(children.map(DiscoveryProcesses.diagnostics).joined(separator: "\n"))")
        let errors = validator.errors(DiscoveryFixtures.messages(retained))
        #expect(errors == [], "\(errors.joined(separator: "\n"))")
        let onBroker = validator.entities(DiscoveryFixtures.messages(retained))
        let availability = Set(onBroker.compactMap(\.availabilityTopic))
        #expect(availability == ["meter_a/status", "meter_b/status"])
    }
}
