import P1MQTTTestSupport
import Foundation
import Testing

/// `p1mqtt simulate --listen`: the simulator served over TCP like ser2net, checked with plain sockets.
@Suite("p1mqtt simulate --listen", .timeLimit(.minutes(1)))
struct SimulateListenTests {
    @Test func servesValidTelegramsToTwoClientsAndStopsOnSIGTERM() async throws {
        let port = try ListenTestSupport.freePort()
        let server = try ListeningChild(["simulate", "--listen", "127.0.0.1:\(port)", "--interval", "0.2"])
        defer { server.kill() }

        let first = try await ListenTestSupport.connect(port: port)
        var firstOpen = true
        defer { if firstOpen { close(first) } }
        let second = try await ListenTestSupport.connect(port: port)
        defer { close(second) }
        // Both read concurrently for long enough to see several telegrams at 5 per second.
        async let firstBytes = ListenTestSupport.read(first, for: 1.5, atLeast: 3)
        async let secondBytes = ListenTestSupport.read(second, for: 1.5, atLeast: 3)
        for (name, bytes) in [("first", await firstBytes), ("second", await secondBytes)] {
            let telegrams = ListenTestSupport.telegrams(in: bytes)
            #expect(telegrams.count >= 3, "\(name) client: \(telegrams.count) telegrams in \(bytes.count) bytes")
            for telegram in telegrams {
                #expect(ListenTestSupport.hasValidCRC(telegram), "\(name) client: bad CRC in \(String(decoding: telegram, as: UTF8.self))")
            }
        }
        close(first)
        firstOpen = false
        // "disconnected", or "disconnected: Connection reset by peer" when telegrams were still unread.
        #expect(await ListenTestSupport.eventually {
            server.stderr.split(separator: "\n").contains { $0.contains(" disconnected") && $0.hasSuffix("(1 connected)") }
        }, "stderr: \(server.stderr)")

        // A second server on the same port fails with a message naming the address.
        let clash = try await CommandRunner.run(["simulate", "--listen", "127.0.0.1:\(port)"], timeout: 10)
        #expect(clash.status != 0)
        #expect(clash.stderr.contains("address 127.0.0.1:\(port) is in use"), "stderr: \(clash.stderr)")

        // SIGTERM is a normal stop, even though the test runner blocks SIGTERM in the children it starts:
        // simulate unblocks it. Bounded: killed after 5 s.
        let status = server.terminate(timeout: 5)
        #expect(status == 0, "exit status after SIGTERM: \(status.map(String.init) ?? "did not exit, killed")")
        let log = server.stderr
        #expect(log.contains("serving simulated dsmr5 telegrams on 127.0.0.1:\(port)"), "stderr: \(log)")
        #expect(log.components(separatedBy: " connected (").count - 1 == 2, "stderr: \(log)")
        #expect(log.contains("stopped after"), "stderr: \(log)")
    }

    @Test func listenAndStdoutExcludeEachOther() throws {
        let both = try CommandRunner.run(["simulate", "--stdout", "--listen", "127.0.0.1:2000", "--count", "1"], timeout: 10)
        #expect(both.status == 64)
        #expect(both.stderr.contains("--stdout and --listen exclude each other"))
        let neither = try CommandRunner.run(["simulate", "--count", "1"], timeout: 10)
        #expect(neither.status == 64)
        #expect(neither.stderr.contains("--stdout or --listen"))
        let bad = try CommandRunner.run(["simulate", "--listen", "127.0.0.1:http"], timeout: 10)
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("--listen expects PORT or HOST:PORT"))
    }
}
