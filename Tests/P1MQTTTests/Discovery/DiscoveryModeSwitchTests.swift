import Foundation
import Mapping
@testable import P1MQTT
import Testing
import P1MQTTTestSupport

/// Both discovery modes give an entity the same unique id, so a switch of `homeassistant.mode` must empty the
/// other mode's config topics, and before the new configs: Home Assistant ignores a config whose unique id is
/// taken, and deleting the old config after the new one would remove the entity altogether.
@Suite("Discovery: switching homeassistant.mode deletes the other mode's configs first")
struct DiscoveryModeSwitchTests {
    /// The other mode's topics for the same devices and entities, from what that mode itself would publish.
    static func otherModeTopics(_ mode: DiscoveryOptions.Mode) throws -> Set<String> {
        let other: DiscoveryOptions.Mode = mode == .entity ? .device : .entity
        let sink = DiscoverySink()
        let publisher = Publisher(options: PublishOptions(discovery: DiscoveryOptions(mode: other)))
        publisher.publish(try DiscoveryFixtures.decode(TestTelegrams.dsmr5(number: 0)), to: sink, now: 0)
        return Set(sink.discoverySent().filter { !$0.payload.isEmpty }.map(\.topic))
    }

    /// Checks that every topic of `otherTopics` is emptied, retained, before the first config.
    static func expectDeletionsFirst(_ sent: [DiscoverySink.Sent], otherTopics: Set<String>, _ what: String,
                                     sourceLocation: SourceLocation = #_sourceLocation) {
        let firstConfig = sent.firstIndex { !$0.payload.isEmpty } ?? sent.endIndex
        let deleted = Set(sent[..<firstConfig].filter { $0.payload.isEmpty && $0.retain }.map(\.topic))
        #expect(otherTopics.isSubset(of: deleted), "\(what): not emptied before the first config: \(otherTopics.subtracting(deleted).sorted())",
                sourceLocation: sourceLocation)
        let late = sent[firstConfig...].filter { otherTopics.contains($0.topic) }.map(\.topic)
        #expect(late.isEmpty, "\(what): other mode's topics sent after a config: \(late)", sourceLocation: sourceLocation)
    }

    @Test("first publication, connected(_:) and republish(to:) all empty the other mode's topics before the configs",
          arguments: DiscoveryOptions.Mode.allCases)
    func deletionsFirst(_ mode: DiscoveryOptions.Mode) throws {
        let otherTopics = try Self.otherModeTopics(mode)
        #expect(otherTopics.count >= (mode == .entity ? 2 : 30), "\(otherTopics.sorted())")
        let publisher = Publisher(options: PublishOptions(discovery: DiscoveryOptions(mode: mode)))
        let first = DiscoverySink()
        publisher.publish(try DiscoveryFixtures.decode(TestTelegrams.dsmr5(number: 0)), to: first, now: 0)
        Self.expectDeletionsFirst(first.discoverySent(), otherTopics: otherTopics, "first telegram")

        let reconnect = DiscoverySink()
        publisher.connected(reconnect)
        Self.expectDeletionsFirst(reconnect.discoverySent(), otherTopics: otherTopics, "connected(_:)")
        let birth = DiscoverySink()
        publisher.republish(to: birth)
        Self.expectDeletionsFirst(birth.discoverySent(), otherTopics: otherTopics, "republish(to:)")

        // Not with every telegram: the next one, of the same shape, sends no discovery message at all.
        let next = DiscoverySink()
        publisher.publish(try DiscoveryFixtures.decode(TestTelegrams.dsmr5(number: 1)), to: next, now: 1)
        #expect(next.discoverySent().isEmpty, "\(next.discoverySent().map(\.topic))")
    }
}

/// The user's report, with the real executable and a real broker: one run in one mode, then one in the other.
@Suite("Discovery: a run in one mode after a run in the other leaves only the current mode's configs",
       .serialized, .enabled(if: DiscoveryProcesses.isAvailable, "needs mosquitto, mosquitto-clients and the built p1mqtt"))
struct DiscoveryModeSwitchBrokerTests {
    @Test("entity → device and device → entity", .timeLimit(.minutes(1)),
          arguments: [(DiscoveryOptions.Mode.entity, DiscoveryOptions.Mode.device), (.device, .entity)])
    func switchMode(_ before: DiscoveryOptions.Mode, _ after: DiscoveryOptions.Mode) async throws {
        let broker = try BrokerFixture()
        defer { broker.stop() }
        let directory = try DiscoveryProcesses.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = DiscoveryTelegramFile(path: DiscoveryFixtures.example("dsmr5.txt"))
        let expectedBefore = DiscoveryFixtures.retained(try DiscoveryFixtures.publish(file, mode: before).sink.discovery())
        let expectedAfter = DiscoveryFixtures.retained(try DiscoveryFixtures.publish(file, mode: after).sink.discovery())
        try #require(Set(expectedBefore.keys).isDisjoint(with: expectedAfter.keys))

        try await Self.run(file, before, broker, directory)
        let first = try await DiscoveryProcesses.retained(broker, topic: "homeassistant/#")
        try #require(first == expectedBefore, "first run (\(before)): \(DiscoveryFixtures.difference(first, expectedBefore))")

        // A subscriber like Home Assistant's sees the second run's messages in the order the broker forwards them.
        let subscriber = try broker.startSubscriber(topic: "homeassistant/#", count: 1_000_000)
        _ = await subscriber.waitForMessages(first.count)
        try await Self.run(file, after, broker, directory)
        let live = await subscriber.waitForExit(timeout: .milliseconds(500)).filter { !$0.retained }

        let retained = try await DiscoveryProcesses.retained(broker, topic: "homeassistant/#")
        let stale = Set(retained.keys).intersection(expectedBefore.keys).sorted()
        #expect(stale.isEmpty, "\(before) → \(after): the first run's configs are still retained: \(stale)")
        let exact = retained == expectedAfter
        #expect(exact, "\(before) → \(after): \(DiscoveryFixtures.difference(retained, expectedAfter))")
        let errors = HADiscoveryValidator().errors(DiscoveryFixtures.messages(retained))
        #expect(errors == [], "\(errors.joined(separator: "\n"))")

        let firstConfig = live.firstIndex { !$0.payload.isEmpty } ?? live.endIndex
        let deletedFirst = Set(live[..<firstConfig].filter { $0.payload.isEmpty }.map(\.topic))
        #expect(Set(expectedBefore.keys).isSubset(of: deletedFirst),
                "not deleted before the first new config: \(Set(expectedBefore.keys).subtracting(deletedFirst).sorted())")
    }

    static func run(_ file: DiscoveryTelegramFile, _ mode: DiscoveryOptions.Mode, _ broker: BrokerFixture,
                    _ directory: String) async throws {
        let child = try DiscoveryProcesses.replay(file, mode: mode, broker: broker, in: directory)
        let termination = await child.waitForExit(timeout: .seconds(20))
        if termination == nil { await child.killAndWait() }
        try #require(termination == .exited(0), "\(mode): \(DiscoveryProcesses.diagnostics(child))")
    }
}
