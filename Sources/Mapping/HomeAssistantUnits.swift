/// Which units Home Assistant accepts for each sensor device class (its `DEVICE_CLASS_UNITS`); since 2025.7 an
/// MQTT entity with a unit outside its class's list is not created at all.
public enum HomeAssistantUnits {
    /// The accepted units per device class, for the classes p1mqtt uses.
    public static let units: [String: Set<String?>] = [
        "energy": ["J", "kJ", "MJ", "GJ", "mWh", "Wh", "kWh", "MWh", "GWh", "TWh", "cal", "kcal", "Mcal", "Gcal"],
        "power": ["mW", "W", "kW", "MW", "GW", "TW"],
        "reactive_power": ["var", "kvar"],
        "voltage": ["µV", "mV", "V", "kV", "MV"],
        "current": ["mA", "A"],
        "frequency": ["Hz", "kHz", "MHz", "GHz"],
        "power_factor": ["%", nil],
        "gas": ["L", "m³", "ft³", "CCF"],
        "water": ["L", "m³", "ft³", "CCF", "gal"],
        "volume_flow_rate": ["m³/h", "ft³/min", "L/min", "gal/min", "L/h"],
        "duration": ["d", "h", "min", "s", "ms"],
        "timestamp": [nil],
        "enum": [nil],
    ]

    /// Whether `unit` is accepted for `deviceClass`; true for classes not in the table.
    public static func allows(_ unit: String?, for deviceClass: String) -> Bool {
        units[deviceClass].map { $0.contains(unit) } ?? true
    }

    /// The device class a unit belongs to, for the measurement classes; nil when none fits (kVA, counts).
    public static func deviceClass(for unit: String?) -> String? {
        for deviceClass in ["power", "current", "voltage", "frequency", "reactive_power"]
        where units[deviceClass]?.contains(unit) == true && unit != nil {
            return deviceClass
        }
        return nil
    }
}
