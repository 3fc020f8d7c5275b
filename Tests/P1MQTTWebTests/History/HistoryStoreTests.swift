import Foundation
@testable import P1MQTT
@testable import P1MQTTWeb
import Testing

@Suite("History store")
struct HistoryStoreTests {
    let t0 = utc(2025, 11, 21, 13)

    /// Feeds samples into an accumulator and saves after each, as the recorder does at a period close.
    private func feed(_ samples: [HistorySample], into store: HistoryStore, state: HistoryAccumulator.State) throws
        -> HistoryAccumulator.State
    {
        var accumulator = HistoryAccumulator(state: state)
        for sample in samples {
            let closed = accumulator.closing(sample)
            try store.save(closed: closed, state: accumulator.state)
        }
        return accumulator.state
    }

    @Test("closed and in-progress periods and the baseline round-trip; the file is in WAL mode")
    func roundTrip() throws {
        let directory = TemporaryDirectory()
        let store = try HistoryStore.open(directory: directory.path)
        #expect(store.path == directory.database)
        let state = try feed([
            sample(t0, import1: 1000, import2: 7, export1: 50, gas: 300_000, water: 10, power: 1234),
            sample(t0 + 1800, import1: 1500, import2: 7, export1: 80, gas: 300_100, water: 15, power: 99),
            sample(t0 + 3700, import1: 1600, import2: 9, export1: 80, gas: 300_100, water: 15, power: 10),
        ], into: store, state: HistoryAccumulator.State())
        #expect(FileManager.default.fileExists(atPath: directory.database + "-wal"))
        let hours = try store.records(.hours, from: nil, to: nil)
        #expect(hours.count == 2)
        #expect(hours[0] == PeriodRecord(kind: .hours, start: t0, end: t0 + 3600, utcOffset: 3600, importWh: [500, 0, 0, 0],
                                         exportWh: [30, 0, 0, 0], gasLitres: 100, waterLitres: 5, peakPowerW: 1234,
                                         telegrams: 2, complete: true))
        #expect(hours[1] == state.open[0])
        #expect(try store.records(.days, from: nil, to: nil) == [state.open[1]])
        #expect(try store.records(.months, from: nil, to: nil) == [state.open[2]])
        #expect(try store.records(.hours, from: t0 + 1, to: nil) == [state.open[0]])
        #expect(try store.records(.hours, from: nil, to: t0 + 3600) == [hours[0]])
        #expect(try store.loadState() == state)
        let journal = try store.withDatabase { database throws(HistoryError) in try database.text("PRAGMA journal_mode") }
        #expect(journal == "wal")
    }

    @Test("closed, reopened and continued, the periods add up exactly to the last register minus the first")
    func survivesReopen() throws {
        let directory = TemporaryDirectory()
        var register: Int64 = 4_211_406
        let first = register + 13  // the first sample's
        var time = t0 + 120
        func next(_ count: Int) -> [HistorySample] {
            (0..<count).map { _ in
                time += 97
                register += 13
                return sample(time, import1: register)
            }
        }
        do {
            let store = try HistoryStore.open(directory: directory.path)
            _ = try feed(next(50), into: store, state: try store.loadState())
        }
        do {
            let store = try HistoryStore.open(directory: directory.path)
            let state = try store.loadState()
            #expect(state.baseline[0] == register && state.lastTime == time)
            time += 5 * 3600  // p1mqtt was down for five hours
            register += 4000
            _ = try feed(next(80), into: store, state: state)
        }
        let store = try HistoryStore.open(directory: directory.path)
        let hours = try store.records(.hours, from: nil, to: nil)
        #expect(hours.filter { !$0.complete }.count == 1)
        #expect(hours.map { $0.importWh[0] }.reduce(0, +) == register - first)
        #expect(try store.records(.days, from: nil, to: nil).map { $0.importWh[0] }.reduce(0, +) == register - first)
    }

    @Test("retention: 48 hours, 14 days and the configured months are kept besides the period in progress")
    func retention() throws {
        let directory = TemporaryDirectory()
        let store = try HistoryStore.open(directory: directory.path, retention: HistoryRetention(months: 2))
        var samples: [HistorySample] = []
        var register: Int64 = 1000
        // Five months, a telegram every three hours.
        for time in stride(from: utc(2025, 6, 1), through: utc(2025, 10, 30, 12), by: 3 * 3600) {
            register += 5
            samples.append(sample(time, import1: register))
        }
        let state = try feed(samples, into: store, state: HistoryAccumulator.State())
        let hours = try store.records(.hours, from: nil, to: nil)
        // Telegrams every third hour: the 48 hours before the open one hold 16 rows.
        #expect(hours.count == 17)
        #expect(hours.first?.start == state.open[0].start - 48 * 3600)
        let days = try store.records(.days, from: nil, to: nil)
        #expect(days.count == 15)
        // October 26 is a 25-hour day in the range: still exactly 14 complete days.
        #expect(days.first?.start == utc(2025, 10, 15, 22))
        let months = try store.records(.months, from: nil, to: nil)
        #expect(months.map(\.start) == [utc(2025, 7, 31, 22), utc(2025, 8, 31, 22), utc(2025, 9, 30, 22)])
        #expect(months.last?.complete == false)
    }

    @Test("a file that is not a database gives one clear error")
    func garbage() throws {
        let directory = TemporaryDirectory()
        try Data(repeating: 0x41, count: 10_000).write(to: URL(fileURLWithPath: directory.database))
        #expect {
            _ = try HistoryStore.open(directory: directory.path)
        } throws: { error in
            (error as? HistoryError)?.description
                == "\(directory.database) is not a database (corrupt?): move it away and p1mqtt starts a new history"
        }
    }

    @Test("a database damaged inside (intact header) fails the integrity check with the same advice")
    func damaged() throws {
        let directory = TemporaryDirectory()
        do {
            let store = try HistoryStore.open(directory: directory.path, retention: HistoryRetention(hours: 100_000))
            var samples: [HistorySample] = []
            for index in 0..<400 { samples.append(sample(t0 + Int64(index) * 3600, import1: 1000 + Int64(index))) }
            _ = try feed(samples, into: store, state: HistoryAccumulator.State())
        }
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: directory.database)))
        #expect(bytes.count > 8192)
        for index in 4096 + 100..<bytes.count where index % 7 != 0 { bytes[index] = 0xA5 }
        try Data(bytes).write(to: URL(fileURLWithPath: directory.database))
        #expect {
            _ = try HistoryStore.open(directory: directory.path)
        } throws: { error in
            let text = (error as? HistoryError)?.description ?? ""
            return text.hasPrefix("\(directory.database) is not a database (corrupt?): move it away")
        }
    }

    @Test("a directory that cannot be created or written gives one clear error naming --data-dir")
    func unwritable() throws {
        let directory = TemporaryDirectory()
        let file = directory.path + "/plain-file"
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        #expect {
            _ = try HistoryStore.open(directory: file + "/history")
        } throws: { error in
            (error as? HistoryError)?.description
                == "cannot create \(file)/history for the history: a part of the path is not a directory; check --data-dir"
        }
        #expect {
            _ = try HistoryStore.open(directory: file)
        } throws: { error in
            (error as? HistoryError)?.description.contains("is not a directory; check --data-dir") == true
        }
        if getuid() != 0 {
            let locked = directory.path + "/locked"
            try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: false,
                                                    attributes: [.posixPermissions: 0o555])
            #expect {
                _ = try HistoryStore.open(directory: locked)
            } throws: { error in
                (error as? HistoryError)?.description == "cannot create \(locked)/\(HistoryStore.fileName): permission denied; check --data-dir"
            }
        }
        // Read-only (the export) never creates anything.
        #expect {
            _ = try HistoryStore.open(directory: directory.path, readOnly: true)
        } throws: { error in
            (error as? HistoryError)?.description == "cannot open \(directory.database): no such file or directory; check --data-dir"
        }
        #expect(!FileManager.default.fileExists(atPath: directory.database))
    }
}
