import Foundation
@testable import P1MQTT
@testable import P1MQTTWeb
import Testing

@Suite("History samples from telegrams")
struct HistorySampleTests {
    private func update(_ example: String) throws -> TelegramUpdate {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let bytes = try [UInt8](Data(contentsOf: repository.appendingPathComponent("examples/telegrams/\(example)")))
        var decoder = TelegramDecoder()
        for event in decoder.decodeAll(bytes) {
            if case .telegram(let telegram) = event {
                return TelegramUpdate(telegram: telegram, readings: ReadingMapper.readings(of: telegram), json: [], receivedAt: 0)
            }
        }
        throw HistoryError("no telegram in \(example)")
    }

    @Test("DSMR 5: tariff registers in Wh, gas in litres, power in W, the meter's time")
    func dsmr5() throws {
        let sample = try #require(HistorySample(try update("dsmr5.txt")))
        #expect(sample.time == MeterTimestamp("210614083512S")?.secondsSince1970)
        #expect(sample.standardOffset == 3600)
        #expect(sample.registers.values == [7_481_295, 6_930_842, nil, nil, 1_204_773, 2_617_058, nil, nil, 2_891_406, nil])
        #expect(sample.powerW == 0)
    }

    @Test("Sweden sends only totals: counted as tariff 1")
    func totalsOnly() throws {
        let sample = try #require(HistorySample(try update("sweden.txt")))
        #expect(sample.registers.values == [18_265_731, nil, nil, nil, 2_143_508, nil, nil, nil, nil, nil])
        #expect(sample.powerW == 2917)
    }

    @Test("two gas meters: the first one's reading is kept")
    func twoGas() throws {
        let update = try update("dsmr5_two_gas.txt")
        let sample = try #require(HistorySample(update))
        let first = update.readings.first { $0.value.device?.hasPrefix("gas_") == true && $0.value.key == "reading" }
        #expect(sample.registers[HistoryRegisters.gasSlot] == first?.payload.number.flatMap(HistorySample.thousandths))
    }

    @Test("meters without their own time (EasyMeter Q3D, DSMR 2.2) give no sample; finer registers are truncated")
    func noTime() throws {
        #expect(HistorySample(try update("q3d.txt")) == nil)
        #expect(HistorySample.thousandths(MeterNumber(mantissa: 184_026_617_240, scale: 7)) == 18_402_661)
        #expect(HistorySample.thousandths(MeterNumber(mantissa: 5, scale: 0)) == 5000)
        #expect(HistorySample.thousandths(MeterNumber(mantissa: -5, scale: 0)) == nil)
    }
}
