/// How a value appears in Home Assistant: device and state class, unit, category and display hints, in Home
/// Assistant's exact spelling. Derived from the value's quantity, so every catalogue entry has one.
public struct EntityDescription: Sendable, Hashable {
    /// `energy`, `power`, `gas`, … or nil for none.
    public var deviceClass: String?
    /// `measurement`, `total_increasing`, `total`, or nil (timestamps, enums, text).
    public var stateClass: String?
    /// The unit in Home Assistant's spelling, or nil.
    public var unit: String?
    /// `diagnostic`, or nil for a primary entity.
    public var category: String?
    /// Whether Home Assistant enables the entity when it first appears.
    public var enabledByDefault: Bool
    /// Suggested display precision (decimals).
    public var precision: Int?
    /// An `mdi:` icon, when the device class gives none.
    public var icon: String?
    /// The states of an `enum` sensor.
    public var options: [String]?

    /// Creates a description.
    public init(deviceClass: String? = nil, stateClass: String? = nil, unit: String? = nil, category: String? = nil,
                enabledByDefault: Bool = true, precision: Int? = nil, icon: String? = nil, options: [String]? = nil) {
        self.deviceClass = deviceClass
        self.stateClass = stateClass
        self.unit = unit
        self.category = category
        self.enabledByDefault = enabledByDefault
        self.precision = precision
        self.icon = icon
        self.options = options
    }

    /// The tariff names p1mqtt publishes (`0001` → `low`, `0002` → `normal`, E.ON's third and fourth tariff).
    public static let tariffOptions = ["low", "normal", "tariff_3", "tariff_4"]
}

extension ObisDefinition {
    /// How the value appears in Home Assistant.
    public var entity: EntityDescription {
        let perPhase = key.hasSuffix("_l1") || key.hasSuffix("_l2") || key.hasSuffix("_l3")
        switch quantity {
        case .energy:
            return EntityDescription(deviceClass: "energy", stateClass: "total_increasing", unit: unit, precision: 3)
        case .reactiveEnergy:
            // Older Home Assistant releases do not know the reactive_energy class and would drop the entity.
            return EntityDescription(stateClass: "total_increasing", unit: unit, category: "diagnostic",
                                     enabledByDefault: false, precision: 3, icon: "mdi:sine-wave")
        case .power:
            let limit = key == "power_limit"
            return EntityDescription(deviceClass: "power", stateClass: "measurement", unit: unit,
                                     category: limit ? "diagnostic" : nil, enabledByDefault: !limit, precision: 3)
        case .reactivePower:
            return EntityDescription(deviceClass: "reactive_power", stateClass: "measurement", unit: unit,
                                     category: "diagnostic", enabledByDefault: false, precision: 3)
        case .apparentPower:
            // kVA is accepted for apparent_power only by newer releases; without a class any unit is valid.
            return EntityDescription(stateClass: "measurement", unit: unit, category: "diagnostic",
                                     enabledByDefault: false, precision: 3, icon: "mdi:flash")
        case .voltage:
            return EntityDescription(deviceClass: "voltage", stateClass: "measurement", unit: unit, precision: 1)
        case .current:
            let limit = key.hasPrefix("fuse_limit") || key == "ct_ratio"
            return EntityDescription(deviceClass: "current", stateClass: "measurement", unit: unit,
                                     category: limit ? "diagnostic" : nil, enabledByDefault: !limit, precision: perPhase ? 0 : nil)
        case .powerFactor:
            return EntityDescription(deviceClass: "power_factor", stateClass: "measurement", category: "diagnostic",
                                     enabledByDefault: false, precision: 3)
        case .frequency:
            return EntityDescription(deviceClass: "frequency", stateClass: "measurement", unit: unit,
                                     category: "diagnostic", enabledByDefault: false, precision: 2)
        case .volume:
            return EntityDescription(deviceClass: "gas", stateClass: "total_increasing", unit: unit, precision: 3)
        case .count:
            return EntityDescription(stateClass: "total_increasing", category: "diagnostic", enabledByDefault: false,
                                     icon: "mdi:counter")
        case .duration:
            return EntityDescription(deviceClass: "duration", unit: unit, category: "diagnostic", enabledByDefault: false)
        case .timestamp:
            return EntityDescription(deviceClass: "timestamp", category: "diagnostic", enabledByDefault: false)
        case .tariff:
            return EntityDescription(deviceClass: "enum", icon: "mdi:clock-time-eight", options: EntityDescription.tariffOptions)
        case .text:
            return EntityDescription(category: "diagnostic", enabledByDefault: key == "text_message", icon: "mdi:message-text")
        case .identifier, .version, .deviceType:
            return EntityDescription(category: "diagnostic", enabledByDefault: false, icon: "mdi:identifier")
        case .state:
            return EntityDescription(category: "diagnostic", enabledByDefault: false, icon: "mdi:state-machine")
        case .events:
            return EntityDescription(category: "diagnostic", enabledByDefault: false, icon: "mdi:history")
        case .flow:
            return EntityDescription(deviceClass: "volume_flow_rate", stateClass: "measurement", unit: unit, precision: 3)
        case .registerSnapshot:
            // Mixed units and unnamed registers make no single measurement: the entity says when the snapshot
            // was taken and carries the values as attributes.
            return EntityDescription(deviceClass: "timestamp", category: "diagnostic", enabledByDefault: false)
        }
    }
}

extension MBusDeviceKind {
    /// The reading of an M-Bus device of this kind in Home Assistant, for the unit the meter sends
    /// (normalised). A gas meter reading in an energy unit (kWh, GJ) is an energy sensor, as on real meters.
    public func readingEntity(unit: String?) -> EntityDescription {
        let energyUnits: Set<String> = ["J", "kJ", "MJ", "GJ", "Wh", "kWh", "MWh", "GWh"]
        if let unit, energyUnits.contains(unit) {
            return EntityDescription(deviceClass: "energy", stateClass: "total_increasing", unit: unit, precision: 3)
        }
        let volume = unit.map { ["m³", "L", "ft³", "CCF"].contains($0) } ?? true
        switch self {
        case .gas where volume:
            return EntityDescription(deviceClass: "gas", stateClass: "total_increasing", unit: unit ?? "m³", precision: 3)
        case .water where volume, .warmWater where volume:
            return EntityDescription(deviceClass: "water", stateClass: "total_increasing", unit: unit ?? "m³", precision: 3)
        case .heat where unit == nil, .cooling where unit == nil, .electricity where unit == nil:
            return EntityDescription(deviceClass: "energy", stateClass: "total_increasing", unit: "kWh", precision: 3)
        default:
            // A unit that fits no class of this kind (a heat meter reporting m³): a plain rising number, which
            // Home Assistant accepts with any unit.
            return EntityDescription(stateClass: "total_increasing", unit: unit, precision: 3)
        }
    }

    /// A name for the device in Home Assistant: "Gas meter", "Water meter", …
    public var displayName: String {
        switch self {
        case .electricity: "Electricity sub-meter"
        case .gas: "Gas meter"
        case .heat: "Heat meter"
        case .warmWater: "Warm water meter"
        case .water: "Water meter"
        case .cooling: "Cooling meter"
        case .unknown(let code): "M-Bus device (type \(code))"
        }
    }
}
