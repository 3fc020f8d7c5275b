import Foundation
import Testing
@testable import P1MQTT

@Suite("p1mqtt run: stats topic, flags over the file, replay loop", .serialized,
       .enabled(if: BrokerFixture.isAvailable, "needs mosquitto and mosquitto-clients"),
       .enabled(if: P1MQTTExecutable.isAvailable, "needs the built p1mqtt executable"))
struct StatsAndFlagsIntegrationTests {
    @Test("the stats topic counts accepted and rejected telegrams by reason after a replay with bad telegrams",
          .timeLimit(.minutes(1)))
    func statsAfterBadTelegrams() async throws {
        let broker = try BrokerFixture()
        let directory = try makeTemporaryDirectory(prefix: "p1mqtt-stats")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let good = try P1MQTTExecutable.exampleBytes("dsmr5.txt")
        var corrupted = good
        corrupted[60] ^= 0x01
        // Good, CRC-damaged, good, cut off by the next one, good: 3 accepted, 1 crc, 1 truncated.
        let capture = good + Array("line noise\r\n".utf8) + corrupted + good + Array(good.prefix(300)) + good
        let path = directory + "/capture.txt"
        try Data(capture).write(to: URL(fileURLWithPath: path))
        let run = try P1MQTTRun(["--source", "file:" + path, "--rate", "max", "--exit-at-end", "--no-discovery",
                                 "--broker", "127.0.0.1:\(broker.port)"])
        let termination = await run.child.waitForExit(timeout: .seconds(15))
        #expect(termination == .exited(0), "\(run.diagnostics)")
        let state = try await broker.retained()
        let json = try #require(state["p1mqtt/stats"], "stats retained; \(run.diagnostics)")
        let stats = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let telegrams = try #require(stats["telegrams"] as? [String: Any])
        #expect(jsonNumber(telegrams["accepted"]) == 3)
        #expect(jsonNumber(telegrams["rejected"]) == 2)
        let reasons = try #require(telegrams["rejected_by_reason"] as? [String: Any])
        #expect(jsonNumber(reasons["crc"]) == 1)
        #expect(jsonNumber(reasons["truncated"]) == 1)
        #expect(stats["version"] as? String == P1MQTTVersion.current)
        #expect(stats["last_telegram"] as? String == "2021-06-14T06:35:12Z")
        #expect((stats["source"] as? [String: Any])?["state"] as? String == "ended")
        #expect(jsonNumber((stats["mqtt"] as? [String: Any])?["connections"]) == 1)
        // One line names the first CRC rejection; the log does not repeat every rejection.
        #expect(run.stderrLines(containing: "CRC mismatch").count == 1, "\(run.diagnostics)")
    }

    @Test("flags override the configuration file", .timeLimit(.minutes(1)))
    func flagsOverrideTheFile() async throws {
        let broker = try BrokerFixture()
        let directory = try makeTemporaryDirectory(prefix: "p1mqtt-flags")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The file points at a broker port nothing listens on and a base topic the flags replace.
        let config = try writeFile(#"""
            {"mqtt": {"broker": "127.0.0.1:1"}, "topics": {"base": "from-file"},
             "source": "file:\#(P1MQTTExecutable.example("dsmr5.txt"))", "replay": {"rate": "max"}}
            """#, named: "p1mqtt.json", in: directory)
        let run = try P1MQTTRun(["--config", config, "--broker", "127.0.0.1:\(broker.port)", "--base-topic", "from-flag",
                                 "--exit-at-end", "--no-discovery"])
        let termination = await run.child.waitForExit(timeout: .seconds(15))
        #expect(termination == .exited(0), "\(run.diagnostics)")
        let state = try await broker.retained(topic: "#")
        #expect(state["from-flag/energy_import_tariff_1"] == "7481.295", "\(state.keys.sorted())")
        #expect(!state.keys.contains { $0.hasPrefix("from-file/") })
    }

    @Test("a looping replay starts again at the end of the file", .timeLimit(.minutes(1)))
    func loopingReplay() async throws {
        let broker = try BrokerFixture()
        let run = try P1MQTTRun(["--source", "file:" + P1MQTTExecutable.example("dsmr5.txt"), "--rate", "0.05", "--loop",
                                 "--no-discovery", "--broker", "127.0.0.1:\(broker.port)"])
        defer { run.child.kill() }
        let subscriber = try broker.startSubscriber(topic: "p1mqtt/telegram", count: 6)
        let messages = await subscriber.waitForExit(timeout: .seconds(10))
        // One telegram in the file, yet it keeps coming.
        #expect(messages.count >= 6, "\(run.diagnostics)")
    }
}
