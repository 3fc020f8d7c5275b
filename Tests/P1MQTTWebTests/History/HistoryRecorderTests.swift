import Foundation
@testable import P1MQTT
@testable import P1MQTTWeb
import Testing
import P1MQTTTestSupport

@Suite("History recorder")
struct HistoryRecorderTests {
    let t0 = utc(2025, 11, 21, 13)

    /// The import register of a simulated telegram, in Wh (tariffs added).
    private func importWh(_ update: TelegramUpdate) -> Int64 {
        guard let sample = HistorySample(update) else { return 0 }
        return (0..<4).compactMap { sample.registers[$0] }.reduce(0, +)
    }

    @Test("a replayed capture of several hours fills hours and days on the meter's clock; sums equal the register differences")
    func replay() async throws {
        let directory = TemporaryDirectory()
        let (logger, logs) = CapturingLogHandler.logger()
        let recorder = HistoryRecorder(directory: directory.path, logger: logger)
        // 20:30 to 03:10 local on a weekday, a telegram every 10 s: crosses midnight and the tariff switch at 23:00.
        let updates = simulatedUpdates(from: utc(2025, 11, 20, 19, 30), to: utc(2025, 11, 21, 2, 10), every: 10)
        #expect(updates.count > 2000)
        for update in updates { recorder.accepted(update) }
        await recorder.bridgeStopping()
        #expect(logs.messages(atLeast: .warning).isEmpty)

        let hours = try recorder.records(.hours, from: nil, to: nil)
        #expect(hours.count == 8)
        #expect(hours.first?.start == utc(2025, 11, 20, 19) && hours.last?.start == utc(2025, 11, 21, 2))
        #expect(hours.dropLast().allSatisfy(\.complete) && hours.last?.complete == false)
        #expect(hours[1].telegrams == 360)
        let days = try recorder.records(.days, from: nil, to: nil)
        #expect(days.map(\.start) == [utc(2025, 11, 19, 23), utc(2025, 11, 20, 23)])

        let totalImport = importWh(updates[updates.count - 1]) - importWh(updates[0])
        #expect(totalImport > 1000)
        #expect(hours.map { $0.importWh.reduce(0, +) }.reduce(0, +) == totalImport)
        #expect(days.map { $0.importWh.reduce(0, +) }.reduce(0, +) == totalImport)
        // Both tariffs were used: high until 23:00, low after.
        #expect(hours[0].importWh[1] > 0 && hours[0].importWh[0] == 0)
        #expect(hours[5].importWh[0] > 0 && hours[5].importWh[1] == 0)
        let gasFirst = HistorySample(updates[0])?.registers[HistoryRegisters.gasSlot]
        let gasLast = HistorySample(updates[updates.count - 1])?.registers[HistoryRegisters.gasSlot]
        #expect(hours.compactMap(\.gasLitres).reduce(0, +) == (gasLast ?? 0) - (gasFirst ?? 0))
        #expect(hours.allSatisfy { ($0.peakPowerW ?? 0) > 0 })

        // What was saved is what a restarted p1mqtt reads.
        let reopened = try HistoryStore.open(directory: directory.path)
        #expect(try reopened.records(.hours, from: nil, to: nil) == hours)
    }

    @Test("Belgian telegrams: gas on 24.2.3 and water are kept too")
    func belgium() throws {
        let directory = TemporaryDirectory()
        let recorder = HistoryRecorder(directory: directory.path)
        let updates = simulatedUpdates(profile: .belgium, from: t0, to: t0 + 2 * 3600, every: 30)
        for update in updates { recorder.accepted(update) }
        let hours = try recorder.records(.hours, from: nil, to: nil)
        #expect(hours.count == 3)
        #expect(hours.allSatisfy { $0.gasLitres != nil && $0.waterLitres != nil })
        #expect(hours.compactMap(\.waterLitres).reduce(0, +) > 0)
    }

    @Test("restarted mid-hour: the hour keeps what was counted before, and nothing is counted twice")
    func restartMidHour() async throws {
        let directory = TemporaryDirectory()
        let updates = simulatedUpdates(from: t0, to: t0 + 3 * 3600, every: 10)
        let split = updates.count / 3 + 50  // in the second hour
        do {
            let recorder = HistoryRecorder(directory: directory.path, saveInterval: 1e9)
            for update in updates[..<split] { recorder.accepted(update) }
            await recorder.bridgeStopping()
        }
        let recorder = HistoryRecorder(directory: directory.path)
        for update in updates[split...] { recorder.accepted(update) }
        let hours = try recorder.records(.hours, from: nil, to: nil)
        #expect(hours.count == 4)
        #expect(hours[1].telegrams == 360)
        let total = importWh(updates[updates.count - 1]) - importWh(updates[0])
        #expect(hours.map { $0.importWh.reduce(0, +) }.reduce(0, +) == total)
    }

    @Test("a crash between saves loses no energy: the next save's baseline matches its periods")
    func crashBetweenSaves() throws {
        let directory = TemporaryDirectory()
        let updates = simulatedUpdates(from: t0, to: t0 + 2 * 3600, every: 10)
        do {
            // Saves every 300 s of receivedAt; no bridgeStopping: the process "crashes".
            let recorder = HistoryRecorder(directory: directory.path, saveInterval: 300)
            for update in updates[..<500] { recorder.accepted(update) }
        }
        let recorder = HistoryRecorder(directory: directory.path)
        for update in updates[500...] { recorder.accepted(update) }
        let hours = try recorder.records(.hours, from: nil, to: nil)
        let total = importWh(updates[updates.count - 1]) - importWh(updates[0])
        #expect(hours.map { $0.importWh.reduce(0, +) }.reduce(0, +) == total)
    }

    @Test("a meter clock glitch into the future: one warning, the hour in progress is not closed, later telegrams are kept")
    func clockGlitch() throws {
        let directory = TemporaryDirectory()
        let (logger, logs) = CapturingLogHandler.logger()
        let recorder = HistoryRecorder(directory: directory.path, saveInterval: 0, logger: logger)
        let now = Double(t0)
        recorder.record(sample(t0, import1: 1000), receivedAt: now)
        for index in 1...3 { recorder.record(sample(utc(2099, 1, 1) + Int64(index), import1: 1000), receivedAt: now + Double(index)) }
        for index in 4...6 { recorder.record(sample(t0 + Int64(index) * 10, import1: 1000 + Int64(index)), receivedAt: now + Double(index) * 10) }
        let warnings = logs.messages(atLeast: .warning)
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("2099-01-01T00:00:01Z is more than an hour ahead of this machine's clock (2025-11-21T13:00:01Z)") == true)
        let hours = try recorder.records(.hours, from: nil, to: nil)
        #expect(hours.count == 1)
        #expect(hours.first?.start == t0)
        #expect(hours.first?.telegrams == 4)
        #expect(hours.first?.importWh[0] == 6)
        #expect(try HistoryStore.open(directory: directory.path).records(.hours).allSatisfy { $0.start == t0 })
    }

    @Test("when the store fails, one error line is logged and the bridge's telegrams keep flowing without history")
    func storeFails() throws {
        let directory = TemporaryDirectory()
        let (logger, logs) = CapturingLogHandler.logger()
        let recorder = HistoryRecorder(directory: directory.path, saveInterval: 0, logger: logger)
        recorder.record(sample(t0, import1: 1000), receivedAt: 0)
        #expect(recorder.isRecording)
        // Another process (or a broken disk) takes the table away.
        let other = try SQLiteDatabase(path: directory.database)
        try other.execute("DROP TABLE periods")
        for index in 1...20 { recorder.record(sample(t0 + Int64(index) * 600, import1: 1000 + Int64(index)), receivedAt: Double(index)) }
        #expect(!recorder.isRecording)
        let errors = logs.messages(atLeast: .error)
        #expect(errors.count == 1)
        #expect(errors.first?.hasPrefix("history: \(directory.database): no such table: periods") == true)
        #expect(errors.first?.hasSuffix("p1mqtt goes on without history until it is restarted") == true)
        #expect(throws: HistoryError.self) { _ = try recorder.records(.hours, from: nil, to: nil) }
        #expect(recorder.failure != nil)
    }

    @Test("a corrupt file at start: one error line, the recorder stays off, telegrams are accepted quickly")
    func corruptAtStart() throws {
        let directory = TemporaryDirectory()
        try Data(repeating: 0x00, count: 4096).write(to: URL(fileURLWithPath: directory.database))
        try Data("this is not SQLite".utf8).write(to: URL(fileURLWithPath: directory.database))
        let (logger, logs) = CapturingLogHandler.logger()
        let recorder = HistoryRecorder(directory: directory.path, logger: logger)
        #expect(!recorder.isRecording)
        for update in simulatedUpdates(from: t0, to: t0 + 600, every: 10) { recorder.accepted(update) }
        #expect(logs.messages(atLeast: .error) == [
            "history: \(directory.database) is not a database (corrupt?): move it away and p1mqtt starts a new history; p1mqtt goes on without history",
        ])
        #expect {
            _ = try recorder.records(.days, from: nil, to: nil)
        } throws: { error in
            (error as? HistoryError)?.description.contains("is not a database") == true
        }
    }

    @Test("telegrams without the meter's time (DSMR 2.2) are left out, with one notice")
    func noTimestamp() throws {
        let directory = TemporaryDirectory()
        let (logger, logs) = CapturingLogHandler.logger()
        let recorder = HistoryRecorder(directory: directory.path, logger: logger)
        for update in simulatedUpdates(profile: .dsmr22, from: t0, to: t0 + 120, every: 10) { recorder.accepted(update) }
        #expect(logs.messages(atLeast: .notice).count == 1)
        #expect(try recorder.records(.hours, from: nil, to: nil).isEmpty)
        #expect(recorder.isRecording)
    }

    @Test("the meter's clock going back: telegrams ignored for history, one warning")
    func clockBack() throws {
        let directory = TemporaryDirectory()
        let (logger, logs) = CapturingLogHandler.logger()
        let recorder = HistoryRecorder(directory: directory.path, logger: logger)
        recorder.record(sample(t0 + 3600, import1: 2000), receivedAt: 0)
        for index in 0..<5 { recorder.record(sample(t0 + Int64(index), import1: 1000), receivedAt: 1) }
        #expect(logs.messages(atLeast: .warning).count == 1)
        let hours = try recorder.records(.hours, from: nil, to: nil)
        #expect(hours.count == 1 && hours[0].telegrams == 1 && hours[0].start == t0 + 3600)
    }
}
