import Mapping

/// Turns a telegram into the readings to publish, one per value, using the catalogue for keys and units.
///
/// M-Bus devices are published under `<kind>_<channel>` (`gas_1`, `water_2`), so two meters of one kind never
/// share a topic; placeholder channels produce nothing. Units are normalised for Home Assistant by moving the
/// decimal point (`Wh` → `kWh`), never by rounding.
public enum ReadingMapper {
    /// Choices in how values are expressed.
    public struct Options: Sendable, Hashable {
        /// Publish power in W instead of kW (the decimal point moves; no digits are lost).
        public var powerInWatts: Bool
        /// Add the derived values: net power, per-phase net power, totals across tariffs.
        public var derivedValues: Bool

        /// Creates options.
        public init(powerInWatts: Bool = false, derivedValues: Bool = true) {
            self.powerInWatts = powerInWatts
            self.derivedValues = derivedValues
        }
    }

    /// All readings of a telegram, in telegram order, meter first, then derived values, then M-Bus devices.
    public static func readings(of telegram: Telegram, options: Options = Options()) -> [Reading] {
        var readings: [Reading] = []
        readings.reserveCapacity(telegram.objects.count + 16)
        for object in telegram.objects where !object.code.isMBus {
            append(object, of: telegram, to: &readings)
        }
        if options.derivedValues { appendDerived(to: &readings) }
        for device in telegram.mbusDevices {
            append(device, to: &readings)
        }
        if options.powerInWatts {
            for index in readings.indices where readings[index].unit == "kW" {
                if let number = readings[index].payload.number, let watts = number.shifted(by: -3) {
                    readings[index].payload = .number(watts)
                    readings[index].unit = "W"
                }
            }
        }
        return readings
    }

    /// Net power (import − export), per phase too, and import/export totals across tariffs for meters that
    /// send only the tariff registers. Values are exact: the meter's numbers are added, not floats.
    private static func appendDerived(to readings: inout [Reading]) {
        // Slots: power import/export total and per phase, energy import/export tariffs 1–4, whether a total
        // was sent. Found in one pass by comparing keys, without a dictionary per telegram.
        var powerImport = InlineArray<4, Int>(repeating: -1), powerExport = InlineArray<4, Int>(repeating: -1)
        var tariffs = InlineArray<8, Int>(repeating: -1)
        var hasTotal = (import: false, export: false)
        for (position, reading) in readings.enumerated() where reading.value.device == nil && reading.payload.number != nil {
            let key = reading.value.key
            guard let slot = derivedInputs[key] else { continue }
            switch slot {
            case 0..<4: powerImport[slot] = position
            case 4..<8: powerExport[slot - 4] = position
            case 8..<16: tariffs[slot - 8] = position
            case 16: hasTotal.import = true
            default: hasTotal.export = true
            }
        }
        func number(_ position: Int) -> (MeterNumber, String?)? {
            guard position >= 0, let number = readings[position].payload.number else { return nil }
            return (number, readings[position].unit)
        }
        func derived(_ key: String, _ number: MeterNumber?, unit: String?, kind: Reading.Kind) {
            guard let number, let index = ObisCatalogue.index(forKey: key), let groups = derivedGroups[key] else { return }
            readings.append(Reading(
                value: TopicMap.Value(key: key, code: nil, groups: groups),
                payload: .number(number), unit: unit ?? ObisCatalogue.definitions[index].unit, kind: kind))
        }
        for phase in 0..<4 {
            guard let (imported, unit) = number(powerImport[phase]), let (exported, exportUnit) = number(powerExport[phase]),
                unit == exportUnit
            else { continue }
            derived(netPowerKeys[phase], imported.subtracting(exported), unit: unit, kind: .measurement)
        }
        for (direction, sent) in [(0, hasTotal.import), (1, hasTotal.export)] where !sent {
            var found: [(MeterNumber, String?)] = []
            for tariff in 0..<4 { if let value = number(tariffs[direction * 4 + tariff]) { found.append(value) } }
            guard found.count >= 2, found.allSatisfy({ $0.1 == found[0].1 }) else { continue }
            var sum: MeterNumber? = found[0].0
            for (value, _) in found.dropFirst() { sum = sum?.adding(value) }
            derived(direction == 0 ? "energy_import_total" : "energy_export_total", sum, unit: found[0].1, kind: .register)
        }
    }

    private static let netPowerKeys = ["power_net", "power_net_l1", "power_net_l2", "power_net_l3"]

    /// The groups of each derived value, always including `derived` (a meter may also send some of these
    /// values itself, e.g. a total, whose catalogue entry is then a meter value's).
    private static let derivedGroups: [String: [String]] = {
        var groups: [String: [String]] = [:]
        for key in netPowerKeys + ["energy_import_total", "energy_export_total"] {
            guard let index = ObisCatalogue.index(forKey: key) else { continue }
            var list = ObisCatalogue.valueGroups[index].filter { $0 != "derived" && $0 != "phases" }
            list.append("derived")
            if key.hasSuffix("_l1") || key.hasSuffix("_l2") || key.hasSuffix("_l3") { list.append("phases") }
            groups[key] = list
        }
        return groups
    }()

    /// The keys derived values are computed from, with their slot in ``appendDerived(to:)``.
    private static let derivedInputs: [String: Int] = {
        var inputs: [String: Int] = [:]
        for (offset, suffix) in ["", "_l1", "_l2", "_l3"].enumerated() {
            inputs["power_import\(suffix)"] = offset
            inputs["power_export\(suffix)"] = 4 + offset
        }
        for tariff in 1...4 {
            inputs["energy_import_tariff_\(tariff)"] = 8 + tariff - 1
            inputs["energy_export_tariff_\(tariff)"] = 12 + tariff - 1
        }
        inputs["energy_import_total"] = 16
        inputs["energy_export_total"] = 17
        return inputs
    }()

    /// The device segment of an M-Bus device: `gas_1`, `water_2`, `mbus_3` when the type is not sent.
    public static func deviceSegment(_ device: MBusDevice) -> String {
        switch device.kind {
        case .none, .unknown: "mbus_\(device.channel)"
        case .some(let kind): "\(kind.name)_\(device.channel)"
        }
    }

    /// The key of a line the catalogue does not know: `obis_1_0_99_99_9`.
    public static func unknownKey(_ code: ObisCode) -> String {
        "obis_\(code.a)_\(code.b)_\(code.c)_\(code.d)_\(code.e)"
    }

    private static func append(_ object: DataObject, of telegram: Telegram, to readings: inout [Reading]) {
        let definition = object.definition
        let key = definition?.key ?? unknownKey(object.code)
        let groups = object.catalogueIndex >= 0 ? ObisCatalogue.valueGroups[Int(object.catalogueIndex)] : otherGroups
        let identity = TopicMap.Value(key: key, code: object.code, groups: groups)
        let kind = kind(of: definition?.quantity)
        switch telegram.value(of: object) {
        case .empty:
            // Nothing to say (an empty text message): publishing an empty retained payload would delete
            // the topic, which is not what "no message" means.
            return
        case .number(let number, let unit):
            let (value, normalised) = normalise(number, unit)
            readings.append(Reading(value: identity, payload: .number(value), unit: normalised ?? definition?.unit, kind: kind))
        case .text(let text):
            if definition?.quantity == .tariff {
                readings.append(Reading(value: identity, payload: .text(tariffName(text, variant: telegram.variant))))
            } else {
                readings.append(Reading(value: identity, payload: .text(text)))
            }
        case .hexText(let decoded, let raw):
            readings.append(Reading(value: identity, payload: .text(decoded ?? raw)))
        case .timestamp(let time):
            if let time { readings.append(Reading(value: identity, payload: .text(time.description))) }
        case .reading(let number, let unit, let time):
            if let number {
                let (value, normalised) = normalise(number, unit)
                readings.append(Reading(value: identity, payload: .number(value), unit: normalised ?? definition?.unit, kind: kind))
            }
            if let time {
                var timeIdentity = identity
                timeIdentity.key += "_time"
                timeIdentity.groups = ["timestamp"]
                readings.append(Reading(value: timeIdentity, payload: .text(time.description)))
            }
        case .entries(let entries) where definition?.layout == .registerSnapshot:
            readings.append(Reading(value: identity, payload: .json(snapshotJSON(entries))))
        case .entries(let entries):
            var json = JSONWriter(capacity: 256)
            json.beginArray()
            for entry in entries {
                json.beginObject()
                if let start = entry.periodStart {
                    json.key("period_start")
                    json.timestamp(start)
                }
                json.key("timestamp")
                if let time = entry.timestamp { json.timestamp(time) } else { json.null() }
                json.key("value")
                if let number = entry.value { json.number(number) } else { json.null() }
                if let unit = entry.unit {
                    json.key("unit")
                    json.string(unit)
                }
                json.endObject()
            }
            json.endArray()
            readings.append(Reading(value: identity, payload: .json(json.bytes)))
        case .list(let values):
            var json = JSONWriter(capacity: 128)
            json.beginArray()
            for value in values {
                switch value {
                case .number(let number, _): json.number(number)
                default: json.string(value.displayText ?? "")
                }
            }
            json.endArray()
            readings.append(Reading(value: identity, payload: .json(json.bytes), unit: definition?.unit))
        }
    }

    /// `{"timestamp":"…","registers":[{"value":4790.362,"unit":"kWh"},…]}`: the moment once, and each value
    /// with its unit in the meter's order. Which register each one is the telegram does not say, so no name
    /// is made up for it; units are normalised like every other value's.
    private static func snapshotJSON(_ entries: [ProfileEntry]) -> [UInt8] {
        var json = JSONWriter(capacity: 64 + 40 * entries.count)
        json.beginObject()
        json.key("timestamp")
        if let time = entries.first?.timestamp { json.timestamp(time) } else { json.null() }
        json.key("registers")
        json.beginArray()
        for entry in entries {
            json.beginObject()
            json.key("value")
            var unit = entry.unit
            if let number = entry.value {
                let normalised = normalise(number, entry.unit)
                json.number(normalised.0)
                unit = normalised.1
            } else {
                json.null()
            }
            json.key("unit")
            if let unit { json.string(unit) } else { json.null() }
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return json.bytes
    }

    /// The keys of an M-Bus device's values below (with `flow` from ``FlowEstimator``), for checking names in
    /// the configuration; catalogue keys of scope `.mbus` are accepted too.
    public static let deviceKeys: Set<String> = ["reading", "reading_time", "equipment_id", "device_type", "valve_position",
                                                 "breaker_state", "flow"]

    /// The kinds in device segments (``deviceSegment(_:)``): `gas` in `gas_1`; `mbus` when the type is not sent.
    public static let deviceKinds: Set<String> = ["electricity", "gas", "heat", "warm_water", "water", "cooling", "mbus"]

    private static func append(_ device: MBusDevice, to readings: inout [Reading]) {
        guard !device.isPlaceholder, let number = device.reading else { return }
        let segment = deviceSegment(device)
        let kindName = device.kind?.name ?? "mbus"
        func identity(_ key: String, _ code: ObisCode?, _ group: String) -> TopicMap.Value {
            TopicMap.Value(device: segment, key: key, code: code, groups: ["mbus", kindName, group])
        }
        let (value, unit) = normalise(number, device.unit)
        readings.append(Reading(value: identity("reading", device.readingCode, "volume"), payload: .number(value),
                                unit: unit, kind: .register))
        if let time = device.timestamp {
            readings.append(Reading(value: identity("reading_time", nil, "timestamp"), payload: .text(time.description)))
        }
        if let id = device.equipmentID {
            readings.append(Reading(value: identity("equipment_id", ObisCode(0, UInt8(device.channel), 96, 1, 0), "identifier"),
                                    payload: .text(id)))
        }
        if let type = device.deviceType {
            readings.append(Reading(value: identity("device_type", ObisCode(0, UInt8(device.channel), 24, 1, 0), "device_type"),
                                    payload: .number(MeterNumber(mantissa: Int64(type), scale: 0))))
        }
        if let valve = device.valvePosition {
            readings.append(Reading(value: identity("valve_position", ObisCode(0, UInt8(device.channel), 24, 4, 0), "state"),
                                    payload: .number(MeterNumber(mantissa: Int64(valve), scale: 0))))
        }
        if let breaker = device.breakerState {
            readings.append(Reading(value: identity("breaker_state", ObisCode(0, UInt8(device.channel), 96, 3, 10), "state"),
                                    payload: .number(MeterNumber(mantissa: Int64(breaker), scale: 0))))
        }
    }

    private static let otherGroups = ["other"]

    private static func kind(of quantity: ObisDefinition.Quantity?) -> Reading.Kind {
        switch quantity {
        case .energy, .reactiveEnergy, .volume: .register
        case .power, .reactivePower, .apparentPower, .voltage, .current, .powerFactor, .frequency: .measurement
        default: .state
        }
    }

    /// Moves the decimal point for `Wh` → `kWh` and the like; the digits stay the meter's.
    static func normalise(_ number: MeterNumber, _ unit: String?) -> (MeterNumber, String?) {
        guard let unit else { return (number, nil) }
        let conversion = UnitNormalization.conversion(for: unit)
        guard conversion.shift > 0 else { return (number, conversion.unit) }
        let scale = Int(number.scale) + Int(conversion.shift)
        // Beyond 18 decimals the shift cannot be exact: keep the meter's own unit then.
        guard scale <= 18 else { return (number, unit) }
        return (MeterNumber(mantissa: number.mantissa, scale: UInt8(scale)), conversion.unit)
    }

    /// `0001` → `low`, `0002` → `normal` (Belgian and Hungarian meters number these two the other way), and
    /// E.ON's third and fourth tariff → `tariff_3`, `tariff_4`: the options of the Home Assistant enum.
    public static func tariffName(_ code: String, variant: MeterVariant) -> String {
        let swapped = variant == .belgium || variant == .eonHungary
        switch code {
        case "0001", "1": return swapped ? "normal" : "low"
        case "0002", "2": return swapped ? "low" : "normal"
        case "0003", "3": return "tariff_3"
        case "0004", "4": return "tariff_4"
        default: return code
        }
    }
}
