/// The catalogue of every OBIS object p1mqtt knows, across all meter variants (DSMR 2.2 to 5, e-MUCS,
/// Smarty, Sweden, Q3D, E.ON Hungary, Sagemcom T210-D-r, Iskra IE).
///
/// Lookup is by C.D.E within a scope, so `0-0:1.8.1` and `1-0:1.8.1` (both seen in the field) resolve alike,
/// and an M-Bus definition covers channels 1…9.
public enum ObisCatalogue {
    /// Every definition, in the order a telegram usually lists them.
    public static let definitions: [ObisDefinition] = meterDefinitions + mbusDefinitions + derivedDefinitions

    /// The definition for a code, if the catalogue knows it.
    @inlinable
    public static func definition(for code: ObisCode) -> ObisDefinition? {
        guard let index = index(for: code) else { return nil }
        return definitions[index]
    }

    /// The groups of each definition's value, by position in ``definitions``: its quantity, `phases` for a
    /// per-phase value, `derived` for a derived one. Built once, so mapping a telegram shares these arrays
    /// instead of building one per value per telegram.
    public static let valueGroups: [[String]] = definitions.map { definition in
        var groups = [definition.quantity.rawValue]
        if definition.scope == .derived { groups.append("derived") }
        if definition.key.hasSuffix("_l1") || definition.key.hasSuffix("_l2") || definition.key.hasSuffix("_l3") {
            groups.append("phases")
        }
        return groups
    }

    /// The position of the definition with this key in ``definitions``, if any.
    public static func index(forKey key: String, scope: ObisDefinition.Scope = .meter) -> Int? {
        keyTable[KeyInScope(key: key, mbus: scope == .mbus)]
    }

    /// The position of the code's general definition in ``definitions``, if any; cheaper to carry than the
    /// definition. Telegrams of a variant with definitions of its own use ``index(for:variant:)``.
    public static func index(for code: ObisCode) -> Int? {
        find(code, in: lookup)
    }

    /// The position of the code's definition for telegrams of `variant` (an identifier such as `eon_hungary`):
    /// the variant's own definition when it has one for the code, else the general one.
    public static func index(for code: ObisCode, variant: String) -> Int? {
        if let table = variantLookup[variant], let own = find(code, in: table) { return own }
        return find(code, in: lookup)
    }

    /// Whether some codes mean something else in telegrams of `variant` (see ``ObisDefinition/variant``), so
    /// that their lines need ``index(for:variant:)`` once the variant is known.
    public static func hasOwnDefinitions(variant: String) -> Bool {
        variantLookup[variant] != nil
    }

    private static func find(_ code: ObisCode, in table: LookupTable) -> Int? {
        // Only the Luxembourg CT ratio (1-1:…) is exact; meter lines have B = 0 (or 3 for the P1 version).
        if code.b != 0 && code.b != 3 && !code.isMBus, let exact = table.find(lookupKey(.exact, code)) { return exact }
        return table.find(lookupKey(code.isMBus ? .mbus : .meter, code))
    }

    /// Open addressing with a multiplicative hash: one multiply and usually one probe per line, which matters
    /// at 40 lines per telegram and 100,000 telegrams per second (Dictionary's seeded hashing costs far more).
    struct LookupTable: Sendable {
        private var keys: [UInt64]
        private var values: [Int16]
        private let shift: UInt64

        init(_ entries: [(UInt64, Int)]) {
            var bits: UInt64 = 4
            while (1 << bits) < entries.count * 4 { bits += 1 }
            shift = 64 - bits
            keys = Array(repeating: 0, count: 1 << bits)
            values = Array(repeating: -1, count: 1 << bits)
            for (key, value) in entries {
                var slot = Int((key &* 0x9E37_79B9_7F4A_7C15) >> shift)
                while values[slot] >= 0 {
                    precondition(keys[slot] != key, "duplicate catalogue entry")
                    slot = (slot + 1) & (keys.count - 1)
                }
                keys[slot] = key
                values[slot] = Int16(value)
            }
        }

        @inline(__always)
        func find(_ key: UInt64) -> Int? {
            var slot = Int((key &* 0x9E37_79B9_7F4A_7C15) >> shift)
            while true {
                let value = values[slot]
                if value < 0 { return nil }
                if keys[slot] == key { return Int(value) }
                slot = (slot + 1) & (keys.count - 1)
            }
        }
    }

    /// The definition with this key, if any. Keys are unique within a scope: an M-Bus device's
    /// `equipment_id` is a different value from the meter's, published under the device's own topics.
    public static func definition(forKey key: String, scope: ObisDefinition.Scope = .meter) -> ObisDefinition? {
        keyTable[KeyInScope(key: key, mbus: scope == .mbus)].map { definitions[$0] }
    }

    private struct KeyInScope: Hashable {
        let key: String
        let mbus: Bool
    }

    private static let lookup = LookupTable(
        definitions.enumerated().filter { $0.element.scope != .derived && $0.element.variant == nil }
            .map { (lookupKey($0.element.scope, $0.element.code), $0.offset) })

    /// The definitions of a variant's own, by variant; only the few variants that have any are keys.
    private static let variantLookup: [String: LookupTable] = {
        var entries: [String: [(UInt64, Int)]] = [:]
        for (index, definition) in definitions.enumerated() where definition.scope != .derived {
            guard let variant = definition.variant else { continue }
            entries[variant, default: []].append((lookupKey(definition.scope, definition.code), index))
        }
        return entries.mapValues(LookupTable.init)
    }()

    private static let keyTable: [KeyInScope: Int] = {
        var table: [KeyInScope: Int] = [:]
        for (index, definition) in definitions.enumerated() {
            let key = KeyInScope(key: definition.key, mbus: definition.scope == .mbus)
            precondition(table[key] == nil, "duplicate catalogue key \(definition.key)")
            table[key] = index
        }
        return table
    }()

    private static func lookupKey(_ scope: ObisDefinition.Scope, _ code: ObisCode) -> UInt64 {
        switch scope {
        case .exact: UInt64(1) << 48 | code.packed
        case .mbus: UInt64(2) << 48 | UInt64(code.c) << 16 | UInt64(code.d) << 8 | UInt64(code.e)
        case .meter, .derived: UInt64(3) << 48 | UInt64(code.c) << 16 | UInt64(code.d) << 8 | UInt64(code.e)
        }
    }
}

extension ObisCatalogue {
    private static func cde(_ c: UInt8, _ d: UInt8, _ e: UInt8) -> ObisCode { ObisCode(1, 0, c, d, e) }

    private static let phases: [(suffix: String, label: String, offset: UInt8)] = [
        ("l1", "L1", 20), ("l2", "L2", 40), ("l3", "L3", 60),
    ]

    static let meterDefinitions: [ObisDefinition] = {
        var list: [ObisDefinition] = [
            .init(cde(0, 2, 8), key: "p1_version", name: "P1 version", quantity: .version, layout: .text),
            .init(cde(1, 0, 0), key: "timestamp", name: "Timestamp", quantity: .timestamp, layout: .timestamp),
            .init(cde(96, 1, 1), key: "equipment_id", name: "Equipment id", quantity: .identifier, layout: .hexText),
            .init(cde(96, 1, 0), key: "serial_number", name: "Serial number", quantity: .identifier, layout: .hexText),
            .init(cde(42, 0, 0), key: "logical_device_name", name: "Logical device name", quantity: .identifier,
                  layout: .hexText),
            .init(cde(96, 1, 4), key: "version_info", name: "Version information", quantity: .version, layout: .text),
            .init(cde(0, 0, 0), key: "meter_id", name: "Meter id", quantity: .identifier, layout: .text),
            .init(cde(96, 1, 255), key: "manufacturer_serial", name: "Manufacturer serial", quantity: .identifier,
                  layout: .text),
            .init(cde(96, 5, 5), key: "device_state", name: "Device state", quantity: .state, layout: .text),
            .init(cde(96, 14, 0), key: "tariff_indicator", name: "Active tariff", quantity: .tariff, layout: .text),
            .init(cde(1, 8, 0), key: "energy_import_total", name: "Energy import total", unit: "kWh",
                  quantity: .energy),
            .init(cde(2, 8, 0), key: "energy_export_total", name: "Energy export total", unit: "kWh",
                  quantity: .energy),
            .init(cde(15, 8, 0), key: "energy_combined_total", name: "Energy combined total", unit: "kWh",
                  quantity: .energy),
            .init(cde(1, 7, 0), key: "power_import", name: "Power import", unit: "kW", quantity: .power),
            .init(cde(2, 7, 0), key: "power_export", name: "Power export", unit: "kW", quantity: .power),
            .init(cde(3, 8, 0), key: "reactive_energy_import_total", name: "Reactive energy import total",
                  unit: "kvarh", quantity: .reactiveEnergy),
            .init(cde(4, 8, 0), key: "reactive_energy_export_total", name: "Reactive energy export total",
                  unit: "kvarh", quantity: .reactiveEnergy),
            .init(cde(3, 7, 0), key: "reactive_power_import", name: "Reactive power import", unit: "kvar",
                  quantity: .reactivePower),
            .init(cde(4, 7, 0), key: "reactive_power_export", name: "Reactive power export", unit: "kvar",
                  quantity: .reactivePower),
            .init(cde(9, 7, 0), key: "apparent_power_import", name: "Apparent power import", unit: "kVA",
                  quantity: .apparentPower),
            .init(cde(10, 7, 0), key: "apparent_power_export", name: "Apparent power export", unit: "kVA",
                  quantity: .apparentPower),
            .init(cde(13, 7, 0), key: "power_factor", name: "Power factor", quantity: .powerFactor),
            .init(cde(14, 7, 0), key: "frequency", name: "Frequency", unit: "Hz", quantity: .frequency),
            .init(cde(96, 7, 21), key: "short_power_failures", name: "Short power failures", quantity: .count),
            .init(cde(96, 7, 9), key: "long_power_failures", name: "Long power failures", quantity: .count),
            .init(cde(99, 97, 0), key: "power_failure_log", name: "Power failure log", unit: "s", quantity: .events,
                  layout: .profile),
            .init(cde(17, 0, 0), key: "power_limit", name: "Power limit", unit: "kW", otherUnits: ["A", "kVA"],
                  quantity: .power),
            .init(cde(96, 3, 10), key: "breaker_state", name: "Breaker state", quantity: .state),
            .init(cde(96, 13, 0), key: "text_message", name: "Text message", quantity: .text, layout: .hexText),
            .init(cde(96, 13, 1), key: "text_message_code", name: "Text message code", quantity: .text,
                  layout: .hexText),
            .init(cde(1, 4, 0), key: "average_demand", name: "Average demand (15 min)", unit: "kW", quantity: .power),
            .init(cde(1, 6, 0), key: "peak_demand_month", name: "Peak demand this month", unit: "kW",
                  quantity: .power, layout: .timestampedNumber),
            .init(cde(98, 1, 0), key: "peak_demand_history", name: "Peak demand history", unit: "kW",
                  quantity: .events, layout: .profile),
            // Not a peak history on E.ON's meters: last month's registers, whose order the telegram does not say.
            .init(cde(98, 1, 0), key: "billing_snapshot", name: "Last month's billing registers",
                  quantity: .registerSnapshot, layout: .registerSnapshot, variant: "eon_hungary"),
            .init(ObisCode(1, 1, 31, 4, 0), .exact, key: "ct_ratio", name: "Current transformer ratio", unit: "A",
                  quantity: .current, layout: .numbers),
        ]
        for tariff: UInt8 in 1...4 {
            list.append(.init(cde(1, 8, tariff), key: "energy_import_tariff_\(tariff)",
                              name: "Energy import tariff \(tariff)", unit: "kWh", quantity: .energy))
            list.append(.init(cde(2, 8, tariff), key: "energy_export_tariff_\(tariff)",
                              name: "Energy export tariff \(tariff)", unit: "kWh", quantity: .energy))
        }
        for tariff: UInt8 in 1...2 {
            list.append(.init(cde(3, 8, tariff), key: "reactive_energy_import_tariff_\(tariff)",
                              name: "Reactive energy import tariff \(tariff)", unit: "kvarh",
                              quantity: .reactiveEnergy))
            list.append(.init(cde(4, 8, tariff), key: "reactive_energy_export_tariff_\(tariff)",
                              name: "Reactive energy export tariff \(tariff)", unit: "kvarh",
                              quantity: .reactiveEnergy))
        }
        for quadrant: UInt8 in 1...4 {
            list.append(.init(cde(4 + quadrant, 8, 0), key: "reactive_energy_q\(quadrant)",
                              name: "Reactive energy Q\(quadrant)", unit: "kvarh", quantity: .reactiveEnergy))
            list.append(.init(cde(4 + quadrant, 7, 0), key: "reactive_power_q\(quadrant)",
                              name: "Reactive power Q\(quadrant)", unit: "kvar", quantity: .reactivePower))
        }
        for (suffix, label, offset) in phases {
            list += [
                .init(cde(offset + 1, 7, 0), key: "power_import_\(suffix)", name: "Power import \(label)",
                      unit: "kW", quantity: .power),
                .init(cde(offset + 2, 7, 0), key: "power_export_\(suffix)", name: "Power export \(label)",
                      unit: "kW", quantity: .power),
                .init(cde(offset + 3, 7, 0), key: "reactive_power_import_\(suffix)",
                      name: "Reactive power import \(label)", unit: "kvar", quantity: .reactivePower),
                .init(cde(offset + 4, 7, 0), key: "reactive_power_export_\(suffix)",
                      name: "Reactive power export \(label)", unit: "kvar", quantity: .reactivePower),
                .init(cde(offset + 11, 7, 0), key: "current_\(suffix)", name: "Current \(label)", unit: "A",
                      quantity: .current),
                .init(cde(offset + 12, 7, 0), key: "voltage_\(suffix)", name: "Voltage \(label)", unit: "V",
                      quantity: .voltage),
                .init(cde(offset + 13, 7, 0), key: "power_factor_\(suffix)", name: "Power factor \(label)",
                      quantity: .powerFactor),
                .init(cde(offset + 12, 32, 0), key: "voltage_sags_\(suffix)", name: "Voltage sags \(label)",
                      quantity: .count),
                .init(cde(offset + 12, 36, 0), key: "voltage_swells_\(suffix)", name: "Voltage swells \(label)",
                      quantity: .count),
                .init(cde(offset + 11, 4, 0), key: "fuse_limit_\(suffix)", name: "Fuse limit \(label)", unit: "A",
                      quantity: .current),
            ]
        }
        for message: UInt8 in 2...5 {
            list.append(.init(cde(96, 13, message), key: "text_message_\(message)", name: "Text message \(message)",
                              quantity: .text, layout: .hexText))
        }
        return list
    }()

    /// Values users keep building by hand in Home Assistant, computed from the telegram.
    static let derivedDefinitions: [ObisDefinition] = {
        var list: [ObisDefinition] = [
            .init(cde(1, 7, 0), .derived, key: "power_net", name: "Net power", unit: "kW", quantity: .power),
        ]
        for (suffix, label, offset) in phases {
            list.append(.init(cde(offset + 1, 7, 0), .derived, key: "power_net_\(suffix)", name: "Net power \(label)",
                              unit: "kW", quantity: .power))
        }
        list.append(.init(ObisCode(0, 1, 24, 2, 1), .derived, key: "flow", name: "Flow", unit: "m³/h", quantity: .flow))
        return list
    }()

    static let mbusDefinitions: [ObisDefinition] = {
        func mbus(_ c: UInt8, _ d: UInt8, _ e: UInt8) -> ObisCode { ObisCode(0, 1, c, d, e) }
        return [
            .init(mbus(24, 1, 0), .mbus, key: "device_type", name: "Device type", quantity: .deviceType),
            .init(mbus(96, 1, 0), .mbus, key: "equipment_id", name: "Equipment id", quantity: .identifier,
                  layout: .hexText),
            .init(mbus(96, 1, 1), .mbus, key: "equipment_id_alt", name: "Equipment id", quantity: .identifier,
                  layout: .hexText),
            .init(mbus(24, 2, 1), .mbus, key: "reading", name: "Reading", unit: "m³", quantity: .volume,
                  layout: .timestampedNumber),
            .init(mbus(24, 2, 3), .mbus, key: "reading_uncorrected", name: "Reading", unit: "m³", quantity: .volume,
                  layout: .timestampedNumber),
            .init(mbus(24, 3, 0), .mbus, key: "reading_legacy", name: "Reading", unit: "m³", quantity: .volume,
                  layout: .legacyReading),
            .init(mbus(24, 4, 0), .mbus, key: "valve_position", name: "Valve position", quantity: .state),
            .init(mbus(96, 3, 10), .mbus, key: "breaker_state", name: "Breaker state", quantity: .state),
        ]
    }()
}
