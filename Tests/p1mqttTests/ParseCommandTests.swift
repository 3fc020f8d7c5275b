import Foundation
import Testing

@Suite("p1mqtt parse")
struct ParseCommandTests {
    private func json(_ line: String) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8))
        return try #require(object as? [String: Any])
    }

    @Test func printsOneJSONObjectPerTelegramWithMeterValues() throws {
        let result = try CommandRunner.run(["parse", CommandRunner.example("dsmr5.txt")])
        #expect(result.status == 0)
        #expect(result.lines.count == 1)
        let telegram = try json(try #require(result.lines.first))
        #expect(telegram["variant"] as? String == "dsmr5")
        #expect(telegram["crc"] as? String == "valid")
        let objects = try #require(telegram["objects"] as? [String: Any])
        let importT1 = try #require(objects["1-0:1.8.1"] as? [String: Any])
        #expect(importT1["unit"] as? String == "kWh")
        #expect(importT1["value"] is NSNumber)
        let mbus = try #require(telegram["mbus"] as? [[String: Any]])
        #expect(mbus.first?["kind"] as? String == "gas")
        #expect(result.stderr.contains("1 telegram accepted, 0 rejected"))
    }

    @Test func numbersKeepTheMetersDigitsWithoutFloatNoise() throws {
        let telegram = Array("/TST5\\2TEST\r\n\r\n1-0:1.8.1(001234.567*kWh)\r\n1-0:32.7.0(0230.0*V)\r\n!".utf8)
        let crc = crc16(telegram)
        let input = telegram + Array(String(format: "%04X\r\n", crc).utf8)
        let result = try CommandRunner.run(["parse", "-"], input: input)
        #expect(result.status == 0)
        #expect(result.stdout.contains(#""1-0:1.8.1":{"value":1234.567,"unit":"kWh"}"#))
        #expect(result.stdout.contains(#""1-0:32.7.0":{"value":230.0,"unit":"V"}"#))
    }

    @Test func standardInputWithNoiseAndCorruptionYieldsOnlyValidTelegramsAndASummary() throws {
        let good = try Data(contentsOf: URL(fileURLWithPath: CommandRunner.example("dsmr5.txt")))
        var corrupted = [UInt8](good)
        corrupted[40] ^= 0x01
        let input = Array("noise\u{01}\u{FF}".utf8) + [UInt8](good) + corrupted + [UInt8](good) + Array(good.prefix(100))
        let result = try CommandRunner.run(["parse", "-"], input: input)
        #expect(result.status == 0)
        #expect(result.lines.count == 2)
        #expect(result.stderr.contains("2 telegrams accepted, 2 rejected (crc 1, truncated 1)"))
        #expect(result.stderr.contains("CRC mismatch"))
        // Both telegrams arrive in one read: each line is a JSON document of its own (no joining comma).
        for line in result.lines {
            _ = try json(line)
        }
    }

    @Test func manyTelegramsInOneReadAreSeparateJSONLines() throws {
        let good = try [UInt8](Data(contentsOf: URL(fileURLWithPath: CommandRunner.example("dsmr5.txt"))))
        let input = Array([[UInt8]](repeating: good, count: 20).joined())
        let result = try CommandRunner.run(["parse", "-"], input: input)
        #expect(result.status == 0)
        #expect(result.lines.count == 20)
        for line in result.lines {
            #expect(line.hasPrefix("{"), "\(line.prefix(40))")
            _ = try json(line)
        }
    }

    @Test func unknownVariantAndBadKeyAreOneLineErrorsWithExitStatus2() throws {
        let variant = try CommandRunner.run(["parse", CommandRunner.example("dsmr5.txt"), "--variant", "dsmr9"])
        #expect(variant.status == 2)
        #expect(variant.stderr.contains("unknown variant 'dsmr9'"))
        #expect(variant.stdout.isEmpty)
        let key = try CommandRunner.run(["parse", CommandRunner.example("dsmr5.txt"), "--key", "1234"])
        #expect(key.status == 2)
        #expect(key.stderr.contains("--key must be 32 hexadecimal digits"))
        let missing = try CommandRunner.run(["parse", "/nonexistent/telegram.txt"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("cannot open /nonexistent/telegram.txt"))
    }

    @Test func inputWithoutTelegramsExitsWith1() throws {
        let result = try CommandRunner.run(["parse", "-"], input: Array(repeating: 0x41, count: 5000))
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("0 telegrams accepted"))
    }

    @Test func variantOverrideIsReported() throws {
        let result = try CommandRunner.run(["parse", CommandRunner.example("dsmr5.txt"), "--variant", "5B"])
        #expect(result.status == 0)
        #expect(try json(try #require(result.lines.first))["variant"] as? String == "belgium")
    }

    @Test func everyExampleTelegramParses() throws {
        let directory = CommandRunner.repository.appendingPathComponent("examples/telegrams")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".txt") }
        #expect(files.count >= 10)
        for file in files {
            let result = try CommandRunner.run(["parse", directory.appendingPathComponent(file).path])
            #expect(result.status == 0, "\(file): \(result.stderr)")
            #expect(result.lines.count == 1, "\(file)")
            #expect(result.stderr.contains("0 rejected"), "\(file): \(result.stderr)")
        }
    }

    private func crc16(_ bytes: [UInt8]) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc ^= UInt16(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xA001 : crc >> 1 }
        }
        return crc
    }
}

@Suite("p1mqtt bench")
struct BenchCommandTests {
    @Test func reportsAFigurePerFile() throws {
        let result = try CommandRunner.run(["bench", CommandRunner.example("dsmr5.txt"), "--iterations", "400"])
        #expect(result.status == 0)
        let row = try #require(result.lines.first { $0.hasPrefix("dsmr5.txt") })
        // file, bytes, parse/s, µs, typed/s, parse+JSON/s, µs to MQTT, messages
        let columns = row.split(separator: " ", omittingEmptySubsequences: true).dropFirst().map { Double($0) ?? -1 }
        #expect(columns.count == 7)
        #expect(columns.count == 7 && columns[1] > 0 && columns[3] > 0 && columns[4] > 0)
        // 42 values and the JSON document per telegram, plus discovery and status once.
        #expect((42..<45).contains(columns.last ?? 0))
    }
}

@Suite("p1mqtt topics")
struct TopicsCommandTests {
    @Test func docsTopicsIsUpToDate() throws {
        let directory = CommandRunner.repository.appendingPathComponent("examples/telegrams")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".txt") }
            .sorted().map { "examples/telegrams/\($0)" }
        let result = try CommandRunner.run(["topics"] + files)
        #expect(result.status == 0)
        let documented = try String(contentsOf: CommandRunner.repository.appendingPathComponent("docs/topics.md"), encoding: .utf8)
        #expect(result.stdout == documented, "docs/topics.md is stale: regenerate with `p1mqtt topics examples/telegrams/*.txt > docs/topics.md`")
        #expect(result.stdout.contains("| `p1mqtt/energy_import_tariff_1` | 1.8.1 | kWh |"))
        #expect(result.stdout.contains("`p1mqtt/gas_1/reading`"))
    }

    /// Every topic p1mqtt really publishes is in the reference, with the unit it is really published in.
    @Test func listsOwnTopicsDerivedFlowsAndUnitsAsPublished() throws {
        let result = try CommandRunner.run(["topics", "--base-topic", "home/meter", CommandRunner.example("belgium.txt"),
                                            CommandRunner.example("eon_hungary.txt")])
        #expect(result.status == 0)
        let rows = result.lines.filter { $0.hasPrefix("| `") }
        func row(_ topic: String) -> [String]? {
            rows.first { $0.hasPrefix("| `\(topic)` |") }.map {
                $0.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            }
        }
        #expect(row("home/meter/stats")?[2].contains("topics.stats_interval") == true)
        #expect(row("home/meter/<topics.raw>")?[2].contains("not retained") == true)
        // Flow is derived from consecutive M-Bus readings and has its own Home Assistant entity.
        #expect(row("home/meter/gas_1/flow")?[3] == "m³/h")
        #expect(row("home/meter/water_2/flow")?[3] == "m³/h")
        // DSMR 3 sends the power limit in A, Smarty in kVA: published (and discovered) in the meter's unit.
        #expect(row("home/meter/power_limit")?[3] == "kW (or A, kVA)")
        // The electricity table lists C.D.E; where only one A-B or one variant gives a code its meaning, it says so.
        let table = rows.filter { !$0.contains("_1/") && !$0.contains("_2/") && $0.split(separator: "|").count >= 6 }
        #expect(table.count > 80)
        for line in table {
            let obis = line.split(separator: "|")[1].trimmingCharacters(in: .whitespaces)
            #expect(obis.first?.isNumber == true && !obis.contains(":"), "\(line)")
        }
        #expect(row("home/meter/ct_ratio")?[2] == "31.4.0 (1-1 only)")
        #expect(row("home/meter/billing_snapshot")?[2] == "98.1.0 (E.ON Hungary only)")
        #expect(row("home/meter/billing_snapshot")?[3] == "", "mixed units")
        #expect(row("home/meter/peak_demand_history")?[3] == "kW")
    }
}
