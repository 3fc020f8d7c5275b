import Foundation
import P1MQTT
@testable import P1MQTTWeb
import Testing

@Suite("Web: Prometheus metrics and helpers")
struct MetricsTests {
    /// Checks the exposition format: every line a comment (`# HELP`/`# TYPE name type`) or
    /// `name{label="value",…} number`; names and label names valid; TYPE once per family, before its samples,
    /// and each family's samples together. Returns the samples as "name{labels}" → value.
    static func parse(_ text: String) throws -> [String: Double] {
        let name = try Regex("^[a-zA-Z_:][a-zA-Z0-9_:]*$")
        let sample = try Regex(#"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")(,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*\})? ([-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?|[-+]?Inf|NaN)$"#)
        var typed: [String: String] = [:]
        var finished: Set<String> = []
        var current: String?
        var samples: [String: Double] = [:]
        #expect(text.hasSuffix("\n"))
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                try #require(parts.count == 4, "\(line)")
                let family = String(parts[2])
                #expect(try name.wholeMatch(in: family) != nil, "\(family)")
                #expect(["counter", "gauge", "untyped", "histogram", "summary"].contains(parts[3]))
                #expect(typed[family] == nil, "TYPE twice for \(family)")
                typed[family] = String(parts[3])
                if let current { finished.insert(current) }
                current = family
                continue
            }
            if line.hasPrefix("#") { continue }
            let match = try #require(try sample.wholeMatch(in: String(line)), "not a valid sample line: \(line)")
            let family = String(match.output[1].substring ?? "")
            #expect(typed[family] != nil, "sample before TYPE: \(line)")
            #expect(family == current && !finished.contains(family), "samples of \(family) not together")
            if typed[family] == "counter" { #expect(family.hasSuffix("_total"), "\(family)") }
            let value = line.split(separator: " ").last.map(String.init) ?? ""
            samples[String(line.dropLast(value.count + 1))] = Double(value)
        }
        return samples
    }

    @Test("the exposition text is valid, with registers as counters and power as gauges with labels")
    func exposition() async throws {
        let server = try await RunningServer()
        server.live.bridgeStarted { WebFixtures.status(age: 3.25, mqtt: .connected, rejected: ["crc": 2, "truncated": 1]) }
        server.live.accepted(WebFixtures.update(try WebFixtures.telegram("dsmr5")))
        let response = try await server.get("/metrics")
        #expect(response.status == 200)
        #expect(response.header("content-type") == "text/plain; version=0.0.4; charset=utf-8")
        let samples = try Self.parse(response.text)
        #expect(samples[#"p1mqtt_energy_import_kwh_total{tariff="1"}"#] == 7481.295)
        #expect(samples[#"p1mqtt_energy_export_kwh_total{tariff="2"}"#] == 2617.058)
        #expect(samples["p1mqtt_energy_import_all_tariffs_kwh_total"] == 14412.137)
        #expect(samples["p1mqtt_power_export_watts"] == 2318)
        #expect(samples[#"p1mqtt_phase_power_export_watts{phase="1"}"#] == 846)
        #expect(samples[#"p1mqtt_voltage_volts{phase="3"}"#] == 237.1)
        #expect(samples[#"p1mqtt_current_amperes{phase="2"}"#] == 3)
        #expect(samples[#"p1mqtt_gas_m3_total{channel="1"}"#] == 2891.406)
        #expect(samples[#"p1mqtt_power_failures_total{kind="long"}"#] == 3)
        #expect(samples[#"p1mqtt_telegrams_rejected_total{reason="truncated"}"#] == 1)
        #expect(samples["p1mqtt_telegrams_accepted_total"] == 3)
        #expect(samples["p1mqtt_mqtt_connected"] == 1 && samples["p1mqtt_mqtt_reconnects_total"] == 1)
        #expect(samples["p1mqtt_last_telegram_age_seconds"] == 3.25 && samples["p1mqtt_uptime_seconds"] == 12.5)
        #expect(response.text.contains("# TYPE p1mqtt_energy_import_kwh_total counter\n"))
        #expect(response.text.contains("# TYPE p1mqtt_power_import_watts gauge\n"))
        // Every example telegram gives valid text.
        for name in ["austria", "belgium", "dsmr22", "dsmr3", "dsmr4", "dsmr5_heat", "dsmr5_two_gas", "eon_hungary", "iskra_ie", "luxembourg", "q3d", "sweden"] {
            server.live.accepted(WebFixtures.update(try WebFixtures.telegram(name)))
            let samples = try Self.parse(try await server.get("/metrics").text)
            #expect(samples.keys.contains { $0.hasPrefix("p1mqtt_meter_info{") }, "\(name)")
        }
        await server.stop()
    }

    @Test("label values are escaped")
    func escaping() {
        #expect(PrometheusMetrics.escape("a\"b\\c\nd") == #"a\"b\\c\nd"#)
    }

    @Test("HTTP dates, SHA-256 and base64 without Foundation")
    func helpers() {
        #expect(HTTPDate.string(784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.string(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.string(951_782_400) == "Tue, 29 Feb 2000 00:00:00 GMT")
        #expect(HTTPDate.days(year: 2025, month: 11, day: 21) == 20_413)
        let hex = { (bytes: [UInt8]) in bytes.map { String(format: "%02x", $0) }.joined() }
        #expect(hex(SHA256.digest(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hex(SHA256.digest([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let long = Array(String(repeating: "a", count: 1000).utf8)
        #expect(SHA256.base64(SHA256.digest(long)) == Data(SHA256Reference.digest(long)).base64EncodedString())
        #expect(SHA256.base64(Array("ab".utf8)) == "YWI=" && SHA256.base64(Array("abc".utf8)) == "YWJj" && SHA256.base64(Array("a".utf8)) == "YQ==")
    }

    @Test("history ranges: unix seconds, dates and date-times on the meter's clock or with an offset")
    func ranges() throws {
        #expect(try RangeQuery.seconds("1763730000", standardOffset: 3600) == 1_763_730_000)
        #expect(try RangeQuery.seconds("2025-11-21", standardOffset: 3600) == 1_763_679_600)
        #expect(try RangeQuery.seconds("2025-07-01", standardOffset: 3600) == 1_751_320_800)
        #expect(try RangeQuery.seconds("2025-11-21T14:00:00+01:00", standardOffset: 3600) == 1_763_730_000)
        #expect(try RangeQuery.seconds("2025-11-21T13:00Z", standardOffset: 3600) == 1_763_730_000)
        #expect(try RangeQuery.seconds("2025-11-21T14:00", standardOffset: 3600) == 1_763_730_000)
        #expect(try RangeQuery.seconds("2025-11-21T14:00:00.5+0100", standardOffset: 3600) == 1_763_730_000)
        for bad in ["", "2025-02-29", "2025-11-21T14", "2025-11-21T14:00+1", "21-11-2025", "1e9", "2025-11-21T14:00:00+01:00x"] {
            #expect(throws: RangeQuery.Invalid.self, "\(bad)") { try RangeQuery.seconds(bad, standardOffset: 3600) }
        }
    }
}

/// SHA-256 by a second route for the comparison: the `sha256sum` tool.
enum SHA256Reference {
    static func digest(_ bytes: [UInt8]) -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try? process.run()
        input.fileHandleForWriting.write(Data(bytes))
        try? input.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let hex = Array(text.prefix(64))
        return stride(from: 0, to: hex.count, by: 2).compactMap { UInt8(String(hex[$0...$0 + 1]), radix: 16) }
    }
}
