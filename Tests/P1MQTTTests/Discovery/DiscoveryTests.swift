import Foundation
import Mapping
@testable import P1MQTT
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

typealias DiscoveredEntity = HADiscoveryValidator.Entity

// MARK: - Every telegram, pure

/// Every example and shared telegram through the publisher into a recording sink: Home Assistant would accept
/// every discovery message, in entity and in device mode.
@Suite("Discovery: every telegram passes the HA validator (pure)")
struct DiscoveryValidationTests {
    static let modes = DiscoveryOptions.Mode.allCases

    @Test("examples/telegrams", arguments: DiscoveryFixtures.exampleFiles, modes)
    func exampleTelegram(_ file: DiscoveryTelegramFile, _ mode: DiscoveryOptions.Mode) throws {
        try Self.check(file, mode)
    }

    @Test("shared telegrams", .enabled(if: DiscoveryFixtures.sharedAvailable, "needs /work/shared/telegrams"),
          arguments: DiscoveryFixtures.sharedFiles, modes)
    func sharedTelegram(_ file: DiscoveryTelegramFile, _ mode: DiscoveryOptions.Mode) throws {
        try Self.check(file, mode)
    }

    @Test("the example folder is there and holds telegrams")
    func examplesFound() {
        #expect(DiscoveryFixtures.exampleFiles.count >= 10)
        #expect(DiscoveryFixtures.exampleFiles.contains { $0.name == "dsmr5.txt" })
    }

    static func check(_ file: DiscoveryTelegramFile, _ mode: DiscoveryOptions.Mode,
                      sourceLocation: SourceLocation = #_sourceLocation) throws {
        let run = try DiscoveryFixtures.publish(file, mode: mode)
        try #require(!run.telegrams.isEmpty, "\(file.name) gave no telegram", sourceLocation: sourceLocation)
        let discovery = run.sink.discoverySent()
        #expect(!discovery.isEmpty, "no discovery for \(file.name)", sourceLocation: sourceLocation)
        #expect(discovery.allSatisfy { $0.retain }, "discovery configs must be retained", sourceLocation: sourceLocation)
        let component = mode == .entity ? "/sensor/" : "/device/"
        // Configs only: the deletions that go with them empty the other mode's topics too.
        let configs = discovery.filter { !$0.payload.isEmpty }
        #expect(configs.allSatisfy { $0.topic.contains(component) }, "\(mode) mode topics: \(configs.map(\.topic))",
                sourceLocation: sourceLocation)

        let validator = HADiscoveryValidator()
        let errors = validator.errors(run.sink.discovery())
        #expect(errors == [], "\(file.name), \(mode) mode:\n\(errors.joined(separator: "\n"))", sourceLocation: sourceLocation)

        // Every entity reads a topic the publisher actually publishes, and p1mqtt's own availability topic.
        let published = Set(run.sink.sent.filter { !$0.payload.isEmpty }.map(\.topic))
        for entity in validator.entities(run.sink.discovery()) {
            #expect(entity.stateTopic.map(published.contains) == true,
                    "\(entity.location): state topic \(entity.stateTopic ?? "none") never receives a value", sourceLocation: sourceLocation)
            #expect(entity.availabilityTopic == run.configuration.publish.availabilityTopic,
                    "\(entity.location): availability \(entity.availabilityTopic ?? "none")", sourceLocation: sourceLocation)
        }
    }
}

// MARK: - What the entities are

@Suite("Discovery: entities of the DSMR 5 and Belgian examples")
struct DiscoveryEntityTests {
    static func entities(_ name: String, _ mode: DiscoveryOptions.Mode) throws -> (run: DiscoveryRun, entities: [DiscoveredEntity]) {
        let run = try DiscoveryFixtures.publish(DiscoveryTelegramFile(path: DiscoveryFixtures.example(name)), mode: mode)
        try #require(run.telegrams.count == 1)
        return (run, HADiscoveryValidator().entities(run.sink.discovery()))
    }

    static let powerUnits: Set<String> = ["W", "kW"]

    @Test("DSMR 5: meter registers, power, phases, diagnostics, tariff, gas device", arguments: DiscoveryOptions.Mode.allCases)
    func dsmr5(_ mode: DiscoveryOptions.Mode) throws {
        let (run, entities) = try Self.entities("dsmr5.txt", mode)
        let telegram = try #require(run.telegrams.first)
        let meterID = "p1mqtt_" + (try #require(telegram.equipmentID)).lowercased()
        #expect(meterID == "p1mqtt_e0051004871239517")
        func entity(_ key: String) throws -> DiscoveredEntity {
            try #require(entities.first { $0.uniqueID == "\(meterID)_\(key)" }, "no entity \(meterID)_\(key)")
        }

        for key in ["energy_import_tariff_1", "energy_import_tariff_2", "energy_export_tariff_1", "energy_export_tariff_2"] {
            let register = try entity(key)
            #expect(register.deviceClass == "energy", "\(key)")
            #expect(register.unit == "kWh", "\(key)")
            #expect(register.stateClass == "total_increasing", "\(key)")
            #expect(register.enabledByDefault && register.entityCategory == nil, "\(key)")
            #expect(register.deviceIdentifiers == [meterID], "\(key)")
        }
        let phases = ["l1", "l2", "l3"]
        for key in ["power_import", "power_export"] + phases.flatMap({ ["power_import_\($0)", "power_export_\($0)"] }) {
            let power = try entity(key)
            #expect(power.deviceClass == "power", "\(key)")
            #expect(power.stateClass == "measurement", "\(key)")
            #expect(power.unit.map(Self.powerUnits.contains) == true, "\(key): \(power.unit ?? "none")")
        }
        for phase in phases {
            let voltage = try entity("voltage_\(phase)")
            #expect(voltage.deviceClass == "voltage" && voltage.unit == "V" && voltage.stateClass == "measurement")
            let current = try entity("current_\(phase)")
            #expect(current.deviceClass == "current" && current.unit == "A" && current.stateClass == "measurement")
        }
        let diagnostics = ["short_power_failures", "long_power_failures", "p1_version", "equipment_id", "timestamp"]
            + phases.flatMap { ["voltage_sags_\($0)", "voltage_swells_\($0)"] }
        for key in diagnostics {
            let diagnostic = try entity(key)
            #expect(!diagnostic.enabledByDefault, "\(key) should be disabled by default")
            #expect(diagnostic.entityCategory == "diagnostic", "\(key)")
        }

        let tariff = try entity("tariff_indicator")
        #expect(tariff.deviceClass == "enum")
        #expect(Set(tariff.options ?? []).isSuperset(of: ["low", "normal"]), "\(tariff.options ?? [])")
        #expect(tariff.unit == nil && tariff.stateClass == nil)

        // The gas meter: a device of its own, linked to the electricity meter.
        let gasEquipment = try #require(telegram.mbusDevices.compactMap(\.equipmentID).first)
        #expect(gasEquipment == "G0051004871239517")
        let gasID = "p1mqtt_" + gasEquipment.lowercased()
        let gasEntities = entities.filter { $0.deviceIdentifiers == [gasID] }
        #expect(!gasEntities.isEmpty, "no entity on device \(gasID); devices: \(Set(entities.flatMap(\.deviceIdentifiers)))")
        for entity in gasEntities {
            #expect(entity.viaDevice == meterID, "\(entity.location): via_device \(entity.viaDevice ?? "none")")
            #expect(entity.deviceName != nil && entity.deviceName != entities.first { $0.deviceIdentifiers == [meterID] }?.deviceName)
        }
        let gas = try #require(gasEntities.first { $0.deviceClass == "gas" }, "no gas reading")
        #expect(gas.unit == "m³")
        #expect(gas.stateClass == "total_increasing")
        #expect(gas.enabledByDefault)
        for entity in gasEntities where entity.deviceClass != "gas" {
            #expect(entity.entityCategory == "diagnostic" && !entity.enabledByDefault, "\(entity.location)")
        }
        // Energy-dashboard ready: the validator's energy rules find nothing for the registers and the gas.
        let findings = HADiscoveryValidator().validate(run.sink.discovery()).filter { [.energyDashboard, .unitNotAllowed, .stateClassNotAllowed].contains($0.rule) }
        #expect(findings.isEmpty, "\(findings)")
        // Nothing but these two devices.
        #expect(Set(entities.flatMap(\.deviceIdentifiers)) == [meterID, gasID])
    }

    @Test("Belgium: gas and water devices, capacity-tariff sensors, tariff enum", arguments: DiscoveryOptions.Mode.allCases)
    func belgium(_ mode: DiscoveryOptions.Mode) throws {
        let (run, entities) = try Self.entities("belgium.txt", mode)
        let telegram = try #require(run.telegrams.first)
        let meterID = "p1mqtt_" + (try #require(telegram.equipmentID)).lowercased()
        func entity(_ key: String) throws -> DiscoveredEntity {
            try #require(entities.first { $0.uniqueID == "\(meterID)_\(key)" }, "no entity \(meterID)_\(key)")
        }
        for key in ["average_demand", "peak_demand_month"] {
            let demand = try entity(key)
            #expect(demand.deviceClass == "power" && demand.stateClass == "measurement", "\(key)")
            #expect(demand.unit.map(Self.powerUnits.contains) == true, "\(key): \(demand.unit ?? "none")")
        }
        let tariff = try entity("tariff_indicator")
        #expect(tariff.deviceClass == "enum" && tariff.unit == nil && tariff.stateClass == nil)
        #expect(Set(tariff.options ?? []).isSuperset(of: ["low", "normal"]))

        for (deviceClass, kind) in [("gas", MBusDeviceKind.gas), ("water", .water)] {
            let device = try #require(telegram.mbusDevices.first { $0.kind == kind }, "no \(kind) device in belgium.txt")
            let id = "p1mqtt_" + (try #require(device.equipmentID)).lowercased()
            let reading = try #require(entities.first { $0.deviceIdentifiers == [id] && $0.deviceClass == deviceClass },
                                       "no \(deviceClass) reading on \(id)")
            #expect(reading.unit == "m³" || reading.unit == "L")
            #expect(reading.stateClass == "total_increasing")
            #expect(reading.viaDevice == meterID)
        }
        let devices = Set(entities.flatMap(\.deviceIdentifiers))
        #expect(devices.count == 3, "\(devices)")
    }

    /// E.ON's `0-0:98.1.0` holds last month's registers in kWh, kvarh and kW: no entity may present them as one
    /// kW value (it showed "19 kW" as the peak history), so the entity is the snapshot's time, with the values as
    /// attributes.
    @Test("E.ON Hungary: 98.1.0 is a timestamp entity of last month's registers, never a peak history in kW",
          arguments: DiscoveryOptions.Mode.allCases)
    func eonBillingSnapshot(_ mode: DiscoveryOptions.Mode) throws {
        let (run, entities) = try Self.entities("eon_hungary.txt", mode)
        let telegram = try #require(run.telegrams.first)
        #expect(telegram.variant == .eonHungary)
        let meterID = "p1mqtt_" + (try #require(telegram.equipmentID)).lowercased()
        #expect(!entities.contains { $0.uniqueID == "\(meterID)_peak_demand_history" })
        let snapshot = try #require(entities.first { $0.uniqueID == "\(meterID)_billing_snapshot" })
        #expect(snapshot.name == "Last month's billing registers")
        #expect(snapshot.deviceClass == "timestamp")
        #expect(snapshot.unit == nil && snapshot.stateClass == nil)
        #expect(snapshot.entityCategory == "diagnostic" && !snapshot.enabledByDefault)
        #expect(snapshot.stateTopic == "p1mqtt/billing_snapshot")
        #expect(snapshot.config["value_template"]?.string == "{{ value_json.timestamp }}")
        #expect(snapshot.config["json_attributes_template"]?.string == "{{ value_json | tojson }}")
        #expect(snapshot.config["json_attributes_topic"]?.string == "p1mqtt/billing_snapshot")
        let published = run.sink.sent.last { $0.topic == "p1mqtt/billing_snapshot" }
        let payload = try #require(published.map { String(decoding: $0.payload, as: UTF8.self) })
        #expect(payload.hasPrefix(#"{"timestamp":"2024-08-31T22:00:00Z","registers":[{"value":4790.362,"unit":"kWh"},"#), "\(payload)")
    }

    /// `0-0:17.0.0` comes in kW (most meters), kVA (Luxembourg Smarty) or A (DSMR 3): whatever the unit, the
    /// entity's device class must accept it, or Home Assistant (2025.7+) drops the entity.
    @Test("the power limit (17.0.0) in kW, kVA or A gets a device class that accepts its unit",
          arguments: ["0-0:17.0.0(999.9*kW)", "0-0:17.0.0(020.7*kVA)", "0-0:17.0.0(016*A)"])
    func powerLimitUnit(_ line: String) throws {
        let telegram = try DiscoveryFixtures.decode(TestTelegrams.dsmr5(extraLines: [line]))
        for mode in DiscoveryOptions.Mode.allCases {
            let sink = DiscoverySink()
            Publisher(options: PublishOptions(discovery: DiscoveryOptions(mode: mode))).publish(telegram, to: sink, now: 0)
            let meterID = "p1mqtt_" + TestTelegrams.dsmr5EquipmentID.lowercased()
            let limit = try #require(HADiscoveryValidator().entities(sink.discovery()).first { $0.uniqueID == "\(meterID)_power_limit" })
            let errors = HADiscoveryValidator().errors(sink.discovery())
            #expect(errors == [], "\(line), \(mode) mode: dev_cla \(limit.deviceClass ?? "none"), unit \(limit.unit ?? "none")")
        }
    }

    @Test("entity and device mode use the same unique ids and device identifiers (migration keeps the registry)")
    func sameIdentityInBothModes() throws {
        let file = DiscoveryTelegramFile(path: DiscoveryFixtures.example("belgium.txt"))
        let entity = HADiscoveryValidator().entities(try DiscoveryFixtures.publish(file, mode: .entity).sink.discovery())
        let device = HADiscoveryValidator().entities(try DiscoveryFixtures.publish(file, mode: .device).sink.discovery())
        #expect(Set(entity.compactMap(\.uniqueID)) == Set(device.compactMap(\.uniqueID)))
        #expect(Set(entity.flatMap(\.deviceIdentifiers)) == Set(device.flatMap(\.deviceIdentifiers)))
        #expect(entity.count == device.count)
    }
}

// MARK: - When discovery is published

@Suite("Discovery: when the publisher sends discovery")
struct DiscoveryTimingTests {
    static let meterID = "p1mqtt_" + TestTelegrams.dsmr5EquipmentID.lowercased()
    static let waterEquipmentID = "W0077000012345699"
    static let waterID = "p1mqtt_" + waterEquipmentID.lowercased()
    static let waterLines = [
        "0-2:24.1.0(007)",
        "0-2:96.1.0(\(TestTelegrams.hexASCII(waterEquipmentID)))",
        "0-2:24.2.1(240315143000W)(00012.345*m3)",
    ]

    static func publisher(_ mode: DiscoveryOptions.Mode, topics: TopicMap = TopicMap()) -> Publisher {
        Publisher(options: PublishOptions(topics: topics, discovery: DiscoveryOptions(mode: mode)))
    }

    @Test("discovery goes with the first telegram and not again for 4 more with the same values",
          arguments: DiscoveryOptions.Mode.allCases)
    func onceForSameShape(_ mode: DiscoveryOptions.Mode) throws {
        let publisher = Self.publisher(mode)
        let sink = DiscoverySink()
        publisher.publish(try DiscoveryFixtures.decode(TestTelegrams.dsmr5(number: 0)), to: sink, now: 0)
        let first = sink.discoverySent().count
        #expect(first > 0)
        for number in 1...4 {
            publisher.publish(try DiscoveryFixtures.decode(TestTelegrams.dsmr5(number: number)), to: sink, now: Double(number))
        }
        #expect(sink.discoverySent().count == first, "\(sink.discoverySent().dropFirst(first).map(\.topic))")
        #expect(publisher.statistics.discoveryMessages == first)
        #expect(publisher.statistics.telegrams == 5)
        #expect(sink.sent.filter { $0.topic == "p1mqtt/power_import" }.count == 5, "the five telegrams were published")
        #expect(HADiscoveryValidator().errors(sink.discovery()) == [])
    }

    @Test("the same example telegram five times: one discovery", arguments: DiscoveryOptions.Mode.allCases)
    func onceForRepeatedExample(_ mode: DiscoveryOptions.Mode) throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: DiscoveryFixtures.example("dsmr5.txt"))))
        let telegram = try DiscoveryFixtures.decode(bytes)
        let publisher = Self.publisher(mode)
        let sink = DiscoverySink()
        publisher.publish(telegram, to: sink, now: 0)
        let first = sink.discoverySent().count
        #expect(first > 0)
        for second in 1...4 { publisher.publish(telegram, to: sink, now: Double(second)) }
        #expect(sink.discoverySent().count == first)
    }

    @Test("a new M-Bus device triggers discovery of just that device", arguments: DiscoveryOptions.Mode.allCases)
    func newMBusDevice(_ mode: DiscoveryOptions.Mode) throws {
        let publisher = Self.publisher(mode)
        let sink = DiscoverySink()
        publisher.publish(try DiscoveryFixtures.decode(TestTelegrams.dsmr5(number: 0)), to: sink, now: 0)
        let before = sink.discoverySent().count
        let withWater = try DiscoveryFixtures.decode(TestTelegrams.dsmr5(number: 1, extraLines: Self.waterLines))
        #expect(withWater.mbusDevices.contains { $0.equipmentID == Self.waterEquipmentID })
        publisher.publish(withWater, to: sink, now: 1)
        // The configs; the deletions of the other mode's topics go with every discovery publication.
        let added = sink.discoverySent().dropFirst(before).filter { !$0.payload.isEmpty }
        switch mode {
        case .entity:
            #expect(!added.isEmpty)
            #expect(added.allSatisfy { $0.topic.hasPrefix("homeassistant/sensor/\(Self.waterID)/") }, "\(added.map(\.topic))")
        case .device:
            #expect(added.map(\.topic) == ["homeassistant/device/\(Self.waterID)/config"])
        }
        let entities = HADiscoveryValidator().entities(added.map { ($0.topic, $0.payload) })
        #expect(entities.allSatisfy { $0.deviceIdentifiers == [Self.waterID] })
        let water = try #require(entities.first { $0.deviceClass == "water" }, "no water reading among \(entities.map(\.location))")
        #expect(water.unit == "m³" && water.stateClass == "total_increasing" && water.viaDevice == Self.meterID)

        // The next telegram with the same devices sends nothing.
        let count = sink.discoverySent().count
        publisher.publish(try DiscoveryFixtures.decode(TestTelegrams.dsmr5(number: 2, extraLines: Self.waterLines)), to: sink, now: 2)
        #expect(sink.discoverySent().count == count)
        #expect(HADiscoveryValidator().errors(sink.discovery()) == [])
    }

    @Test("connected(_:) sends online, then discovery again, then the states; republish(to:) discovery and states",
          arguments: DiscoveryOptions.Mode.allCases)
    func reconnectResends(_ mode: DiscoveryOptions.Mode) throws {
        let publisher = Self.publisher(mode)
        let first = DiscoverySink()
        publisher.publish(try DiscoveryFixtures.decode(TestTelegrams.dsmr5(number: 0)), to: first, now: 0)
        let configs = DiscoveryFixtures.retained(first.discovery())
        #expect(!configs.isEmpty)
        // Configs and the deletions that go with them (the other mode's topics).
        let perPublication = first.discoverySent().count

        let reconnect = DiscoverySink()
        publisher.connected(reconnect)
        let sent = reconnect.sent
        #expect(sent.first?.topic == "p1mqtt/status" && sent.first?.text == "online" && sent.first?.retain == true)
        let again = reconnect.discoverySent()
        #expect(again.count == perPublication)
        #expect(again.filter { !$0.payload.isEmpty }.count == configs.count)
        let resent = DiscoveryFixtures.retained(reconnect.discovery())
        let same = resent == configs
        #expect(same, "\(DiscoveryFixtures.difference(resent, configs))")
        #expect(again.allSatisfy { $0.retain })
        let lastConfig = try #require(sent.lastIndex { $0.topic.hasPrefix("homeassistant/") })
        let firstState = try #require(sent.firstIndex { $0.topic.hasPrefix("p1mqtt/") && $0.topic != "p1mqtt/status" })
        #expect(lastConfig < firstState, "states must follow the configs")
        #expect(sent.contains { $0.topic == "p1mqtt/energy_import_tariff_1" && $0.retain })
        #expect(sent.contains { $0.topic == "p1mqtt/gas_1/reading" && $0.retain })

        let birth = DiscoverySink()
        publisher.republish(to: birth)
        let republished = DiscoveryFixtures.retained(birth.discovery())
        let sameAgain = republished == configs
        #expect(sameAgain, "\(DiscoveryFixtures.difference(republished, configs))")
        #expect(birth.sent.contains { $0.topic == "p1mqtt/power_import" })
        #expect(publisher.statistics.discoveryMessages == 3 * perPublication)
    }

    @Test("a value switched off gets an empty retained config (entity mode) or a platform-only component (device mode)",
          arguments: DiscoveryOptions.Mode.allCases)
    func switchedOff(_ mode: DiscoveryOptions.Mode) throws {
        let publisher = Self.publisher(mode, topics: TopicMap(disabled: ["voltage_l1"]))
        let sink = DiscoverySink()
        publisher.publish(try DiscoveryFixtures.decode(TestTelegrams.dsmr5(number: 0)), to: sink, now: 0)
        #expect(!sink.sent.contains { $0.topic == "p1mqtt/voltage_l1" })
        switch mode {
        case .entity:
            let cleared = try #require(sink.sent.first { $0.topic == "homeassistant/sensor/\(Self.meterID)/voltage_l1/config" },
                                       "no message on the switched-off value's config topic")
            #expect(cleared.payload.isEmpty, "expected an empty payload, got \(cleared.text)")
            #expect(cleared.retain)
        case .device:
            let device = try #require(sink.sent.first { $0.topic == "homeassistant/device/\(Self.meterID)/config" })
            let root = try #require(try HAJSONValue.parse(device.payload).get().value.object)
            let components = try #require(root["cmps"]?.object)
            #expect(components["voltage_l1"] == .object(HAJSONObject(entries: [("p", .string("sensor"))])),
                    "\(components["voltage_l1"]?.description ?? "absent")")
        }
        let entities = HADiscoveryValidator().entities(sink.discovery())
        #expect(!entities.contains { $0.uniqueID == "\(Self.meterID)_voltage_l1" })
        #expect(entities.contains { $0.uniqueID == "\(Self.meterID)_voltage_l2" })
        #expect(HADiscoveryValidator().errors(sink.discovery()) == [])
    }

    @Test("a renamed value keeps its unique id and points at the new state topic", arguments: DiscoveryOptions.Mode.allCases)
    func renamed(_ mode: DiscoveryOptions.Mode) throws {
        let telegram = try DiscoveryFixtures.decode(TestTelegrams.dsmr5(number: 0))
        let plain = DiscoverySink()
        Self.publisher(mode).publish(telegram, to: plain, now: 0)
        let renamedSink = DiscoverySink()
        let topics = TopicMap(renames: ["power_import": "custom/power", "energy_import_tariff_1": "/elsewhere/t1"])
        Self.publisher(mode, topics: topics).publish(telegram, to: renamedSink, now: 0)

        let before = HADiscoveryValidator().entities(plain.discovery())
        let after = HADiscoveryValidator().entities(renamedSink.discovery())
        for (key, topic) in [("power_import", "p1mqtt/custom/power"), ("energy_import_tariff_1", "elsewhere/t1")] {
            let old = try #require(before.first { $0.uniqueID == "\(Self.meterID)_\(key)" })
            let new = try #require(after.first { $0.uniqueID == old.uniqueID }, "unique id of \(key) changed with the rename")
            #expect(new.stateTopic == topic)
            #expect(renamedSink.sent.contains { $0.topic == topic && !$0.payload.isEmpty })
        }
        #expect(Set(before.compactMap(\.uniqueID)) == Set(after.compactMap(\.uniqueID)))
        #expect(HADiscoveryValidator().errors(renamedSink.discovery()) == [])
    }

    @Test("two meters without an id under different base topics get different ids")
    func twoMetersWithoutID() throws {
        let file = DiscoveryTelegramFile(path: DiscoveryFixtures.example("sweden.txt"))
        for mode in DiscoveryOptions.Mode.allCases {
            let first = try DiscoveryFixtures.publish(file, mode: mode, base: "meter_a")
            let second = try DiscoveryFixtures.publish(file, mode: mode, base: "meter_b")
            try #require(first.telegrams.first?.equipmentID == nil)
            let union = first.sink.discovery() + second.sink.discovery()
            #expect(HADiscoveryValidator().errors(union) == [], "\(mode)")
            #expect(Set(first.sink.discovery().map(\.topic)).isDisjoint(with: second.sink.discovery().map(\.topic)))
        }
    }
}

// MARK: - p1mqtt discovery --print

@Suite("Discovery: p1mqtt discovery --print",
       .enabled(if: FileManager.default.isExecutableFile(atPath: DiscoveryProcesses.executable), "needs the built p1mqtt"))
struct DiscoveryPrintTests {
    @Test("prints what the publisher sends, valid for HA", .timeLimit(.minutes(1)), arguments: DiscoveryOptions.Mode.allCases)
    func printsValidDiscovery(_ mode: DiscoveryOptions.Mode) async throws {
        let directory = try DiscoveryProcesses.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = DiscoveryTelegramFile(path: DiscoveryFixtures.example("belgium.txt"))
        let child = try DiscoveryProcesses.start(["discovery", "--print"] + (try DiscoveryProcesses.configArguments(mode, in: directory))
                                                 + [file.path], in: directory)
        let termination = await child.waitForExit(timeout: .seconds(20))
        if termination == nil { await child.killAndWait() }
        #expect(termination == .exited(0), "\(DiscoveryProcesses.diagnostics(child))")
        let messages = child.stdout.split(separator: "\n").map { line -> (topic: String, payload: [UInt8]) in
            let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]), parts.count > 1 ? Array(parts[1].utf8) : [])
        }
        #expect(!messages.isEmpty)
        #expect(HADiscoveryValidator().errors(messages) == [])
        let expected = DiscoveryFixtures.retained(try DiscoveryFixtures.publish(file, mode: mode).sink.discovery())
        let printed = DiscoveryFixtures.retained(messages)
        let same = printed == expected
        #expect(same, "\(DiscoveryFixtures.difference(printed, expected))")
    }
}
