/// A re-implementation, for tests, of the checks Home Assistant applies to MQTT discovery messages
/// (shared/reference/ha-discovery.md §5.3), including the ones HA enforces silently by dropping a key or a whole
/// entity: topic grammar, JSON object payloads, abbreviation expansion (root, `dev`, `o`, `avty`, `cmps`),
/// known keys only, origin and device rules, device-based discovery, the sensor schema with the device class /
/// unit / state class tables, and the cross-message rules (unique ids, device identifiers, availability).
///
/// It only knows the `sensor` platform in depth (the only one p1mqtt publishes); other platforms are accepted
/// in the topic grammar but reported as unexpected.
struct HADiscoveryValidator {
    /// What a finding is about: tests match on it, people read ``Issue/message``.
    enum Rule: String, Sendable, Hashable, CaseIterable {
        case topic
        case payloadNotJSONObject
        case duplicateJSONKey
        case unknownKey
        case shortAndLongForm
        case wrongType
        case origin
        case device
        case deviceDiscovery
        case component
        case stateTopicMissing
        case uniqueIDMissing
        case deviceClassUnknown
        case stateClassUnknown
        case unitNotAllowed
        case unitMissing
        case stateClassNotAllowed
        case options
        case entityCategory
        case availabilityConflict
        case availability
        case availabilityMissing
        case icon
        case objectIDDeprecated
        case defaultEntityID
        case nameStartsWithDeviceName
        case nonNegativeInteger
        case template
        case lastReset
        case duplicateUniqueID
        case deviceIdentifierConflict
        case energyDashboard
    }

    /// One finding.
    struct Issue: Sendable, Hashable, CustomStringConvertible {
        var topic: String
        /// The component key in a device payload, nil for single-component discovery.
        var component: String?
        var rule: Rule
        var message: String

        var description: String {
            "\(topic)\(component.map { " [\($0)]" } ?? ""): \(message) (\(rule.rawValue))"
        }
    }

    /// A discovered entity after abbreviation expansion and (device-based) inheritance: what HA would build it
    /// from. Keys are full names.
    struct Entity: Sendable {
        var topic: String
        var component: String?
        var platform: String
        var config: [String: HAJSONValue]
        var device: [String: HAJSONValue]?
        var origin: [String: HAJSONValue]?

        var uniqueID: String? { config["unique_id"]?.string }
        var name: String? { config["name"]?.string }
        var stateTopic: String? { config["state_topic"]?.string }
        var deviceClass: String? { config["device_class"]?.string }
        var stateClass: String? { config["state_class"]?.string }
        var unit: String? { config["unit_of_measurement"]?.string }
        var entityCategory: String? { config["entity_category"]?.string }
        var enabledByDefault: Bool { config["enabled_by_default"]?.bool ?? true }
        var options: [String]? { config["options"]?.array?.compactMap(\.string) }
        var availabilityTopic: String? { config["availability_topic"]?.string }
        var deviceIdentifiers: [String] { HADiscoveryValidator.identifiers(of: device) }
        var deviceName: String? { device?["name"]?.string }
        var viaDevice: String? { device?["via_device"]?.string }
        var location: String { "\(topic)\(component.map { " [\($0)]" } ?? "")" }
    }

    /// The discovery prefix.
    var prefix = "homeassistant"

    // MARK: - Tables (shared/reference/ha-discovery.md §2–3)

    /// Root abbreviations (also used inside `cmps` entries).
    static let rootAbbreviations: [String: String] = [
        "avty": "availability", "avty_mode": "availability_mode", "avty_t": "availability_topic",
        "avty_tpl": "availability_template", "cmps": "components", "dev": "device", "dev_cla": "device_class",
        "def_ent_id": "default_entity_id", "e": "encoding", "en": "enabled_by_default", "ent_cat": "entity_category",
        "ent_pic": "entity_picture", "exp_aft": "expire_after", "frc_upd": "force_update", "ic": "icon",
        "json_attr_t": "json_attributes_topic", "json_attr_tpl": "json_attributes_template",
        "lrst_val_tpl": "last_reset_value_template", "migr_discvry": "migrate_discovery", "o": "origin",
        "obj_id": "object_id", "ops": "options", "p": "platform", "pl_avail": "payload_available",
        "pl_not_avail": "payload_not_available", "stat_cla": "state_class", "stat_t": "state_topic",
        "sug_dsp_prc": "suggested_display_precision", "t": "topic", "uniq_id": "unique_id",
        "unit_of_meas": "unit_of_measurement", "val_tpl": "value_template", "cmd_t": "command_topic",
    ]
    /// Device abbreviations (`via_device` has none).
    static let deviceAbbreviations: [String: String] = [
        "cns": "connections", "ids": "identifiers", "mf": "manufacturer", "mdl": "model", "mdl_id": "model_id",
        "hw": "hw_version", "sw": "sw_version", "sa": "suggested_area", "sn": "serial_number",
        "cu": "configuration_url",
    ]
    /// Origin abbreviations.
    static let originAbbreviations: [String: String] = ["sw": "sw_version", "url": "support_url"]
    /// Availability entry abbreviations.
    static let availabilityAbbreviations: [String: String] = [
        "t": "topic", "pl_avail": "payload_available", "pl_not_avail": "payload_not_available",
        "val_tpl": "value_template",
    ]

    static let availabilityKeys: Set<String> = [
        "availability", "availability_topic", "availability_mode", "availability_template", "payload_available",
        "payload_not_available",
    ]
    /// Options a device payload may set at its root and its components inherit.
    static let sharedOptions: Set<String> = availabilityKeys.union([
        "state_topic", "command_topic", "qos", "encoding", "message_expiry_interval",
    ])
    /// Keys of the sensor discovery schema (MQTT_RO_SCHEMA + sensor + MQTT_ENTITY_COMMON_SCHEMA), full names.
    static let sensorKeys: Set<String> = availabilityKeys.union([
        "state_topic", "value_template", "qos", "encoding", "device_class", "state_class", "unit_of_measurement",
        "suggested_display_precision", "last_reset_value_template", "options", "expire_after", "force_update",
        "name", "unique_id", "default_entity_id", "object_id", "entity_category", "enabled_by_default", "icon",
        "entity_picture", "json_attributes_topic", "json_attributes_template", "device", "origin", "~",
        "migrate_discovery", "visible_by_default", "message_expiry_interval", "group",
    ])
    /// Root keys of a device payload.
    static let deviceRootKeys: Set<String> = sharedOptions.union(["device", "origin", "components", "~", "migrate_discovery"])
    static let deviceKeys: Set<String> = [
        "identifiers", "connections", "name", "manufacturer", "model", "model_id", "hw_version", "sw_version",
        "suggested_area", "serial_number", "configuration_url", "via_device",
    ]
    static let originKeys: Set<String> = ["name", "sw_version", "support_url"]
    static let availabilityEntryKeys: Set<String> = ["topic", "payload_available", "payload_not_available", "value_template"]

    /// HA's MQTT platforms (only `sensor` is validated in depth).
    static let platforms: Set<String> = [
        "alarm_control_panel", "binary_sensor", "button", "camera", "climate", "cover", "device_automation",
        "device_tracker", "event", "fan", "humidifier", "image", "lawn_mower", "light", "lock", "notify", "number",
        "scene", "select", "sensor", "siren", "switch", "tag", "text", "update", "vacuum", "valve", "water_heater",
    ]

    /// `SensorDeviceClass` values.
    static let deviceClasses: Set<String> = [
        "absolute_humidity", "apparent_power", "aqi", "area", "atmospheric_pressure", "battery",
        "blood_glucose_concentration", "carbon_dioxide", "carbon_monoxide", "conductivity", "current", "data_rate",
        "data_size", "date", "distance", "duration", "energy", "energy_distance", "energy_storage", "enum",
        "frequency", "gas", "humidity", "illuminance", "irradiance", "moisture", "monetary", "nitrogen_dioxide",
        "nitrogen_monoxide", "nitrous_oxide", "ozone", "ph", "pm1", "pm10", "pm25", "pm4", "power", "power_factor",
        "precipitation", "precipitation_intensity", "pressure", "reactive_energy", "reactive_power",
        "signal_strength", "sound_pressure", "speed", "sulphur_dioxide", "temperature", "timestamp",
        "volatile_organic_compounds", "volatile_organic_compounds_parts", "voltage", "volume", "volume_flow_rate",
        "volume_storage", "water", "weight", "wind_direction", "wind_speed",
    ]
    static let stateClasses: Set<String> = ["measurement", "total", "total_increasing"]

    static let energyUnits: Set<String> = [
        "J", "kJ", "MJ", "GJ", "mWh", "Wh", "kWh", "MWh", "GWh", "TWh", "cal", "kcal", "Mcal", "Gcal",
    ]
    static let volumeUnits: Set<String> = ["L", "mL", "m³", "ft³", "CCF", "MCF", "gal", "fl. oz."]
    /// `DEVICE_CLASS_UNITS` for the classes a meter can use; `""` stands for "no unit". Classes not listed are
    /// not checked.
    static let deviceClassUnits: [String: Set<String>] = [
        "energy": energyUnits,
        "energy_storage": energyUnits,
        "power": ["mW", "W", "kW", "MW", "GW", "TW", "BTU/h"],
        "apparent_power": ["mVA", "VA", "kVA"],
        "reactive_power": ["mvar", "var", "kvar"],
        "reactive_energy": ["varh", "kvarh"],
        "voltage": ["µV", "mV", "V", "kV", "MV"],
        "current": ["mA", "A"],
        "frequency": ["Hz", "kHz", "MHz", "GHz"],
        "power_factor": ["%", ""],
        "gas": ["L", "m³", "ft³", "CCF", "MCF"],
        "water": ["L", "m³", "ft³", "CCF", "MCF", "gal"],
        "volume": volumeUnits,
        "volume_storage": volumeUnits,
        "volume_flow_rate": ["m³/h", "m³/min", "m³/s", "ft³/min", "L/h", "L/min", "L/s", "gal/h", "gal/min", "gal/d", "mL/s"],
        "duration": ["d", "h", "min", "s", "ms", "µs"],
        "temperature": ["°C", "°F", "K"],
        "signal_strength": ["dB", "dBm"],
        "timestamp": [""],
        "date": [""],
        "enum": [""],
    ]
    /// `DEVICE_CLASS_STATE_CLASSES`; `""` stands for "no state class". Classes not listed allow any.
    static let deviceClassStateClasses: [String: Set<String>] = {
        var table: [String: Set<String>] = [:]
        for cls in ["energy", "reactive_energy", "gas", "water", "volume"] { table[cls] = ["", "total", "total_increasing"] }
        for cls in ["energy_storage", "volume_storage", "power", "apparent_power", "reactive_power", "voltage", "current",
                    "frequency", "power_factor", "volume_flow_rate", "temperature", "signal_strength"] {
            table[cls] = ["", "measurement"]
        }
        table["monetary"] = ["", "total"]
        for cls in ["timestamp", "date", "enum"] { table[cls] = [""] }
        return table
    }()
    /// Units the Energy dashboard takes per device class (energy/validate.py).
    static let energyDashboardUnits: [String: Set<String>] = [
        "energy": ["Wh", "kWh", "MWh", "GWh", "TWh", "J", "kJ", "MJ", "GJ", "cal", "kcal", "Mcal", "Gcal", "mWh"],
        "gas": ["m³", "ft³", "CCF", "MCF", "L"],
        "water": ["L", "gal", "m³", "ft³", "CCF", "MCF"],
    ]

    // MARK: - Validation

    /// Validates messages in the order they were (or would be) published. Every message is checked; the
    /// cross-message rules look at what is in force at the end (the last message per topic, deletions
    /// removing).
    func validate(_ messages: [(topic: String, payload: [UInt8])]) -> [Issue] {
        var issues: [Issue] = []
        var inForce: [String: [Entity]] = [:]
        var order: [String] = []
        for message in messages {
            let entities = check(topic: message.topic, payload: message.payload, &issues)
            if inForce[message.topic] == nil { order.append(message.topic) }
            inForce[message.topic] = entities ?? []
        }
        let entities = order.flatMap { inForce[$0] ?? [] }
        crossCheck(entities, &issues)
        var seen = Set<Issue>()
        return issues.filter { seen.insert($0).inserted }
    }

    /// ``validate(_:)`` as readable lines.
    func errors(_ messages: [(topic: String, payload: [UInt8])]) -> [String] {
        validate(messages).map(\.description)
    }

    /// The entities in force after these messages (last message per topic wins; empty payloads delete).
    func entities(_ messages: [(topic: String, payload: [UInt8])]) -> [Entity] {
        var ignored: [Issue] = []
        var inForce: [String: [Entity]] = [:]
        var order: [String] = []
        for message in messages {
            let entities = check(topic: message.topic, payload: message.payload, &ignored)
            if inForce[message.topic] == nil { order.append(message.topic) }
            inForce[message.topic] = entities ?? []
        }
        return order.flatMap { inForce[$0] ?? [] }
    }

    /// Checks one message; returns its entities (empty for a deletion or an unusable message).
    private func check(topic: String, payload: [UInt8], _ issues: inout [Issue]) -> [Entity]? {
        func issue(_ rule: Rule, _ message: String) { issues.append(Issue(topic: topic, rule: rule, message: message)) }
        guard let component = checkTopic(topic, &issues) else { return nil }
        if payload.isEmpty { return [] }  // deletion
        let root: HAJSONObject
        switch HAJSONValue.parse(payload) {
        case .failure(let error):
            issue(.payloadNotJSONObject, "payload is not JSON: \(error)")
            return nil
        case .success(let parsed):
            for duplicate in parsed.duplicateKeys { issue(.duplicateJSONKey, "key '\(duplicate)' appears twice in one object") }
            guard case .object(let object) = parsed.value else {
                issue(.payloadNotJSONObject, "payload must be a JSON object, got \(parsed.value.kind)")
                return nil
            }
            root = object
        }
        if component == "device" { return checkDevicePayload(topic: topic, root, &issues) }
        var config = expand(root, Self.rootAbbreviations, known: Self.sensorKeys, topic: topic, component: nil, &issues)
        if config["migrate_discovery"] != nil { return [] }
        expandTilde(&config)
        let device = checkDevice(config["device"], topic: topic, component: nil, &issues)
        let origin = checkOrigin(config["origin"], required: false, topic: topic, component: nil, &issues)
        guard component == "sensor" else {
            issue(.topic, "p1mqtt publishes sensors only; component '\(component)' was not expected")
            return []
        }
        var entity = Entity(topic: topic, component: nil, platform: component, config: config, device: device, origin: origin)
        entity.config["device"] = nil
        entity.config["origin"] = nil
        checkSensor(entity, deviceBased: false, &issues)
        return [entity]
    }

    /// `<prefix>/<component>/[<node_id>/]<object_id>/config`; returns the component.
    private func checkTopic(_ topic: String, _ issues: inout [Issue]) -> String? {
        func fail(_ message: String) -> String? {
            issues.append(Issue(topic: topic, rule: .topic, message: message))
            return nil
        }
        guard topic.hasPrefix(prefix + "/") else { return fail("not below the discovery prefix '\(prefix)/'") }
        let levels = topic.dropFirst(prefix.count + 1).split(separator: "/", omittingEmptySubsequences: false)
        guard levels.count == 3 || levels.count == 4 else {
            return fail("expected <component>/[<node_id>/]<object_id>/config below the prefix, got \(levels.count) levels (HA never receives it)")
        }
        guard levels.last == "config" else { return fail("the topic must end in /config") }
        let component = String(levels[0])
        guard component == "sensor" || component == "device" || Self.platforms.contains(component) else {
            return fail("unknown component '\(component)'")
        }
        for level in levels.dropFirst().dropLast() {
            let allowed = !level.isEmpty && level.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-"
            }
            if !allowed {
                return fail("'\(level)' contains characters other than [a-zA-Z0-9_-] (illegal discovery topic; HA drops it)")
            }
        }
        return component
    }

    /// Device-based discovery: `dev`, `o`, `cmps` required; each component's `p` and `uniq_id`; shared
    /// options and device/origin copied into every component.
    private func checkDevicePayload(topic: String, _ root: HAJSONObject, _ issues: inout [Issue]) -> [Entity] {
        func issue(_ rule: Rule, _ message: String) { issues.append(Issue(topic: topic, rule: rule, message: message)) }
        var expanded = expand(root, Self.rootAbbreviations, known: Self.deviceRootKeys, topic: topic, component: nil, &issues)
        if expanded["migrate_discovery"] != nil { return [] }
        expandTilde(&expanded)
        if expanded["device"] == nil { issue(.deviceDiscovery, "device-based discovery needs 'dev' (device)") }
        if expanded["origin"] == nil { issue(.deviceDiscovery, "device-based discovery needs 'o' (origin)") }
        let device = checkDevice(expanded["device"], topic: topic, component: nil, &issues)
        let origin = checkOrigin(expanded["origin"], required: true, topic: topic, component: nil, &issues)
        guard let componentsValue = expanded["components"] else {
            issue(.deviceDiscovery, "device-based discovery needs 'cmps' (components)")
            return []
        }
        guard case .object(let components) = componentsValue else {
            issue(.deviceDiscovery, "'cmps' must be an object of components, got \(componentsValue.kind)")
            return []
        }
        var entities: [Entity] = []
        for (key, value) in components.entries {
            func componentIssue(_ rule: Rule, _ message: String) {
                issues.append(Issue(topic: topic, component: key, rule: rule, message: message))
            }
            let keyAllowed = !key.isEmpty && key.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-"
            }
            if !keyAllowed { componentIssue(.component, "component key '\(key)' contains characters other than [a-zA-Z0-9_-]") }
            guard case .object(let object) = value else {
                componentIssue(.component, "a component must be an object, got \(value.kind)")
                continue
            }
            var config = expand(object, Self.rootAbbreviations, known: Self.sensorKeys.union(["platform"]), topic: topic,
                                component: key, &issues)
            guard let platform = config["platform"]?.string else {
                componentIssue(.component, "component has no 'p' (platform)")
                continue
            }
            guard Self.platforms.contains(platform) else {
                componentIssue(.component, "unknown platform '\(platform)'")
                continue
            }
            // Reduced to its platform: how a single component is removed.
            if config.count == 1 { continue }
            if config["device"] != nil { componentIssue(.component, "a component's own 'dev' is ignored: HA copies the root device into every component") }
            if config["origin"] != nil { componentIssue(.component, "a component's own 'o' is ignored: HA copies the root origin into every component") }
            for option in Self.sharedOptions where config[option] == nil {
                if let shared = expanded[option] { config[option] = shared }
            }
            config["platform"] = nil
            config["device"] = nil
            config["origin"] = nil
            guard platform == "sensor" else {
                componentIssue(.component, "p1mqtt publishes sensors only; platform '\(platform)' was not expected")
                continue
            }
            let entity = Entity(topic: topic, component: key, platform: platform, config: config, device: device, origin: origin)
            checkSensor(entity, deviceBased: true, &issues)
            entities.append(entity)
        }
        return entities
    }

    /// Expands abbreviations; flags unknown keys and keys sent in both forms.
    private func expand(_ object: HAJSONObject, _ table: [String: String], known: Set<String>, topic: String,
                        component: String?, _ issues: inout [Issue]) -> [String: HAJSONValue] {
        var result: [String: HAJSONValue] = [:]
        let present = Set(object.entries.map(\.key))
        for (key, value) in object.entries {
            let full = table[key] ?? key
            if full != key && present.contains(full) {
                issues.append(Issue(topic: topic, component: component, rule: .shortAndLongForm,
                                    message: "both '\(key)' and '\(full)' are present; send one form only"))
            }
            if !known.contains(full) {
                let shown = full == key ? "'\(key)'" : "'\(key)' (\(full))"
                issues.append(Issue(topic: topic, component: component, rule: .unknownKey,
                                    message: "unknown key \(shown): HA silently drops it"))
                continue
            }
            if result[full] == nil { result[full] = value }
        }
        return result
    }

    /// `~` substitution into every `*topic` key and availability topics, where the value starts or ends with it.
    private func expandTilde(_ config: inout [String: HAJSONValue]) {
        guard let base = config["~"]?.string else { return }
        func substitute(_ value: String) -> String {
            var value = value
            if value.hasPrefix("~") { value = base + value.dropFirst() }
            if value.hasSuffix("~") { value = value.dropLast() + base }
            return value
        }
        for (key, value) in config where key.hasSuffix("topic") {
            if let text = value.string { config[key] = .string(substitute(text)) }
        }
        if case .array(let entries) = config["availability"] {
            config["availability"] = .array(entries.map { entry in
                guard case .object(var object) = entry else { return entry }
                for index in object.entries.indices where ["t", "topic"].contains(object.entries[index].key) {
                    if let text = object.entries[index].value.string { object.entries[index].value = .string(substitute(text)) }
                }
                return .object(object)
            })
        }
        config["~"] = nil
    }

    private func checkOrigin(_ value: HAJSONValue?, required: Bool, topic: String, component: String?,
                             _ issues: inout [Issue]) -> [String: HAJSONValue]? {
        func issue(_ message: String) { issues.append(Issue(topic: topic, component: component, rule: .origin, message: message)) }
        guard let value else { return nil }
        guard case .object(let object) = value else {
            issue("'o' must be an object; an invalid origin drops the whole message")
            return nil
        }
        let origin = expand(object, Self.originAbbreviations, known: Self.originKeys, topic: topic, component: component, &issues)
        if origin["name"]?.string?.isEmpty != false { issue("origin needs a 'name' string; without it HA drops the whole message") }
        for key in ["sw_version", "support_url"] where origin[key] != nil && origin[key]?.string == nil {
            issue("origin '\(key)' must be a string")
        }
        if let url = origin["support_url"]?.string, !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
            issue("origin 'url' must be an http(s) URL, got '\(url)'")
        }
        return origin
    }

    private func checkDevice(_ value: HAJSONValue?, topic: String, component: String?, _ issues: inout [Issue]) -> [String: HAJSONValue]? {
        func issue(_ message: String) { issues.append(Issue(topic: topic, component: component, rule: .device, message: message)) }
        guard let value else { return nil }
        guard case .object(let object) = value else {
            issue("'dev' must be an object")
            return nil
        }
        let device = expand(object, Self.deviceAbbreviations, known: Self.deviceKeys, topic: topic, component: component, &issues)
        var identifying = 0
        switch device["identifiers"] {
        case nil: break
        case .string(let id)?: if !id.isEmpty { identifying += 1 } else { issue("an empty identifier identifies nothing") }
        case .array(let ids)?:
            for id in ids {
                if let text = id.string, !text.isEmpty { identifying += 1 } else { issue("identifiers must be non-empty strings") }
            }
        default: issue("'ids' must be a string or a list of strings")
        }
        if let connections = device["connections"] {
            if case .array(let pairs) = connections,
               pairs.allSatisfy({ if case .array(let pair) = $0 { pair.count == 2 && pair.allSatisfy { $0.string != nil } } else { false } })
            {
                identifying += pairs.count
            } else {
                issue("'cns' must be a list of [type, id] pairs")
            }
        }
        if identifying == 0 {
            issue("Device must have at least one identifying value in 'identifiers' and/or 'connections'")
        }
        for key in ["name", "manufacturer", "model", "model_id", "hw_version", "sw_version", "suggested_area",
                    "serial_number", "configuration_url", "via_device"] {
            if let field = device[key], field.string == nil {
                issue("device '\(key)' must be a string, got \(field.kind)")
            }
        }
        if let url = device["configuration_url"]?.string,
           !(url.hasPrefix("http://") || url.hasPrefix("https://") || url.hasPrefix("homeassistant://")) {
            issue("device 'cu' must be an http, https or homeassistant:// URL, got '\(url)'")
        }
        return device
    }

    // MARK: - Sensor schema

    private func checkSensor(_ entity: Entity, deviceBased: Bool, _ issues: inout [Issue]) {
        let config = entity.config
        func issue(_ rule: Rule, _ message: String) {
            issues.append(Issue(topic: entity.topic, component: entity.component, rule: rule, message: message))
        }
        func string(_ key: String, _ short: String, rule: Rule = .wrongType) {
            if let value = config[key], value.string == nil { issue(rule, "'\(short)' must be a string, got \(value.kind)") }
        }
        func nullableString(_ key: String, _ short: String) {
            if let value = config[key], value != .null, value.string == nil { issue(.wrongType, "'\(short)' must be a string or null, got \(value.kind)") }
        }
        func bool(_ key: String, _ short: String) {
            if let value = config[key], value.bool == nil { issue(.wrongType, "'\(short)' must be a boolean, got \(value.kind)") }
        }
        func nonNegativeInt(_ key: String, _ short: String) {
            guard let value = config[key] else { return }
            if case .number(let text) = value, let number = Int(text), number >= 0 { return }
            issue(.nonNegativeInteger, "'\(short)' must be an integer ≥ 0, got \(value)")
        }

        // state_topic (required), unique_id
        if let value = config["state_topic"] {
            if value.string?.isEmpty != false { issue(.stateTopicMissing, "'stat_t' must be a non-empty topic, got \(value)") }
        } else {
            issue(.stateTopicMissing, "a sensor needs 'stat_t' (state_topic)")
        }
        switch config["unique_id"] {
        case .string(let id)? where !id.isEmpty: break
        case nil:
            if deviceBased {
                issue(.uniqueIDMissing, "a component of a device payload needs 'uniq_id'")
            } else if entity.device != nil {
                issue(.uniqueIDMissing, "without 'uniq_id' the entity is not linked to its device and cannot be edited")
            }
        case let value?: issue(.uniqueIDMissing, "'uniq_id' must be a non-empty string, got \(value)")
        }
        nullableString("name", "name")
        string("value_template", "val_tpl", rule: .template)
        string("json_attributes_template", "json_attr_tpl", rule: .template)
        string("last_reset_value_template", "lrst_val_tpl", rule: .template)
        string("availability_template", "avty_tpl", rule: .template)
        string("json_attributes_topic", "json_attr_t")
        string("availability_topic", "avty_t")
        string("payload_available", "pl_avail")
        string("payload_not_available", "pl_not_avail")
        string("encoding", "e")
        string("entity_picture", "ent_pic")
        bool("enabled_by_default", "en")
        bool("force_update", "frc_upd")
        bool("visible_by_default", "visible_by_default")
        nonNegativeInt("suggested_display_precision", "sug_dsp_prc")
        nonNegativeInt("expire_after", "exp_aft")
        if let qos = config["qos"], !["0", "1", "2"].contains(qos.numberText ?? "") {
            issue(.wrongType, "'qos' must be 0, 1 or 2, got \(qos)")
        }

        // Device class, state class, unit.
        var deviceClass: String?
        if let value = config["device_class"], value != .null {
            if let text = value.string, Self.deviceClasses.contains(text) {
                deviceClass = text
            } else {
                issue(.deviceClassUnknown, "'dev_cla' \(value) is not a sensor device class")
            }
        }
        var stateClass: String?
        if let value = config["state_class"], value != .null {
            if let text = value.string, Self.stateClasses.contains(text) {
                stateClass = text
            } else {
                issue(.stateClassUnknown, "'stat_cla' \(value) is not one of measurement, total, total_increasing")
            }
        }
        var unit: String?
        if let value = config["unit_of_measurement"], value != .null {
            if let text = value.string {
                if text.allSatisfy(\.isWhitespace) {
                    issue(.unitNotAllowed, "'unit_of_meas' is blank; leave it out instead (older HA treats \"\" as a unit)")
                } else {
                    unit = text
                }
            } else {
                issue(.wrongType, "'unit_of_meas' must be a string, got \(value.kind)")
            }
        }
        if let deviceClass {
            if let units = Self.deviceClassUnits[deviceClass] {
                if let unit, !units.contains(unit) {
                    issue(.unitNotAllowed, "The unit of measurement `\(unit)` is not valid together with device class `\(deviceClass)` (HA drops the entity); allowed: \(units.filter { !$0.isEmpty }.sorted())")
                } else if unit == nil, !units.contains("") {
                    issue(.unitMissing, "device class `\(deviceClass)` needs a unit, one of \(units.sorted())")
                }
            }
            if let allowed = Self.deviceClassStateClasses[deviceClass], !allowed.contains(stateClass ?? "") {
                let expected = allowed.filter { !$0.isEmpty }.sorted()
                issue(.stateClassNotAllowed, "state class '\(stateClass ?? "none")' is impossible considering device class ('\(deviceClass)'); expected \(expected.isEmpty ? "none" : "None or one of \(expected)")")
            }
        }

        // options: enum only, never with a unit or state class.
        if let value = config["options"] {
            if case .array(let items) = value, !items.isEmpty, items.allSatisfy({ $0.string != nil }) {
                if deviceClass != "enum" { issue(.options, "'ops' requires device class 'enum'") }
                if stateClass != nil || unit != nil { issue(.options, "an enum with options must not have a state class or unit") }
            } else {
                issue(.options, "'ops' must be a non-empty list of strings, got \(value)")
            }
        } else if deviceClass == "enum" {
            issue(.options, "device class 'enum' needs 'ops' (the possible states)")
        }

        if let value = config["last_reset_value_template"], value != .null, stateClass != "total" {
            issue(.lastReset, "'lrst_val_tpl' is only valid with state class 'total'")
        }

        if let value = config["entity_category"], value != .null, value.string != "diagnostic" {
            issue(.entityCategory, "'ent_cat' \(value) is not allowed for a sensor (only 'diagnostic'; 'config' keeps it from being added)")
        }

        // Availability.
        if config["availability"] != nil && config["availability_topic"] != nil {
            issue(.availabilityConflict, "'avty' and 'avty_t' are mutually exclusive")
        }
        if let value = config["availability"] {
            if case .array(let entries) = value, !entries.isEmpty {
                for entry in entries {
                    guard case .object(let object) = entry else {
                        issue(.availability, "'avty' entries must be objects")
                        continue
                    }
                    let expanded = expand(object, Self.availabilityAbbreviations, known: Self.availabilityEntryKeys,
                                          topic: entity.topic, component: entity.component, &issues)
                    if expanded["topic"]?.string?.isEmpty != false { issue(.availability, "every 'avty' entry needs a 't' (topic)") }
                }
            } else {
                issue(.availability, "'avty' must be a non-empty list, got \(value)")
            }
        }
        if let mode = config["availability_mode"], !["all", "any", "latest"].contains(mode.string ?? "") {
            issue(.availability, "'avty_mode' must be all, any or latest, got \(mode)")
        }
        if config["availability"] == nil && config["availability_topic"] == nil {
            issue(.availabilityMissing, "no availability: the entity stays 'available' with stale values when p1mqtt stops")
        }

        if let value = config["icon"] {
            if value.string?.contains(":") != true { issue(.icon, "'ic' must look like 'mdi:name', got \(value)") }
        }
        if config["object_id"] != nil {
            issue(.objectIDDeprecated, "'obj_id' is deprecated since 2025.10 and stops working in 2026.4; use 'def_ent_id'")
        }
        if let value = config["default_entity_id"], value.string?.hasPrefix("sensor.") != true {
            issue(.defaultEntityID, "'def_ent_id' must be a full entity id 'sensor.<id>', got \(value)")
        }

        // Energy dashboard.
        if let deviceClass, let units = Self.energyDashboardUnits[deviceClass] {
            if !(unit.map(units.contains) ?? false) || !["total", "total_increasing"].contains(stateClass ?? "") {
                issue(.energyDashboard, "a '\(deviceClass)' sensor must have one of \(units.sorted()) and state class total or total_increasing for the Energy dashboard (has unit \(unit ?? "none"), state class \(stateClass ?? "none"))")
            }
        }
    }

    // MARK: - Across messages

    private func crossCheck(_ entities: [Entity], _ issues: inout [Issue]) {
        var uniqueIDs: [String: Entity] = [:]
        var deviceNames: [String: (name: String, at: String)] = [:]
        for entity in entities {
            if let id = entity.uniqueID {
                let key = "\(entity.platform) \(id)"
                if let first = uniqueIDs[key] {
                    issues.append(Issue(topic: entity.topic, component: entity.component, rule: .duplicateUniqueID,
                                        message: "unique_id '\(id)' already used by \(first.location): Platform mqtt does not generate unique IDs; HA ignores this entity"))
                } else {
                    uniqueIDs[key] = entity
                }
            }
            if let name = entity.deviceName {
                for identifier in entity.deviceIdentifiers {
                    if let known = deviceNames[identifier], known.name != name {
                        issues.append(Issue(topic: entity.topic, component: entity.component, rule: .deviceIdentifierConflict,
                                            message: "device identifier '\(identifier)' names device '\(name)' here but '\(known.name)' at \(known.at): HA merges them into one device"))
                    } else if deviceNames[identifier] == nil {
                        deviceNames[identifier] = (name, entity.location)
                    }
                }
            }
        }
        for entity in entities where entity.device != nil && entity.deviceName == nil {
            if !entity.deviceIdentifiers.contains(where: { deviceNames[$0] != nil }) {
                issues.append(Issue(topic: entity.topic, component: entity.component, rule: .device,
                                    message: "no message gives the device \(entity.deviceIdentifiers) a 'name'"))
            }
        }
        for entity in entities {
            guard let name = entity.name, !name.isEmpty else { continue }
            let deviceName = entity.deviceName ?? entity.deviceIdentifiers.lazy.compactMap { deviceNames[$0]?.name }.first
            if let deviceName, !deviceName.isEmpty, name.lowercased().hasPrefix(deviceName.lowercased()) {
                issues.append(Issue(topic: entity.topic, component: entity.component, rule: .nameStartsWithDeviceName,
                                    message: "MQTT entity name '\(name)' starts with the device name '\(deviceName)'"))
            }
        }
    }

    static func identifiers(of device: [String: HAJSONValue]?) -> [String] {
        switch device?["identifiers"] {
        case .string(let id)?: [id]
        case .array(let ids)?: ids.compactMap(\.string)
        default: []
        }
    }
}

// MARK: - A small JSON reader that keeps number text, key order and duplicate keys

/// A JSON object with its keys in document order.
struct HAJSONObject: Sendable, Hashable {
    var entries: [(key: String, value: HAJSONValue)]

    subscript(key: String) -> HAJSONValue? { entries.last { $0.key == key }?.value }

    static func == (lhs: HAJSONObject, rhs: HAJSONObject) -> Bool {
        lhs.entries.count == rhs.entries.count && zip(lhs.entries, rhs.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    func hash(into hasher: inout Hasher) {
        for entry in entries {
            hasher.combine(entry.key)
            hasher.combine(entry.value)
        }
    }
}

/// A JSON value; numbers keep their text so `3` and `3.0` stay apart.
indirect enum HAJSONValue: Sendable, Hashable, CustomStringConvertible {
    case object(HAJSONObject)
    case array([HAJSONValue])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    var string: String? { if case .string(let text) = self { text } else { nil } }
    var bool: Bool? { if case .bool(let value) = self { value } else { nil } }
    var array: [HAJSONValue]? { if case .array(let items) = self { items } else { nil } }
    var object: HAJSONObject? { if case .object(let object) = self { object } else { nil } }
    var numberText: String? { if case .number(let text) = self { text } else { nil } }

    var kind: String {
        switch self {
        case .object: "an object"
        case .array: "a list"
        case .string: "a string"
        case .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        }
    }

    var description: String {
        switch self {
        case .object(let object): "{" + object.entries.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}"
        case .array(let items): "[" + items.map(\.description).joined(separator: ",") + "]"
        case .string(let text): "\"\(text)\""
        case .number(let text): text
        case .bool(let value): value ? "true" : "false"
        case .null: "null"
        }
    }

    struct Parsed {
        var value: HAJSONValue
        var duplicateKeys: [String]
    }

    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    /// Parses a complete document (UTF-8).
    static func parse(_ bytes: [UInt8]) -> Result<Parsed, ParseError> {
        var parser = Parser(bytes: bytes)
        do {
            parser.skipWhitespace()
            let value = try parser.value(depth: 0)
            parser.skipWhitespace()
            guard parser.index == bytes.count else { throw ParseError(description: "trailing bytes at offset \(parser.index)") }
            return .success(Parsed(value: value, duplicateKeys: parser.duplicates))
        } catch let error as ParseError {
            return .failure(error)
        } catch {
            return .failure(ParseError(description: "\(error)"))
        }
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0
        var duplicates: [String] = []

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func skipWhitespace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        func fail(_ message: String) -> ParseError { ParseError(description: "\(message) at offset \(index)") }

        mutating func expect(_ literal: String) throws {
            let expected = Array(literal.utf8)
            guard index + expected.count <= bytes.count, Array(bytes[index..<index + expected.count]) == expected else {
                throw fail("expected \(literal)")
            }
            index += expected.count
        }

        mutating func value(depth: Int) throws -> HAJSONValue {
            guard depth < 64 else { throw fail("nested too deeply") }
            guard index < bytes.count else { throw fail("unexpected end") }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                index += 1
                var entries: [(key: String, value: HAJSONValue)] = []
                skipWhitespace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return .object(HAJSONObject(entries: entries))
                }
                while true {
                    skipWhitespace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a key") }
                    let key = try string()
                    skipWhitespace()
                    try expect(":")
                    skipWhitespace()
                    let item = try value(depth: depth + 1)
                    if entries.contains(where: { $0.key == key }) { duplicates.append(key) }
                    entries.append((key, item))
                    skipWhitespace()
                    guard index < bytes.count else { throw fail("unterminated object") }
                    if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(HAJSONObject(entries: entries)) }
                    throw fail("expected , or }")
                }
            case UInt8(ascii: "["):
                index += 1
                var items: [HAJSONValue] = []
                skipWhitespace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return .array(items)
                }
                while true {
                    skipWhitespace()
                    items.append(try value(depth: depth + 1))
                    skipWhitespace()
                    guard index < bytes.count else { throw fail("unterminated list") }
                    if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
                    throw fail("expected , or ]")
                }
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"):
                try expect("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try expect("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try expect("null")
                return .null
            default:
                return .number(try number())
            }
        }

        mutating func number() throws -> String {
            let start = index
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
            func digits() -> Int {
                let first = index
                while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1 }
                return index - first
            }
            let integerDigits = digits()
            guard integerDigits > 0 else { throw fail("expected a value") }
            if integerDigits > 1 && bytes[index - integerDigits] == 0x30 { throw fail("leading zero") }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard digits() > 0 else { throw fail("expected digits after .") }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard digits() > 0 else { throw fail("expected exponent digits") }
            }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        mutating func string() throws -> String {
            index += 1  // opening quote
            var scalars = String.UnicodeScalarView()
            var raw: [UInt8] = []
            func flush() throws {
                guard !raw.isEmpty else { return }
                guard let text = String(validating: raw, as: UTF8.self) else { throw fail("invalid UTF-8 in a string") }
                scalars.append(contentsOf: text.unicodeScalars)
                raw.removeAll()
            }
            while true {
                guard index < bytes.count else { throw fail("unterminated string") }
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    try flush()
                    return String(scalars)
                case UInt8(ascii: "\\"):
                    try flush()
                    guard index < bytes.count else { throw fail("unterminated escape") }
                    let escape = bytes[index]
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""): scalars.append("\"")
                    case UInt8(ascii: "\\"): scalars.append("\\")
                    case UInt8(ascii: "/"): scalars.append("/")
                    case UInt8(ascii: "b"): scalars.append("\u{08}")
                    case UInt8(ascii: "f"): scalars.append("\u{0C}")
                    case UInt8(ascii: "n"): scalars.append("\n")
                    case UInt8(ascii: "r"): scalars.append("\r")
                    case UInt8(ascii: "t"): scalars.append("\t")
                    case UInt8(ascii: "u"):
                        var code = try hex4()
                        if (0xD800...0xDBFF).contains(code) {
                            try expect("\\u")
                            let low = try hex4()
                            guard (0xDC00...0xDFFF).contains(low) else { throw fail("unpaired surrogate") }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let scalar = Unicode.Scalar(code) else { throw fail("invalid \\u escape") }
                        scalars.append(scalar)
                    default: throw fail("invalid escape")
                    }
                case 0x00..<0x20:
                    throw fail("control character in a string")
                default:
                    raw.append(byte)
                }
            }
        }

        mutating func hex4() throws -> UInt32 {
            guard index + 4 <= bytes.count else { throw fail("short \\u escape") }
            var value: UInt32 = 0
            for byte in bytes[index..<index + 4] {
                let digit: UInt32
                switch byte {
                case 0x30...0x39: digit = UInt32(byte - 0x30)
                case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
                case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
                default: throw fail("invalid hex digit")
                }
                value = value << 4 | digit
            }
            index += 4
            return value
        }
    }
}
