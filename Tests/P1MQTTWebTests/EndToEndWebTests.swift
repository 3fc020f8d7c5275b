import Foundation
import Testing
import P1MQTTTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The real `p1mqtt` executable with its web page and history: a replay of two days fills the history, a
/// second run (a restart) with the simulator serves the page, and headless Chromium shows live values and
/// charts drawn from the history that survived the restart.
@Suite("End to end: p1mqtt run --http --data-dir", .serialized)
struct EndToEndWebTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The `p1mqtt` built next to the test bundle (`swift build --build-tests` builds it).
    static var executable: String {
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for candidate in [here, here.deletingLastPathComponent()] {
            let url = candidate.appendingPathComponent("p1mqtt")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url.path }
        }
        return repository.appendingPathComponent(".build/debug/p1mqtt").path
    }

    static func freePort() throws -> Int {
        try Loopback.freePort()
    }

    struct TestFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// GET on 127.0.0.1 with the tests' raw-socket client.
    static func get(_ port: Int, _ path: String) async throws -> (status: Int, body: Data) {
        let response = try await HTTPTestClient.request(port: port, path: path)
        return (response.status, Data(response.body))
    }

    @Test("two days replayed into the history, a restart, then the page shows live values and charts",
          .enabled(if: BrowserTests.chromium != nil, "chromium is not installed (apt-get install chromium)"),
          .timeLimit(.minutes(3)))
    func pageAfterRestart() async throws {
        let chromium = try #require(BrowserTests.chromium)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("p1mqtt-e2e-web-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let data = directory + "/data"

        // 1. Two days of telegrams every 60 s of meter time, ending now: the history as the meter lived it.
        let now = Int(Date().timeIntervalSince1970)
        let count = 2 * 24 * 60
        let simulate = try ChildProcess(executable: Self.executable, arguments: [
            "simulate", "--stdout", "--count", "\(count)", "--interval", "0", "--step", "60", "--start", "\(now - count * 60)"],
                                        directory: directory, name: "simulate")
        #expect(await simulate.waitForExit(timeout: .seconds(60)) == .exited(0))
        let capture = directory + "/simulate.stdout"
        let replay = try ChildProcess(executable: Self.executable, arguments: [
            "run", "--broker", "none", "--source", "file:" + capture, "--rate", "max", "--exit-at-end", "--data-dir", data],
                                      directory: directory, name: "replay")
        let replayed = await replay.waitForExit(timeout: .seconds(90))
        #expect(replayed == .exited(0), "\(replay.stderr.suffix(2000))")
        #expect(FileManager.default.fileExists(atPath: data + "/p1mqtt-history.sqlite"))

        // 2. A restart: the live simulator (a different meter state) with the web server on the same history.
        let port = try Self.freePort()
        let run = try ChildProcess(executable: Self.executable, arguments: [
            "run", "--broker", "none", "--source", "simulator", "--http", "127.0.0.1:\(port)", "--data-dir", data],
                                   directory: directory, name: "run")
        defer { run.kill() }
        var healthy = false
        for _ in 0..<100 where !healthy {
            try await Task.sleep(for: .milliseconds(100))
            healthy = (try? await Self.get(port, "/healthz"))?.status == 200
        }
        #expect(healthy, "\(run.stderr.suffix(2000))")

        // The history survived the restart: 48 complete hours, and days and months.
        let hours = try await Self.get(port, "/api/v1/history/hours")
        #expect(hours.status == 200)
        let rows = try #require(try JSONSerialization.jsonObject(with: hours.body) as? [[String: Any]])
        #expect(rows.count >= 47, "\(rows.count) hourly rows")
        #expect(rows.filter { $0["complete"] as? Bool == true }.count >= 46)
        #expect(rows.contains { (($0["energy_import_kwh"] as? [String: Any])?["total"] as? Double ?? 0) > 0 })

        // 3. The page in Chromium: live values from /events, charts from the history.
        let html = try await BrowserTests.runChromium(chromium, ["--virtual-time-budget=8000", "--dump-dom",
                                                                 "http://127.0.0.1:\(port)/?events=2"], directory: directory)
        let updates = Int(html.firstMatch(of: /data-updates="(\d+)"/)?.output.1 ?? "") ?? 0
        #expect(updates >= 2, "\(html.prefix(1500))")
        #expect(Double(BrowserTests.text(ofID: "power-import", in: html) ?? "") != nil)
        let bars = Int(BrowserTests.attribute("data-bars", ofID: "chart-hours", in: html) ?? "") ?? 0
        #expect(bars >= 47, "hourly bars: \(bars)")
        #expect(Int(BrowserTests.attribute("data-bars", ofID: "chart-days", in: html) ?? "") ?? 0 >= 2)

        // A second load shows a later telegram: the live value moves on.
        let first = try await Self.get(port, "/api/v1/telegram")
        try await Task.sleep(for: .milliseconds(2500))
        let second = try await Self.get(port, "/api/v1/telegram")
        #expect(first.status == 200 && second.status == 200)
        #expect(first.body != second.body, "the telegram did not change in 2.5 s")

        run.terminate()
        #expect(await run.waitForExit(timeout: .seconds(10)) == .exited(0), "\(run.stderr.suffix(2000))")
    }
}
