/// Units as meters write them, and the unit Home Assistant expects for the same quantity.
///
/// A conversion is a shift of the decimal point (`Wh` → `kWh` is three places), so the meter's digits are kept
/// exactly; only spellings change otherwise (`m3` → `m³`, `kVArh` → `kvarh`).
public enum UnitNormalization {
    /// The normalised unit and how many decimal places the value moves left.
    public struct Conversion: Sendable, Hashable {
        /// The unit in Home Assistant's spelling.
        public let unit: String
        /// Decimal places to divide by (3 for Wh → kWh), 0 for a pure spelling change.
        public let shift: UInt8
    }

    /// How to normalise `unit`; the unit itself with no shift when it is already right or unknown.
    public static func conversion(for unit: String) -> Conversion {
        table[unit] ?? table[unit.lowercased()] ?? Conversion(unit: unit, shift: 0)
    }

    private static let table: [String: Conversion] = [
        "kWh": .init(unit: "kWh", shift: 0), "kwh": .init(unit: "kWh", shift: 0), "Wh": .init(unit: "kWh", shift: 3),
        "wh": .init(unit: "kWh", shift: 3), "MWh": .init(unit: "MWh", shift: 0),
        "kW": .init(unit: "kW", shift: 0), "kw": .init(unit: "kW", shift: 0), "W": .init(unit: "kW", shift: 3),
        "w": .init(unit: "kW", shift: 3),
        "kvarh": .init(unit: "kvarh", shift: 0), "varh": .init(unit: "kvarh", shift: 3),
        "kvar": .init(unit: "kvar", shift: 0), "var": .init(unit: "kvar", shift: 3),
        "kVA": .init(unit: "kVA", shift: 0), "kva": .init(unit: "kVA", shift: 0), "VA": .init(unit: "kVA", shift: 3),
        "va": .init(unit: "kVA", shift: 3),
        "m3": .init(unit: "m³", shift: 0), "m³": .init(unit: "m³", shift: 0), "M3": .init(unit: "m³", shift: 0),
        "GJ": .init(unit: "GJ", shift: 0), "gj": .init(unit: "GJ", shift: 0), "MJ": .init(unit: "MJ", shift: 0),
        "V": .init(unit: "V", shift: 0), "v": .init(unit: "V", shift: 0), "A": .init(unit: "A", shift: 0),
        "a": .init(unit: "A", shift: 0), "Hz": .init(unit: "Hz", shift: 0), "hz": .init(unit: "Hz", shift: 0),
        "s": .init(unit: "s", shift: 0),
    ]
}
