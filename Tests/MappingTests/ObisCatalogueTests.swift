import Mapping
import Testing

@Suite("OBIS catalogue")
struct ObisCatalogueTests {
    @Test func keysAreUniqueWithinTheirScopeAndSnakeCase() {
        var seen = Set<String>()
        for definition in ObisCatalogue.definitions {
            let scoped = "\(definition.scope == .mbus ? "mbus" : "meter")/\(definition.key)"
            #expect(seen.insert(scoped).inserted, "duplicate key \(scoped)")
            #expect(ObisCatalogue.definition(forKey: definition.key, scope: definition.scope == .mbus ? .mbus : .meter) == definition)
            #expect(definition.key.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" }, "\(definition.key)")
            #expect(!definition.name.isEmpty)
        }
    }

    @Test(arguments: [
        ("1-0:1.8.1", "energy_import_tariff_1"), ("0-0:1.8.1", "energy_import_tariff_1"),
        ("1-0:2.8.2", "energy_export_tariff_2"), ("1-0:1.7.0", "power_import"), ("1-0:52.7.0", "voltage_l2"),
        ("1-0:71.7.0", "current_l3"), ("1-0:42.7.0", "power_export_l2"), ("0-1:24.2.1", "reading"),
        ("0-4:24.2.3", "reading_uncorrected"), ("0-2:24.1.0", "device_type"), ("1-3:0.2.8", "p1_version"),
        ("1-1:31.4.0", "ct_ratio"), ("1-0:31.4.0", "fuse_limit_l1"), ("1-0:99.97.0", "power_failure_log"),
        ("0-0:98.1.0", "peak_demand_history"), ("1-0:1.8.0*255", "energy_import_total"),
        ("0-1:96.3.10", "breaker_state"), ("0-0:96.3.10", "breaker_state"),
    ])
    func lookupByCode(code: String, key: String) throws {
        let obis = try #require(ObisCode(code))
        #expect(ObisCatalogue.definition(for: obis)?.key == key)
    }

    /// The variant decides what a code means: E.ON's 98.1.0 is last month's registers, everyone else's the
    /// Belgian peak history; variants without definitions of their own get the general ones.
    @Test func aVariantsOwnDefinitionWinsForItsTelegramsOnly() throws {
        let code = try #require(ObisCode("0-0:98.1.0"))
        let general = try #require(ObisCatalogue.index(for: code))
        #expect(ObisCatalogue.definitions[general].key == "peak_demand_history")
        #expect(ObisCatalogue.definitions[general].variant == nil)
        let eon = try #require(ObisCatalogue.index(for: code, variant: "eon_hungary"))
        let snapshot = ObisCatalogue.definitions[eon]
        #expect(snapshot.key == "billing_snapshot")
        #expect(snapshot.unit == nil, "mixed kWh, kvarh and kW: no single unit")
        #expect(snapshot.layout == .registerSnapshot && snapshot.quantity == .registerSnapshot)
        #expect(snapshot.entity.deviceClass == "timestamp" && snapshot.entity.unit == nil && snapshot.entity.stateClass == nil)
        #expect(ObisCatalogue.index(for: code, variant: "belgium") == general)
        #expect(ObisCatalogue.hasOwnDefinitions(variant: "eon_hungary"))
        #expect(!ObisCatalogue.hasOwnDefinitions(variant: "belgium"))
        // Codes a variant does not redefine keep their general meaning.
        let energy = try #require(ObisCode("1-0:1.8.1"))
        #expect(ObisCatalogue.index(for: energy, variant: "eon_hungary") == ObisCatalogue.index(for: energy))
        #expect(ObisCatalogue.definition(forKey: "billing_snapshot") == snapshot)
    }

    @Test func mbusAndMeterScopesAreSeparate() throws {
        // 0-0:96.3.10 is the meter's breaker, 0-1:96.3.10 an M-Bus device's: same key, different scope.
        let meterCode = try #require(ObisCode("0-0:96.3.10"))
        let mbusCode = try #require(ObisCode("0-1:96.3.10"))
        let unknownCode = try #require(ObisCode("1-0:200.1.2"))
        let meter = try #require(ObisCatalogue.definition(for: meterCode))
        let mbus = try #require(ObisCatalogue.definition(for: mbusCode))
        #expect(meter.scope == .meter)
        #expect(mbus.scope == .mbus)
        #expect(ObisCatalogue.definition(for: unknownCode) == nil)
    }

    @Test func unitsUseHomeAssistantSpelling() {
        let allowed: Set<String> = ["kWh", "kW", "V", "A", "Hz", "kvar", "kvarh", "kVA", "m³", "m³/h", "s"]
        for definition in ObisCatalogue.definitions {
            if let unit = definition.unit { #expect(allowed.contains(unit), "\(definition.key): \(unit)") }
        }
    }

    @Test func deviceKinds() {
        #expect(MBusDeviceKind(deviceType: 3) == .gas)
        #expect(MBusDeviceKind(deviceType: 7) == .water)
        #expect(MBusDeviceKind(deviceType: 4) == .heat)
        #expect(MBusDeviceKind(deviceType: 12) == .heat)
        #expect(MBusDeviceKind(deviceType: 10) == .cooling)
        #expect(MBusDeviceKind(deviceType: 6) == .warmWater)
        #expect(MBusDeviceKind(deviceType: 2) == .electricity)
        #expect(MBusDeviceKind(deviceType: 99) == .unknown(99))
        #expect(MBusDeviceKind(deviceType: 6).name == "warm_water")
    }

    @Test func obisCodeTextRoundTrip() throws {
        let code = try #require(ObisCode("0-1:24.2.1"))
        #expect(code.description == "0-1:24.2.1")
        var bytes: [UInt8] = []
        code.write(to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == "0-1:24.2.1")
        #expect(code.isMBus)
        #expect(ObisCode("1-0:1.8.0*255") == ObisCode("1-0:1.8.0"))
        #expect(ObisCode("1-0:1.8") == nil)
        #expect(ObisCode("1-0:1.8.0x") == nil)
    }
}
