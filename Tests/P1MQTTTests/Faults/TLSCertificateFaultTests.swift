import P1MQTTTestSupport
import Foundation
import Testing

extension Faults {
    /// The broker's TLS certificate is unacceptable (expired, or for another host name) although it comes from
    /// the CA p1mqtt trusts. p1mqtt must say what is wrong, keep retrying at low CPU (libmosquitto's own loop
    /// stops for good after a TLS failure), and connect by itself once the broker has a valid certificate.
    @Suite("Faults: TLS certificate expired or for the wrong host name",
           .enabled(if: BrokerFixture.isAvailable, "needs mosquitto and mosquitto-clients"),
           .enabled(if: BrokerFixture.opensslPath != nil, "needs openssl"),
           .enabled(if: P1MQTTExecutable.isAvailable, "needs the built p1mqtt executable (swift build --build-tests)"))
    struct TLSCertificateFaultTests {
        /// A certificate valid for 127.0.0.1 (the address p1mqtt connects to) and localhost, from the test CA.
        static func validOptions() -> BrokerFixture.Options {
            var options = BrokerFixture.Options(tls: true)
            options.subjectAltName = "DNS:localhost, IP:127.0.0.1"
            return options
        }

        @Test("expired certificate: a log line naming the expiry, retries, low CPU, connects after the renewal",
              .timeLimit(.minutes(1)))
        func expiredCertificate() async throws {
            var options = Self.validOptions()
            options.certificateValidity = (notBefore: "20200101000000Z", notAfter: "20200201000000Z")
            // OpenSSL's reason is gone by the time p1mqtt learns of the failure (libmosquitto frees the
            // connection), so the line names expiry among the causes, with the machine's clock.
            try await Self.checkFault(options, problem: "has expired or is not yet valid (today is ", knownIssue: nil)
        }

        @Test("certificate for another host name: a log line naming the host name check, retries, low CPU, connects after the fix",
              .timeLimit(.minutes(1)))
        func wrongHostName() async throws {
            var options = Self.validOptions()
            options.subjectAltName = "DNS:mqtt.example.invalid"
            try await Self.checkFault(options, problem: "host name verification failed", knownIssue: nil)
        }

        /// Runs p1mqtt against a TLS broker set up with `options`; expects one error line containing `problem`
        /// (or, with `knownIssue`, records that it lacks it), then renews the certificate and expects a connection.
        static func checkFault(_ options: BrokerFixture.Options, problem: String, knownIssue: Comment?) async throws {
            let broker = try BrokerFixture(options)
            let tlsPort = try #require(broker.tlsPort)
            let directory = try makeTemporaryDirectory(prefix: "p1mqtt-faults")
            let config = try writeFile("""
                {"mqtt": {"broker": "127.0.0.1:\(tlsPort)", "tls": {"ca_file": "\(broker.caFile)"}}}
                """, named: "p1mqtt.json", in: directory)
            let run = try P1MQTTRun(["--config", config, "--source", "simulator", "--no-discovery"], directory: directory)

            let failed = await eventually(timeout: .seconds(10)) { !run.stderrLines(containing: "TLS handshake failed").isEmpty }
            try #require(failed, "\(run.diagnostics)\n\(broker.logTail)")
            let cpu = try #require(await FaultSupport.cpuUse(of: run.child.pid, over: .seconds(5)), "\(run.diagnostics)")
            #expect(cpu.fraction < 0.05, "p1mqtt used \(cpu.ticks) ticks (\(cpu.fraction * 100) %) in 5 s of TLS failures")

            // Attempts at about 0, 1, 2–3 and 4–7 s: the broker saw at least three TLS connections, one line logged.
            let attempts = broker.logCount("New connection from 127.0.0.1:")
            #expect(attempts >= 3, "p1mqtt should keep retrying; broker log:\n\(broker.logTail)")
            let lines = run.stderrLines(containing: "TLS handshake failed")
            #expect(lines.count == 1, "\(run.diagnostics)")
            let line = lines.first ?? ""
            #expect(line.contains("cannot connect to 127.0.0.1:\(tlsPort)"), "\(line)")
            if let knownIssue {
                withKnownIssue(knownIssue) {
                    #expect(line.contains(problem), "\(line)")
                }
            } else {
                #expect(line.contains(problem), "\(line)")
            }
            #expect(run.child.isRunning, "\(run.diagnostics)")

            // A valid certificate from the same CA: p1mqtt connects by itself at its next attempt.
            try broker.restart(with: validOptions())
            let fixed = ContinuousClock.now
            let state = try await broker.retained(within: .seconds(25)) {
                $0["p1mqtt/status"] == "online" && $0["p1mqtt/energy_import_tariff_1"] != nil
            }
            let elapsed = ContinuousClock.now - fixed
            #expect(state["p1mqtt/status"] == "online", "\(run.diagnostics)\n\(broker.logTail)")
            #expect(run.stderrLines(containing: "MQTT: connected to 127.0.0.1:\(tlsPort)").count == 1, "\(run.diagnostics)")
            print("TLS \(problem): \(cpu.ticks) ticks in 5 s, \(attempts) attempts, logged: \(line)\nconnected \(elapsed) after the fix")

            run.child.terminate()
            #expect(await run.child.waitForExit(timeout: .seconds(5)) == .exited(0), "\(run.diagnostics)")
        }
    }
}
