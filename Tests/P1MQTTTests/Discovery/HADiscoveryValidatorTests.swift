import Foundation
import Testing

/// The validator must catch what Home Assistant rejects or silently drops: a validator that accepts everything
/// fails here.
@Suite("Discovery: the HA discovery validator itself")
struct HADiscoveryValidatorTests {
    typealias Rule = HADiscoveryValidator.Rule

    /// One deliberately broken message set and the rule that must catch it.
    struct BrokenCase: Sendable, CustomTestStringConvertible {
        var name: String
        var messages: [(topic: String, payload: String)]
        var rule: Rule
        var testDescription: String { name }
    }

    static let topic = "homeassistant/sensor/meter_1/import/config"

    /// A correct single-component energy sensor; `replacing` swaps exact text for the broken variants.
    static func sensor(_ replacements: [(String, String)] = [], extra: String = "") -> String {
        var payload = #"{"name":"Energy import","uniq_id":"meter_1_import","stat_t":"meter/import","avty_t":"meter/status","dev_cla":"energy","stat_cla":"total_increasing","unit_of_meas":"kWh","sug_dsp_prc":3,"dev":{"ids":["meter_1"],"name":"Smart meter","mf":"Acme"},"o":{"name":"meter2mqtt","sw":"0.3.0","url":"https://example.org/meter2mqtt"}"#
        for (old, new) in replacements {
            precondition(payload.contains(old), "the base payload has no \(old)")
            payload = payload.replacingOccurrences(of: old, with: new)
        }
        return payload + extra + "}"
    }

    /// The device payload from ha-discovery.md §1.2 (correct).
    static let deviceTopic = "homeassistant/device/meter_1234567/config"
    static func devicePayload(_ replacements: [(String, String)] = []) -> String {
        var payload = #"""
        {"dev":{"ids":["meter_1234567"],"name":"Smart meter","mf":"Acme","mdl":"E350","sn":"1234567","sw":"2.1","hw":"B"},
         "o":{"name":"meter2mqtt","sw":"0.3.0","url":"https://example.org/meter2mqtt"},
         "avty_t":"meter2mqtt/1234567/status","stat_t":"meter2mqtt/1234567/state",
         "cmps":{
          "import_kwh":{"p":"sensor","uniq_id":"meter_1234567_import_kwh","name":"Energy import","dev_cla":"energy","stat_cla":"total_increasing","unit_of_meas":"kWh","val_tpl":"{{ value_json.import_kwh }}","sug_dsp_prc":3},
          "power_w":{"p":"sensor","uniq_id":"meter_1234567_power_w","name":"Power","dev_cla":"power","stat_cla":"measurement","unit_of_meas":"W","val_tpl":"{{ value_json.power_w }}"},
          "gas_m3":{"p":"sensor","uniq_id":"meter_1234567_gas_m3","name":"Gas","dev_cla":"gas","stat_cla":"total_increasing","unit_of_meas":"m³","val_tpl":"{{ value_json.gas_m3 }}"}}}
        """#
        for (old, new) in replacements {
            precondition(payload.contains(old), "the device payload has no \(old)")
            payload = payload.replacingOccurrences(of: old, with: new)
        }
        return payload
    }

    static let tariff = #"{"name":"Active tariff","uniq_id":"meter_1_tariff","stat_t":"meter/tariff","avty_t":"meter/status","dev_cla":"enum","ops":["low","normal"],"ic":"mdi:clock","dev":{"ids":["meter_1"]}}"#

    static func issues(_ messages: [(topic: String, payload: String)]) -> [HADiscoveryValidator.Issue] {
        HADiscoveryValidator().validate(messages.map { ($0.topic, Array($0.payload.utf8)) })
    }

    // MARK: - Correct payloads pass

    @Test("correct payloads pass: single sensor, enum, device payload, deletion, platform-only component, ~ base")
    func correctPayloadsPass() {
        #expect(Self.issues([(Self.topic, Self.sensor())]).isEmpty)
        #expect(Self.issues([(Self.topic, Self.sensor()),
                             ("homeassistant/sensor/meter_1/tariff/config", Self.tariff)]).map(\.description) == [])
        #expect(Self.issues([(Self.deviceTopic, Self.devicePayload())]).map(\.description) == [])
        // A node id level, long-form keys, availability list, ~ expansion.
        let longForm = #"{"~":"meter","name":"Power","unique_id":"m_power","state_topic":"~/power","availability":[{"t":"~/status","pl_avail":"up"}],"availability_mode":"all","device_class":"power","state_class":"measurement","unit_of_measurement":"W","device":{"identifiers":"m","name":"M"},"origin":{"name":"x"}}"#
        #expect(Self.issues([("homeassistant/sensor/node-1/m_power/config", longForm)]).map(\.description) == [])
        // Deleting a config, and reducing a component to its platform.
        #expect(Self.issues([(Self.topic, "")]).isEmpty)
        let reduced = Self.devicePayload([(#""power_w":{"p":"sensor","uniq_id":"meter_1234567_power_w","name":"Power","dev_cla":"power","stat_cla":"measurement","unit_of_meas":"W","val_tpl":"{{ value_json.power_w }}"}"#,
                                           #""power_w":{"p":"sensor"}"#)])
        #expect(Self.issues([(Self.deviceTopic, reduced)]).map(\.description) == [])
    }

    @Test("entities(): abbreviations expanded, device-payload options inherited, deletions remove")
    func entitiesAreExpanded() throws {
        let validator = HADiscoveryValidator()
        let entities = validator.entities([(Self.deviceTopic, Array(Self.devicePayload().utf8))])
        #expect(entities.count == 3)
        let gas = try #require(entities.first { $0.component == "gas_m3" })
        #expect(gas.stateTopic == "meter2mqtt/1234567/state")
        #expect(gas.availabilityTopic == "meter2mqtt/1234567/status")
        #expect(gas.unit == "m³")
        #expect(gas.deviceIdentifiers == ["meter_1234567"])
        #expect(gas.deviceName == "Smart meter")
        let deleted = validator.entities([(Self.topic, Array(Self.sensor().utf8)), (Self.topic, [])])
        #expect(deleted.isEmpty)
    }

    // MARK: - Broken payloads are caught

    static let brokenCases: [BrokenCase] = [
        // The eight required by the brief.
        BrokenCase(name: "m3 (not m³) with gas", messages: [
            (Self.topic, Self.sensor([(#""dev_cla":"energy""#, #""dev_cla":"gas""#), (#""kWh""#, #""m3""#)]))], rule: .unitNotAllowed),
        BrokenCase(name: "VAr (not var) with reactive_power", messages: [
            (Self.topic, Self.sensor([(#""dev_cla":"energy""#, #""dev_cla":"reactive_power""#),
                                      (#""total_increasing""#, #""measurement""#), (#""kWh""#, #""VAr""#)]))], rule: .unitNotAllowed),
        BrokenCase(name: "measurement on energy", messages: [
            (Self.topic, Self.sensor([(#""total_increasing""#, #""measurement""#)]))], rule: .stateClassNotAllowed),
        BrokenCase(name: "obj_id", messages: [
            (Self.topic, Self.sensor(extra: #","obj_id":"meter_import""#))], rule: .objectIDDeprecated),
        BrokenCase(name: "unknown key (misspelled unit_of_measure)", messages: [
            (Self.topic, Self.sensor([(#""unit_of_meas":"kWh""#, #""unit_of_measure":"kWh""#)]))], rule: .unknownKey),
        BrokenCase(name: "topic with a dot", messages: [
            ("homeassistant/sensor/meter_2.5/import/config", Self.sensor())], rule: .topic),
        BrokenCase(name: "duplicate uniq_id on two topics", messages: [
            (Self.topic, Self.sensor()), ("homeassistant/sensor/meter_1/import_old/config", Self.sensor())], rule: .duplicateUniqueID),
        BrokenCase(name: "enum with a unit", messages: [
            ("homeassistant/sensor/meter_1/tariff/config",
             Self.tariff.replacingOccurrences(of: #""ops""#, with: #""unit_of_meas":"kWh","ops""#))], rule: .options),
        // Energy dashboard.
        BrokenCase(name: "m3 with gas is not Energy-dashboard ready", messages: [
            (Self.topic, Self.sensor([(#""dev_cla":"energy""#, #""dev_cla":"gas""#), (#""kWh""#, #""m3""#)]))], rule: .energyDashboard),
        BrokenCase(name: "measurement on energy is not Energy-dashboard ready", messages: [
            (Self.topic, Self.sensor([(#""total_increasing""#, #""measurement""#)]))], rule: .energyDashboard),
        BrokenCase(name: "water without a state class", messages: [
            (Self.topic, Self.sensor([(#""dev_cla":"energy""#, #""dev_cla":"water""#), (#""kWh""#, #""m³""#),
                                      (#""stat_cla":"total_increasing","#, "")]))], rule: .energyDashboard),
        // Topics.
        BrokenCase(name: "topic with a space", messages: [("homeassistant/sensor/meter 1/import/config", Self.sensor())], rule: .topic),
        BrokenCase(name: "topic with an umlaut", messages: [("homeassistant/sensor/küche/import/config", Self.sensor())], rule: .topic),
        BrokenCase(name: "topic with an empty level", messages: [("homeassistant/sensor//import/config", Self.sensor())], rule: .topic),
        BrokenCase(name: "topic too deep", messages: [("homeassistant/sensor/a/b/c/config", Self.sensor())], rule: .topic),
        BrokenCase(name: "topic not ending in config", messages: [("homeassistant/sensor/meter_1/import/state", Self.sensor())], rule: .topic),
        BrokenCase(name: "topic under another prefix", messages: [("hass/sensor/meter_1/import/config", Self.sensor())], rule: .topic),
        // Payload form.
        BrokenCase(name: "payload not JSON", messages: [(Self.topic, "kWh")], rule: .payloadNotJSONObject),
        BrokenCase(name: "payload a JSON list", messages: [(Self.topic, "[1,2]")], rule: .payloadNotJSONObject),
        BrokenCase(name: "truncated JSON", messages: [(Self.topic, String(Self.sensor().dropLast()))], rule: .payloadNotJSONObject),
        BrokenCase(name: "duplicate JSON key", messages: [(Self.topic, Self.sensor(extra: #","name":"Again""#))], rule: .duplicateJSONKey),
        // Keys and abbreviations.
        BrokenCase(name: "short and long form of one key", messages: [
            (Self.topic, Self.sensor(extra: #","state_topic":"meter/import""#))], rule: .shortAndLongForm),
        BrokenCase(name: "unknown key in dev", messages: [
            (Self.topic, Self.sensor([(#""mf":"Acme""#, #""manufacturer_name":"Acme""#)]))], rule: .unknownKey),
        BrokenCase(name: "unknown key in o", messages: [
            (Self.topic, Self.sensor([(#""sw":"0.3.0""#, #""version":"0.3.0""#)]))], rule: .unknownKey),
        BrokenCase(name: "p in a single-component payload", messages: [
            (Self.topic, Self.sensor(extra: #","p":"sensor""#))], rule: .unknownKey),
        BrokenCase(name: "last_reset_topic (no longer exists)", messages: [
            (Self.topic, Self.sensor(extra: #","last_reset_topic":"meter/reset""#))], rule: .unknownKey),
        // Origin and device.
        BrokenCase(name: "origin without name", messages: [
            (Self.topic, Self.sensor([(#""o":{"name":"meter2mqtt","#, #""o":{"#)]))], rule: .origin),
        BrokenCase(name: "origin url not http(s)", messages: [
            (Self.topic, Self.sensor([("https://example.org/meter2mqtt", "ftp://example.org")]))], rule: .origin),
        BrokenCase(name: "device without identifiers", messages: [
            (Self.topic, Self.sensor([(#""ids":["meter_1"],"#, "")]))], rule: .device),
        BrokenCase(name: "device with an empty identifier list", messages: [
            (Self.topic, Self.sensor([(#""ids":["meter_1"]"#, #""ids":[]"#)]))], rule: .device),
        BrokenCase(name: "configuration_url not a URL", messages: [
            (Self.topic, Self.sensor([(#""mf":"Acme""#, #""mf":"Acme","cu":"192.168.1.2""#)]))], rule: .device),
        BrokenCase(name: "device linked without uniq_id", messages: [
            (Self.topic, Self.sensor([(#""uniq_id":"meter_1_import","#, "")]))], rule: .uniqueIDMissing),
        // Device-based discovery.
        BrokenCase(name: "device payload without cmps", messages: [
            (Self.deviceTopic, #"{"dev":{"ids":["m"],"name":"M"},"o":{"name":"x"}}"#)], rule: .deviceDiscovery),
        BrokenCase(name: "device payload without o", messages: [
            (Self.deviceTopic, Self.devicePayload([(#""o":{"name":"meter2mqtt","sw":"0.3.0","url":"https://example.org/meter2mqtt"},"#, "")]))],
                   rule: .deviceDiscovery),
        BrokenCase(name: "device payload without dev", messages: [
            (Self.deviceTopic, Self.devicePayload([(#""dev":{"ids":["meter_1234567"],"name":"Smart meter","mf":"Acme","mdl":"E350","sn":"1234567","sw":"2.1","hw":"B"},"#, "")]))],
                   rule: .deviceDiscovery),
        BrokenCase(name: "cmp (the docs' typo) instead of cmps", messages: [
            (Self.deviceTopic, Self.devicePayload([(#""cmps""#, #""cmp""#)]))], rule: .unknownKey),
        BrokenCase(name: "component without p", messages: [
            (Self.deviceTopic, Self.devicePayload([(#""gas_m3":{"p":"sensor","#, #""gas_m3":{"#)]))], rule: .component),
        BrokenCase(name: "component without uniq_id", messages: [
            (Self.deviceTopic, Self.devicePayload([(#""uniq_id":"meter_1234567_power_w","#, "")]))], rule: .uniqueIDMissing),
        BrokenCase(name: "component with an unknown platform", messages: [
            (Self.deviceTopic, Self.devicePayload([(#""gas_m3":{"p":"sensor""#, #""gas_m3":{"p":"meter""#)]))], rule: .component),
        BrokenCase(name: "component key with a dot", messages: [
            (Self.deviceTopic, Self.devicePayload([(#""gas_m3":"#, #""gas.m3":"#)]))], rule: .component),
        BrokenCase(name: "component inherits avty_t and adds avty", messages: [
            (Self.deviceTopic, Self.devicePayload([(#""name":"Power","#, #""name":"Power","avty":[{"t":"x/status"}],"#)]))],
                   rule: .availabilityConflict),
        BrokenCase(name: "duplicate uniq_id inside one device payload", messages: [
            (Self.deviceTopic, Self.devicePayload([("meter_1234567_gas_m3", "meter_1234567_power_w")]))], rule: .duplicateUniqueID),
        // Sensor schema.
        BrokenCase(name: "no stat_t", messages: [
            (Self.topic, Self.sensor([(#""stat_t":"meter/import","#, "")]))], rule: .stateTopicMissing),
        BrokenCase(name: "unknown device class", messages: [
            (Self.topic, Self.sensor([(#""dev_cla":"energy""#, #""dev_cla":"Energy""#)]))], rule: .deviceClassUnknown),
        BrokenCase(name: "unknown state class", messages: [
            (Self.topic, Self.sensor([(#""total_increasing""#, #""increasing""#)]))], rule: .stateClassUnknown),
        BrokenCase(name: "kWt with energy", messages: [
            (Self.topic, Self.sensor([(#""kWh""#, #""kWt""#)]))], rule: .unitNotAllowed),
        BrokenCase(name: "A with power", messages: [
            (Self.topic, Self.sensor([(#""dev_cla":"energy""#, #""dev_cla":"power""#),
                                      (#""total_increasing""#, #""measurement""#), (#""kWh""#, #""A""#)]))], rule: .unitNotAllowed),
        BrokenCase(name: "kVA with power", messages: [
            (Self.topic, Self.sensor([(#""dev_cla":"energy""#, #""dev_cla":"power""#),
                                      (#""total_increasing""#, #""measurement""#), (#""kWh""#, #""kVA""#)]))], rule: .unitNotAllowed),
        BrokenCase(name: "l/min with volume_flow_rate", messages: [
            (Self.topic, Self.sensor([(#""dev_cla":"energy""#, #""dev_cla":"volume_flow_rate""#),
                                      (#""total_increasing""#, #""measurement""#), (#""kWh""#, #""l/min""#)]))], rule: .unitNotAllowed),
        BrokenCase(name: "blank unit", messages: [
            (Self.topic, Self.sensor([(#""dev_cla":"energy","stat_cla":"total_increasing","unit_of_meas":"kWh""#, #""unit_of_meas":" ""#)]))],
                   rule: .unitNotAllowed),
        BrokenCase(name: "power without a unit", messages: [
            (Self.topic, Self.sensor([(#""dev_cla":"energy""#, #""dev_cla":"power""#),
                                      (#""total_increasing""#, #""measurement""#), (#","unit_of_meas":"kWh""#, "")]))], rule: .unitMissing),
        BrokenCase(name: "total_increasing on power", messages: [
            (Self.topic, Self.sensor([(#""dev_cla":"energy""#, #""dev_cla":"power""#), (#""kWh""#, #""kW""#)]))], rule: .stateClassNotAllowed),
        BrokenCase(name: "timestamp with a state class", messages: [
            (Self.topic, Self.sensor([(#""dev_cla":"energy","stat_cla":"total_increasing","unit_of_meas":"kWh""#,
                                       #""dev_cla":"timestamp","stat_cla":"measurement""#)]))], rule: .stateClassNotAllowed),
        BrokenCase(name: "timestamp with a unit", messages: [
            (Self.topic, Self.sensor([(#""dev_cla":"energy","stat_cla":"total_increasing","unit_of_meas":"kWh""#,
                                       #""dev_cla":"timestamp","unit_of_meas":"s""#)]))], rule: .unitNotAllowed),
        BrokenCase(name: "enum with a state class", messages: [
            ("homeassistant/sensor/meter_1/tariff/config",
             Self.tariff.replacingOccurrences(of: #""ops""#, with: #""stat_cla":"measurement","ops""#))], rule: .options),
        BrokenCase(name: "options without enum", messages: [
            (Self.topic, Self.sensor(extra: #","ops":["low","normal"]"#))], rule: .options),
        BrokenCase(name: "enum without options", messages: [
            ("homeassistant/sensor/meter_1/tariff/config", Self.tariff.replacingOccurrences(of: #","ops":["low","normal"]"#, with: ""))],
                   rule: .options),
        BrokenCase(name: "empty options", messages: [
            ("homeassistant/sensor/meter_1/tariff/config", Self.tariff.replacingOccurrences(of: #"["low","normal"]"#, with: "[]"))],
                   rule: .options),
        BrokenCase(name: "ent_cat config", messages: [
            (Self.topic, Self.sensor(extra: #","ent_cat":"config""#))], rule: .entityCategory),
        BrokenCase(name: "avty and avty_t", messages: [
            (Self.topic, Self.sensor(extra: #","avty":[{"t":"meter/status"}]"#))], rule: .availabilityConflict),
        BrokenCase(name: "avty entry without topic", messages: [
            (Self.topic, Self.sensor([(#""avty_t":"meter/status""#, #""avty":[{"pl_avail":"up"}]"#)]))], rule: .availability),
        BrokenCase(name: "avty_mode invalid", messages: [
            (Self.topic, Self.sensor(extra: #","avty_mode":"first""#))], rule: .availability),
        BrokenCase(name: "no availability", messages: [
            (Self.topic, Self.sensor([(#""avty_t":"meter/status","#, "")]))], rule: .availabilityMissing),
        BrokenCase(name: "icon without prefix", messages: [
            (Self.topic, Self.sensor(extra: #","ic":"flash""#))], rule: .icon),
        BrokenCase(name: "object_id (long form)", messages: [
            (Self.topic, Self.sensor(extra: #","object_id":"meter_import""#))], rule: .objectIDDeprecated),
        BrokenCase(name: "def_ent_id without the platform", messages: [
            (Self.topic, Self.sensor(extra: #","def_ent_id":"meter_import""#))], rule: .defaultEntityID),
        BrokenCase(name: "name starting with the device name", messages: [
            (Self.topic, Self.sensor([(#""name":"Energy import""#, #""name":"Smart meter energy import""#)]))],
                   rule: .nameStartsWithDeviceName),
        BrokenCase(name: "name starting with the device name given in another message", messages: [
            (Self.topic, Self.sensor()),
            ("homeassistant/sensor/meter_1/power/config",
             #"{"name":"Smart meter power","uniq_id":"meter_1_power","stat_t":"meter/power","avty_t":"meter/status","dev_cla":"power","stat_cla":"measurement","unit_of_meas":"W","dev":{"ids":["meter_1"]}}"#)],
                   rule: .nameStartsWithDeviceName),
        BrokenCase(name: "negative sug_dsp_prc", messages: [
            (Self.topic, Self.sensor([(#""sug_dsp_prc":3"#, #""sug_dsp_prc":-1"#)]))], rule: .nonNegativeInteger),
        BrokenCase(name: "fractional sug_dsp_prc", messages: [
            (Self.topic, Self.sensor([(#""sug_dsp_prc":3"#, #""sug_dsp_prc":2.5"#)]))], rule: .nonNegativeInteger),
        BrokenCase(name: "sug_dsp_prc as a string", messages: [
            (Self.topic, Self.sensor([(#""sug_dsp_prc":3"#, #""sug_dsp_prc":"3""#)]))], rule: .nonNegativeInteger),
        BrokenCase(name: "negative exp_aft", messages: [
            (Self.topic, Self.sensor(extra: #","exp_aft":-60"#))], rule: .nonNegativeInteger),
        BrokenCase(name: "val_tpl not a string", messages: [
            (Self.topic, Self.sensor(extra: #","val_tpl":42"#))], rule: .template),
        BrokenCase(name: "json_attr_tpl not a string", messages: [
            (Self.topic, Self.sensor(extra: #","json_attr_tpl":{"a":1}"#))], rule: .template),
        BrokenCase(name: "last_reset template without total", messages: [
            (Self.topic, Self.sensor(extra: #","lrst_val_tpl":"{{ value_json.reset }}""#))], rule: .lastReset),
        BrokenCase(name: "en as a string", messages: [
            (Self.topic, Self.sensor(extra: #","en":"false""#))], rule: .wrongType),
        // Across messages.
        BrokenCase(name: "one identifier, two device names", messages: [
            (Self.topic, Self.sensor()),
            ("homeassistant/sensor/meter_2/import/config",
             Self.sensor([("meter_1_import", "meter_2_import"), (#""name":"Smart meter""#, #""name":"Other meter""#)]))],
                   rule: .deviceIdentifierConflict),
        BrokenCase(name: "a device nobody names", messages: [
            (Self.topic, Self.sensor([(#","name":"Smart meter","mf":"Acme""#, "")]))], rule: .device),
    ]

    @Test("each broken payload is caught by its rule", arguments: brokenCases)
    func brokenPayloadIsCaught(_ brokenCase: BrokenCase) {
        let issues = Self.issues(brokenCase.messages)
        #expect(issues.contains { $0.rule == brokenCase.rule },
                "\(brokenCase.name): expected a \(brokenCase.rule) finding, got \(issues.map(\.description))")
    }

    @Test("a deletion takes an entity out of the cross-message checks; a later duplicate is still caught")
    func deletionsCount() {
        let moved = [(topic: Self.topic, payload: Self.sensor()), (topic: Self.topic, payload: ""),
                     (topic: "homeassistant/sensor/meter_1/import_new/config", payload: Self.sensor())]
        #expect(Self.issues(moved).isEmpty)
        let notDeleted = [(topic: Self.topic, payload: Self.sensor()),
                          (topic: "homeassistant/sensor/meter_1/import_new/config", payload: Self.sensor())]
        #expect(Self.issues(notDeleted).map(\.rule) == [.duplicateUniqueID])
    }

    @Test("findings read as one line with topic, component and rule")
    func findingsAreReadable() {
        let errors = HADiscoveryValidator().errors([(Self.deviceTopic, Array(Self.devicePayload([(#""m³""#, #""m3""#)]).utf8))])
        #expect(errors.contains { $0.hasPrefix("homeassistant/device/meter_1234567/config [gas_m3]: The unit of measurement `m3`") })
    }

    @Test("the JSON reader keeps number text, decodes escapes and rejects malformed documents")
    func jsonReader() throws {
        let parsed = try HAJSONValue.parse(Array(#"{"a":[1,2.50,-3e2],"b":"\u00b3\ud83d\ude00\n","c":null,"d":true}"#.utf8)).get()
        let object = try #require(parsed.value.object)
        #expect(object["a"] == .array([.number("1"), .number("2.50"), .number("-3e2")]))
        #expect(object["b"] == .string("³😀\n"))
        #expect(object["c"] == .null)
        #expect(object["d"] == .bool(true))
        for bad in ["{", "{\"a\":}", "{\"a\":1,}", "[01]", "{\"a\":\"\u{01}\"}", "{} x", "{'a':1}", "\"\\x\""] {
            #expect((try? HAJSONValue.parse(Array(bad.utf8)).get()) == nil, "accepted \(bad)")
        }
    }
}
