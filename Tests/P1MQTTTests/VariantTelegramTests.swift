import Foundation
import Mapping
import Testing

@testable import P1MQTT

/// The project's own telegrams in `examples/telegrams/`, one per meter variant (see the README there), decoded
/// end to end and checked value by value.
@Suite("Variant telegrams (examples/telegrams)")
struct VariantTelegramTests {
    // MARK: DSMR 2.2 / 3

    @Test("DSMR 2.2: no CRC, no timestamp, legacy two-line gas reading")
    func dsmr22() throws {
        let telegram = try VariantTelegramFixtures.decode("dsmr22.txt")
        #expect(telegram.variant == .dsmr3)
        #expect(telegram.crc == .absent)
        #expect(telegram.encrypted == false)
        #expect(telegram.header == "/KMP5 KA6U001660297912")
        #expect(telegram.timestamp == nil)
        #expect(telegram.p1Version == nil)
        #expect(telegram.equipmentID == "KA6U001660297912")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:1.8.1", "3418.726", "kWh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:1.8.2", "4102.355", "kWh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:2.8.1", "0.000", "kWh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:1.7.0", "0.41", "kW")
        VariantTelegramFixtures.expectNumber(telegram, "0-0:17.0.0", "999.00", "kW")
        #expect(telegram.value(ObisCode(0, 0, 96, 14, 0)) == .text("0002"))
        #expect(telegram.value(ObisCode(0, 0, 96, 13, 0)) == .empty)
        #expect(telegram.mbusDevices.count == 1)
        let gas = try #require(telegram.mbusDevices.first)
        VariantTelegramFixtures.expectDevice(
            gas, channel: 1, deviceType: 3, kind: .gas, equipmentID: "28000417724193", reading: "2764.118",
            unit: "m3",
            // 12 digits without S/W: 2014-03-11 21:00 is winter time (UTC+1).
            timestamp: "2014-03-11T20:00:00Z", isPlaceholder: false)
        #expect(gas.readingCode == ObisCode(0, 1, 24, 3, 0))
        #expect(gas.valvePosition == 1)
        #expect(telegram.value(ObisCode(0, 1, 24, 3, 0))
            == .reading(MeterNumber("02764.118"), unit: "m3", timestamp: MeterTimestamp("140311210000")))
    }

    @Test("DSMR 3: hex-encoded text message and text code, no CRC")
    func dsmr3() throws {
        let telegram = try VariantTelegramFixtures.decode("dsmr3.txt")
        #expect(telegram.variant == .dsmr3)
        #expect(telegram.crc == .absent)
        #expect(telegram.header == "/XMX5LGBBFFB231215493")
        #expect(telegram.timestamp == nil)
        #expect(telegram.equipmentID == "E0031003310274815")
        #expect(telegram.value(ObisCode(0, 0, 96, 13, 0)) == .hexText(
            decoded: "Onderhoud net 14 mei 09:00-11:00",
            raw: "4F6E646572686F7564206E6574203134206D65692030393A30302D31313A3030"))
        #expect(telegram.value(ObisCode(0, 0, 96, 13, 1)) == .hexText(decoded: "10", raw: "3130"))
        VariantTelegramFixtures.expectNumber(telegram, "1-0:1.8.1", "913.418", "kWh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:2.8.2", "128.904", "kWh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:1.7.0", "0.29", "kW")
        #expect(telegram.value(ObisCode(0, 0, 96, 14, 0)) == .text("0001"))
        #expect(telegram.mbusDevices.count == 1)
        let gas = try #require(telegram.mbusDevices.first)
        VariantTelegramFixtures.expectDevice(
            gas, channel: 1, deviceType: 3, kind: .gas, equipmentID: "G0031003517762014", reading: "1532.907",
            unit: "m3",
            // 12 digits without S/W: 2012-07-15 14:00 is summer time (UTC+2).
            timestamp: "2012-07-15T12:00:00Z", isPlaceholder: false)
    }

    // MARK: DSMR 4 / 5

    @Test("DSMR 4: Kaifa, P1 version 42, power failure log with two entries, gas on 24.2.1")
    func dsmr4() throws {
        let telegram = try VariantTelegramFixtures.decode("dsmr4.txt")
        #expect(telegram.variant == .dsmr4)
        #expect(telegram.crc == .valid)
        #expect(telegram.header == "/KFM5KAIFA-MA304")
        #expect(telegram.manufacturerFlag == "KFM")
        #expect(telegram.p1Version == "42")
        #expect(telegram.timestamp?.description == "2018-03-02T12:41:58Z")
        #expect(telegram.equipmentID == "E0025003917446218")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:1.8.1", "4512.331", "kWh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:1.8.2", "3968.017", "kWh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:2.8.2", "742.466", "kWh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:1.7.0", "0.614", "kW")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:21.7.0", "0.508", "kW")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:31.7.0", "3", "A")
        VariantTelegramFixtures.expectNumber(telegram, "0-0:96.7.21", "4", nil)
        VariantTelegramFixtures.expectNumber(telegram, "0-0:96.7.9", "2", nil)
        VariantTelegramFixtures.expectNumber(telegram, "1-0:32.32.0", "1", nil)

        guard case .entries(let failures)? = telegram.value(ObisCode(1, 0, 99, 97, 0)) else {
            Issue.record("99.97.0 is not a list of entries: \(String(describing: telegram.value(ObisCode(1, 0, 99, 97, 0))))")
            return
        }
        #expect(failures.count == 2)
        if failures.count == 2 {
            #expect(failures[0].timestamp?.description == "2017-10-11T04:40:12Z")
            #expect(failures[0].value?.description == "12310")
            #expect(failures[0].unit == "s")
            #expect(failures[0].periodStart == nil)
            #expect(failures[1].timestamp?.description == "2018-02-23T09:17:25Z")
            #expect(failures[1].value?.description == "874")
            #expect(failures[1].unit == "s")
        }

        #expect(telegram.mbusDevices.count == 1)
        let gas = try #require(telegram.mbusDevices.first)
        VariantTelegramFixtures.expectDevice(
            gas, channel: 1, deviceType: 3, kind: .gas, equipmentID: "G0025003926180117", reading: "3195.264",
            unit: "m3", timestamp: "2018-03-02T12:00:00Z", isPlaceholder: false)
        #expect(gas.readingCode == ObisCode(0, 1, 24, 2, 1))
    }

    @Test("DSMR 5: voltages, currents, per-phase power, gas on channel 1")
    func dsmr5() throws {
        let telegram = try VariantTelegramFixtures.decode("dsmr5.txt")
        #expect(telegram.variant == .dsmr5)
        #expect(telegram.crc == .valid)
        #expect(telegram.header == "/Ene5\\XS210 ESMR 5.0")
        #expect(telegram.p1Version == "50")
        #expect(telegram.timestamp?.description == "2021-06-14T06:35:12Z")
        #expect(telegram.equipmentID == "E0051004871239517")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:1.8.1", "7481.295", "kWh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:2.8.2", "2617.058", "kWh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:1.7.0", "0.000", "kW")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:2.7.0", "2.318", "kW")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:32.7.0", "236.4", "V")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:52.7.0", "235.9", "V")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:72.7.0", "237.1", "V")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:31.7.0", "4", "A")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:51.7.0", "3", "A")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:22.7.0", "0.846", "kW")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:42.7.0", "0.702", "kW")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:62.7.0", "0.770", "kW")
        #expect(telegram.number(ObisCode(1, 0, 62, 7, 0))?.doubleValue == 0.77)
        #expect(telegram.value(ObisCode(0, 0, 96, 14, 0)) == .text("0001"))
        #expect(telegram.value(ObisCode(1, 0, 99, 97, 0)) == .entries([
            ProfileEntry(timestamp: MeterTimestamp("200917031144S"), value: MeterNumber("0000004021"), unit: "s"),
        ]))
        #expect(telegram.mbusDevices.count == 1)
        let gas = try #require(telegram.mbusDevices.first)
        VariantTelegramFixtures.expectDevice(
            gas, channel: 1, deviceType: 3, kind: .gas, equipmentID: "G0051004871239517", reading: "2891.406",
            unit: "m3", timestamp: "2021-06-14T06:30:05Z", isPlaceholder: false)
    }

    @Test("DSMR 5: dead placeholder on channel 1, real gas meter on channel 2")
    func dsmr5TwoGas() throws {
        let telegram = try VariantTelegramFixtures.decode("dsmr5_two_gas.txt")
        #expect(telegram.variant == .dsmr5)
        #expect(telegram.crc == .valid)
        #expect(telegram.p1Version == "50")
        #expect(telegram.timestamp?.description == "2022-11-27T18:15:44Z")
        #expect(telegram.equipmentID == "E0043007291184520")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:1.8.1", "11302.570", "kWh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:1.7.0", "1.732", "kW")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:32.7.0", "227.6", "V")
        VariantTelegramFixtures.expectNumber(telegram, "0-0:96.7.21", "11", nil)
        // `(0)(0-0:96.7.19)`: an empty failure log.
        #expect(telegram.value(ObisCode(1, 0, 99, 97, 0)) == .entries([]))
        #expect(telegram.mbusDevices.map(\.channel) == [1, 2])
        guard telegram.mbusDevices.count == 2 else { return }
        VariantTelegramFixtures.expectDevice(
            telegram.mbusDevices[0], channel: 1, deviceType: 3, kind: .gas, equipmentID: nil, reading: nil,
            unit: nil, timestamp: nil, isPlaceholder: true)
        VariantTelegramFixtures.expectDevice(
            telegram.mbusDevices[1], channel: 2, deviceType: 3, kind: .gas, equipmentID: "G0043007291184520",
            reading: "5126.833", unit: "m3", timestamp: "2022-11-27T18:10:07Z", isPlaceholder: false)
    }

    @Test("DSMR 5 heat meter: device type 004, GJ, 3-digit unpadded CRC")
    func dsmr5Heat() throws {
        let bytes = try VariantTelegramFixtures.load("dsmr5_heat.txt")
        // The file really ends in a 3-digit CRC (0x057E written as `57E`).
        #expect(Array(bytes.suffix(6)) == Array("!57E\r\n".utf8))
        let telegram = try VariantTelegramFixtures.decode(bytes)
        #expect(telegram.variant == .dsmr5)
        #expect(telegram.crc == .valid)
        #expect(telegram.header == "/NWA-WARMTELINK-2")
        #expect(telegram.bytes.last == UInt8(ascii: "!"))
        #expect(telegram.p1Version == "50")
        #expect(telegram.timestamp?.description == "2025-01-19T06:31:12Z")
        // Hex digits that do not decode to printable text are kept as sent.
        #expect(telegram.equipmentID == "ADC3100000273066")
        #expect(telegram.value(ObisCode(0, 0, 96, 13, 0)) == .empty)
        #expect(telegram.mbusDevices.count == 1)
        let heat = try #require(telegram.mbusDevices.first)
        VariantTelegramFixtures.expectDevice(
            heat, channel: 1, deviceType: 4, kind: .heat, equipmentID: "6218480134F52A0C", reading: "118.379",
            unit: "GJ", timestamp: "2025-01-19T06:00:00Z", isPlaceholder: false)
    }

    // MARK: Belgium

    @Test("Belgian e-MUCS: 1.4.0, 1.6.0, 13-month 98.1.0 history, gas on 24.2.3, water")
    func belgium() throws {
        let bytes = try VariantTelegramFixtures.load("belgium.txt")
        // A CRC below 0x1000 written with its leading zero.
        #expect(Array(bytes.suffix(7)) == Array("!0F01\r\n".utf8))
        let telegram = try VariantTelegramFixtures.decode(bytes)
        #expect(telegram.variant == .belgium)
        #expect(telegram.crc == .valid)
        #expect(telegram.header == "/FLU5\\253770234_A")
        #expect(telegram.p1Version == nil)
        #expect(telegram.value(ObisCode(0, 0, 96, 1, 4)) == .text("50217"))
        #expect(telegram.timestamp?.description == "2024-03-18T18:41:27Z")
        #expect(telegram.equipmentID == "1SAG1100048217")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:1.8.1", "4217.882", "kWh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:2.8.2", "702.918", "kWh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:1.4.0", "1.264", "kW")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:1.7.0", "0.412", "kW")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:31.7.0", "1.02", "A")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:31.4.0", "999", "A")
        VariantTelegramFixtures.expectNumber(telegram, "0-0:17.0.0", "999.9", "kW")
        #expect(telegram.value(ObisCode(0, 0, 96, 14, 0)) == .text("0002"))

        // 1.6.0: this month's peak, with the time it occurred.
        #expect(telegram.value(ObisCode(1, 0, 1, 6, 0))
            == .reading(MeterNumber("04.817"), unit: "kW", timestamp: MeterTimestamp("240307183000W")))
        #expect(telegram.number(ObisCode(1, 0, 1, 6, 0))?.description == "4.817")

        guard case .entries(let history)? = telegram.value(ObisCode(0, 0, 98, 1, 0)) else {
            Issue.record("98.1.0 is not a list of entries: \(String(describing: telegram.value(ObisCode(0, 0, 98, 1, 0))))")
            return
        }
        #expect(history.count == 13)
        if history.count == 13 {
            // `632525252525W`: the meter had no peak for that month; the timestamp is invalid, not an error.
            #expect(history[0].periodStart?.description == "2023-02-28T23:00:00Z")
            #expect(history[0].timestamp == nil)
            #expect(history[0].value?.description == "0.000")
            #expect(history[0].unit == "kW")
            #expect(history[1].periodStart?.description == "2023-03-31T22:00:00Z")
            #expect(history[1].timestamp?.description == "2023-03-21T17:45:00Z")
            #expect(history[1].value?.description == "3.912")
            #expect(history[8].periodStart?.description == "2023-10-31T23:00:00Z")
            #expect(history[8].timestamp?.description == "2023-10-24T16:30:00Z")
            #expect(history[8].value?.description == "4.226")
            #expect(history[12].periodStart?.description == "2024-02-29T23:00:00Z")
            #expect(history[12].timestamp?.description == "2024-02-08T18:00:00Z")
            #expect(history[12].value?.description == "5.472")
            #expect(history[12].unit == "kW")
            #expect(history.dropFirst().allSatisfy { $0.timestamp != nil })
            #expect(history.compactMap(\.value).max()?.description == "6.241")
        }

        #expect(telegram.mbusDevices.map(\.channel) == [1, 2])
        guard telegram.mbusDevices.count == 2 else { return }
        let gas = telegram.mbusDevices[0]
        VariantTelegramFixtures.expectDevice(
            gas, channel: 1, deviceType: 3, kind: .gas, equipmentID: "7ITR2021045519", reading: "3817.264",
            unit: "m3", timestamp: "2024-03-18T18:40:00Z", isPlaceholder: false)
        #expect(gas.readingCode == ObisCode(0, 1, 24, 2, 3))
        #expect(gas.valvePosition == 1)
        let water = telegram.mbusDevices[1]
        VariantTelegramFixtures.expectDevice(
            water, channel: 2, deviceType: 7, kind: .water, equipmentID: "8SEN0031882744", reading: "284.117",
            unit: "m3", timestamp: "2024-03-18T18:35:00Z", isPlaceholder: false)
        #expect(water.readingCode == ObisCode(0, 2, 24, 2, 1))
    }

    // MARK: Luxembourg, Sweden, Q3D, Hungary, Austria, Ireland

    @Test("Luxembourg Smarty plaintext: 42.0.0 id, totals, CT ratio, extra text messages, gas")
    func luxembourg() throws {
        let telegram = try VariantTelegramFixtures.decode("luxembourg.txt")
        #expect(telegram.variant == .luxembourg)
        #expect(telegram.crc == .valid)
        #expect(telegram.encrypted == false)
        #expect(telegram.header == "/Lux5\\253665117_D")
        #expect(telegram.p1Version == "42")
        #expect(telegram.timestamp?.description == "2025-08-12T08:15:03Z")
        #expect(telegram.equipmentID == "SAG1030700089447")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:1.8.0", "14862.317", "kWh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:2.8.0", "3105.882", "kWh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:3.8.0", "918.044", "kvarh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:4.8.0", "4327.510", "kvarh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:2.7.0", "1.644", "kW")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:4.7.0", "0.218", "kvar")
        VariantTelegramFixtures.expectNumber(telegram, "0-0:17.0.0", "20.7", "kVA")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:10.7.0", "1.659", "kVA")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:64.7.0", "0.085", "kvar")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:52.36.0", "2", nil)

        let ctRatio = telegram.value(ObisCode(1, 1, 31, 4, 0))
        #expect(ctRatio == .list([.number(MeterNumber("040")!, unit: "A"), .number(MeterNumber("-040")!, unit: "A")]))
        if case .list(let values)? = ctRatio {
            let numbers = values.compactMap { value -> Double? in
                if case .number(let number, _) = value { return number.doubleValue }
                return nil
            }
            #expect(numbers == [40, -40])
        }
        for message: UInt8 in [0, 2, 3, 4, 5] {
            #expect(telegram.value(ObisCode(0, 0, 96, 13, message)) == .empty, "0-0:96.13.\(message)")
        }

        // Channel 1 is the gas meter; channel 2 only reports its breaker state.
        #expect(telegram.mbusDevices.map(\.channel) == [1, 2])
        guard telegram.mbusDevices.count == 2 else { return }
        let gas = telegram.mbusDevices[0]
        VariantTelegramFixtures.expectDevice(
            gas, channel: 1, deviceType: 3, kind: .gas, equipmentID: "FLO184510223719", reading: "2467.318",
            unit: "m3", timestamp: "2025-08-12T08:00:00Z", isPlaceholder: false)
        #expect(gas.breakerState == 0)
        #expect(gas.valvePosition == 1)
        let empty = telegram.mbusDevices[1]
        VariantTelegramFixtures.expectDevice(
            empty, channel: 2, deviceType: nil, kind: nil, equipmentID: nil, reading: nil, unit: nil, timestamp: nil,
            isPlaceholder: true)
        #expect(empty.breakerState == 0)
    }

    @Test("Sweden: header with a space, no equipment id, kVArh/kVAr units")
    func sweden() throws {
        let telegram = try VariantTelegramFixtures.decode("sweden.txt")
        #expect(telegram.variant == .sweden)
        #expect(telegram.crc == .valid)
        #expect(telegram.header == "/ADN9 6525")
        #expect(telegram.p1Version == nil)
        #expect(telegram.timestamp?.description == "2024-11-05T16:45:22Z")
        #expect(telegram.equipmentID == nil)
        VariantTelegramFixtures.expectNumber(telegram, "1-0:1.8.0", "18265.731", "kWh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:2.8.0", "2143.508", "kWh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:3.8.0", "412.093", "kVArh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:4.7.0", "0.226", "kVAr")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:44.7.0", "0.067", "kVAr")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:1.7.0", "2.917", "kW")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:41.7.0", "1.244", "kW")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:72.7.0", "231.5", "V")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:31.7.0", "4.3", "A")
        #expect(telegram.mbusDevices.isEmpty)
    }

    @Test("EasyMeter Q3D: *255 suffixes, W units, no CRC, gateway trailer after '!'")
    func q3d() throws {
        let bytes = try VariantTelegramFixtures.load("q3d.txt")
        // The trailer is really there: a counter line, then a line of 33 0xFF bytes.
        #expect(Array(bytes.suffix(35)) == Array(repeating: 0xFF, count: 33) + [0x0D, 0x0A])
        var decoder = TelegramDecoder(options: .init(variant: nil, cipher: nil))
        let events = decoder.decodeAll(bytes)
        let telegram = try VariantTelegramFixtures.single(events)
        #expect(decoder.statistics.accepted == 1)
        #expect(decoder.statistics.rejectedTotal == 0)
        // The counter digits and the 0xFF fillers (10 + 33 bytes) were skipped, line ends possibly not counted.
        #expect(decoder.statistics.skippedBytes >= 43)
        // The telegram ends at '!': nothing of the trailer belongs to it.
        #expect(telegram.bytes.last == UInt8(ascii: "!"))
        #expect(!telegram.bytes.contains(0xFF))
        #expect(telegram.variant == .q3d)
        #expect(telegram.crc == .absent)
        #expect(telegram.header == "/ESY5Q3DA1024 V3.04")
        #expect(telegram.timestamp == nil)
        #expect(telegram.equipmentID == "1ESY1160052783")
        #expect(telegram.value(ObisCode(1, 0, 0, 0, 0)) == .text("1160052783"))
        #expect(telegram.value(ObisCode(1, 0, 96, 5, 5)) == .text("80"))
        VariantTelegramFixtures.expectNumber(telegram, "1-0:1.8.0", "18402.6617240", "kWh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:2.8.0", "4127.0938115", "kWh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:1.7.0", "853.33", "W")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:21.7.0", "184.37", "W")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:61.7.0", "266.05", "W")
        #expect(telegram.objects.count == 9)
        #expect(telegram.mbusDevices.isEmpty)
    }

    @Test("E.ON Hungary: four tariffs, reactive quadrants, power factor, frequency, month-end registers")
    func eonHungary() throws {
        let telegram = try VariantTelegramFixtures.decode("eon_hungary.txt")
        #expect(telegram.variant == .eonHungary)
        #expect(telegram.crc == .valid)
        #expect(telegram.header == "/SAG5SAG-T210D-HU")
        #expect(telegram.p1Version == nil)
        #expect(telegram.timestamp?.description == "2024-09-11T04:29:15Z")
        #expect(telegram.equipmentID == "SAG3308220012874")
        #expect(telegram.value(ObisCode(0, 0, 96, 1, 0))
            == .hexText(decoded: "893308220012874", raw: "383933333038323230303132383734"))
        VariantTelegramFixtures.expectNumber(telegram, "1-0:1.8.0", "4812.509", "kWh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:1.8.1", "1977.214", "kWh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:1.8.2", "2835.295", "kWh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:1.8.3", "0.000", "kWh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:2.8.4", "0.000", "kWh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:5.8.0", "9.116", "kvarh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:6.8.0", "3.289", "kvarh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:7.8.0", "571.330", "kvarh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:8.8.0", "535.542", "kvarh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:15.8.0", "7022.240", "kWh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:13.7.0", "0.982", nil)
        VariantTelegramFixtures.expectNumber(telegram, "1-0:53.7.0", "0.967", nil)
        VariantTelegramFixtures.expectNumber(telegram, "1-0:14.7.0", "50.01", "Hz")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:5.7.0", "0.198", "kvar")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:31.4.0", "32.00", "A")
        VariantTelegramFixtures.expectNumber(telegram, "0-0:17.0.0", "90.000", "kW")
        #expect(telegram.value(ObisCode(0, 0, 96, 14, 0)) == .text("0002"))

        // 0-0:98.1.0: the registers at the end of last month, all stamped with that moment.
        guard case .entries(let monthEnd)? = telegram.value(ObisCode(0, 0, 98, 1, 0)) else {
            Issue.record("98.1.0 is not a list of entries: \(String(describing: telegram.value(ObisCode(0, 0, 98, 1, 0))))")
            return
        }
        #expect(monthEnd.count == 19)
        #expect(monthEnd.allSatisfy { $0.timestamp?.description == "2024-08-31T22:00:00Z" })
        // The variant decides the meaning: on E.ON's meters this line is not Belgium's peak history.
        #expect(telegram.object(ObisCode(0, 0, 98, 1, 0))?.definition?.key == "billing_snapshot")
        #expect(telegram.object(ObisCode(1, 0, 1, 8, 1))?.definition?.key == "energy_import_tariff_1")
        if monthEnd.count == 19 {
            #expect(monthEnd[0].value?.description == "4790.362")
            #expect(monthEnd[0].unit == "kWh")
            #expect(monthEnd[7].value?.description == "1101.954")
            #expect(monthEnd[7].unit == "kvarh")
            #expect(monthEnd[12].value?.description == "6988.817")
            #expect(monthEnd[18].value?.description == "2.981")
            #expect(monthEnd[18].unit == "kW")
        }
        #expect(telegram.mbusDevices.isEmpty)
    }

    @Test("a variant's own definitions name a real variant, and a configured variant chooses them too")
    func variantDefinitions() throws {
        for definition in ObisCatalogue.definitions {
            if let variant = definition.variant {
                #expect(MeterVariant(rawValue: variant) != nil, "\(definition.key): unknown variant \(variant)")
            }
        }
        let belgian = try VariantTelegramFixtures.load("belgium.txt")
        #expect(try VariantTelegramFixtures.decode(belgian).object(ObisCode(0, 0, 98, 1, 0))?.definition?.key
            == "peak_demand_history")
        var decoder = TelegramDecoder(options: .init(variant: .eonHungary, cipher: nil))
        let forced = try VariantTelegramFixtures.single(decoder.decodeAll(belgian))
        #expect(forced.object(ObisCode(0, 0, 98, 1, 0))?.definition?.key == "billing_snapshot")
    }

    @Test("Austrian Sagemcom T210-D-r plaintext: Wh/W/varh/var, no equipment id")
    func austria() throws {
        let telegram = try VariantTelegramFixtures.decode("austria.txt")
        #expect(telegram.variant == .austria)
        #expect(telegram.crc == .valid)
        #expect(telegram.header == "/EST5\\253712894_A")
        #expect(telegram.p1Version == "50")
        #expect(telegram.timestamp?.description == "2023-01-17T05:18:34Z")
        #expect(telegram.equipmentID == nil)
        VariantTelegramFixtures.expectNumber(telegram, "1-0:1.8.0", "11873402", "Wh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:1.8.1", "7410978", "Wh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:2.8.0", "814233", "Wh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:1.7.0", "1372", "W")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:2.7.0", "0", "W")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:3.8.2", "11701", "varh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:4.8.0", "2904117", "varh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:4.7.0", "213", "var")
        #expect(telegram.number(ObisCode(1, 0, 1, 8, 0))?.doubleValue == 11_873_402)
        #expect(telegram.mbusDevices.isEmpty)
    }

    @Test("Iskra IE: 0-0:96.1.0 id, 1-0:0.0.0, CRC, empty M-Bus id")
    func iskraIE() throws {
        let telegram = try VariantTelegramFixtures.decode("iskra_ie.txt")
        #expect(telegram.variant == .iskraIE)
        #expect(telegram.crc == .valid)
        #expect(telegram.header == "/ISk5\\2MIE5T-210")
        #expect(telegram.manufacturerFlag == "ISk")
        // Irish meters keep GMT/IST: 19:53:01 summer time is 18:53:01 UTC.
        #expect(telegram.timestamp?.description == "2024-04-22T18:53:01Z")
        #expect(telegram.equipmentID == "1ISK0073219054")
        #expect(telegram.value(ObisCode(1, 0, 0, 0, 0)) == .text("24168053"))
        VariantTelegramFixtures.expectNumber(telegram, "1-0:1.8.1", "2317.604", "kWh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:2.8.2", "93.118", "kWh")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:1.7.0", "0.963", "kW")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:21.7.0", "0.511", "kW")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:32.7.0", "236.8", "V")
        VariantTelegramFixtures.expectNumber(telegram, "1-0:31.7.0", "2", "A")
        VariantTelegramFixtures.expectNumber(telegram, "0-0:96.3.10", "1", nil)
        #expect(telegram.value(ObisCode(0, 0, 96, 14, 0)) == .text("0001"))
        // `0-1:96.1.1()`: a channel that exists but reports nothing.
        #expect(telegram.mbusDevices.count == 1)
        let device = try #require(telegram.mbusDevices.first)
        VariantTelegramFixtures.expectDevice(
            device, channel: 1, deviceType: nil, kind: nil, equipmentID: nil, reading: nil, unit: nil, timestamp: nil,
            isPlaceholder: true)
    }

    // MARK: All files

    @Test("Every example telegram is CRLF-terminated and decodes to one telegram", arguments: VariantTelegramFixtures.files)
    func everyFile(_ name: String) throws {
        let bytes = try VariantTelegramFixtures.load(name)
        // Every LF is preceded by a CR.
        for (index, byte) in bytes.enumerated() where byte == 0x0A {
            #expect(index > 0 && bytes[index - 1] == 0x0D, "bare LF at byte \(index) of \(name)")
        }
        #expect(bytes.first == UInt8(ascii: "/"))
        let telegram = try VariantTelegramFixtures.decode(bytes)
        #expect(telegram.variant != .unknown)
        #expect(telegram.skippedLines == 0)
        // The CRC is present exactly where the variant always sends one.
        #expect((telegram.crc == .valid) == telegram.variant.sendsCRC)
    }

    @Test("The folder holds exactly the files these tests know")
    func folderListing() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: VariantTelegramFixtures.directory.path)
            .filter { $0.hasSuffix(".txt") }.sorted()
        #expect(names == VariantTelegramFixtures.files.sorted())
    }
}

/// Loading and checking the telegrams in `examples/telegrams/`.
enum VariantTelegramFixtures {
    /// `<repo>/examples/telegrams`, found from this source file's path.
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // P1MQTTTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // repository root
        .appendingPathComponent("examples/telegrams", isDirectory: true)

    static let files = [
        "austria.txt", "belgium.txt", "dsmr22.txt", "dsmr3.txt", "dsmr4.txt", "dsmr5.txt", "dsmr5_heat.txt",
        "dsmr5_two_gas.txt", "eon_hungary.txt", "iskra_ie.txt", "luxembourg.txt", "q3d.txt", "sweden.txt",
    ]

    static func load(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    /// Decodes a file and requires exactly one telegram and no rejection.
    static func decode(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Telegram {
        try decode(load(name), sourceLocation: sourceLocation)
    }

    /// Decodes bytes and requires exactly one telegram and no rejection.
    static func decode(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws -> Telegram {
        var decoder = TelegramDecoder(options: .init(variant: nil, cipher: nil))
        return try single(decoder.decodeAll(bytes), sourceLocation: sourceLocation)
    }

    /// The one telegram among `events`; records an issue for any rejection or a telegram count other than one.
    static func single(_ events: [TelegramDecoder.Event], sourceLocation: SourceLocation = #_sourceLocation) throws
        -> Telegram
    {
        var telegrams: [Telegram] = []
        var rejections: [Rejection] = []
        for event in events {
            switch event {
            case .telegram(let telegram): telegrams.append(telegram)
            case .rejected(let rejection): rejections.append(rejection)
            }
        }
        #expect(rejections.isEmpty, "rejections: \(rejections.map { "\($0.reason): \($0.detail)" })",
                sourceLocation: sourceLocation)
        #expect(telegrams.count == 1, sourceLocation: sourceLocation)
        return try #require(telegrams.first, sourceLocation: sourceLocation)
    }

    /// Expects the object `code` to be a number with this decimal text (no leading zeros) and unit.
    static func expectNumber(_ telegram: Telegram, _ code: String, _ expected: String, _ unit: String?,
                             sourceLocation: SourceLocation = #_sourceLocation)
    {
        guard let obis = ObisCode(code) else {
            Issue.record("bad OBIS code \(code) in the test", sourceLocation: sourceLocation)
            return
        }
        guard case .number(let number, let actualUnit)? = telegram.value(obis) else {
            Issue.record("\(code): expected a number, got \(String(describing: telegram.value(obis)))",
                         sourceLocation: sourceLocation)
            return
        }
        #expect(number.description == expected, "\(code)", sourceLocation: sourceLocation)
        #expect(actualUnit == unit, "\(code) unit", sourceLocation: sourceLocation)
        #expect(telegram.number(obis) == number, "\(code) via number(_:)", sourceLocation: sourceLocation)
    }

    /// Expects every public property of an M-Bus device.
    static func expectDevice(
        _ device: MBusDevice, channel: Int, deviceType: Int?, kind: MBusDeviceKind?, equipmentID: String?,
        reading: String?, unit: String?, timestamp: String?, isPlaceholder: Bool,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let at = "channel \(device.channel)"
        #expect(device.channel == channel, sourceLocation: sourceLocation)
        #expect(device.deviceType == deviceType, "\(at) device type", sourceLocation: sourceLocation)
        #expect(device.kind == kind, "\(at) kind", sourceLocation: sourceLocation)
        #expect(device.equipmentID == equipmentID, "\(at) equipment id", sourceLocation: sourceLocation)
        #expect(device.reading?.description == reading, "\(at) reading", sourceLocation: sourceLocation)
        #expect(device.unit == unit, "\(at) unit", sourceLocation: sourceLocation)
        #expect(device.timestamp?.description == timestamp, "\(at) timestamp", sourceLocation: sourceLocation)
        #expect(device.isPlaceholder == isPlaceholder, "\(at) placeholder", sourceLocation: sourceLocation)
    }
}
