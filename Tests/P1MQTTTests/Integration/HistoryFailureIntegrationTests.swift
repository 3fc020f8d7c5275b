import Foundation
import Testing

/// A history that cannot be kept must never cost the MQTT side anything: the real executable with a damaged
/// database file and with a data directory that cannot be created.
@Suite("Integration: a broken history does not stop publishing", .serialized,
       .enabled(if: BrokerFixture.isAvailable, "needs mosquitto and mosquitto-clients"),
       .enabled(if: P1MQTTExecutable.isAvailable, "needs the built p1mqtt executable (swift build --build-tests)"))
struct HistoryFailureIntegrationTests {
    @Test("a corrupt database file: one clear error line, the values are published, the file is left alone",
          .timeLimit(.minutes(1)))
    func corruptDatabase() async throws {
        let broker = try BrokerFixture()
        let directory = try makeTemporaryDirectory(prefix: "p1mqtt-history-broken")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let data = directory + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let garbage = Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) })
        try garbage.write(to: URL(fileURLWithPath: data + "/p1mqtt-history.sqlite"))

        let run = try P1MQTTRun(["--source", "file:" + P1MQTTExecutable.example("dsmr5.txt"), "--rate", "max",
                                 "--exit-at-end", "--broker", "127.0.0.1:\(broker.port)", "--data-dir", data],
                                directory: directory)
        let termination = await run.child.waitForExit(timeout: .seconds(20))
        #expect(termination == .exited(0), "\(run.diagnostics)")
        let state = try await broker.retained()
        #expect(state["p1mqtt/energy_import_tariff_1"] == "7481.295", "\(run.diagnostics)")
        let errors = run.stderrLines(containing: "history")
            .filter { $0.contains(" error ") || $0.contains(" critical ") }
        #expect(errors.count == 1, "\(run.diagnostics)")
        #expect(errors.first?.contains("p1mqtt-history.sqlite") == true, "\(errors)")
        // Nothing overwrote the damaged file: the user decides what to do with it.
        #expect(try Data(contentsOf: URL(fileURLWithPath: data + "/p1mqtt-history.sqlite")) == garbage)
    }

    @Test("a data directory that cannot be created: one clear error line, the values are published",
          .timeLimit(.minutes(1)))
    func unusableDirectory() async throws {
        let broker = try BrokerFixture()
        let directory = try makeTemporaryDirectory(prefix: "p1mqtt-history-broken")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A regular file where the directory should be (works as root too, unlike permissions).
        let blocker = try writeFile("not a directory", named: "blocker", in: directory)
        let run = try P1MQTTRun(["--source", "file:" + P1MQTTExecutable.example("dsmr5.txt"), "--rate", "max",
                                 "--exit-at-end", "--broker", "127.0.0.1:\(broker.port)", "--data-dir", blocker + "/data"],
                                directory: directory)
        #expect(await run.child.waitForExit(timeout: .seconds(20)) == .exited(0), "\(run.diagnostics)")
        let state = try await broker.retained()
        #expect(state["p1mqtt/energy_import_tariff_1"] == "7481.295", "\(run.diagnostics)")
        let errors = run.stderrLines(containing: "history").filter { $0.contains(" error ") }
        #expect(errors.count == 1, "\(run.diagnostics)")
    }
}
