import Foundation
import Mapping
import Testing

@testable import P1MQTT

/// The simulated meter (``MeterSimulator``) over days of telegrams, and the simulator and file byte sources.
@Suite("Simulator and sources")
struct SimulatorTests {
    /// Sunday 2024-03-10 00:00 CET (23:00 UTC the day before): the run covers Sunday, Monday and Tuesday,
    /// all in winter time, so the meter's clock reads UTC+1.
    static let sundayMidnight: Int64 = 1_710_025_200

    static let import1 = ObisCode(1, 0, 1, 8, 1)
    static let import2 = ObisCode(1, 0, 1, 8, 2)
    static let export1 = ObisCode(1, 0, 2, 8, 1)
    static let export2 = ObisCode(1, 0, 2, 8, 2)
    static let exportPower = ObisCode(1, 0, 2, 7, 0)
    static let importPower = ObisCode(1, 0, 1, 7, 0)
    static let tariff = ObisCode(0, 0, 96, 14, 0)
    static let clock = ObisCode(0, 0, 1, 0, 0)

    // MARK: - Determinism

    @Test("the same seed and times give the same bytes; another seed gives other bytes")
    func deterministic() {
        var first = MeterSimulator(seed: 42)
        var second = MeterSimulator(seed: 42)
        var other = MeterSimulator(seed: 43)
        var differences = 0
        for step in 0..<500 {
            let time = Self.sundayMidnight + Int64(step) * 10
            let a = first.telegram(at: time)
            let b = second.telegram(at: time)
            let c = other.telegram(at: time)
            #expect(a == b, "telegram \(step) differs for the same seed")
            if a != c { differences += 1 }
        }
        #expect(differences > 400, "another seed should give other telegrams, \(differences) of 500 differ")
        // The default seed is fixed too.
        var defaultA = MeterSimulator()
        var defaultB = MeterSimulator(profile: .dsmr5, seed: 1)
        #expect(defaultA.telegram(at: Self.sundayMidnight) == defaultB.telegram(at: Self.sundayMidnight))
        #expect(MeterSimulator().profile == .dsmr5)
    }

    @Test("SplitMix64 repeats for a seed and stays in [0, 1)")
    func splitMix() {
        var a = SplitMix64(seed: 7)
        var b = SplitMix64(seed: 7)
        for _ in 0..<1000 {
            let x = a.unit()
            #expect(x == b.unit())
            #expect(x >= 0 && x < 1)
        }
        var c = SplitMix64(seed: 8)
        var d = SplitMix64(seed: 7)
        #expect(c.next() != d.next())
    }

    // MARK: - Three days of telegrams

    struct Sample {
        var time: Int64
        var meterClock: String
        var import1: MeterNumber
        var import2: MeterNumber
        var export1: MeterNumber
        var export2: MeterNumber
        var gas: MeterNumber
        var gasTime: Int64
        var tariff: ObjectValue?
        var importPower: MeterNumber
        var exportPower: MeterNumber

        /// `DDhhmmss` from the meter's own clock line, e.g. `11120000` for the 11th at 12:00:00.
        var dayAndTime: String { String(meterClock.dropFirst(4).prefix(8)) }
        var hour: Int { Int(meterClock.dropFirst(6).prefix(2)) ?? -1 }
    }

    @Test("three simulated days at 10 s steps: valid CRCs, rising registers, gas per 5 minutes, tariffs, solar export")
    func threeDays() throws {
        var simulator = MeterSimulator(seed: 2024)
        var decoder = TelegramDecoder()
        var samples: [Sample] = []
        let steps = 3 * 24 * 360
        samples.reserveCapacity(steps)
        var failures = 0
        for step in 0..<steps {
            let time = Self.sundayMidnight + Int64(step) * 10
            let bytes = simulator.telegram(at: time)
            var events: [TelegramDecoder.Event] = []
            decoder.feed(bytes) { events.append($0) }
            guard events.count == 1, case .telegram(let telegram) = events[0] else {
                failures += 1
                if failures <= 3 { Issue.record("step \(step): \(events)") }
                continue
            }
            if step == 0 {
                #expect(telegram.variant == .dsmr5)
                #expect(telegram.p1Version == "50")
                #expect(telegram.equipmentID == MeterSimulator.equipmentID)
                #expect(telegram.mbusDevices.count == 1)
                #expect(telegram.mbusDevices.first?.kind == .gas)
                #expect(telegram.mbusDevices.first?.equipmentID == MeterSimulator.gasEquipmentID)
                #expect(telegram.mbusDevices.first?.unit == "m3")
                #expect(telegram.skippedLines == 0)
            }
            guard telegram.crc == .valid, telegram.variant == .dsmr5, telegram.timestamp?.secondsSince1970 == time,
                let clockLine = telegram.object(Self.clock), let meterClock = telegram.rawGroups(of: clockLine).first,
                let import1 = telegram.number(Self.import1), let import2 = telegram.number(Self.import2),
                let export1 = telegram.number(Self.export1), let export2 = telegram.number(Self.export2),
                let importPower = telegram.number(Self.importPower), let exportPower = telegram.number(Self.exportPower),
                let gas = telegram.mbusDevices.first, let gasReading = gas.reading, let gasTime = gas.timestamp
            else {
                failures += 1
                if failures <= 3 { Issue.record("step \(step): incomplete telegram \(String(decoding: bytes, as: UTF8.self))") }
                continue
            }
            samples.append(Sample(time: time, meterClock: meterClock, import1: import1, import2: import2,
                                  export1: export1, export2: export2, gas: gasReading,
                                  gasTime: gasTime.secondsSince1970, tariff: telegram.value(Self.tariff),
                                  importPower: importPower, exportPower: exportPower))
        }
        #expect(failures == 0)
        #expect(decoder.statistics.accepted == steps)
        #expect(decoder.statistics.rejectedTotal == 0)
        #expect(decoder.statistics.skippedBytes == 0)
        try #require(samples.count == steps)

        // Registers never decrease, and all of them rise over the run.
        let registers: [(String, KeyPath<Sample, MeterNumber>)] = [
            ("1.8.1", \.import1), ("1.8.2", \.import2), ("2.8.1", \.export1), ("2.8.2", \.export2), ("gas", \.gas),
        ]
        for (name, path) in registers {
            var decreases = 0
            for (previous, next) in zip(samples, samples.dropFirst()) where next[keyPath: path] < previous[keyPath: path] {
                decreases += 1
                if decreases <= 3 {
                    Issue.record("\(name) went from \(previous[keyPath: path]) to \(next[keyPath: path]) at \(next.meterClock)")
                }
            }
            #expect(decreases == 0, "\(name)")
            #expect(samples.last![keyPath: path] > samples.first![keyPath: path], "\(name) never rose")
        }

        // The gas reading is stamped on a 5-minute boundary, never in the future, and at most 5 minutes old.
        for sample in samples {
            #expect(sample.gasTime % 300 == 0, "gas stamp \(sample.gasTime) at \(sample.meterClock)")
            #expect(sample.gasTime <= sample.time && sample.time - sample.gasTime < 300, "at \(sample.meterClock)")
            if sample.gasTime % 300 != 0 || sample.gasTime > sample.time { break }
        }

        // Tariffs: low (0001) at 03:00 every day; normal (0002) at noon on Monday and Tuesday, low on Sunday.
        let byClock = Dictionary(samples.map { ($0.dayAndTime, $0) }, uniquingKeysWith: { a, _ in a })
        for day in ["10", "11", "12"] {
            let night = try #require(byClock["\(day)030000"], "no telegram at 03:00 on the \(day)th")
            #expect(night.meterClock == "2403\(day)030000W")
            #expect(night.tariff == .text("0001"), "03:00 on the \(day)th")
        }
        for day in ["11", "12"] {
            let noon = try #require(byClock["\(day)120000"])
            #expect(noon.tariff == .text("0002"), "12:00 on weekday \(day)")
        }
        #expect(byClock["10120000"]?.tariff == .text("0001"), "Sunday is low tariff all day")
        #expect(byClock["11230000"]?.tariff == .text("0001"), "23:00 is low tariff")
        #expect(byClock["11070000"]?.tariff == .text("0002"), "07:00 on a weekday is normal tariff")

        // Solar: exporting at noon, nothing at night.
        for day in ["10", "11", "12"] {
            let noon = try #require(byClock["\(day)120000"])
            #expect(noon.exportPower > MeterNumber(mantissa: 0, scale: 3), "no export at noon on the \(day)th")
        }
        let night = samples.filter { $0.hour >= 0 && ($0.hour < 5 || $0.hour >= 22) }
        #expect(night.count > 3 * 7 * 360 - 10)
        #expect(night.allSatisfy { $0.exportPower.isZero }, "export at night")
        #expect(night.allSatisfy { !$0.importPower.isZero }, "a household always uses something")
        // Import and export are never both non-zero.
        #expect(samples.allSatisfy { $0.importPower.isZero || $0.exportPower.isZero })
    }

    @Test("telegrams decode when the stream is fed in small pieces")
    func chunkedStream() {
        var simulator = MeterSimulator(seed: 3)
        var stream: [UInt8] = []
        for step in 0..<20 { stream += simulator.telegram(at: Self.sundayMidnight + Int64(step)) }
        let decoded = TestTelegrams.decode(stream, chunkSize: 7)
        #expect(decoded.acceptedCount == 20)
        #expect(decoded.rejections.isEmpty)
        #expect(decoded.telegrams.allSatisfy { $0.crc == .valid })
    }

    // MARK: - SimulatorByteSource

    @Test("SimulatorByteSource with interval 0.01 and count 3 yields exactly 3 telegrams, then ends",
          .timeLimit(.minutes(1)))
    func simulatorSource() async throws {
        let source = SimulatorByteSource(interval: 0.01, seed: 5, count: 3)
        #expect(source.name == "simulator dsmr5")
        var chunks: [[UInt8]] = []
        for try await chunk in source.chunks() { chunks.append(chunk) }
        #expect(chunks.count == 3)
        let decoded = TestTelegrams.decode(chunks.flatMap { $0 })
        #expect(decoded.acceptedCount == 3)
        #expect(decoded.rejections.isEmpty)
        #expect(decoded.telegrams.allSatisfy { $0.crc == .valid && $0.variant == .dsmr5 })
        // Stamped with the current time.
        let now = Int64(Date().timeIntervalSince1970)
        for telegram in decoded.telegrams {
            let stamp = try #require(telegram.timestamp?.secondsSince1970)
            #expect(abs(stamp - now) < 60)
        }
    }

    @Test("SimulatorByteSource stops when the consumer stops", .timeLimit(.minutes(1)))
    func simulatorSourceCancel() async throws {
        let source = SimulatorByteSource(interval: 0.01)
        var count = 0
        for try await _ in source.chunks() {
            count += 1
            if count == 5 { break }
        }
        #expect(count == 5)
    }

    // MARK: - FileByteSource

    static func temporaryFile(_ bytes: [UInt8]) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("p1mqtt-simulator-tests-\(UUID().uuidString).txt")
        try Data(bytes).write(to: url)
        return url
    }

    @Test("FileByteSource reads a file in chunks and finishes", .timeLimit(.minutes(1)))
    func fileSource() async throws {
        var content: [UInt8] = []
        for number in 0..<300 { content += TestTelegrams.dsmr5(number: number) }
        let url = try Self.temporaryFile(content)
        defer { try? FileManager.default.removeItem(at: url) }
        let source = FileByteSource(path: url.path, chunkSize: 4096)
        #expect(source.name == "file \(url.path)")
        try source.validate()
        var chunks: [[UInt8]] = []
        for try await chunk in source.chunks() { chunks.append(chunk) }
        #expect(chunks.flatMap { $0 } == content)
        #expect(chunks.count == (content.count + 4095) / 4096)
        #expect(chunks.allSatisfy { !$0.isEmpty && $0.count <= 4096 })
        let decoded = TestTelegrams.decode(chunks.flatMap { $0 })
        #expect(decoded.acceptedCount == 300)
        #expect(decoded.rejections.isEmpty)
    }

    @Test("FileByteSource: an empty file finishes without chunks", .timeLimit(.minutes(1)))
    func emptyFile() async throws {
        let url = try Self.temporaryFile([])
        defer { try? FileManager.default.removeItem(at: url) }
        var chunks = 0
        for try await _ in FileByteSource(path: url.path, chunkSize: 16).chunks() { chunks += 1 }
        #expect(chunks == 0)
    }

    @Test("FileByteSource reports a missing file clearly, from validate() and from the stream", .timeLimit(.minutes(1)))
    func missingFile() async {
        let path = "/nonexistent/p1mqtt/capture-\(UUID().uuidString).txt"
        let source = FileByteSource(path: path)
        let expected = "cannot open \(path): No such file or directory"
        do {
            try source.validate()
            Issue.record("validate() accepted a missing file")
        } catch {
            #expect(error.description == expected)
        }
        do {
            for try await _ in source.chunks() { Issue.record("a missing file produced bytes") }
            Issue.record("the stream of a missing file finished without an error")
        } catch let error as SourceError {
            #expect(error.description == expected)
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("FileByteSource: - and nil are standard input")
    func standardInput() throws {
        #expect(FileByteSource(path: "-").path == nil)
        #expect(FileByteSource(path: nil).path == nil)
        #expect(FileByteSource(path: "-").name == "standard input")
        try FileByteSource(path: nil).validate()
        #expect(FileByteSource(path: "x").chunkSize == 64 * 1024)
    }
}
