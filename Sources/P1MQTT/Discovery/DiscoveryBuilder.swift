import Mapping

/// One message to publish (retained): a discovery config, or an empty payload that deletes one.
public struct DiscoveryMessage: Sendable, Hashable {
    /// The config topic.
    public let topic: String
    /// The JSON config; empty to delete the entity or device.
    public let payload: [UInt8]
}

/// Builds Home Assistant discovery messages for a telegram's readings: an electricity meter device, one
/// device per M-Bus meter (linked to the electricity meter with `via_device`), and one sensor per published
/// value, typed from the catalogue so the Energy dashboard accepts the registers.
public struct DiscoveryBuilder: Sendable {
    /// Discovery options.
    public let options: DiscoveryOptions
    /// The topic map (state topics, the availability topic).
    public let topics: TopicMap
    /// The availability topic.
    public let availabilityTopic: String
    /// The host name, for meters without an id.
    public let hostName: String
    /// The statistics topic, whose health values become diagnostic entities of the meter; nil for none.
    public let statsTopic: String?

    /// Creates a builder.
    public init(options: DiscoveryOptions, topics: TopicMap, availabilityTopic: String, hostName: String,
                statsTopic: String? = nil) {
        self.options = options
        self.topics = topics
        self.availabilityTopic = availabilityTopic
        self.hostName = hostName
        self.statsTopic = statsTopic
    }

    /// Entities read from the stats topic: is p1mqtt receiving good telegrams, and when was the last one.
    private static let statsEntities: [(key: String, name: String, template: String, description: EntityDescription)] = [
        ("telegrams_rejected", "Telegrams rejected", "{{ value_json.telegrams.rejected }}",
         EntityDescription(stateClass: "total_increasing", category: "diagnostic", icon: "mdi:alert-circle-outline")),
        ("last_telegram", "Last telegram", "{{ value_json.last_telegram }}",
         EntityDescription(deviceClass: "timestamp", category: "diagnostic")),
        ("source_state", "Meter connection", "{{ value_json.source.state }}",
         EntityDescription(category: "diagnostic", icon: "mdi:connection")),
    ]

    /// The meter's id in identifiers and topics: its equipment id, else the configured one, else host and
    /// base topic; only `[a-z0-9_-]`.
    public func meterID(_ telegram: Telegram) -> String {
        if let id = telegram.equipmentID { return TopicMap.segment(id) }
        if let id = options.meterID { return TopicMap.segment(id) }
        return TopicMap.segment("\(hostName)_\(topics.base)")
    }

    /// The discovery messages for these readings, in the order they must be sent: first empty payloads on the
    /// config topics the *other* mode uses for the same devices and entities, then configs for published
    /// values and empty payloads for values switched off in the configuration (so an entity from an earlier
    /// run disappears).
    ///
    /// Both modes give an entity the same unique id, so after a switch of ``DiscoveryOptions/mode`` the old
    /// mode's retained configs would make Home Assistant see every entity twice. Their deletions go first:
    /// Home Assistant ignores a config whose unique id is already taken, and deleting the old config after the
    /// new one would then remove the entity altogether.
    public func messages(for telegram: Telegram, readings: [Reading]) -> [DiscoveryMessage] {
        let meter = meterID(telegram)
        let meterDevice = "p1mqtt_\(meter)"
        var entities: [(device: String, key: String, topic: String?, json: [UInt8])] = []
        var devices: [String: [UInt8]] = [meterDevice: deviceJSON(for: telegram, id: meterDevice)]
        var seen = Set<String>()
        for reading in readings {
            guard let entity = entity(for: reading) else { continue }
            let deviceID: String
            if let segment = reading.value.device {
                guard let mbus = telegram.mbusDevices.first(where: { ReadingMapper.deviceSegment($0) == segment }) else { continue }
                deviceID = mbusDeviceID(mbus, meter: meter)
                if devices[deviceID] == nil { devices[deviceID] = mbusDeviceJSON(mbus, id: deviceID, via: meterDevice) }
            } else {
                deviceID = meterDevice
            }
            let key = reading.value.path.replacingSlashes
            guard seen.insert("\(deviceID)/\(key)").inserted else { continue }
            let stateTopic = topics.topic(for: reading.value)
            var json = JSONWriter(capacity: 512)
            if let stateTopic {
                var config = EntityConfig(description: entity.description, name: entity.name,
                                          uniqueID: "\(deviceID)_\(key)", stateTopic: stateTopic)
                // An M-Bus meter's reading is the device's main feature: Home Assistant then calls it "Gas meter".
                if reading.value.device != nil && reading.value.key == "reading" { config.name = nil }
                if case .json = reading.payload {
                    // Lists: the failure log and peak history have their entry count as state, a list of numbers
                    // (the CT ratio) its first number; the whole list goes into the attributes. A register
                    // snapshot is already an object: its time is the state, and it is the attributes itself.
                    switch ObisCatalogue.definition(forKey: reading.value.key)?.layout {
                    case .registerSnapshot:
                        config.valueTemplate = "{{ value_json.timestamp }}"
                        config.attributesTemplate = "{{ value_json | tojson }}"
                    case .numbers:
                        config.valueTemplate = "{{ value_json[0] }}"
                        config.attributesTemplate = "{{ {'entries': value_json} | tojson }}"
                    default:
                        config.valueTemplate = "{{ value_json | count }}"
                        config.attributesTemplate = "{{ {'entries': value_json} | tojson }}"
                    }
                }
                writeEntity(config, device: options.mode == .entity ? devices[deviceID] : nil, to: &json)
            }
            entities.append((deviceID, key, stateTopic, json.bytes))
        }
        if let statsTopic {
            for stats in Self.statsEntities {
                var json = JSONWriter(capacity: 512)
                var config = EntityConfig(description: stats.description, name: stats.name,
                                          uniqueID: "\(meterDevice)_\(stats.key)", stateTopic: statsTopic)
                config.valueTemplate = stats.template
                writeEntity(config, device: options.mode == .entity ? devices[meterDevice] : nil, to: &json)
                entities.append((meterDevice, stats.key, statsTopic, json.bytes))
            }
        }
        switch options.mode {
        case .entity:
            let replaced = devices.keys.sorted().map { DiscoveryMessage(topic: deviceTopic($0), payload: []) }
            return replaced + entities.map { entity in
                DiscoveryMessage(topic: entityTopic(entity.device, entity.key), payload: entity.topic == nil ? [] : entity.json)
            }
        case .device:
            let replaced = entities.map { DiscoveryMessage(topic: entityTopic($0.device, $0.key), payload: []) }
            return replaced + devices.keys.sorted().map { deviceID in
                var json = JSONWriter(capacity: 8192)
                json.beginObject()
                json.key("dev")
                json.raw(devices[deviceID] ?? [])
                writeOrigin(&json)
                json.key("cmps")
                json.beginObject()
                for entity in entities where entity.device == deviceID {
                    json.key(string: entity.key)
                    if entity.topic == nil {
                        // Explicitly reduced to its platform: how device discovery removes one component.
                        json.raw(Array(#"{"p":"sensor"}"#.utf8))
                    } else {
                        json.raw(entity.json)
                    }
                }
                json.endObject()
                json.endObject()
                return DiscoveryMessage(topic: deviceTopic(deviceID), payload: json.bytes)
            }
        }
    }

    /// An entity's config topic in entity mode.
    private func entityTopic(_ device: String, _ key: String) -> String {
        "\(options.prefix)/sensor/\(device)/\(key)/config"
    }

    /// A device's config topic in device mode.
    private func deviceTopic(_ device: String) -> String {
        "\(options.prefix)/device/\(device)/config"
    }

    /// What Home Assistant should make of a reading; nil for values it has no use for (unknown lines).
    func entity(for reading: Reading) -> (description: EntityDescription, name: String)? {
        let key = reading.value.key
        if let device = reading.value.device {
            let kind = MBusDeviceKind(segment: device)
            switch key {
            case "reading": return (kind.readingEntity(unit: reading.unit), "Reading")
            case "flow":
                return (EntityDescription(deviceClass: "volume_flow_rate", stateClass: "measurement", unit: reading.unit, precision: 3), "Flow")
            case "reading_time":
                return (EntityDescription(deviceClass: "timestamp", category: "diagnostic", enabledByDefault: false), "Reading time")
            default:
                guard let definition = ObisCatalogue.definition(forKey: key, scope: .mbus) else { return nil }
                return (definition.entity, definition.name)
            }
        }
        if key.hasSuffix("_time"), let base = ObisCatalogue.definition(forKey: String(key.dropLast(5))) {
            return (EntityDescription(deviceClass: "timestamp", category: "diagnostic", enabledByDefault: false), "\(base.name) (time)")
        }
        guard let definition = ObisCatalogue.definition(forKey: key) else { return nil }
        var description = definition.entity
        // The unit actually published wins (W when power is published in watts, the meter's own otherwise).
        if description.unit != nil || reading.unit != nil, definition.quantity != .powerFactor {
            description.unit = reading.unit ?? description.unit
        }
        // Meters disagree on some units (the power limit 17.0.0 is in kW, kVA or A): Home Assistant drops an
        // entity whose unit does not fit its device class, so the class follows the unit.
        if let deviceClass = description.deviceClass, !HomeAssistantUnits.allows(description.unit, for: deviceClass) {
            description.deviceClass = HomeAssistantUnits.deviceClass(for: description.unit)
            if description.deviceClass == nil && description.stateClass != "measurement" { description.stateClass = nil }
        }
        return (description, definition.name)
    }

    /// What one sensor's config says, however the value is published.
    private struct EntityConfig {
        var description: EntityDescription
        /// Nil makes the entity the device's main feature (named after the device).
        var name: String?
        var uniqueID: String
        var stateTopic: String
        var valueTemplate: String?
        /// When set, the state topic's JSON also becomes the entity's attributes, through this template.
        var attributesTemplate: String?
    }

    private func writeEntity(_ config: EntityConfig, device: [UInt8]?, to json: inout JSONWriter) {
        let description = config.description
        json.beginObject()
        if options.mode == .device {
            json.key("p")
            json.string("sensor")
        }
        json.key("name")
        if let name = config.name { json.string(name) } else { json.null() }
        json.key("uniq_id")
        json.string(config.uniqueID)
        json.key("stat_t")
        json.string(config.stateTopic)
        json.key("avty_t")
        json.string(availabilityTopic)
        if let deviceClass = description.deviceClass {
            json.key("dev_cla")
            json.string(deviceClass)
        }
        if let stateClass = description.stateClass {
            json.key("stat_cla")
            json.string(stateClass)
        }
        if let unit = description.unit, description.deviceClass != "enum", description.deviceClass != "timestamp" {
            json.key("unit_of_meas")
            json.string(unit)
        }
        if let precision = description.precision {
            json.key("sug_dsp_prc")
            json.number(precision)
        }
        if let category = description.category {
            json.key("ent_cat")
            json.string(category)
        }
        if !description.enabledByDefault {
            json.key("en")
            json.bool(false)
        }
        if let icon = description.icon {
            json.key("ic")
            json.string(icon)
        }
        if let options = description.options {
            json.key("ops")
            json.beginArray()
            for option in options { json.string(option) }
            json.endArray()
        }
        if let template = config.valueTemplate {
            json.key("val_tpl")
            json.string(template)
        }
        if let attributes = config.attributesTemplate {
            json.key("json_attr_t")
            json.string(config.stateTopic)
            json.key("json_attr_tpl")
            json.string(attributes)
        }
        if let device {
            json.key("dev")
            json.raw(device)
            writeOrigin(&json)
        }
        json.endObject()
    }

    private func writeOrigin(_ json: inout JSONWriter) {
        json.key("o")
        json.beginObject()
        json.key("name")
        json.string("p1mqtt")
        json.key("sw")
        json.string(P1MQTTVersion.current)
        json.key("url")
        json.string(P1MQTTVersion.url)
        json.endObject()
    }

    private func deviceJSON(for telegram: Telegram, id: String) -> [UInt8] {
        var json = JSONWriter(capacity: 256)
        json.beginObject()
        json.key("ids")
        json.beginArray()
        json.string(id)
        json.endArray()
        json.key("name")
        json.string(options.meterName)
        let flag = telegram.manufacturerFlag ?? ""
        json.key("mf")
        json.string(ManufacturerFlag.name(for: flag) ?? (flag.isEmpty ? "unknown" : flag))
        json.key("mdl")
        json.string(model(from: telegram))
        if let serial = telegram.equipmentID {
            json.key("sn")
            json.string(serial)
        }
        json.key("sw")
        json.string(telegram.p1Version.map { "P1 \($0)" } ?? telegram.variant.displayName)
        json.endObject()
        return json.bytes
    }

    private func mbusDeviceJSON(_ device: MBusDevice, id: String, via meterDevice: String) -> [UInt8] {
        var json = JSONWriter(capacity: 256)
        json.beginObject()
        json.key("ids")
        json.beginArray()
        json.string(id)
        json.endArray()
        json.key("name")
        json.string((device.kind ?? .unknown(0)).displayName)
        json.key("mdl")
        json.string("M-Bus channel \(device.channel)")
        if let serial = device.equipmentID {
            json.key("sn")
            json.string(serial)
        }
        json.key("via_device")
        json.string(meterDevice)
        json.endObject()
        return json.bytes
    }

    /// An M-Bus device is identified by its own equipment id (it keeps its identity when moved to another
    /// channel); one without an id by the meter and channel.
    func mbusDeviceID(_ device: MBusDevice, meter: String) -> String {
        if let id = device.equipmentID { return "p1mqtt_\(TopicMap.segment(id))" }
        return "p1mqtt_\(meter)_mbus_\(device.channel)"
    }

    /// The header after the manufacturer flag and baud-rate digit: `/ISk5\2MT382-1000` → `MT382-1000`.
    private func model(from telegram: Telegram) -> String {
        var header = Substring(telegram.header.dropFirst())  // "/"
        header = header.dropFirst(min(4, header.count))  // flag and baud-rate character
        if header.hasPrefix("\\2") || header.hasPrefix("\\") { header = header.drop { $0 == "\\" || $0 == "2" } }
        let model = header.trimmingCharacters(in: " _")
        return model.isEmpty ? telegram.variant.displayName : model
    }
}

extension MBusDeviceKind {
    /// The kind from a device segment such as `gas_1`.
    init(segment: String) {
        let name = segment.split(separator: "_").dropLast().joined(separator: "_")
        switch name {
        case "gas": self = .gas
        case "water": self = .water
        case "heat": self = .heat
        case "cooling": self = .cooling
        case "warm_water": self = .warmWater
        case "electricity": self = .electricity
        default: self = .unknown(0)
        }
    }
}

extension String {
    var replacingSlashes: String { String(map { $0 == "/" ? "_" : $0 }) }

    func trimmingCharacters(in set: String) -> String {
        var scalars = Substring(self)
        while let first = scalars.first, set.contains(first) { scalars = scalars.dropFirst() }
        while let last = scalars.last, set.contains(last) { scalars = scalars.dropLast() }
        return String(scalars)
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String { String(self).trimmingCharacters(in: set) }
}
