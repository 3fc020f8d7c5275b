import P1MQTTTestSupport
import Foundation
import Testing

extension Faults {
    /// The broker dies (SIGKILL, no clean goodbye, no persistence) and comes back on the same port, again and
    /// again, while p1mqtt replays a capture at 10 telegrams per second.
    @Suite("Faults: broker killed and restarted 20 times", .serialized,
           .enabled(if: BrokerFixture.isAvailable, "needs mosquitto and mosquitto-clients"),
           .enabled(if: P1MQTTExecutable.isAvailable, "needs the built p1mqtt executable (swift build --build-tests)"))
    struct BrokerRestartFaultTests {
        /// After a lost connection the backoff starts again at its minimum: the first attempt comes exactly 1 s
        /// after the loss (no jitter below the minimum). Should the restarted broker not listen yet by then, the
        /// next attempt follows at most 2 s later. Plus 2 s for a loaded machine.
        static let reconnectBound: Duration = .seconds(5)

        @Test("p1mqtt never exits, reconnects within the backoff bound each time, the latest state and discovery are back",
              .timeLimit(.minutes(2)))
        func twentyRestarts() async throws {
            let broker = try BrokerFixture()
            let directory = try makeTemporaryDirectory(prefix: "p1mqtt-faults")
            // 250 telegrams at 0.1 s: the replay ends after about 25 s, a few restarts before the last one, so
            // both cases are covered: restarts while new values keep coming, and restarts where only p1mqtt's
            // memory of the retained state can put it back.
            let count = 250
            let start: Int64 = 1_763_700_000
            let capture = try FaultSupport.makeCapture(count: count, start: start, in: directory)
            let newestTimestamp = FaultSupport.isoTimestamp(start + Int64(count - 1))
            let newestRegister = FaultSupport.published(
                register: try #require(FaultSupport.lastValue(of: "1-0:1.8.1", in: capture.text)))
            let run = try P1MQTTRun(["--source", "file:" + capture.path, "--rate", "0.1",
                                     "--broker", "127.0.0.1:\(broker.port)"], directory: directory)

            let first = try await broker.retained(within: .seconds(10)) {
                $0["p1mqtt/status"] == "online" && $0["p1mqtt/timestamp"] != nil
            }
            try #require(first["p1mqtt/status"] == "online", "\(run.diagnostics)")

            var reconnectTimes: [Duration] = []
            var before: [String: String] = [:]
            for cycle in 1...20 {
                if cycle == 20 {
                    // The last restart comes after the replay ended: the state must come back from p1mqtt alone.
                    let ended = await eventually(timeout: .seconds(30)) {
                        !run.stderrLines(containing: "staying connected").isEmpty
                    }
                    try #require(ended, "the replay did not end\n\(run.diagnostics)")
                    before = try await broker.retained(topic: "#", within: .seconds(10)) {
                        $0["p1mqtt/timestamp"] == newestTimestamp
                    }
                }
                broker.stop()
                let cursor = LogCursor(atEndOf: broker.logPath)
                try broker.restart()
                let restarted = ContinuousClock.now
                // Reconnected: p1mqtt's `online` reached the new broker.
                let reconnected = await eventually(timeout: Self.reconnectBound + .seconds(5)) {
                    !cursor.lines(containing: "Received PUBLISH from p1mqtt", "'p1mqtt/status'").isEmpty
                }
                let elapsed = ContinuousClock.now - restarted
                reconnectTimes.append(elapsed)
                #expect(reconnected && elapsed <= Self.reconnectBound,
                        "restart \(cycle): reconnected \(reconnected) after \(elapsed)\n\(run.diagnostics)\n\(broker.logTail)")
                try #require(run.child.isRunning, "p1mqtt exited at restart \(cycle)\n\(run.diagnostics)")
                // A short while connected (new values flowing) before the next kill.
                try await Task.sleep(for: .milliseconds(Int.random(in: 300...800)))
            }

            // Every retained topic (values, telegram JSON, discovery configs) is back as before the last restart,
            // and that was the newest telegram.
            let ignored: Set<String> = ["p1mqtt/stats"]   // p1mqtt's own counters, republished with new numbers
            let expected = before.filter { !ignored.contains($0.key) }
            let after = try await broker.retained(topic: "#", within: .seconds(10)) { state in
                expected.allSatisfy { state[$0.key] == $0.value }
            }
            #expect(before["p1mqtt/timestamp"] == newestTimestamp, "\(run.diagnostics)")
            #expect(before["p1mqtt/energy_import_tariff_1"] == newestRegister)
            let mismatched = expected.keys.filter { after[$0] != expected[$0] }.sorted()
            #expect(mismatched.isEmpty, "not back after the last restart: \(mismatched.prefix(10))\n\(broker.logTail)")
            #expect(after["p1mqtt/status"] == "online")
            #expect(after["p1mqtt/timestamp"] == newestTimestamp)
            #expect(after["p1mqtt/energy_import_tariff_1"] == newestRegister)
            let discovery = after.filter { $0.key.hasPrefix("homeassistant/") && $0.key.hasSuffix("/config") && !$0.value.isEmpty }
            #expect(discovery.count >= 10, "discovery configs retained: \(discovery.keys.sorted())")
            #expect(run.child.isRunning, "\(run.diagnostics)")
            // p1mqtt noticed every loss (one warning each) and never had to give up on an attempt for long.
            #expect(run.stderrLines(containing: "lost").count >= 20, "\(run.diagnostics)")

            let slowest = reconnectTimes.max() ?? .zero
            print("broker restarts: reconnect after \(reconnectTimes.map { "\($0)" }.joined(separator: ", ")); slowest \(slowest)")

            run.child.terminate()
            #expect(await run.child.waitForExit(timeout: .seconds(5)) == .exited(0), "\(run.diagnostics)")
        }
    }
}
