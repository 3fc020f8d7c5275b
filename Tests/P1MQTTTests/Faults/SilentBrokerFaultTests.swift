import Foundation
import Testing

extension Faults {
    /// A "broker" that accepts the TCP connection and then never answers CONNECT: a hung broker, a port
    /// forwarded to the wrong service, a TLS port spoken to in plain text.
    @Suite("Faults: a broker that accepts TCP but never answers CONNECT",
           .enabled(if: P1MQTTExecutable.isAvailable, "needs the built p1mqtt executable (swift build --build-tests)"))
    struct SilentBrokerFaultTests {
        /// p1mqtt's default connect timeout (`mqtt.connect_timeout`).
        static let connectTimeout = 15.0

        @Test("gives up on each attempt after the connect timeout, says so once, retries, and idles meanwhile",
              .timeLimit(.minutes(1)))
        func silentBroker() async throws {
            // LoopbackP1Server accepts and keeps the connections open, and writes only when told to: the
            // CONNECT packet lands in its receive buffer and no CONNACK ever comes back.
            let server = try LoopbackP1Server()
            defer { server.shutDown() }
            let run = try P1MQTTRun(["--source", "simulator", "--no-discovery", "--broker", "127.0.0.1:\(server.port)"])

            try #require(await server.waitForAccepts(1, timeout: .seconds(10)), "\(run.diagnostics)")
            // While it waits for CONNACK the network thread wakes once a second; the simulator adds a telegram a
            // second. Anything close to a busy loop would use a whole core.
            try await Task.sleep(for: .seconds(1))
            let cpu = try #require(await FaultSupport.cpuUse(of: run.child.pid, over: .seconds(5)), "\(run.diagnostics)")
            #expect(cpu.fraction < 0.05, "p1mqtt used \(cpu.ticks) ticks (\(cpu.fraction * 100) %) in 5 s waiting for CONNACK")

            // Timeout, then the first backoff delay (exactly 1 s), then the second TCP connect.
            let retried = await server.waitForAccepts(2, timeout: .seconds(Self.connectTimeout + 8))
            #expect(retried, "no second attempt: \(server.acceptedCount) connection(s)\n\(run.diagnostics)")
            if let interval = server.acceptIntervals.first {
                #expect((Self.connectTimeout - 0.5)...(Self.connectTimeout + 5) ~= interval,
                        "second attempt \(interval) s after the first")
            }
            let lines = run.stderrLines(containing: "no answer to CONNECT within 15 s")
            #expect(lines.count == 1, "\(run.diagnostics)")
            #expect(lines.first?.contains("cannot connect to 127.0.0.1:\(server.port)") == true, "\(lines)")
            #expect(run.child.isRunning, "\(run.diagnostics)")
            print("silent broker: \(cpu.ticks) ticks in 5 s; attempts \(server.acceptIntervals) s apart")
        }

        @Test("mqtt.connect_timeout and mqtt.reconnect_delay_min from the configuration file set the pace",
              .timeLimit(.minutes(1)))
        func configuredTiming() async throws {
            let server = try LoopbackP1Server()
            defer { server.shutDown() }
            let directory = try makeTemporaryDirectory(prefix: "p1mqtt-silent")
            let config = try writeFile(#"{"mqtt": {"connect_timeout": 2, "reconnect_delay_min": 3, "reconnect_delay_max": 3}}"#,
                                       named: "p1mqtt.json", in: directory)
            let run = try P1MQTTRun(["--config", config, "--source", "simulator", "--no-discovery",
                                     "--broker", "127.0.0.1:\(server.port)"], directory: directory)
            // Attempts 2 s (timeout) + 3 s (delay) apart, every time: the maximum is the minimum.
            let retried = await server.waitForAccepts(3, timeout: .seconds(20))
            #expect(retried, "\(server.acceptedCount) connection(s)\n\(run.diagnostics)")
            for interval in server.acceptIntervals.prefix(2) {
                #expect((4.5...8) ~= interval, "attempts \(server.acceptIntervals) s apart")
            }
            #expect(run.stderrLines(containing: "no answer to CONNECT within 2 s").count == 1, "\(run.diagnostics)")
        }
    }
}
