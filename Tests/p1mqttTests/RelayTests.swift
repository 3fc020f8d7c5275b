import Foundation
import P1MQTTTestSupport
import Testing

/// `p1mqtt run --relay`: every accepted telegram served to TCP clients like ser2net, read with plain sockets.
@Suite("p1mqtt run --relay", .timeLimit(.minutes(1)))
struct RelayTests {
    @Test func clientsReceiveTheMetersTelegramsWholeAndACorruptOneIsNotRelayed() async throws {
        let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: CommandRunner.example("dsmr5.txt"))))
        // A capture of the original telegram, one with a changed digit (its CRC no longer matches), and the
        // original again, replayed in a loop.
        var corrupt = original
        let digit = try #require(corrupt.firstIndex(of: UInt8(ascii: "(")).map { $0 + 1 })
        corrupt[digit] = corrupt[digit] == UInt8(ascii: "9") ? UInt8(ascii: "8") : UInt8(ascii: "9")
        let capture = NSTemporaryDirectory() + "p1mqtt-relay-\(UUID().uuidString).txt"
        try Data(original + corrupt + original).write(to: URL(fileURLWithPath: capture))
        defer { try? FileManager.default.removeItem(atPath: capture) }

        let port = try ListenTestSupport.freePort()
        let bridge = try ListeningChild(["run", "--broker", "none", "--source", "file:\(capture)", "--loop", "--rate", "0.1",
                                         "--relay", "\(port)"])
        defer { bridge.kill() }
        let client = try await ListenTestSupport.connect(port: port)
        defer { close(client) }
        let bytes = await ListenTestSupport.read(client, for: 1.0, atLeast: 4)
        let telegrams = ListenTestSupport.telegrams(in: bytes)
        #expect(telegrams.count >= 4, "\(telegrams.count) telegrams in \(bytes.count) bytes; stderr: \(bridge.stderr)")
        // Each one exactly as the meter sent it (CR LF after the CRC), never the damaged one.
        let sent = Array(original.dropLast(2))
        for telegram in telegrams {
            #expect(telegram == sent, "relayed: \(String(decoding: telegram, as: UTF8.self))")
        }
        #expect(bytes.count >= telegrams.count * original.count - original.count)
        #expect(bridge.stderr.contains("relaying every accepted telegram to TCP clients on 127.0.0.1:\(port)"), "\(bridge.stderr)")
    }

    @Test func aSecondP1mqttReadsTheRelayLikeANetworkDongle() async throws {
        let relayPort = try ListenTestSupport.freePort()
        let first = try ListeningChild(["run", "--broker", "none", "--source", "simulator", "--relay", "127.0.0.1:\(relayPort)"])
        defer { first.kill() }
        _ = try await ListenTestSupport.connect(port: relayPort)  // listening
        let second = try ListeningChild(["run", "--broker", "none", "--source", "tcp://127.0.0.1:\(relayPort)"])
        defer { second.kill() }
        #expect(await ListenTestSupport.eventually { second.stderr.contains("connected to tcp 127.0.0.1:\(relayPort)") },
                "second p1mqtt: \(second.stderr)")
        // The simulator sends one telegram a second; the second p1mqtt counts what it accepted when it stops.
        try await Task.sleep(for: .seconds(2.5))
        #expect(second.terminate(timeout: 5) == 0)
        let accepted = second.stderr.split(separator: "\n").compactMap { line -> Int? in
            guard let range = line.range(of: "shutting down: ") else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }.last
        #expect((accepted ?? 0) >= 1, "second p1mqtt: \(second.stderr)")
    }

    @Test func aPortInUseIsOneClearLineBeforeAnythingStarts() async throws {
        let port = try ListenTestSupport.freePort()
        let holder = try ListeningChild(["simulate", "--listen", "127.0.0.1:\(port)"])
        defer { holder.kill() }
        _ = try await ListenTestSupport.connect(port: port)
        let clash = try await CommandRunner.run(["run", "--broker", "none", "--relay", "127.0.0.1:\(port)"], timeout: 20)
        #expect(clash.status == 2)
        #expect(clash.stderr.contains("relay: address 127.0.0.1:\(port) is in use"), "stderr: \(clash.stderr)")
    }
}
