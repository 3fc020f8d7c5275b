import Foundation
@testable import P1MQTT
@testable import P1MQTTWeb
import Testing

@Suite("History records")
struct PeriodRecordTests {
    @Test("JSON: local start and end with the meter's offset, exact thousandths, tariffs 3 and 4 only when used")
    func json() throws {
        let record = PeriodRecord(kind: .hours, start: 1_763_730_000, end: 1_763_733_600, utcOffset: 3600,
                                  importWh: [1234, 5, 0, 0], exportWh: [0, 0, 0, 7], gasLitres: 123, waterLitres: nil,
                                  peakPowerW: 2500, telegrams: 360, complete: true)
        var writer = JSONWriter()
        record.write(to: &writer)
        let text = String(decoding: writer.bytes, as: UTF8.self)
        #expect(text.contains(#""start":"2025-11-21T14:00:00+01:00""#), "\(text)")
        #expect(text.contains(#""end":"2025-11-21T15:00:00+01:00""#), "\(text)")
        #expect(text.contains(#""energy_import_kwh":{"total":1.239,"tariff_1":1.234,"tariff_2":0.005}"#), "\(text)")
        #expect(text.contains(#""energy_export_kwh":{"total":0.007,"tariff_1":0.000,"tariff_2":0.000,"tariff_4":0.007}"#), "\(text)")
        #expect(text.contains(#""gas_m3":0.123,"water_m3":null,"peak_power_kw":2.500,"telegrams":360,"complete":true"#), "\(text)")
        #expect(try JSONSerialization.jsonObject(with: Data(writer.bytes)) is [String: Any])
    }

    @Test("the meter's local time: CET in winter, CEST in summer, Irish time with offset 0/3600")
    func localTime() {
        let winter = MeterTimestamp(secondsSince1970: 1_763_730_000).localTime()  // 2025-11-21T13:00Z
        #expect(winter == .init(year: 2025, month: 11, day: 21, hour: 14, utcOffset: 3600))
        let summer = MeterTimestamp(secondsSince1970: 1_751_328_000).localTime()  // 2025-07-01T00:00Z
        #expect(summer == .init(year: 2025, month: 7, day: 1, hour: 2, utcOffset: 7200))
        let irish = MeterTimestamp(secondsSince1970: 1_751_328_000).localTime(standardOffset: 0)
        #expect(irish == .init(year: 2025, month: 7, day: 1, hour: 1, utcOffset: 3600))
        // Midnight local on 2025-03-30 (the switch to summer time) is 23:00 UTC the day before.
        #expect(MeterTimestamp.moment(year: 2025, month: 3, day: 30).secondsSince1970 == 1_743_289_200)
        // 02:00 on that day does not exist: 03:00 CEST = 01:00 UTC.
        #expect(MeterTimestamp.moment(year: 2025, month: 3, day: 30, hour: 2).secondsSince1970 == 1_743_296_400)
        // 02:00 on 2025-10-26 happens twice: the first (CEST, 00:00 UTC).
        #expect(MeterTimestamp.moment(year: 2025, month: 10, day: 26, hour: 2).secondsSince1970 == 1_761_436_800)
    }
}
