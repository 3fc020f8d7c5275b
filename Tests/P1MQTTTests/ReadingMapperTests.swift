import Foundation
import Mapping
import Testing

@testable import P1MQTT

/// The readings ``ReadingMapper`` makes of the example telegrams in `examples/telegrams/`: every path and
/// payload, normalised units, tariff names, M-Bus device segments, kinds, and hostile equipment ids.
@Suite("Reading mapper")
struct ReadingMapperTests {
    /// The readings of an example file as `(path, payload)` in telegram order.
    private static func mapped(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws
        -> (telegram: Telegram, readings: [Reading])
    {
        let telegram = try VariantTelegramFixtures.decode(name, sourceLocation: sourceLocation)
        return (telegram, lineReadings(telegram))
    }

    /// The readings that come from the telegram's own lines and devices. Values p1mqtt computes itself (group
    /// `derived`: net power, totals) are not what these tests are about and are left out.
    private static func lineReadings(_ telegram: Telegram) -> [Reading] {
        ReadingMapper.readings(of: telegram).filter { !$0.value.groups.contains("derived") }
    }

    /// Expects exactly these paths with these payloads, in this order (JSON payloads are compared after parsing
    /// elsewhere and are given as nil here).
    private static func expectReadings(_ readings: [Reading], _ expected: [(String, String?)],
                                       sourceLocation: SourceLocation = #_sourceLocation)
    {
        #expect(readings.map(\.value.path) == expected.map(\.0), sourceLocation: sourceLocation)
        let actual = Dictionary(readings.map { ($0.value.path, $0) }, uniquingKeysWith: { first, _ in first })
        #expect(actual.count == readings.count, "a path occurs twice", sourceLocation: sourceLocation)
        for (path, payload) in expected {
            guard let reading = actual[path] else { continue }
            if let payload {
                #expect(reading.payload.description == payload, "\(path)", sourceLocation: sourceLocation)
                #expect(reading.payload.bytes == Array(payload.utf8), "\(path)", sourceLocation: sourceLocation)
            } else if case .json = reading.payload {
                // checked by the caller
            } else {
                Issue.record("\(path): expected a JSON payload, got \(reading.payload)", sourceLocation: sourceLocation)
            }
        }
    }

    private static func reading(_ readings: [Reading], _ path: String,
                                sourceLocation: SourceLocation = #_sourceLocation) throws -> Reading
    {
        try #require(readings.first { $0.value.path == path }, "no reading \(path)", sourceLocation: sourceLocation)
    }

    private static func json(_ reading: Reading, sourceLocation: SourceLocation = #_sourceLocation) throws -> Any {
        guard case .json(let bytes) = reading.payload else {
            Issue.record("\(reading.value.path) is not JSON: \(reading.payload)", sourceLocation: sourceLocation)
            return NSNull()
        }
        return try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
    }

    // MARK: DSMR 5

    @Test("DSMR 5: every path and payload, numbers without unit or leading zeros")
    func dsmr5() throws {
        let (_, readings) = try Self.mapped("dsmr5.txt")
        Self.expectReadings(readings, [
            ("p1_version", "50"),
            ("timestamp", "2021-06-14T06:35:12Z"),
            ("equipment_id", "E0051004871239517"),
            ("energy_import_tariff_1", "7481.295"),
            ("energy_import_tariff_2", "6930.842"),
            ("energy_export_tariff_1", "1204.773"),
            ("energy_export_tariff_2", "2617.058"),
            ("tariff_indicator", "low"),
            ("power_import", "0.000"),
            ("power_export", "2.318"),
            ("short_power_failures", "9"),
            ("long_power_failures", "3"),
            ("power_failure_log", nil),
            ("voltage_sags_l1", "2"), ("voltage_sags_l2", "2"), ("voltage_sags_l3", "1"),
            ("voltage_swells_l1", "0"), ("voltage_swells_l2", "0"), ("voltage_swells_l3", "0"),
            ("voltage_l1", "236.4"), ("voltage_l2", "235.9"), ("voltage_l3", "237.1"),
            ("current_l1", "4"), ("current_l2", "3"), ("current_l3", "4"),
            ("power_import_l1", "0.000"), ("power_import_l2", "0.000"), ("power_import_l3", "0.000"),
            ("power_export_l1", "0.846"), ("power_export_l2", "0.702"), ("power_export_l3", "0.770"),
            ("gas_1/reading", "2891.406"),
            ("gas_1/reading_time", "2021-06-14T06:30:05Z"),
            ("gas_1/equipment_id", "G0051004871239517"),
            ("gas_1/device_type", "3"),
        ])
        // The empty text message `0-0:96.13.0()` publishes nothing (an empty retained payload deletes a topic).
        #expect(!readings.contains { $0.value.key == "text_message" })

        let log = try Self.json(Self.reading(readings, "power_failure_log"))
        let entries = try #require(log as? [[String: Any]])
        #expect(entries.count == 1)
        #expect(entries.first?["timestamp"] as? String == "2020-09-17T01:11:44Z")
        #expect((entries.first?["value"] as? NSNumber)?.intValue == 4021)
        #expect(entries.first?["unit"] as? String == "s")

        let units = Dictionary(readings.map { ($0.value.path, $0.unit) }, uniquingKeysWith: { a, _ in a })
        #expect(units["energy_import_tariff_1"] == .some("kWh"))
        #expect(units["power_export"] == .some("kW"))
        #expect(units["voltage_l1"] == .some("V"))
        #expect(units["current_l1"] == .some("A"))
        #expect(units["gas_1/reading"] == .some("m³"))
        #expect(units["tariff_indicator"] == .some(nil))

        let codes = Dictionary(readings.map { ($0.value.path, $0.value.code) }, uniquingKeysWith: { a, _ in a })
        #expect(codes["energy_import_tariff_1"] == .some(ObisCode(1, 0, 1, 8, 1)))
        #expect(codes["gas_1/reading"] == .some(ObisCode(0, 1, 24, 2, 1)))
        #expect(try Self.reading(readings, "gas_1/reading").value.device == "gas_1")
        #expect(try Self.reading(readings, "gas_1/reading").value.key == "reading")
        #expect(try Self.reading(readings, "voltage_l1").value.groups.contains("phases"))
        #expect(try Self.reading(readings, "gas_1/reading").value.groups.contains("mbus"))
        #expect(try Self.reading(readings, "gas_1/reading").value.groups.contains("gas"))
    }

    @Test("kinds: energy and gas registers are .register, power, voltage, current .measurement, the rest .state")
    func kinds() throws {
        let (_, readings) = try Self.mapped("dsmr5.txt")
        let kinds = Dictionary(readings.map { ($0.value.path, $0.kind) }, uniquingKeysWith: { a, _ in a })
        for path in ["energy_import_tariff_1", "energy_import_tariff_2", "energy_export_tariff_1", "energy_export_tariff_2",
                     "gas_1/reading"] {
            #expect(kinds[path] == .register, "\(path)")
        }
        for path in ["power_import", "power_export", "power_import_l1", "power_export_l3", "voltage_l1", "current_l2"] {
            #expect(kinds[path] == .measurement, "\(path)")
        }
        for path in ["p1_version", "timestamp", "equipment_id", "tariff_indicator", "short_power_failures",
                     "voltage_sags_l1", "power_failure_log", "gas_1/reading_time", "gas_1/equipment_id", "gas_1/device_type"] {
            #expect(kinds[path] == .state, "\(path)")
        }
        let (_, austria) = try Self.mapped("austria.txt")
        let austrianKinds = Dictionary(austria.map { ($0.value.path, $0.kind) }, uniquingKeysWith: { a, _ in a })
        #expect(austrianKinds["energy_import_total"] == .register)
        #expect(austrianKinds["reactive_energy_export_total"] == .register)
        #expect(austrianKinds["reactive_power_export"] == .measurement)
    }

    // MARK: Belgium

    // MARK: E.ON Hungary

    /// E.ON's `0-0:98.1.0` is not a peak history: a timestamp and 19 registers in kWh, kvarh and kW. Published
    /// as one JSON object that keeps every value with its unit, in the meter's order, under its own key.
    @Test("E.ON Hungary: 98.1.0 is billing_snapshot, each value with its unit, not peak_demand_history in kW")
    func eonBillingSnapshot() throws {
        let (telegram, readings) = try Self.mapped("eon_hungary.txt")
        #expect(telegram.variant == .eonHungary)
        #expect(!readings.contains { $0.value.key == "peak_demand_history" })
        let snapshot = try Self.reading(readings, "billing_snapshot")
        #expect(snapshot.value.code == ObisCode(0, 0, 98, 1, 0))
        #expect(snapshot.value.groups == ["register_snapshot"])
        #expect(snapshot.unit == nil, "mixed units: the payload carries them")
        #expect(snapshot.kind == .state)
        let json = try #require(try Self.json(snapshot) as? [String: Any])
        #expect(Set(json.keys) == ["timestamp", "registers"])
        #expect(json["timestamp"] as? String == "2024-08-31T22:00:00Z")
        let registers = try #require(json["registers"] as? [[String: Any]])
        #expect(registers.count == 19)
        #expect(registers.allSatisfy { Set($0.keys) == ["value", "unit"] })
        #expect(registers.map { $0["unit"] as? String } == Array(repeating: "kWh", count: 6) + Array(repeating: "kvarh", count: 6)
                + ["kWh"] + Array(repeating: "kW", count: 6))
        #expect((registers.first?["value"] as? NSNumber)?.doubleValue == 4790.362)
        #expect((registers[7]["value"] as? NSNumber)?.doubleValue == 1101.954)
        #expect((registers.last?["value"] as? NSNumber)?.doubleValue == 2.981)
        // The digits are the meter's, not a float's.
        #expect(snapshot.payload.description.contains(#"{"value":6988.817,"unit":"kWh"}"#))
    }

    @Test("a snapshot in Wh and W is normalised like every other value, and an empty value stays null")
    func snapshotUnitsAreNormalised() throws {
        let telegram = try VariantTelegramFixtures.decode(TestTelegrams.build(header: "SAG5SAG-T210D-HU", lines: [
            "0-0:1.0.0(240911062915S)",
            "0-0:42.0.0(53414733333038323230303132383734)",
            "1-0:1.8.0(004812509*Wh)",
            "0-0:98.1.0(240901000000S)(004790362*Wh)(05318*W)()",
        ]))
        #expect(telegram.variant == .eonHungary)
        let snapshot = try Self.reading(ReadingMapper.readings(of: telegram), "billing_snapshot")
        #expect(snapshot.payload.description
            == #"{"timestamp":"2024-08-31T22:00:00Z","registers":[{"value":4790.362,"unit":"kWh"},{"value":5.318,"unit":"kW"},{"value":null,"unit":null}]}"#)
    }

    @Test("Belgium: swapped tariff names, month peak with its time, peak history as JSON, gas and water devices")
    func belgium() throws {
        let (telegram, readings) = try Self.mapped("belgium.txt")
        #expect(telegram.variant == .belgium)
        Self.expectReadings(readings, [
            ("version_info", "50217"),
            ("equipment_id", "1SAG1100048217"),
            ("timestamp", "2024-03-18T18:41:27Z"),
            ("energy_import_tariff_1", "4217.882"),
            ("energy_import_tariff_2", "3561.409"),
            ("energy_export_tariff_1", "1871.226"),
            ("energy_export_tariff_2", "702.918"),
            // e-MUCS numbers the tariffs the other way: 0002 is the low (night) tariff.
            ("tariff_indicator", "low"),
            ("average_demand", "1.264"),
            ("peak_demand_month", "4.817"),
            ("peak_demand_month_time", "2024-03-07T17:30:00Z"),
            ("peak_demand_history", nil),
            ("power_import", "0.412"),
            ("power_export", "0.000"),
            ("power_import_l1", "0.188"), ("power_import_l2", "0.097"), ("power_import_l3", "0.127"),
            ("power_export_l1", "0.000"), ("power_export_l2", "0.000"), ("power_export_l3", "0.000"),
            ("voltage_l1", "231.6"), ("voltage_l2", "233.0"), ("voltage_l3", "232.2"),
            ("current_l1", "1.02"), ("current_l2", "0.61"), ("current_l3", "0.74"),
            ("breaker_state", "1"),
            ("power_limit", "999.9"),
            ("fuse_limit_l1", "999"),
            ("gas_1/reading", "3817.264"),
            ("gas_1/reading_time", "2024-03-18T18:40:00Z"),
            ("gas_1/equipment_id", "7ITR2021045519"),
            ("gas_1/device_type", "3"),
            ("gas_1/valve_position", "1"),
            ("water_2/reading", "284.117"),
            ("water_2/reading_time", "2024-03-18T18:35:00Z"),
            ("water_2/equipment_id", "8SEN0031882744"),
            ("water_2/device_type", "7"),
        ])
        let peak = try Self.reading(readings, "peak_demand_month")
        #expect(peak.kind == .measurement)
        #expect(peak.unit == "kW")
        #expect(peak.value.code == ObisCode(1, 0, 1, 6, 0))
        let peakTime = try Self.reading(readings, "peak_demand_month_time")
        #expect(peakTime.kind == .state)
        #expect(peakTime.value.groups == ["timestamp"])

        let history = try #require(try Self.json(Self.reading(readings, "peak_demand_history")) as? [[String: Any]])
        #expect(history.count == 13)
        // The first entry's time is the meter's invalid 632525252525W: null, not a made-up date.
        #expect(history.first?["timestamp"] is NSNull)
        #expect(history.first?["period_start"] as? String == "2023-02-28T23:00:00Z")
        #expect(history.last?["period_start"] as? String == "2024-02-29T23:00:00Z")
        #expect(history.last?["timestamp"] as? String == "2024-02-08T18:00:00Z")
        #expect((history.last?["value"] as? NSNumber)?.doubleValue == 5.472)
        #expect(history.last?["unit"] as? String == "kW")
        #expect(try Self.reading(readings, "water_2/reading").value.groups.contains("water"))
        #expect(try Self.reading(readings, "water_2/reading").kind == .register)
        #expect(try Self.reading(readings, "water_2/reading").unit == "m³")
    }

    @Test("tariff names: 0001 → low and 0002 → normal, swapped for Belgium and E.ON Hungary", arguments: [
        (MeterVariant.dsmr5, "0001", "low"), (.dsmr5, "0002", "normal"),
        (.dsmr4, "0001", "low"), (.dsmr4, "0002", "normal"),
        (.dsmr3, "1", "low"), (.dsmr3, "2", "normal"),
        (.luxembourg, "0001", "low"), (.luxembourg, "0002", "normal"),
        (.belgium, "0001", "normal"), (.belgium, "0002", "low"),
        (.eonHungary, "0001", "normal"), (.eonHungary, "0002", "low"),
        (.dsmr5, "0003", "tariff_3"), (.belgium, "0004", "tariff_4"), (.eonHungary, "0005", "0005"),
    ])
    func tariffNames(variant: MeterVariant, code: String, expected: String) {
        #expect(ReadingMapper.tariffName(code, variant: variant) == expected)
    }

    @Test("tariff readings from the example files: dsmr5 0001 low, dsmr5_two_gas 0002 normal, Belgium and E.ON 0002 low")
    func tariffReadings() throws {
        for (file, name) in [("dsmr5.txt", "low"), ("dsmr5_two_gas.txt", "normal"), ("belgium.txt", "low"),
                             ("eon_hungary.txt", "low")] {
            let (_, readings) = try Self.mapped(file)
            #expect(try Self.reading(readings, "tariff_indicator").payload == .text(name), "\(file)")
        }
    }

    // MARK: Austria

    @Test("Austria: Wh, W, varh and var become kWh, kW, kvarh and kvar by moving the decimal point exactly")
    func austria() throws {
        let (_, readings) = try Self.mapped("austria.txt")
        Self.expectReadings(readings, [
            ("p1_version", "50"),
            ("timestamp", "2023-01-17T05:18:34Z"),
            ("energy_import_total", "11873.402"),            // 011873402*Wh
            ("energy_import_tariff_1", "7410.978"),          // 007410978*Wh
            ("energy_import_tariff_2", "4462.424"),
            ("power_import", "1.372"),                       // 000001372*W
            ("energy_export_total", "814.233"),
            ("energy_export_tariff_1", "522.170"),
            ("energy_export_tariff_2", "292.063"),
            ("power_export", "0.000"),                       // 000000000*W
            ("reactive_energy_import_total", "31.815"),      // 000031815*varh
            ("reactive_energy_import_tariff_1", "20.114"),
            ("reactive_energy_import_tariff_2", "11.701"),
            ("reactive_power_import", "0.000"),
            ("reactive_energy_export_total", "2904.117"),
            ("reactive_energy_export_tariff_1", "1822.509"),
            ("reactive_energy_export_tariff_2", "1081.608"),
            ("reactive_power_export", "0.213"),              // 000000213*var
        ])
        let units = Dictionary(readings.map { ($0.value.path, $0.unit) }, uniquingKeysWith: { a, _ in a })
        #expect(units["energy_import_total"] == .some("kWh"))
        #expect(units["power_import"] == .some("kW"))
        #expect(units["reactive_energy_import_total"] == .some("kvarh"))
        #expect(units["reactive_power_export"] == .some("kvar"))
        // Exact digits: the mantissa is the meter's, only the scale moves.
        let total = try #require(try Self.reading(readings, "energy_import_total").payload.number)
        #expect(total == MeterNumber(mantissa: 11_873_402, scale: 3))
        let power = try #require(try Self.reading(readings, "power_import").payload.number)
        #expect(power == MeterNumber(mantissa: 1_372, scale: 3))
    }

    @Test("Wh → kWh moves the decimal point: 006545766*Wh publishes 6545.766")
    func whToKWh() throws {
        let bytes = TestTelegrams.build(header: "/EST5\\253712894_A", lines: [
            "1-3:0.2.8(50)",
            "0-0:1.0.0(230117061834W)",
            "1-0:1.8.0(006545766*Wh)",
            "1-0:2.8.0(000000001*Wh)",
            "1-0:1.7.0(000012345*W)",
            "1-0:3.8.0(000000999*varh)",
            "1-0:3.7.0(1.5*var)",
        ])
        let telegram = try VariantTelegramFixtures.decode(bytes)
        let readings = Self.lineReadings(telegram)
        Self.expectReadings(readings, [
            ("p1_version", "50"),
            ("timestamp", "2023-01-17T05:18:34Z"),
            ("energy_import_total", "6545.766"),
            ("energy_export_total", "0.001"),
            ("power_import", "12.345"),
            ("reactive_energy_import_total", "0.999"),
            ("reactive_power_import", "0.0015"),
        ])
        #expect(try Self.reading(readings, "energy_import_total").unit == "kWh")
        #expect(try Self.reading(readings, "reactive_power_import").unit == "kvar")
    }

    // MARK: Luxembourg

    @Test("Luxembourg: totals, kVA power limit, CT ratio list, gas with valve and breaker, empty messages skipped")
    func luxembourg() throws {
        let (telegram, readings) = try Self.mapped("luxembourg.txt")
        #expect(telegram.variant == .luxembourg)
        Self.expectReadings(readings, [
            ("p1_version", "42"),
            ("timestamp", "2025-08-12T08:15:03Z"),
            ("logical_device_name", "SAG1030700089447"),
            ("energy_import_total", "14862.317"),
            ("energy_export_total", "3105.882"),
            ("reactive_energy_import_total", "918.044"),
            ("reactive_energy_export_total", "4327.510"),
            ("power_import", "0.000"),
            ("power_export", "1.644"),
            ("reactive_power_import", "0.000"),
            ("reactive_power_export", "0.218"),
            ("power_limit", "20.7"),
            ("apparent_power_import", "0.000"),
            ("apparent_power_export", "1.659"),
            ("ct_ratio", nil),
            ("breaker_state", "1"),
            ("short_power_failures", "213"),
            ("voltage_sags_l1", "6"), ("voltage_sags_l2", "4"), ("voltage_sags_l3", "7"),
            ("voltage_swells_l1", "1"), ("voltage_swells_l2", "2"), ("voltage_swells_l3", "0"),
            ("voltage_l1", "238.0"), ("voltage_l2", "237.0"), ("voltage_l3", "239.0"),
            ("current_l1", "2"), ("current_l2", "2"), ("current_l3", "3"),
            ("power_import_l1", "0.000"), ("power_import_l2", "0.000"), ("power_import_l3", "0.000"),
            ("power_export_l1", "0.471"), ("power_export_l2", "0.489"), ("power_export_l3", "0.684"),
            ("reactive_power_import_l1", "0.000"), ("reactive_power_import_l2", "0.000"),
            ("reactive_power_import_l3", "0.000"),
            ("reactive_power_export_l1", "0.062"), ("reactive_power_export_l2", "0.071"),
            ("reactive_power_export_l3", "0.085"),
            ("gas_1/reading", "2467.318"),
            ("gas_1/reading_time", "2025-08-12T08:00:00Z"),
            ("gas_1/equipment_id", "FLO184510223719"),
            ("gas_1/device_type", "3"),
            ("gas_1/valve_position", "1"),
            ("gas_1/breaker_state", "0"),
        ])
        let ratio = try #require(try Self.json(Self.reading(readings, "ct_ratio")) as? [NSNumber])
        #expect(ratio.map(\.intValue) == [40, -40])
        #expect(try Self.reading(readings, "power_limit").unit == "kVA")
        // Channel 2 only has a breaker line and no reading: it publishes nothing.
        #expect(!readings.contains { $0.value.device == "mbus_2" || $0.value.path.hasPrefix("gas_2") })
        #expect(Set(readings.compactMap(\.value.device)) == ["gas_1"])
    }

    // MARK: Two gas meters

    @Test("two gas channels: the placeholder on channel 1 publishes nothing, channel 2 is gas_2")
    func twoGas() throws {
        let (telegram, readings) = try Self.mapped("dsmr5_two_gas.txt")
        #expect(telegram.mbusDevices.map(\.channel) == [1, 2])
        #expect(telegram.mbusDevices.first?.isPlaceholder == true)
        #expect(!readings.contains { $0.value.device == "gas_1" })
        #expect(Set(readings.compactMap(\.value.device)) == ["gas_2"])
        let gas = readings.filter { $0.value.device != nil }
        #expect(gas.map(\.value.path) == ["gas_2/reading", "gas_2/reading_time", "gas_2/equipment_id", "gas_2/device_type"])
        #expect(gas.map(\.payload.description) == ["5126.833", "2022-11-27T18:10:07Z", "G0043007291184520", "3"])
        #expect(gas.first?.value.code == ObisCode(0, 2, 24, 2, 1))
        #expect(gas.first?.kind == .register)
        // The meter part, spot checks.
        #expect(try Self.reading(readings, "energy_import_tariff_1").payload.description == "11302.570")
        #expect(try Self.reading(readings, "energy_export_tariff_1").payload.description == "0.000")
        #expect(try Self.reading(readings, "equipment_id").payload.description == "E0043007291184520")
        #expect(try Self.reading(readings, "tariff_indicator").payload.description == "normal")
        let log = try Self.json(Self.reading(readings, "power_failure_log"))
        #expect((log as? [Any])?.isEmpty == true)
    }

    @Test("device segments: <kind>_<channel>, mbus_<channel> without a device type")
    func deviceSegments() {
        var gas = MBusDevice(channel: 1)
        gas.deviceType = 3
        #expect(ReadingMapper.deviceSegment(gas) == "gas_1")
        var water = MBusDevice(channel: 2)
        water.deviceType = 7
        #expect(ReadingMapper.deviceSegment(water) == "water_2")
        var heat = MBusDevice(channel: 3)
        heat.deviceType = 4
        #expect(ReadingMapper.deviceSegment(heat) == "heat_3")
        #expect(ReadingMapper.deviceSegment(MBusDevice(channel: 4)) == "mbus_4")
        var odd = MBusDevice(channel: 5)
        odd.deviceType = 99
        #expect(ReadingMapper.deviceSegment(odd) == "mbus_5")
        #expect(ReadingMapper.unknownKey(ObisCode(1, 0, 99, 99, 9)) == "obis_1_0_99_99_9")
    }

    // MARK: Q3D

    @Test("EasyMeter Q3D: *255 suffixes ignored, W → kW exactly, seven-decimal registers kept")
    func q3d() throws {
        let (telegram, readings) = try Self.mapped("q3d.txt")
        #expect(telegram.variant == .q3d)
        Self.expectReadings(readings, [
            ("meter_id", "1160052783"),
            ("energy_import_total", "18402.6617240"),
            ("energy_export_total", "4127.0938115"),
            ("power_import_l1", "0.18437"),   // 000184.37*W
            ("power_import_l2", "0.40291"),
            ("power_import_l3", "0.26605"),
            ("power_import", "0.85333"),      // 000853.33*W
            ("device_state", "80"),
            ("manufacturer_serial", "1ESY1160052783"),
        ])
        #expect(try Self.reading(readings, "power_import").unit == "kW")
        #expect(try Self.reading(readings, "power_import").kind == .measurement)
        #expect(try Self.reading(readings, "energy_import_total").kind == .register)
        #expect(try Self.reading(readings, "power_import").payload.number == MeterNumber(mantissa: 85_333, scale: 5))
    }

    // MARK: Across files

    @Test("every numeric payload is the bare number: no unit, no leading zeros, a JSON number")
    func numericPayloads() throws {
        for file in ["dsmr5.txt", "belgium.txt", "austria.txt", "luxembourg.txt", "dsmr5_two_gas.txt", "q3d.txt"] {
            let (_, readings) = try Self.mapped(file)
            #expect(!readings.isEmpty)
            for reading in readings {
                guard case .number(let number) = reading.payload else { continue }
                let text = reading.payload.description
                #expect(text == number.description, "\(file) \(reading.value.path)")
                #expect(text.allSatisfy { $0.isNumber || $0 == "." || $0 == "-" }, "\(file) \(reading.value.path): \(text)")
                let integerPart = text.split(separator: ".").first.map(String.init) ?? text
                #expect(integerPart == "0" || !integerPart.hasPrefix("0"), "\(file) \(reading.value.path): \(text)")
                #expect(Double(text) == number.doubleValue, "\(file) \(reading.value.path)")
                let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
                #expect(parsed is NSNumber, "\(file) \(reading.value.path)")
            }
            for reading in readings {
                if case .json(let bytes) = reading.payload {
                    #expect(throws: Never.self, "\(file) \(reading.value.path)") {
                        _ = try JSONSerialization.jsonObject(with: Data(bytes))
                    }
                }
                // Every default topic is usable.
                #expect(TopicMap.problem(with: TopicMap().topic(for: reading.value) ?? "") == nil,
                        "\(file) \(reading.value.path)")
            }
        }
    }

    // MARK: Hostile equipment ids

    /// Text that must never reach a topic: separators, wildcards, the `$` prefix, quotes, a backslash.
    static let hostilePrintable = "../+/#/$SYS \"x\" 'y' \\z"

    @Test("meter-provided equipment ids with / + # $ quotes or control characters never change a topic")
    func hostileEquipmentIDs() throws {
        let withControl = "a\u{1}b\nc\rd\u{7F}/#"
        let bytes = TestTelegrams.build(header: TestTelegrams.dsmr5Header, lines: [
            "1-3:0.2.8(50)",
            "0-0:1.0.0(240315143000W)",
            "0-0:96.1.1(\(TestTelegrams.hexASCII(Self.hostilePrintable)))",
            "1-0:1.8.1(000100.000*kWh)",
            "1-0:1.7.0(00.500*kW)",
            "0-1:24.1.0(003)",
            "0-1:96.1.0(\(TestTelegrams.hexASCII(Self.hostilePrintable + "/+")))",
            "0-1:24.2.1(240315142500W)(00012.345*m3)",
            "0-2:24.1.0(007)",
            "0-2:96.1.0(\(TestTelegrams.hexASCII(withControl)))",
            "0-2:24.2.1(240315142500W)(00001.000*m3)",
        ])
        let telegram = try VariantTelegramFixtures.decode(bytes)
        let readings = Self.lineReadings(telegram)
        #expect(readings.map(\.value.path) == [
            "p1_version", "timestamp", "equipment_id", "energy_import_tariff_1", "power_import",
            "gas_1/reading", "gas_1/reading_time", "gas_1/equipment_id", "gas_1/device_type",
            "water_2/reading", "water_2/reading_time", "water_2/equipment_id", "water_2/device_type",
        ])
        let map = TopicMap()
        for reading in readings {
            let topic = try #require(map.topic(for: reading.value))
            #expect(topic == "p1mqtt/" + reading.value.path)
            #expect(TopicMap.problem(with: topic) == nil, "\(topic)")
            #expect(!topic.contains("$") && !topic.contains("+") && !topic.contains("#") && !topic.contains(" "))
            #expect(topic.split(separator: "/").count == (reading.value.device == nil ? 2 : 3), "\(topic)")
        }
        // The ids are payloads, kept as the meter sent them (printable text decoded, otherwise the raw hex).
        #expect(try Self.reading(readings, "equipment_id").payload == .text(Self.hostilePrintable))
        #expect(try Self.reading(readings, "gas_1/equipment_id").payload == .text(Self.hostilePrintable + "/+"))
        let water = try Self.reading(readings, "water_2/equipment_id").payload.description
        #expect(water == TestTelegrams.hexASCII(withControl) || water == withControl)
        #expect(!water.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F },
                "a control character reached a payload: \(water.debugDescription)")

        // The JSON telegram stays valid and carries the ids intact.
        let text = TelegramJSON.string(telegram)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(document["equipment_id"] as? String == Self.hostilePrintable)
        let mbus = try #require(document["mbus"] as? [[String: Any]])
        #expect(mbus.count == 2)
        #expect(mbus.first?["equipment_id"] as? String == Self.hostilePrintable + "/+")
        #expect(mbus.last?["equipment_id"] as? String == water)
    }

    @Test("ids sent as plain (not hex) text with quotes and a backslash stay payloads and keep the JSON valid")
    func hostilePlainIDs() throws {
        // No `/` here: in plain text the framer takes it as the start of the next telegram.
        let bytes = TestTelegrams.build(header: TestTelegrams.dsmr5Header, lines: [
            "1-3:0.2.8(50)",
            "0-0:1.0.0(240315143000W)",
            "0-0:96.1.1(\"};{\\u0000#+$x)",
            "1-0:1.8.1(000100.000*kWh)",
            "0-1:24.1.0(003)",
            "0-1:96.1.0(\"+#$\")",
            "0-1:24.2.1(240315142500W)(00012.345*m3)",
        ])
        let telegram = try VariantTelegramFixtures.decode(bytes)
        let readings = Self.lineReadings(telegram)
        #expect(readings.map(\.value.path) == [
            "p1_version", "timestamp", "equipment_id", "energy_import_tariff_1",
            "gas_1/reading", "gas_1/reading_time", "gas_1/equipment_id", "gas_1/device_type",
        ])
        for reading in readings {
            #expect(TopicMap().topic(for: reading.value) == "p1mqtt/" + reading.value.path)
        }
        #expect(try Self.reading(readings, "equipment_id").payload.description == "\"};{\\u0000#+$x")
        #expect(try Self.reading(readings, "gas_1/equipment_id").payload.description == "\"+#$\"")
        let text = TelegramJSON.string(telegram)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(document["equipment_id"] as? String == "\"};{\\u0000#+$x")
        #expect((document["mbus"] as? [[String: Any]])?.first?["equipment_id"] as? String == "\"+#$\"")
    }
}
