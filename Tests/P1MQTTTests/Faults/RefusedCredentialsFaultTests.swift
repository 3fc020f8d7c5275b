import P1MQTTTestSupport
import Foundation
import Testing

extension Faults {
    /// The broker refuses p1mqtt's login until its password file is fixed; p1mqtt must keep trying quietly and
    /// connect by itself, with no restart (libmosquitto's own loop would give up for good after a refusal).
    @Suite("Faults: credentials refused, then accepted", .serialized,
           .enabled(if: BrokerFixture.isAvailable, "needs mosquitto and mosquitto-clients"),
           .enabled(if: P1MQTTExecutable.isAvailable, "needs the built p1mqtt executable (swift build --build-tests)"))
    struct RefusedCredentialsFaultTests {
        @Test("one clear log line, retries with backoff at low CPU, connects and publishes once the broker accepts",
              .timeLimit(.minutes(1)))
        func refusedThenAccepted() async throws {
            let broker = try BrokerFixture(.init(users: ["p1": "old-password"]))
            let directory = try makeTemporaryDirectory(prefix: "p1mqtt-faults")
            let passwordFile = try writeFile("new-password\n", named: "password", in: directory)
            let run = try P1MQTTRun(["--source", "simulator", "--broker", "127.0.0.1:\(broker.port)", "--username", "p1",
                                     "--password-file", passwordFile], directory: directory)

            let refused = await eventually(timeout: .seconds(10)) { broker.logCount("not authorised") >= 1 }
            try #require(refused, "\(run.diagnostics)\n\(broker.logTail)")
            let cpu = try #require(await FaultSupport.cpuUse(of: run.child.pid, over: .seconds(5)), "\(run.diagnostics)")
            #expect(cpu.fraction < 0.05, "p1mqtt used \(cpu.ticks) ticks (\(cpu.fraction * 100) %) in 5 s while refused")

            // Attempts at about 0, 1, 2–3 and 4–7 s: at least three refusals so far, but one log line.
            let attempts = broker.logCount("not authorised")
            #expect(attempts >= 3, "p1mqtt should keep retrying; broker log:\n\(broker.logTail)")
            // Without backoff (a constant 1 s) there would be six.
            #expect(attempts <= 5, "more attempts than the backoff allows: \(attempts)")
            let lines = run.stderrLines(containing: "not authorised")
            #expect(lines.count == 1, "\(run.diagnostics)")
            #expect(lines.first?.contains("check the username/password") == true, "\(lines)")
            #expect(run.child.isRunning, "\(run.diagnostics)")

            // The administrator updates the broker's password file.
            try broker.restart(with: .init(users: ["p1": "new-password"]))
            let fixed = ContinuousClock.now
            // The backoff step is at most 8 s by now (it may have reached 16 s just before the restart).
            let state = try await broker.retained(topic: "#", within: .seconds(25), username: "p1", password: "new-password") {
                $0["p1mqtt/status"] == "online" && $0["p1mqtt/energy_import_tariff_1"] != nil
            }
            let elapsed = ContinuousClock.now - fixed
            #expect(state["p1mqtt/status"] == "online", "\(run.diagnostics)\n\(broker.logTail)")
            #expect(state["p1mqtt/energy_import_tariff_1"] != nil)
            #expect(state.keys.contains { $0.hasPrefix("homeassistant/") }, "discovery after the late connect")
            let connected = run.stderrLines(containing: "MQTT: connected to")
            #expect(connected.count == 1 && connected.first?.contains("failed attempts") == true, "\(run.diagnostics)")
            #expect(run.child.isRunning, "\(run.diagnostics)")
            print("credentials: \(cpu.ticks) ticks in 5 s while refused, \(attempts) refusals, connected \(elapsed) after the fix")

            run.child.terminate()
            #expect(await run.child.waitForExit(timeout: .seconds(5)) == .exited(0), "\(run.diagnostics)")
        }
    }
}
