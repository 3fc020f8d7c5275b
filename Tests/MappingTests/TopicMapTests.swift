import Mapping
import Testing

/// Topic names, renames, switches, topic-segment sanitising and topic checks of ``TopicMap``, and the unit
/// spellings and decimal shifts of ``UnitNormalization``.
@Suite("Topic map")
struct TopicMapTests {
    // MARK: Values as the reading mapper builds them

    static let importTariff1 = TopicMap.Value(key: "energy_import_tariff_1", code: ObisCode(1, 0, 1, 8, 1),
                                              groups: ["energy"])
    static let powerImport = TopicMap.Value(key: "power_import", code: ObisCode(1, 0, 1, 7, 0), groups: ["power"])
    static let voltageL1 = TopicMap.Value(key: "voltage_l1", code: ObisCode(1, 0, 32, 7, 0),
                                          groups: ["voltage", "phases"])
    static let reactivePowerImport = TopicMap.Value(key: "reactive_power_import", code: ObisCode(1, 0, 3, 7, 0),
                                                    groups: ["reactive_power"])
    static let gasReading = TopicMap.Value(device: "gas_1", key: "reading", code: ObisCode(0, 1, 24, 2, 1),
                                           groups: ["mbus", "gas", "volume"])
    static let gasReadingTime = TopicMap.Value(device: "gas_1", key: "reading_time",
                                               groups: ["mbus", "gas", "timestamp"])
    static let waterReading = TopicMap.Value(device: "water_2", key: "reading", code: ObisCode(0, 2, 24, 2, 1),
                                             groups: ["mbus", "water", "volume"])
    static let all = [importTariff1, powerImport, voltageL1, reactivePowerImport, gasReading, gasReadingTime, waterReading]

    // MARK: Default topics

    @Test("default topics: <base>/<key> for the meter, <base>/<device>/<key> for M-Bus devices")
    func defaultTopics() {
        let map = TopicMap()
        #expect(map.base == "p1mqtt")
        #expect(map.topic(for: Self.importTariff1) == "p1mqtt/energy_import_tariff_1")
        #expect(map.topic(for: Self.powerImport) == "p1mqtt/power_import")
        #expect(map.topic(for: Self.gasReading) == "p1mqtt/gas_1/reading")
        #expect(map.topic(for: Self.gasReadingTime) == "p1mqtt/gas_1/reading_time")
        #expect(map.topic(for: Self.waterReading) == "p1mqtt/water_2/reading")
        #expect(Self.gasReading.path == "gas_1/reading")
        #expect(Self.importTariff1.path == "energy_import_tariff_1")
        for value in Self.all {
            #expect(map.defaultTopic(for: value) == map.topic(for: value))
            #expect(!map.isDisabled(value))
        }
        #expect(map.own("status") == "p1mqtt/status")
        #expect(map.own("telegram") == "p1mqtt/telegram")
    }

    @Test("a base topic with several levels prefixes every topic")
    func baseWithLevels() {
        let map = TopicMap(base: "home/meter")
        #expect(map.topic(for: Self.importTariff1) == "home/meter/energy_import_tariff_1")
        #expect(map.topic(for: Self.gasReading) == "home/meter/gas_1/reading")
        #expect(map.own("status") == "home/meter/status")
        #expect(map.defaultTopic(for: Self.waterReading) == "home/meter/water_2/reading")
        let renamed = TopicMap(base: "home/meter", renames: ["power_import": "power/now", "voltage_l1": "/grid/l1"])
        #expect(renamed.topic(for: Self.powerImport) == "home/meter/power/now")
        #expect(renamed.topic(for: Self.voltageL1) == "grid/l1")
        #expect(TopicMap.problem(with: "home/meter") == nil)
    }

    @Test("an empty base publishes the paths themselves")
    func emptyBase() {
        let map = TopicMap(base: "")
        #expect(map.topic(for: Self.importTariff1) == "energy_import_tariff_1")
        #expect(map.topic(for: Self.gasReading) == "gas_1/reading")
        #expect(map.own("status") == "status")
    }

    // MARK: Renames

    @Test("rename by key, relative to the base")
    func renameByKey() {
        let map = TopicMap(renames: ["energy_import_tariff_1": "import/low"])
        #expect(map.topic(for: Self.importTariff1) == "p1mqtt/import/low")
        #expect(map.defaultTopic(for: Self.importTariff1) == "p1mqtt/energy_import_tariff_1")
        // Nothing else moves.
        #expect(map.topic(for: Self.powerImport) == "p1mqtt/power_import")
        #expect(map.topic(for: Self.gasReading) == "p1mqtt/gas_1/reading")
    }

    @Test("rename by OBIS code")
    func renameByCode() {
        let map = TopicMap(renames: ["1-0:1.8.1": "t1", "0-1:24.2.1": "gas"])
        #expect(map.topic(for: Self.importTariff1) == "p1mqtt/t1")
        #expect(map.topic(for: Self.gasReading) == "p1mqtt/gas")
        // The OBIS code names channel 1: channel 2's reading keeps its topic.
        #expect(map.topic(for: Self.waterReading) == "p1mqtt/water_2/reading")
        // A value without a code is not renamed by any code.
        #expect(map.topic(for: Self.gasReadingTime) == "p1mqtt/gas_1/reading_time")
    }

    @Test("rename by path gas_1/reading renames that device's reading only")
    func renameByPath() {
        let map = TopicMap(renames: ["gas_1/reading": "gas/total"])
        #expect(map.topic(for: Self.gasReading) == "p1mqtt/gas/total")
        #expect(map.topic(for: Self.waterReading) == "p1mqtt/water_2/reading")
        #expect(map.topic(for: Self.gasReadingTime) == "p1mqtt/gas_1/reading_time")
        #expect(map.defaultTopic(for: Self.gasReading) == "p1mqtt/gas_1/reading")
    }

    @Test("a path rename wins over an OBIS rename, which wins over a key rename")
    func renamePrecedence() {
        let all = TopicMap(renames: ["gas_1/reading": "by-path", "0-1:24.2.1": "by-code", "reading": "by-key"])
        #expect(all.topic(for: Self.gasReading) == "p1mqtt/by-path")
        // Channel 2 has no path or code rename, so the key rename applies.
        #expect(all.topic(for: Self.waterReading) == "p1mqtt/by-key")
        let codeAndKey = TopicMap(renames: ["0-1:24.2.1": "by-code", "reading": "by-key"])
        #expect(codeAndKey.topic(for: Self.gasReading) == "p1mqtt/by-code")
    }

    @Test("a rename with a leading / is absolute: the base is not prepended and the / is dropped")
    func absoluteRename() {
        let map = TopicMap(base: "p1mqtt", renames: ["power_import": "/house/power", "gas_1/reading": "/gas"])
        #expect(map.topic(for: Self.powerImport) == "house/power")
        #expect(map.topic(for: Self.gasReading) == "gas")
        #expect(map.defaultTopic(for: Self.powerImport) == "p1mqtt/power_import")
    }

    // MARK: Switching off

    @Test("disable by key, path, OBIS code, group or device segment")
    func disable() {
        func topics(_ disabled: Set<String>) -> [String: String?] {
            let map = TopicMap(disabled: disabled)
            return Dictionary(uniqueKeysWithValues: Self.all.map { ($0.path, map.topic(for: $0)) })
        }
        func off(_ disabled: Set<String>) -> Set<String> {
            let map = TopicMap(disabled: disabled)
            return Set(Self.all.filter { map.isDisabled($0) }.map(\.path))
        }
        #expect(off(["energy_import_tariff_1"]) == ["energy_import_tariff_1"])
        #expect(topics(["energy_import_tariff_1"])["energy_import_tariff_1"] == .some(nil))
        #expect(off(["1-0:1.8.1"]) == ["energy_import_tariff_1"])
        #expect(off(["1-0:32.7.0"]) == ["voltage_l1"])
        #expect(off(["gas_1/reading"]) == ["gas_1/reading"])
        // A key names the value on every device.
        #expect(off(["reading"]) == ["gas_1/reading", "water_2/reading"])
        #expect(off(["reactive_power"]) == ["reactive_power_import"])
        #expect(off(["phases"]) == ["voltage_l1"])
        #expect(off(["mbus"]) == ["gas_1/reading", "gas_1/reading_time", "water_2/reading"])
        #expect(off(["gas"]) == ["gas_1/reading", "gas_1/reading_time"])
        #expect(off(["gas_1"]) == ["gas_1/reading", "gas_1/reading_time"])
        #expect(off(["water_2"]) == ["water_2/reading"])
        #expect(off(["power"]) == ["power_import"])
        #expect(off([]) == [])
        #expect(off(["no_such_value", "9-9:9.9.9"]) == [])
        for value in Self.all {
            let map = TopicMap(disabled: ["mbus", "phases"])
            #expect((map.topic(for: value) == nil) == map.isDisabled(value))
        }
    }

    @Test("switching off wins over a rename")
    func disableBeatsRename() {
        let map = TopicMap(renames: ["power_import": "/power"], disabled: ["power"])
        #expect(map.topic(for: Self.powerImport) == nil)
    }

    // MARK: Segments

    @Test("segment() keeps [a-z0-9_-], lower-cases, and replaces everything else by _",
          arguments: [
              ("K8EG004046395507", "k8eg004046395507"),
              ("gas-meter_1", "gas-meter_1"),
              ("a/b", "a_b"),
              ("+", "_"),
              ("#", "_"),
              ("$SYS", "_sys"),
              ("home/+/#", "home____"),
              ("Gas Meter 1", "gas_meter_1"),
              ("tab\there", "tab_here"),
              ("nul\u{0}x", "nul_x"),
              ("line\r\nbreak", "line__break"),
              ("Zähler", "z_hler"),
              ("電表", "__"),
              ("🔌", "_"),
              ("\"quoted\"", "_quoted_"),
              ("", "_"),
          ])
    func segmentExamples(input: String, expected: String) {
        #expect(TopicMap.segment(input) == expected)
    }

    @Test("segment() is never empty, never longer than 64 characters, and only ever [a-z0-9_-]")
    func segmentProperty() {
        var generator = SeededRandom(seed: 0x5E6)
        let interesting: [Unicode.Scalar] = ["/", "+", "#", "$", " ", "\u{0}", "\u{1F}", "\u{7F}", "\u{85}", "\u{2028}",
                                             "é", "İ", "\u{212A}", "ß", "\u{FEFF}", "\u{301}", "A", "z", "0", "_", "-"]
        for _ in 0..<2_000 {
            var text = ""
            for _ in 0..<Int.random(in: 0...80, using: &generator) {
                if Bool.random(using: &generator) {
                    text.unicodeScalars.append(interesting.randomElement(using: &generator)!)
                } else {
                    let value = UInt32.random(in: 0...0x10FFFF, using: &generator)
                    text.unicodeScalars.append(Unicode.Scalar(value) ?? "?")
                }
            }
            let segment = TopicMap.segment(text)
            #expect(!segment.isEmpty)
            #expect(segment.unicodeScalars.count <= 64)
            #expect(segment.unicodeScalars.allSatisfy { Self.allowed.contains($0) }, "\(text.debugDescription) → \(segment)")
            #expect(TopicMap.problem(with: "p1mqtt/\(segment)") == nil)
        }
    }

    private static let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789_-".unicodeScalars)

    // MARK: Topic checks

    @Test("problem(with:) accepts usable topics", arguments: [
        "p1mqtt", "home/meter", "home/meter/power", "/absolute/topic", "a-b_c.d", "energie/zähler", "a b",
    ])
    func usableTopics(topic: String) {
        #expect(TopicMap.problem(with: topic) == nil)
    }

    @Test("problem(with:) names wildcards, $ prefixes, empty levels and control characters", arguments: [
        ("", "topic is empty"),
        ("home/+/power", "topic 'home/+/power' contains a wildcard (+ or #)"),
        ("home/#", "topic 'home/#' contains a wildcard (+ or #)"),
        ("#", "topic '#' contains a wildcard (+ or #)"),
        ("a+b", "topic 'a+b' contains a wildcard (+ or #)"),
        ("$SYS/broker", "topic '$SYS/broker' starts with '$', which brokers reserve"),
        ("home//meter", "topic 'home//meter' has an empty level (//)"),
        ("home/meter/", "topic 'home/meter/' has an empty level (//)"),
        ("/", "topic '/' has an empty level (//)"),
        ("//home", "topic '//home' has an empty level (//)"),
        ("home\tmeter", "topic 'home\tmeter' contains a control character"),
        ("home/\u{0}", "topic 'home/\u{0}' contains a control character"),
        ("home/\u{1B}[31m", "topic 'home/\u{1B}[31m' contains a control character"),
        ("home/meter\u{7F}", "topic 'home/meter\u{7F}' contains a control character"),
        ("home\nmeter", "topic 'home\nmeter' contains a control character"),
    ])
    func problems(topic: String, expected: String) {
        #expect(TopicMap.problem(with: topic) == expected)
    }

    @Test("an absolute rename cannot reach a $ topic either: '/$SYS/x' publishes to '$SYS/x'")
    func absoluteDollarTopic() {
        // The leading / only marks the rename as absolute; the topic actually published starts with '$'.
        let map = TopicMap(renames: ["power_import": "/$SYS/x"])
        let published = map.topic(for: Self.powerImport)
        #expect(published == "$SYS/x")
        #expect(TopicMap.problem(with: "/$SYS/x") != nil,
                "a rename to '/$SYS/x' is accepted, yet it publishes to the broker-reserved topic '$SYS/x'")
    }

    // MARK: Unit normalisation

    @Test("units: decimal shifts to Home Assistant's units and spellings", arguments: [
        ("Wh", "kWh", 3), ("wh", "kWh", 3), ("WH", "kWh", 3), ("kWh", "kWh", 0), ("kwh", "kWh", 0), ("KWH", "kWh", 0),
        ("MWh", "MWh", 0),
        ("W", "kW", 3), ("w", "kW", 3), ("kW", "kW", 0), ("kw", "kW", 0),
        ("varh", "kvarh", 3), ("kvarh", "kvarh", 0), ("kVArh", "kvarh", 0), ("kVARh", "kvarh", 0),
        ("var", "kvar", 3), ("VAr", "kvar", 3), ("kvar", "kvar", 0), ("kVAr", "kvar", 0),
        ("VA", "kVA", 3), ("va", "kVA", 3), ("kVA", "kVA", 0), ("kva", "kVA", 0),
        ("m3", "m³", 0), ("M3", "m³", 0), ("m³", "m³", 0),
        ("GJ", "GJ", 0), ("gj", "GJ", 0), ("MJ", "MJ", 0),
        ("V", "V", 0), ("v", "V", 0), ("A", "A", 0), ("a", "A", 0), ("Hz", "Hz", 0), ("hz", "Hz", 0), ("s", "s", 0),
    ] as [(String, String, Int)])
    func units(unit: String, expected: String, shift: Int) {
        let conversion = UnitNormalization.conversion(for: unit)
        #expect(conversion.unit == expected, "\(unit)")
        #expect(Int(conversion.shift) == shift, "\(unit)")
    }

    @Test("unknown units are kept as written, without a shift", arguments: [
        "°C", "l", "kg", "furlongs", "", "mW", "m³/h", "kWh ", "k Wh",
    ])
    func unknownUnits(unit: String) {
        let conversion = UnitNormalization.conversion(for: unit)
        #expect(conversion.unit == unit)
        #expect(conversion.shift == 0)
    }
}

/// SplitMix64, seeded, so the property test is the same on every run.
private struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
