import Mapping
import Testing

/// Walks the whole catalogue: every entity Home Assistant would get is one it accepts, and every register is
/// one the Energy dashboard offers.
@Suite("Home Assistant entity descriptions")
struct EntityDescriptionTests {
    static let stateClasses: Set<String?> = [nil, "measurement", "total", "total_increasing"]
    /// Which state classes Home Assistant allows per device class (its DEVICE_CLASS_STATE_CLASSES).
    static let allowedStateClasses: [String: Set<String?>] = [
        "energy": ["total", "total_increasing"], "gas": ["total", "total_increasing"],
        "water": ["total", "total_increasing"], "power": ["measurement"], "reactive_power": ["measurement"],
        "voltage": ["measurement"], "current": ["measurement"], "frequency": ["measurement"],
        "power_factor": ["measurement"], "volume_flow_rate": ["measurement"], "timestamp": [nil], "enum": [nil],
        "duration": [nil, "measurement", "total", "total_increasing"],
    ]

    @Test(arguments: ObisCatalogue.definitions)
    func everyEntityIsAcceptedByHomeAssistant(_ definition: ObisDefinition) {
        let entity = definition.entity
        #expect(Self.stateClasses.contains(entity.stateClass), "\(definition.key)")
        if let deviceClass = entity.deviceClass {
            #expect(HomeAssistantUnits.units[deviceClass] != nil, "\(definition.key): unknown device class \(deviceClass)")
            #expect(HomeAssistantUnits.allows(entity.unit, for: deviceClass),
                    "\(definition.key): unit \(entity.unit ?? "none") with \(deviceClass)")
            #expect(Self.allowedStateClasses[deviceClass]?.contains(entity.stateClass) == true,
                    "\(definition.key): state class \(entity.stateClass ?? "none") with \(deviceClass)")
        }
        if entity.deviceClass == "enum" {
            #expect(entity.options?.isEmpty == false)
            #expect(entity.unit == nil && entity.stateClass == nil)
        } else {
            #expect(entity.options == nil, "\(definition.key): options without enum")
        }
        #expect(entity.category == nil || entity.category == "diagnostic", "\(definition.key)")
        if let icon = entity.icon { #expect(icon.hasPrefix("mdi:")) }
        if let precision = entity.precision { #expect(precision >= 0) }
    }

    @Test(arguments: ObisCatalogue.definitions.filter { $0.quantity == .energy })
    func everyEnergyRegisterIsEnergyDashboardReady(_ definition: ObisDefinition) {
        let entity = definition.entity
        #expect(entity.deviceClass == "energy")
        #expect(entity.unit == "kWh")
        #expect(entity.stateClass == "total_increasing" || entity.stateClass == "total")
        #expect(entity.enabledByDefault)
    }

    @Test func mbusReadingsAreEnergyDashboardReadyForEveryKindAndUnit() {
        #expect(MBusDeviceKind.gas.readingEntity(unit: "m³") == EntityDescription(deviceClass: "gas", stateClass: "total_increasing", unit: "m³", precision: 3))
        #expect(MBusDeviceKind.water.readingEntity(unit: "m³").deviceClass == "water")
        #expect(MBusDeviceKind.warmWater.readingEntity(unit: "m³").deviceClass == "water")
        // A gas meter that reports energy (as some do) is an energy sensor, not a gas one.
        #expect(MBusDeviceKind.gas.readingEntity(unit: "kWh").deviceClass == "energy")
        #expect(MBusDeviceKind.heat.readingEntity(unit: "GJ") == EntityDescription(deviceClass: "energy", stateClass: "total_increasing", unit: "GJ", precision: 3))
        #expect(MBusDeviceKind.cooling.readingEntity(unit: "kWh").deviceClass == "energy")
        for kind in [MBusDeviceKind.gas, .water, .heat, .cooling, .warmWater, .electricity] {
            for unit in ["m³", "kWh", "GJ", "MJ", "L"] {
                let entity = kind.readingEntity(unit: unit)
                guard let deviceClass = entity.deviceClass else { continue }
                #expect(HomeAssistantUnits.allows(entity.unit, for: deviceClass), "\(kind) in \(unit) → \(deviceClass)")
                #expect(entity.stateClass == "total_increasing")
            }
        }
    }

    @Test func tariffIsAnEnumWithTheNamesP1MQTTPublishes() throws {
        let tariff = try #require(ObisCatalogue.definition(forKey: "tariff_indicator"))
        #expect(tariff.entity.deviceClass == "enum")
        #expect(tariff.entity.options == ["low", "normal", "tariff_3", "tariff_4"])
    }

    @Test func diagnosticsAreDisabledByDefault() throws {
        for key in ["short_power_failures", "long_power_failures", "voltage_sags_l1", "p1_version", "equipment_id",
                    "power_failure_log", "timestamp"] {
            let definition = try #require(ObisCatalogue.definition(forKey: key))
            #expect(definition.entity.category == "diagnostic", "\(key)")
            #expect(!definition.entity.enabledByDefault, "\(key)")
        }
    }
}
