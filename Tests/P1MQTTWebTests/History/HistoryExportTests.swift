import Foundation
@testable import P1MQTT
@testable import P1MQTTWeb
@testable import p1mqtt
import Testing

@Suite("History export")
struct HistoryExportTests {
    let records = [
        PeriodRecord(kind: .hours, start: utc(2025, 11, 21, 13), end: utc(2025, 11, 21, 14), utcOffset: 3600,
                     importWh: [1234, 5, 0, 0], exportWh: [0, 70, 0, 0], gasLitres: 123, waterLitres: nil,
                     peakPowerW: 2500, telegrams: 360, complete: true),
        PeriodRecord(kind: .days, start: utc(2025, 3, 29, 23), end: utc(2025, 3, 30, 22), utcOffset: 3600,
                     importWh: [10, 0, 0, 0], telegrams: 7, complete: false, endUTCOffset: 7200),
    ]

    @Test("CSV: a header and one line per record, exact decimals, local times, empty fields for absent meters")
    func csv() {
        let text = String(decoding: HistoryExport.csv(records), as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.count == 4 && lines[3].isEmpty)
        let header = lines[0].split(separator: ",")
        #expect(header.count == 18)
        #expect(header.prefix(4) == ["kind", "start", "end", "import_kwh_t1"])
        #expect(lines[1] == "hours,2025-11-21T14:00:00+01:00,2025-11-21T15:00:00+01:00,1.234,0.005,0.000,0.000,1.239,0.000,0.070,0.000,0.000,0.070,0.123,,2.500,360,true")
        #expect(lines[2] == "days,2025-03-30T00:00:00+01:00,2025-03-31T00:00:00+02:00,0.010,0.000,0.000,0.000,0.010,0.000,0.000,0.000,0.000,0.000,,,,7,false")
        #expect(lines.dropFirst().dropLast().allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false).count == 18 })
    }

    @Test("JSON: an array of the API's record objects with their kind")
    func json() throws {
        let bytes = HistoryExport.json(records)
        let array = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [[String: Any]])
        #expect(array.count == 2)
        #expect(array[0]["kind"] as? String == "hours")
        #expect(array[0]["start"] as? String == "2025-11-21T14:00:00+01:00")
        #expect((array[0]["energy_import_kwh"] as? [String: Any])?["tariff_1"] as? Double == 1.234)
        #expect(array[0]["water_m3"] is NSNull)
        #expect(array[1]["end"] as? String == "2025-03-31T00:00:00+02:00")
        #expect(array[1]["complete"] as? Bool == false)
        #expect(try JSONSerialization.jsonObject(with: Data(HistoryExport.json([]))) as? [Any] != nil)
    }

    @Test("--from/--to: dates on the meter's clock, times with and without an offset, the whole --to day")
    func dates() {
        #expect(HistoryDate.parse("2025-11-21", standardOffset: 3600, endOfDay: false) == utc(2025, 11, 20, 23))
        #expect(HistoryDate.parse("2025-11-21", standardOffset: 3600, endOfDay: true) == utc(2025, 11, 21, 23))
        #expect(HistoryDate.parse("2025-03-30", standardOffset: 3600, endOfDay: true) == utc(2025, 3, 30, 22))
        #expect(HistoryDate.parse("2025-07-01T14:00", standardOffset: 3600, endOfDay: true) == utc(2025, 7, 1, 12))
        #expect(HistoryDate.parse("2025-07-01T14:00:30Z", standardOffset: 3600, endOfDay: false) == utc(2025, 7, 1, 14, 0, 30))
        #expect(HistoryDate.parse("2025-07-01T14:00+01:00", standardOffset: 3600, endOfDay: false) == utc(2025, 7, 1, 13))
        #expect(HistoryDate.parse("2025-07-01", standardOffset: 0, endOfDay: false) == utc(2025, 6, 30, 23))
        for bad in ["", "2025", "2025-13-01", "2025-02-30", "2025-07-01T25:00", "2025-07-01T14:00+1", "yesterday", "2025-07-01X"] {
            #expect(HistoryDate.parse(bad, standardOffset: 3600, endOfDay: false) == nil, "\(bad)")
        }
    }

    @Test("p1mqtt history export: CSV and JSON on stdout; exit 2 for a bad option, 1 without a history")
    func command() throws {
        let directory = TemporaryDirectory()
        let recorder = HistoryRecorder(directory: directory.path)
        for update in simulatedUpdates(from: utc(2025, 11, 21, 13), to: utc(2025, 11, 21, 15, 30), every: 60) {
            recorder.accepted(update)
        }
        recorder.flush()
        let csv = try runP1MQTT(["history", "export", "--data-dir", directory.path])
        #expect(csv.status == 0, "\(csv.stderr)")
        let lines = csv.stdout.split(separator: "\n")
        #expect(lines.first.map(String.init) == HistoryExport.csvHeader)
        #expect(lines.count == 1 + 3 + 1 + 1)
        let json = try runP1MQTT(["history", "export", "--data-dir", directory.path, "--period", "hours", "--format", "json",
                                  "--from", "2025-11-21T15:00"])
        #expect(json.status == 0, "\(json.stderr)")
        let array = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        #expect(array?.map { $0["start"] as? String } == ["2025-11-21T15:00:00+01:00", "2025-11-21T16:00:00+01:00"])

        let bad = try runP1MQTT(["history", "export", "--data-dir", directory.path, "--format", "xml"])
        #expect(bad.status == 2 && bad.stderr == "p1mqtt history export: unknown format 'xml'; use csv or json\n")
        let badDate = try runP1MQTT(["history", "export", "--data-dir", directory.path, "--from", "tomorrow"])
        #expect(badDate.status == 2)
        let noDir = try runP1MQTT(["history", "export"])
        #expect(noDir.status == 2 && noDir.stderr == "p1mqtt history export: --data-dir is required\n")
        let missing = try runP1MQTT(["history", "export", "--data-dir", directory.path + "/nothing"])
        #expect(missing.status == 1)
        #expect(missing.stderr.hasPrefix("p1mqtt history export: cannot open \(directory.path)/nothing/\(HistoryStore.fileName)"))
        #expect(missing.stdout.isEmpty)
    }

    /// Runs the built p1mqtt executable.
    private func runP1MQTT(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        var executable = repository.appendingPathComponent(".build/debug/p1mqtt")
        for candidate in [here, here.deletingLastPathComponent(), Bundle.main.bundleURL] {
            let url = candidate.appendingPathComponent("p1mqtt")
            if FileManager.default.isExecutableFile(atPath: url.path) {
                executable = url
                break
            }
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }
}
