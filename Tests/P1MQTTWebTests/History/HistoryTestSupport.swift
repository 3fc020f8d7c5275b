import Foundation
import Logging
import Mapping
@testable import P1MQTT
@testable import P1MQTTWeb
import Synchronization

/// A temporary directory, removed when the value goes away.
final class TemporaryDirectory {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "p1mqtt-history-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    var database: String { path + "/" + HistoryStore.fileName }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// A sample with the registers given in Wh / litres.
func sample(_ time: Int64, import1: Int64? = nil, import2: Int64? = nil, export1: Int64? = nil, export2: Int64? = nil,
            gas: Int64? = nil, water: Int64? = nil, power: Int64? = nil, standardOffset: Int64 = 3600) -> HistorySample {
    var registers = HistoryRegisters()
    registers[0] = import1
    registers[1] = import2
    registers[4] = export1
    registers[5] = export2
    registers[HistoryRegisters.gasSlot] = gas
    registers[HistoryRegisters.waterSlot] = water
    return HistorySample(time: time, standardOffset: standardOffset, registers: registers, powerW: power)
}

extension HistoryAccumulator {
    /// Adds a sample and returns the closed periods (empty when it was out of order).
    mutating func closing(_ sample: HistorySample) -> [PeriodRecord] {
        if case .counted(let closed, _) = add(sample) { return closed }
        return []
    }
}

/// `2025-11-21T13:00:00Z`-style UTC moments for readable tests.
func utc(_ year: Int, _ month: Int, _ day: Int, _ hour: Int = 0, _ minute: Int = 0, _ second: Int = 0) -> Int64 {
    var components = DateComponents()
    components.year = year
    components.month = month
    components.day = day
    components.hour = hour
    components.minute = minute
    components.second = second
    components.timeZone = TimeZone(identifier: "UTC")
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    return Int64(calendar.date(from: components)!.timeIntervalSince1970)
}

/// Simulated meter telegrams decoded and mapped the way the bridge hands them to observers.
func simulatedUpdates(profile: MeterSimulator.Profile = .dsmr5, from start: Int64, to end: Int64, every interval: Int64)
    -> [TelegramUpdate]
{
    var simulator = MeterSimulator(profile: profile)
    var decoder = TelegramDecoder()
    var updates: [TelegramUpdate] = []
    var time = start
    while time <= end {
        for event in decoder.decodeAll(simulator.telegram(at: time)) {
            if case .telegram(let telegram) = event {
                updates.append(TelegramUpdate(telegram: telegram, readings: ReadingMapper.readings(of: telegram),
                                              json: [], receivedAt: Double(time)))
            }
        }
        time += interval
    }
    return updates
}

