import Foundation
import Synchronization
import Testing

extension Faults {
    /// Both ends fail at once: the TCP meter source (ser2net, a network dongle) drops its connection and stops
    /// listening while the broker is killed; then both come back. The two reconnect loops are independent, so
    /// neither may wait for or block the other.
    @Suite("Faults: TCP source and broker fail together", .serialized,
           .enabled(if: BrokerFixture.isAvailable, "needs mosquitto and mosquitto-clients"),
           .enabled(if: P1MQTTExecutable.isAvailable, "needs the built p1mqtt executable (swift build --build-tests)"))
    struct SourceAndBrokerFaultTests {
        @Test("source reset and broker killed together: after both recover, new telegrams reach the subscriber",
              .timeLimit(.minutes(1)))
        func sourceAndBrokerDown() async throws {
            let broker = try BrokerFixture()
            let server = try LoopbackP1Server()
            defer { server.shutDown() }
            let run = try P1MQTTRun(["--source", "tcp://127.0.0.1:\(server.port)", "--no-discovery", "--watchdog", "5",
                                     "--broker", "127.0.0.1:\(broker.port)"])

            // The meter: a telegram every 200 ms (meter clock one second further each time) to whoever is
            // connected; telegrams sent while nobody is connected are lost, as with a real meter.
            let telegrams = TCPTestSupport.telegrams(400)
            let sent = SentCounter()
            let meter = Task {
                for (index, telegram) in telegrams.enumerated() {
                    if Task.isCancelled { break }
                    sent.value.store(index, ordering: .sequentiallyConsistent)
                    server.send(telegram)
                    try? await Task.sleep(for: .milliseconds(200))
                }
            }
            defer { meter.cancel() }

            let before = try broker.startSubscriber(topic: "p1mqtt/timestamp", count: 3)
            let flowing = await before.waitForExit(timeout: .seconds(15))
            try #require(flowing.count == 3, "\(run.diagnostics)")

            // Both down at once: the source with a reset and no listener (connects refused), the broker killed.
            server.resetConnections()
            // No telegram sent up to now can be newer than this (the meter clock of telegram i is start + i s).
            let lastBefore = FaultSupport.isoTimestamp(TCPTestSupport.firstTelegramTime
                                                       + Int64(sent.value.load(ordering: .sequentiallyConsistent)))
            try await server.stopListening()
            broker.stop()
            try await Task.sleep(for: .seconds(2))
            try broker.restart()
            try await server.startListening()
            let recovered = ContinuousClock.now

            // The restarted broker knows nothing; a timestamp newer than any before the fault can only come from
            // a telegram read over the new TCP connection and published over the new MQTT connection.
            let after = try broker.startSubscriber(topic: "p1mqtt/timestamp", count: 1000)
            let messages = await after.waitFor(timeout: .seconds(20)) { $0.contains { $0.payload > lastBefore } }
            _ = await after.waitForExit(timeout: .zero)
            let elapsed = ContinuousClock.now - recovered
            #expect(messages.contains { $0.payload > lastBefore },
                    "newest before the fault \(lastBefore), after: \(messages.map(\.payload))\n\(run.diagnostics)")
            #expect(run.child.isRunning, "\(run.diagnostics)")
            #expect(!run.stderrLines(containing: "MQTT: connection to").filter { $0.contains("lost") }.isEmpty,
                    "\(run.diagnostics)")
            #expect(run.stderrLines(containing: "connected to tcp 127.0.0.1").count >= 2, "\(run.diagnostics)")
            #expect(run.stderrLines(containing: "MQTT: connected to").count >= 2, "\(run.diagnostics)")
            print("source + broker: new telegrams \(elapsed) after both recovered")

            run.child.terminate()
            #expect(await run.child.waitForExit(timeout: .seconds(5)) == .exited(0), "\(run.diagnostics)")
        }
    }
}

/// The index of the telegram the test's meter sent last, shared between its task and the test.
private final class SentCounter: Sendable {
    let value = Atomic<Int>(0)
}

extension TCPTestSupport {
    /// The meter clock of ``TCPTestSupport/telegrams(_:seed:)``'s first telegram (Unix seconds).
    static let firstTelegramTime: Int64 = 1_790_000_000
}
