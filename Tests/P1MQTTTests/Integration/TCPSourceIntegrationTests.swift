import Foundation
import Testing
@testable import P1MQTT
import P1MQTTTestSupport

@Suite("p1mqtt run over TCP from p1mqtt simulate --listen", .serialized,
       .enabled(if: BrokerFixture.isAvailable, "needs mosquitto and mosquitto-clients"),
       .enabled(if: P1MQTTExecutable.isAvailable, "needs the built p1mqtt executable"))
struct TCPSourceIntegrationTests {
    @Test("publishes the simulator's telegrams, and reconnects by itself when the simulator is killed and restarted",
          .timeLimit(.minutes(1)))
    func simulatorOverTCP() async throws {
        let broker = try BrokerFixture()
        let directory = try makeTemporaryDirectory(prefix: "p1mqtt-tcp")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let port = try BrokerFixture.freePort()
        func startSimulator(_ name: String) throws -> ChildProcess {
            try ChildProcess(executable: P1MQTTExecutable.path,
                             arguments: ["simulate", "--listen", "127.0.0.1:\(port)", "--interval", "0.3"],
                             directory: directory, name: name)
        }
        var simulator = try startSimulator("simulate-1")
        let run = try P1MQTTRun(["--source", "tcp://127.0.0.1:\(port)", "--no-discovery", "--watchdog", "5",
                                 "--broker", "127.0.0.1:\(broker.port)"])
        defer { run.child.kill() }

        let first = try broker.startSubscriber(topic: "p1mqtt/telegram", count: 3)
        #expect(await first.waitForExit(timeout: .seconds(15)).count == 3, "\(run.diagnostics)")

        await simulator.killAndWait()
        try await Task.sleep(for: .seconds(1.5))
        simulator = try startSimulator("simulate-2")
        defer { simulator.kill() }
        // After the restart new telegrams arrive again without restarting p1mqtt.
        let again = try broker.startSubscriber(topic: "p1mqtt/telegram", count: 4)
        let messages = await again.waitForExit(timeout: .seconds(20))
        #expect(messages.count == 4, "\(run.diagnostics)")
        #expect(run.stderrLines(containing: "lost").count >= 1, "\(run.diagnostics)")
        #expect(run.stderrLines(containing: "connected to tcp 127.0.0.1").count >= 2, "\(run.diagnostics)")
    }
}
