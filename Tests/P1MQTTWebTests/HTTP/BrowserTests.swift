import Foundation
import Logging
import P1MQTT
@testable import P1MQTTWeb
import Testing
import P1MQTTTestSupport

/// The page in a real browser: headless Chromium loads it, runs its script under the server's
/// Content-Security-Policy, receives events and draws the charts; the test reads the resulting DOM.
@Suite("Web page in headless Chromium", .serialized)
struct BrowserTests {
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Feeds the simulator's telegrams every 200 ms, power rising with each, until cancelled.
    static func feed(_ live: LiveState) -> Task<Void, Never> {
        Task.detached {
            var simulator = MeterSimulator(profile: .dsmr5, seed: 7)
            var time = Int64(Date().timeIntervalSince1970)
            while !Task.isCancelled {
                time += 1
                if let telegram = try? WebFixtures.decode(simulator.telegram(at: time)) {
                    live.accepted(WebFixtures.update(telegram))
                }
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    /// Runs Chromium with `arguments` and the URL; returns its standard output.
    static func runChromium(_ executable: String, _ arguments: [String], directory: String) async throws -> String {
        let child = try ChildProcess(executable: executable,
                                     arguments: ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                                 "--disable-dev-shm-usage", "--user-data-dir=\(directory)/profile"] + arguments,
                                     directory: directory, name: "chromium",
                                     environment: ["HOME": directory, "PATH": "/usr/bin:/bin"])
        let termination = await child.waitForExit(timeout: .seconds(90))
        if termination == nil { await child.killAndWait() }
        #expect(termination == .exited(0), "chromium: \(String(describing: termination)); \(child.stderr.suffix(2000))")
        return child.stdout
    }

    /// The value of `attribute` on the element with `id` in dumped HTML.
    static func attribute(_ attribute: String, ofID id: String, in html: String) -> String? {
        guard let tag = html.range(of: "id=\"\(id)\"").map({ html[..<$0.upperBound].lastIndex(of: "<") }) ?? nil,
              let end = html[tag...].firstIndex(of: ">") else { return nil }
        let element = html[tag...end]
        guard let start = element.range(of: " \(attribute)=\"") else { return nil }
        return String(element[start.upperBound...].prefix { $0 != "\"" })
    }

    /// The text inside the element with `id` (up to its first child tag or end).
    static func text(ofID id: String, in html: String) -> String? {
        guard let range = html.range(of: "id=\"\(id)\""), let close = html[range.upperBound...].firstIndex(of: ">") else { return nil }
        return String(html[html.index(after: close)...].prefix { $0 != "<" })
    }

    @Test("live values arrive through /events and the charts have bars from the history",
          .enabled(if: chromium != nil, "chromium is not installed (apt-get install chromium)"))
    func liveAndCharts() async throws {
        let executable = try #require(Self.chromium)
        let history = MemoryHistory.sample(now: Int64(Date().timeIntervalSince1970))
        let server = try await RunningServer(configuration: WebConfiguration(token: "page-token"), history: history)
        let feeder = Self.feed(server.live)
        defer { feeder.cancel() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("p1mqtt-browser-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        let html = try await Self.runChromium(executable, ["--virtual-time-budget=5000", "--dump-dom",
                                                           "http://127.0.0.1:\(server.port)/?token=page-token&events=3"], directory: directory)
        let updates = Int(Self.attribute("data-updates", ofID: "", in: html) ?? "") ?? Int(html.firstMatch(of: /data-updates="(\d+)"/)?.output.1 ?? "") ?? 0
        #expect(updates >= 2, "data-updates \(updates) in \(html.prefix(1500))")
        let power = Self.text(ofID: "power-import", in: html) ?? ""
        #expect(Double(power) != nil, "power-import shows '\(power)'")
        #expect(Double(Self.text(ofID: "power-l1", in: html) ?? "") != nil)
        #expect(Self.attribute("data-bars", ofID: "chart-hours", in: html) == "48")
        #expect(Self.attribute("data-bars", ofID: "chart-days", in: html) == "14")
        #expect(Self.attribute("data-bars", ofID: "chart-months", in: html) == "24")
        #expect(Int(Self.attribute("data-count", ofID: "devices", in: html) ?? "") ?? 0 >= 2, "the meter and its gas meter")
        #expect(Double(Self.text(ofID: "today-import", in: html) ?? "") != nil, "today's import")
        #expect(Self.attribute("data-state", ofID: "status", in: html) == "live")
        feeder.cancel()
        await server.stop()
    }
}

/// For looking at the page by hand (`scripts/screenshot.sh`): `P1MQTT_WEB_DEMO_PORT=8480 swift test --filter
/// WebDemo` serves the page with simulated telegrams and sample history for two minutes.
@Suite("Web demo server (manual)")
struct WebDemo {
    @Test("serve the page for two minutes", .enabled(if: ProcessInfo.processInfo.environment["P1MQTT_WEB_DEMO_PORT"] != nil))
    func serve() async throws {
        let port = Int(ProcessInfo.processInfo.environment["P1MQTT_WEB_DEMO_PORT"] ?? "") ?? 8480
        let live = LiveState()
        var logger = Logger(label: "p1mqtt.web.demo")
        logger.logLevel = .info
        let server = WebServer(configuration: WebConfiguration(port: port), live: live,
                               history: MemoryHistory.sample(now: Int64(Date().timeIntervalSince1970)), logger: logger)
        let feeder = BrowserTests.feed(live)
        let task = Task { try await server.run() }
        try await Task.sleep(for: .seconds(Int(ProcessInfo.processInfo.environment["P1MQTT_WEB_DEMO_SECONDS"] ?? "") ?? 120))
        feeder.cancel()
        task.cancel()
        _ = await task.result
    }
}
