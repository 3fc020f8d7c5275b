import Foundation
import Mapping
import Testing

@testable import P1MQTT

/// The configuration file (`ConfigurationFile`): every problem of a bad document reported at once, exactly;
/// good documents parsed into ``Settings``. Also ``BrokerAddress``, ``SourceSpec``, ``ReplayRate`` and the
/// checks ``BridgeFactory`` makes before anything connects.
@Suite("Configuration")
struct ConfigurationTests {
    // MARK: - Helpers

    /// The problems of a document, or nil when it parses.
    static func problems(_ json: String, environment: [String: String] = [:]) -> [String]? {
        do {
            _ = try ConfigurationFile.parse(Data(json.utf8), environment: environment)
            return nil
        } catch {
            return error.problems
        }
    }

    static func parse(_ json: String, environment: [String: String] = [:],
                      sourceLocation: SourceLocation = #_sourceLocation) throws -> Settings {
        do {
            return try ConfigurationFile.parse(Data(json.utf8), environment: environment)
        } catch {
            Issue.record("unexpected problems: \(error.problems)", sourceLocation: sourceLocation)
            throw error
        }
    }

    /// A fresh directory under the temporary directory, removed by the caller.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("p1mqtt-configuration-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // P1MQTTTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    static let hex31 = "0123456789ABCDEF0123456789ABCDE"
    static let hex32 = "0123456789ABCDEF0123456789ABCDEF"

    // MARK: - Bad documents

    struct BadDocument: Sendable, CustomTestStringConvertible {
        let name: String
        let json: String
        let expected: [String]
        var environment: [String: String] = [:]
        var testDescription: String { name }
    }

    static let badDocuments: [BadDocument] = [
        BadDocument(name: "unknown top-level key close to a known one", json: #"{"mqt": {}}"#,
                    expected: [#"mqt: unknown setting; did you mean "mqtt"?"#]),
        BadDocument(name: "unknown top-level key far from every known one", json: #"{"brokerage": 1}"#,
                    expected: ["brokerage: unknown setting; the file accepts source, connection, meter, mqtt, topics, replay, homeassistant, logging, http, history, relay"]),
        BadDocument(name: "web and history settings out of range",
                    json: #"{"http": {"listen": "127.0.0.1:99999", "token": "short", "helth_window": 3}, "history": {"keep_hours": 0, "data_dir": ""}}"#,
                    expected: ["http.helth_window: unknown setting; did you mean \"health_window\"?",
                               "http.listen: port 99999 is out of range (1…65535)",
                               "http.token: use at least 16 characters (e.g. the output of: openssl rand -hex 16)",
                               "history.data_dir: must not be empty",
                               "history.keep_hours: 0 is out of range (1…87600)"]),
        BadDocument(name: "unknown nested key", json: #"{"mqtt": {"brokr": "localhost"}}"#,
                    expected: [#"mqtt.brokr: unknown setting; did you mean "broker"?"#]),
        BadDocument(name: "unknown nested key far from every known one", json: #"{"logging": {"verbosity": 3}}"#,
                    expected: ["logging.verbosity: unknown setting; logging accepts level"]),
        BadDocument(name: "unknown key in mqtt.tls", json: #"{"mqtt": {"tls": {"ca_fil": "/x"}}}"#,
                    expected: [#"mqtt.tls.ca_fil: unknown setting; did you mean "ca_file"?"#]),
        BadDocument(name: "qos as a string", json: #"{"topics": {"qos": "1"}}"#,
                    expected: [#"topics.qos: expected a number, got "1""#]),
        BadDocument(name: "keepalive as a boolean", json: #"{"mqtt": {"keepalive": true}}"#,
                    expected: ["mqtt.keepalive: expected a number, got true"]),
        BadDocument(name: "retain as a number", json: #"{"topics": {"retain": 1}}"#,
                    expected: ["topics.retain: expected true or false, got 1"]),
        BadDocument(name: "broker as a number", json: #"{"mqtt": {"broker": 1883}}"#,
                    expected: ["mqtt.broker: expected a string, got 1883"]),
        BadDocument(name: "section as a list", json: #"{"mqtt": []}"#,
                    expected: ["mqtt: expected an object ({ … }), got a list"]),
        BadDocument(name: "qos out of range", json: #"{"topics": {"qos": 2}}"#,
                    expected: ["topics.qos: 2 is out of range (0…1)"]),
        BadDocument(name: "keepalive out of range", json: #"{"mqtt": {"keepalive": 1}}"#,
                    expected: ["mqtt.keepalive: 1 is out of range (5…3600)"]),
        BadDocument(name: "keepalive not whole", json: #"{"mqtt": {"keepalive": 30.5}}"#,
                    expected: ["mqtt.keepalive: expected a whole number, got 30.5"]),
        BadDocument(name: "meter key with 31 hex digits", json: #"{"meter": {"key": "\#(hex31)"}}"#,
                    expected: ["meter.key: the decryption key must be 32 hexadecimal digits (16 bytes), got 31 digits"]),
        BadDocument(name: "meter key with a non-hex digit", json: #"{"meter": {"key": "0123456789ABCDEF0123456789ABCDEG"}}"#,
                    expected: ["meter.key: the decryption key must be 32 hexadecimal digits (16 bytes): 'G' at position 32 is not a hexadecimal digit"]),
        BadDocument(name: "meter key of the right length starting with non-hex letters",
                    json: #"{"meter": {"key": "zz0102030405060708090A0B0C0D0E0F"}}"#,
                    expected: ["meter.key: the decryption key must be 32 hexadecimal digits (16 bytes): 'z' at position 1 is not a hexadecimal digit"]),
        BadDocument(name: "authentication key with a non-hex digit",
                    json: #"{"meter": {"authentication_key": "00112233445566778899AABBCCDDEEFX"}}"#,
                    expected: ["meter.authentication_key: must be 32 hexadecimal digits (16 bytes): 'X' at position 32 is not a hexadecimal digit"]),
        BadDocument(name: "TLS CA file not found", json: #"{"mqtt": {"tls": {"ca_file": "/nonexistent/p1mqtt/ca.pem"}}}"#,
                    expected: ["mqtt.tls.ca_file: file not found: /nonexistent/p1mqtt/ca.pem"]),
        BadDocument(name: "TLS certificate without key",
                    json: #"{"mqtt": {"tls": {"certificate_file": "/nonexistent/p1mqtt/client.pem"}}}"#,
                    expected: ["mqtt.tls.certificate_file: file not found: /nonexistent/p1mqtt/client.pem",
                               "mqtt.tls: certificate_file and key_file must be given together"]),
        BadDocument(name: "password and password_file", json: #"{"mqtt": {"password": "x", "password_file": "/etc/hostname"}}"#,
                    expected: ["mqtt: give only one of password, password_file"]),
        BadDocument(name: "password_env naming an unset variable", json: #"{"mqtt": {"password_env": "P1MQTT_TEST_UNSET"}}"#,
                    expected: ["mqtt.password_env: the environment variable P1MQTT_TEST_UNSET is not set"]),
        BadDocument(name: "password_env naming an empty variable", json: #"{"mqtt": {"password_env": "P1MQTT_TEST_EMPTY"}}"#,
                    expected: ["mqtt.password_env: the environment variable P1MQTT_TEST_EMPTY is not set"],
                    environment: ["P1MQTT_TEST_EMPTY": ""]),
        BadDocument(name: "password_file that does not exist", json: #"{"mqtt": {"password_file": "/nonexistent/p1mqtt/pw"}}"#,
                    expected: ["mqtt.password_file: cannot read /nonexistent/p1mqtt/pw: no such file"]),
        BadDocument(name: "key_file that is a directory", json: #"{"meter": {"key_file": "/tmp"}}"#,
                    expected: ["meter.key_file: cannot read /tmp: it is a directory, not a file"]),
        BadDocument(name: "a misspelt key in topics.rename", json: #"{"topics": {"rename": {"power_imprt": "p"}}}"#,
                    expected: [#"topics.rename: "power_imprt" is not a key, path or OBIS code p1mqtt publishes; did you mean "power_import"?"#]),
        BadDocument(name: "a misspelt group in topics.disable", json: #"{"topics": {"disable": ["phase", "gas_1", "mbus"]}}"#,
                    expected: [#"topics.disable: "phase" is not a key, path, OBIS code or group p1mqtt publishes; did you mean "phases"?"#]),
        BadDocument(name: "an unknown device in a path", json: #"{"topics": {"disable": ["gsa_1/reading"]}}"#,
                    expected: [#"topics.disable: "gsa_1/reading": "gsa_1" is not an M-Bus device (those are gas_1, water_2, heat_1 …); did you mean "gas_1/reading"?"#]),
        BadDocument(name: "an OBIS code in topics.intervals", json: #"{"topics": {"intervals": {"1-0:1.7.0": 5}}}"#,
                    expected: [#"topics.intervals: "1-0:1.7.0": intervals are set by key or path (such as power_import or gas_1/reading), not by OBIS code"#]),
        BadDocument(name: "a misspelt key in topics.intervals", json: #"{"topics": {"intervals": {"gas_1/readin": 5}}}"#,
                    expected: [#"topics.intervals: "gas_1/readin" is not a key or path p1mqtt publishes; did you mean "gas_1/reading"?"#]),
        BadDocument(name: "OBIS codes not as values carry them", json: #"{"topics": {"rename": {"1-0:1.8.1*255": "a", "1.8.2": "b"}}}"#,
                    expected: [#"topics.rename: "1-0:1.8.1*255": write the OBIS code as 1-0:1.8.1"#,
                               #"topics.rename: "1.8.2": an OBIS code needs all five groups, such as 1-0:1.8.2 (electricity) or 0-1:1.8.2 (M-Bus channel 1)"#]),
        BadDocument(name: "a rename onto another value's topic",
                    json: #"{"topics": {"rename": {"energy_import_tariff_1": "power_import"}}}"#,
                    expected: [#"topics.rename.energy_import_tariff_1: "p1mqtt/power_import" is where power_import is published; choose another topic (or rename or disable power_import too)"#]),
        BadDocument(name: "two renames onto one topic", json: #"{"topics": {"rename": {"power_import": "/home/p", "1-0:2.7.0": "/home/p"}}}"#,
                    expected: [#"topics.rename: 1-0:2.7.0 and power_import both go to "home/p"; each value needs a topic of its own"#]),
        BadDocument(name: "a rename onto p1mqtt's own topic", json: #"{"topics": {"base": "m", "rename": {"power_import": "/m/status"}}}"#,
                    expected: [#"topics.rename.power_import: "m/status" is p1mqtt's own status topic; choose another"#]),
        BadDocument(name: "http.listen with a scheme", json: #"{"http": {"listen": "http://127.0.0.1:8080"}}"#,
                    expected: ["http.listen: 'http://127.0.0.1:8080': give HOST:PORT to listen on, such as 127.0.0.1:8080, without a scheme (http://)"]),
        BadDocument(name: "relay.listen with a scheme", json: #"{"relay": {"listen": "tcp://0.0.0.0:2000"}}"#,
                    expected: ["relay.listen: 'tcp://0.0.0.0:2000': give HOST:PORT to listen on, such as 127.0.0.1:2000, without a scheme (tcp://)"]),
        BadDocument(name: "http.listen with a port out of range", json: #"{"http": {"listen": "70000"}}"#,
                    expected: ["http.listen: port 70000 is out of range (1…65535)"]),
        BadDocument(name: "unknown meter variant", json: #"{"meter": {"variant": "dsmr9"}}"#,
                    expected: [#"meter.variant: unknown variant "dsmr9"; use one of \#(MeterVariant.allCases.map(\.rawValue).joined(separator: ", "))"#]),
        BadDocument(name: "bad broker address", json: #"{"mqtt": {"broker": "localhost:http"}}"#,
                    expected: ["mqtt.broker: 'localhost:http': the port must be a number"]),
        BadDocument(name: "reconnect delays the wrong way round", json: #"{"mqtt": {"reconnect_delay_min": 30, "reconnect_delay_max": 10}}"#,
                    expected: ["mqtt.reconnect_delay_max (10 s) is below mqtt.reconnect_delay_min (30 s)"]),
        BadDocument(name: "reconnect minimum above the default maximum", json: #"{"mqtt": {"reconnect_delay_min": 120}}"#,
                    expected: ["mqtt.reconnect_delay_max (60 s) is below mqtt.reconnect_delay_min (120 s)"]),
        BadDocument(name: "connect timeout out of range", json: #"{"mqtt": {"connect_timeout": 0}}"#,
                    expected: ["mqtt.connect_timeout: 0 is out of range (1…600)"]),
        BadDocument(name: "bad protocol", json: #"{"mqtt": {"protocol": "4"}}"#,
                    expected: [#"mqtt.protocol: expected "3.1.1" or "5", got "4""#]),
        BadDocument(name: "bad source", json: #"{"source": "carrier-pigeon"}"#,
                    expected: ["source: unknown source 'carrier-pigeon'; use one of: simulator[:PROFILE], file:PATH, -, serial:DEVICE[@115200/8N1], tcp://HOST:PORT, rfxtrx+serial:DEVICE, rfxtrx+tcp://HOST:PORT"]),
        BadDocument(name: "base topic with a wildcard", json: #"{"topics": {"base": "home/#"}}"#,
                    expected: ["topics.base: topic 'home/#' contains a wildcard (+ or #)"]),
        BadDocument(name: "rename to a $ topic and to a non-string",
                    json: #"{"topics": {"rename": {"power_import": "$SYS/power", "gas_1/reading": 5}}}"#,
                    expected: ["topics.rename.gas_1/reading: expected a topic string, got 5",
                               "topics.rename.power_import: topic '$SYS/power' starts with '$', which brokers reserve"]),
        BadDocument(name: "disable not a list of strings", json: #"{"topics": {"disable": ["phases", 3]}}"#,
                    expected: ["topics.disable: expected a list of keys, OBIS codes or groups, got a list"]),
        BadDocument(name: "negative interval", json: #"{"topics": {"intervals": {"power_import": -1}}}"#,
                    expected: ["topics.intervals.power_import: expected a number of seconds ≥ 0, got -1"]),
        BadDocument(name: "bad replay rate", json: #"{"replay": {"rate": "fast"}}"#,
                    expected: [#"replay.rate: expected "max", "meter" or a number of seconds, got "fast""#]),
        BadDocument(name: "bad log level", json: #"{"logging": {"level": "loud"}}"#,
                    expected: [#"logging.level: expected one of trace, debug, info, notice, warning, error, critical, got "loud""#]),
        BadDocument(name: "not an object", json: #"[1, 2]"#,
                    expected: ["the configuration must be a JSON object ({ … })"]),
        BadDocument(
            name: "several problems at once, in a stable order",
            json: #"""
                {
                  "topics": {"retain": "yes", "qos": 2},
                  "mqtt": {"keepalive": true, "brokr": "localhost", "password": "a", "password_env": "X"},
                  "meter": {"key": "abc"},
                  "mqt": 1,
                  "logging": {"level": "loud"}
                }
                """#,
            expected: [
                #"mqt: unknown setting; did you mean "mqtt"?"#,
                "meter.key: the decryption key must be 32 hexadecimal digits (16 bytes), got 3 digits",
                #"mqtt.brokr: unknown setting; did you mean "broker"?"#,
                "mqtt: give only one of password, password_env",
                "mqtt.keepalive: expected a number, got true",
                "topics.qos: 2 is out of range (0…1)",
                #"topics.retain: expected true or false, got "yes""#,
                #"logging.level: expected one of trace, debug, info, notice, warning, error, critical, got "loud""#,
            ]),
    ]

    @Test("a bad document produces exactly the expected problem lines", arguments: badDocuments)
    func badDocument(_ document: BadDocument) {
        #expect(Self.problems(document.json, environment: document.environment) == document.expected)
    }

    @Test("the problems come in the same order every time")
    func stableOrder() throws {
        let document = try #require(Self.badDocuments.last)
        for _ in 0..<20 {
            #expect(Self.problems(document.json) == document.expected)
        }
    }

    @Test("a JSON syntax error is one problem with its line, its column and a hint",
          arguments: [
            ("{\n  \"mqtt\": {\n    \"broker\": \"x\"\n    \"username\": \"u\"\n  }\n}",
             "line 4, column 5: expected ',' or '}' after a value, found '\"' (is a comma missing at the end of the line before?)"),
            ("{\n  // the meter\n  \"source\": \"simulator\"\n}",
             "line 2, column 3: expected a key in double quotes, found '/' (JSON has no comments; use a \"comment\" key at the top level, or remove it)"),
            ("{'source': 'simulator'}", "line 1, column 2: expected a key in double quotes, found a single quote (JSON strings and keys take double quotes)"),
            ("{mqtt: 1}", "line 1, column 2: expected a key in double quotes, found 'm' (text and keys need double quotes; true, false and null are lower-case)"),
            ("{\"source\": \"simulator\"}}", "line 1, column 24: '}' after the end of the document (one '}' too many, or a missing '{'?)"),
            ("{\"mqtt\": {\"broker\": \"x\",}}", "line 1, column 25: a ',' before '}' (JSON allows no comma after the last member: remove it)"),
            ("{\"topics\": {\"disable\": [\"phases\",]}}", "line 1, column 34: a ',' before ']' (JSON allows no comma after the last item: remove it)"),
            ("{\"mqtt\": ", "line 1, column 10: the document ends where a value should be (is something cut off?)"),
            ("{\"mqtt\": {\"broker\": \"a\"}", "line 1, column 25: the document ends inside an object (a '}' is missing)"),
            ("{\"source\": \"simulator}\n", "line 1, column 23: a line break inside a string (is a closing '\"' missing?)"),
            ("{\"mqtt\": {\"keepalive\": 030}}", "line 1, column 24: a number with a leading zero (write 8, not 08)"),
            ("{\"logging\": {\"level\": True}}", "line 1, column 23: expected a value, found 'T' (text and keys need double quotes; true, false and null are lower-case)"),
            ("", "line 1, column 1: the file is empty; a configuration is a JSON object ({ … })"),
          ])
    func jsonSyntaxError(text: String, expected: String) {
        #expect(Self.problems(text) == ["configuration: \(expected)"])
    }

    @Test("a key given twice in one object is refused, each repeat named with both places")
    func duplicateKeys() {
        let text = "{\"source\": \"serial:/dev/ttyUSB0\",\n \"mqtt\": {\"broker\": \"a\", \"broker\": \"b\"},\n \"source\": \"simulator\"}"
        #expect(Self.problems(text) == [
            #"configuration: line 2, column 26: the key "broker" appears twice in one object (first at line 2, column 11); only one can count"#,
            #"configuration: line 3, column 2: the key "source" appears twice in one object (first at line 1, column 2); only one can count"#,
        ])
        // The same key in different objects is fine.
        #expect(Self.problems(#"{"mqtt": {"username": "a"}, "http": {"health_window": 60, "token": null}, "logging": {"level": "info"}}"#) == nil)
    }

    @Test("hostile documents: deep nesting is one problem, not a crash; a byte-order mark is accepted")
    func hostileDocuments() throws {
        let deep = String(repeating: "[", count: 100_000)
        #expect(Self.problems(deep) == ["configuration: line 1, column 65: nested deeper than 64 levels"])
        let withMark = Data([0xEF, 0xBB, 0xBF] + Array(#"{"source": "simulator"}"#.utf8))
        #expect(try ConfigurationFile.parse(withMark, environment: [:]).source == "simulator")
    }

    @Test("a secret a flag gives instead is not read from the file's _file or _env, but its form is still checked")
    func secretsGivenElsewhere() throws {
        let text = #"{"mqtt": {"password_file": "/nonexistent/pw"}, "meter": {"key_env": "P1MQTT_TEST_UNSET_KEY"}}"#
        let settings = try ConfigurationFile.parse(Data(text.utf8), environment: [:], givenElsewhere: [.mqttPassword, .meterKey])
        #expect(settings.password == nil)
        #expect(settings.key == nil)
        #expect(throws: ConfigurationError.self) {
            _ = try ConfigurationFile.parse(Data(text.utf8), environment: [:], givenElsewhere: [.mqttPassword])
        }
        let both = #"{"mqtt": {"password": "x", "password_file": "/nonexistent/pw"}}"#
        do {
            _ = try ConfigurationFile.parse(Data(both.utf8), environment: [:], givenElsewhere: [.mqttPassword])
            Issue.record("two password sources accepted")
        } catch {
            #expect(error.problems == ["mqtt: give only one of password, password_file"])
        }
    }

    @Test("names that match values are accepted: keys, paths, OBIS codes, unknown-line keys, groups and devices")
    func goodValueNames() {
        let text = #"""
            {"topics": {
              "rename": {"gas_1/reading": "/home/gas", "1-0:1.8.1": "t1", "obis_1_0_99_99_9": "x", "water_2/reading": "w",
                         "voltage_l1": "voltage_l2", "1-0:1.8.2": "energy_import_tariff_2"},
              "disable": ["phases", "gas", "heat_3", "reactive_power", "0-1:24.2.1", "text_message", "derived", "voltage_l2"],
              "intervals": {"power_import": 0, "gas_1/reading": 300, "flow": 60}
            }}
            """#
        #expect(Self.problems(text) == nil)
    }

    @Test("http.listen: HOST:PORT, a HOST alone on port 8080, a PORT alone on this machine only")
    func listenAddresses() throws {
        #expect(try BrokerAddress.parseListen("8081").get() == BrokerAddress(host: "127.0.0.1", port: 8081))
        #expect(try BrokerAddress.parseListen("localhost").get() == BrokerAddress(host: "localhost", port: 8080))
        #expect(try BrokerAddress.parseListen("0.0.0.0:9000").get() == BrokerAddress(host: "0.0.0.0", port: 9000))
        #expect(try BrokerAddress.parseListen("[::1]:9001").get() == BrokerAddress(host: "::1", port: 9001))
        #expect(throws: BrokerAddressProblem.self) { try BrokerAddress.parseListen("0").get() }
        #expect(try BrokerAddress.parseListen("[::1]:9001").get().description == "[::1]:9001")
        #expect(try BrokerAddress.parseListen("2001", defaultPort: BrokerAddress.defaultRelayPort).get().description == "127.0.0.1:2001")
    }

    @Test("load(path:) names a file that cannot be read")
    func missingFile() {
        #expect(throws: ConfigurationError.self) {
            _ = try ConfigurationFile.load(path: "/nonexistent/p1mqtt.json", environment: [:])
        }
        do {
            _ = try ConfigurationFile.load(path: "/nonexistent/p1mqtt.json", environment: [:])
        } catch {
            #expect(error.problems == ["/nonexistent/p1mqtt.json: cannot read the configuration file: no such file"])
        }
    }

    // MARK: - Good documents

    @Test("config/p1mqtt.json parses to the defaults")
    func shippedConfiguration() throws {
        let path = Self.repositoryRoot.appendingPathComponent("config/p1mqtt.json").path
        let settings = try ConfigurationFile.load(path: path, environment: [:])
        let defaults = Settings()
        #expect(settings.source == defaults.source)
        #expect(settings.variant == defaults.variant)
        #expect(settings.key == defaults.key)
        #expect(settings.verifyTag == defaults.verifyTag)
        #expect(settings.broker == defaults.broker)
        #expect(settings.clientID == defaults.clientID)
        #expect(settings.username == defaults.username)
        #expect(settings.password == defaults.password)
        #expect(settings.keepalive == defaults.keepalive)
        #expect(settings.protocolVersion == defaults.protocolVersion)
        #expect(settings.tls == defaults.tls)
        #expect(settings.baseTopic == defaults.baseTopic)
        #expect(settings.telegramTopic == defaults.telegramTopic)
        #expect(settings.rawTopic == defaults.rawTopic)
        #expect(settings.qos == defaults.qos)
        #expect(settings.retain == defaults.retain)
        #expect(settings.renames == defaults.renames)
        #expect(settings.disabled == defaults.disabled)
        #expect(settings.minimumInterval == defaults.minimumInterval)
        #expect(settings.intervals == defaults.intervals)
        #expect(settings.onlyOnChange == defaults.onlyOnChange)
        #expect(settings.guardRegisters == defaults.guardRegisters)
        #expect(settings.rate == defaults.rate)
        #expect(settings.exitAtEnd == defaults.exitAtEnd)
        #expect(settings.discovery == defaults.discovery)
        #expect(settings.discoveryPrefix == defaults.discoveryPrefix)
        #expect(settings.logLevel == defaults.logLevel)
        #expect(settings == defaults)
    }

    @Test("every setting the schema describes is one the reader knows (no 'unknown setting')")
    func schemaMatchesReader() throws {
        let url = Self.repositoryRoot.appendingPathComponent("config/p1mqtt.schema.json")
        let schema = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let sections = try #require(schema["properties"] as? [String: Any])
        var checked = 0
        for (section, value) in sections {
            guard let properties = (value as? [String: Any])?["properties"] as? [String: Any] else { continue }
            for key in properties.keys {
                checked += 1
                let json = #"{"\#(section)": {"\#(key)": null}}"#
                do {
                    _ = try ConfigurationFile.parse(Data(json.utf8), environment: [:])
                } catch {
                    #expect(!error.problems.contains { $0.contains("unknown setting") }, "\(json): \(error.problems)")
                }
            }
        }
        #expect(checked > 40)
    }

    @Test("the schema and the field table in docs/configuration.md list the same settings")
    func schemaMatchesDocumentation() throws {
        let url = Self.repositoryRoot.appendingPathComponent("config/p1mqtt.schema.json")
        let schema = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        var inSchema: Set<String> = []
        func collect(_ properties: [String: Any], _ prefix: String) {
            for (key, value) in properties where key != "$schema" && key != "comment" {
                let path = prefix.isEmpty ? key : "\(prefix).\(key)"
                inSchema.insert(path)
                if let nested = (value as? [String: Any])?["properties"] as? [String: Any] { collect(nested, path) }
            }
        }
        collect(try #require(schema["properties"] as? [String: Any]), "")
        let documentation = try String(contentsOf: Self.repositoryRoot.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        // Rows of "Every field at a glance": | [`mqtt.tls.ca_file`](#…) | …
        var inTable: Set<String> = []
        for line in documentation.split(separator: "\n") where line.hasPrefix("| [`") {
            if let end = line.dropFirst(4).firstIndex(of: "`") { inTable.insert(String(line[line.index(line.startIndex, offsetBy: 4)..<end])) }
        }
        // Sections (objects) are in the schema; the table lists their fields (and mqtt.tls itself).
        let sections: Set<String> = ["connection", "meter", "mqtt", "topics", "replay", "homeassistant", "http", "history", "relay", "logging"]
        #expect(inSchema.subtracting(sections).subtracting(inTable).sorted() == [], "in the schema, not in the docs' table")
        #expect(inTable.subtracting(inSchema).sorted() == [], "in the docs' table, not in the schema")
    }

    @Test("an empty document gives the defaults")
    func emptyDocument() throws {
        #expect(try Self.parse("{}") == Settings())
        #expect(try Self.parse(#"{"$schema": "x", "comment": "anything"}"#) == Settings())
    }

    @Test("the password comes from password_file (trailing newline trimmed)")
    func passwordFile() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("password")
        try Data("s3cret with spaces\n".utf8).write(to: file)
        let settings = try Self.parse(#"{"mqtt": {"username": "meter", "password_file": "\#(file.path)"}}"#)
        #expect(settings.password == "s3cret with spaces")
        #expect(settings.username == "meter")

        let keyFile = directory.appendingPathComponent("key")
        try Data("\(Self.hex32)\r\n".utf8).write(to: keyFile)
        #expect(try Self.parse(#"{"meter": {"key_file": "\#(keyFile.path)"}}"#).key == Self.hex32)
    }

    @Test("the password comes from password_env, looked up in the given environment")
    func passwordEnvironment() throws {
        let settings = try Self.parse(#"{"mqtt": {"password_env": "P1MQTT_PW"}}"#,
                                      environment: ["P1MQTT_PW": "hunter2", "OTHER": "x"])
        #expect(settings.password == "hunter2")
        let key = try Self.parse(#"{"meter": {"key_env": "METER_KEY"}}"#, environment: ["METER_KEY": Self.hex32])
        #expect(key.key == Self.hex32)
        #expect(try Self.parse(#"{"mqtt": {"password": "inline"}}"#).password == "inline")
        #expect(try Self.parse(#"{"mqtt": {"password": "inline", "password_file": null}}"#).password == "inline")
    }

    @Test("http and history: listen address, token from the environment, health window, data directory, retention")
    func webAndHistorySections() throws {
        let settings = try Self.parse(#"""
            {"http": {"listen": "0.0.0.0:8081", "token_env": "WEB_TOKEN", "health_window": 30},
             "history": {"data_dir": "/var/lib/p1mqtt", "keep_hours": 72, "keep_days": 31, "keep_months": 36}}
            """#, environment: ["WEB_TOKEN": "0123456789abcdef0123"])
        #expect(settings.httpListen == "0.0.0.0:8081")
        #expect(settings.httpToken == "0123456789abcdef0123")
        #expect(settings.healthWindow == 30)
        #expect(settings.dataDirectory == "/var/lib/p1mqtt")
        #expect(settings.keepHours == 72 && settings.keepDays == 31 && settings.keepMonths == 36)
        // Off by default.
        #expect(Settings().httpListen == nil && Settings().dataDirectory == nil)
    }

    @Test("BridgeFactory: broker none runs without MQTT")
    func brokerNone() throws {
        var settings = Settings()
        settings.broker = "none"
        #expect(try BridgeFactory.configuration(from: settings).mqtt?.host == nil)
        settings.broker = "localhost"
        #expect(try BridgeFactory.configuration(from: settings).mqtt?.host == "localhost")
    }

    @Test("topics: base, renames, switched-off values, intervals and flags are read")
    func topicsSection() throws {
        let settings = try Self.parse(#"""
            {
              "topics": {
                "base": "home/meter",
                "telegram": null,
                "raw": "raw",
                "qos": 1,
                "retain": false,
                "rename": {"energy_import_tariff_1": "import/low", "0-1:24.2.1": "/gas/total"},
                "disable": ["phases", "1-0:2.7.0", "gas_1"],
                "min_interval": 10,
                "intervals": {"power_import": 2.5, "gas_1/reading": 300},
                "only_on_change": true,
                "guard_registers": false
              },
              "replay": {"rate": 0.5, "exit_at_end": true},
              "homeassistant": {"discovery": false, "prefix": "ha"},
              "meter": {"variant": "belgium", "key": "\#(Self.hex32)", "verify_tag": false},
              "mqtt": {"broker": "[::1]:8883", "client_id": "meter-1", "keepalive": 60, "protocol": "5"},
              "logging": {"level": "debug"},
              "source": "file:capture.txt"
            }
            """#)
        #expect(settings.baseTopic == "home/meter")
        #expect(settings.telegramTopic == nil)
        #expect(settings.rawTopic == "raw")
        #expect(settings.qos == 1)
        #expect(settings.retain == false)
        #expect(settings.renames == ["energy_import_tariff_1": "import/low", "0-1:24.2.1": "/gas/total"])
        #expect(settings.disabled == ["phases", "1-0:2.7.0", "gas_1"])
        #expect(settings.minimumInterval == 10)
        #expect(settings.intervals == ["power_import": 2.5, "gas_1/reading": 300])
        #expect(settings.onlyOnChange)
        #expect(settings.guardRegisters == false)
        #expect(settings.rate == .interval(0.5))
        #expect(settings.exitAtEnd)
        #expect(settings.discovery == false)
        #expect(settings.discoveryPrefix == "ha")
        #expect(settings.variant == .belgium)
        #expect(settings.key == Self.hex32)
        #expect(settings.verifyTag == false)
        #expect(settings.broker == "[::1]:8883")
        #expect(settings.clientID == "meter-1")
        #expect(settings.keepalive == 60)
        #expect(settings.protocolVersion == .v5)
        #expect(settings.logLevel == "debug")
        #expect(settings.source == "file:capture.txt")
    }

    @Test("the topics section reaches the publisher through BridgeFactory")
    func factoryUsesTopics() throws {
        var settings = try Self.parse(#"""
            {"topics": {"base": "home/meter", "rename": {"power_import": "power"}, "disable": ["phases"],
                        "min_interval": 10, "intervals": {"voltage_l1": 60}, "only_on_change": true, "qos": 1}}
            """#)
        settings.source = "simulator"
        let configuration = try BridgeFactory.configuration(from: settings)
        let publish = configuration.publish
        #expect(publish.topics.base == "home/meter")
        #expect(publish.topics.renames == ["power_import": "power"])
        #expect(publish.topics.disabled == ["phases"])
        #expect(publish.throttle.interval == 10)
        #expect(publish.throttle.intervals == ["voltage_l1": 60])
        #expect(publish.throttle.onlyOnChange)
        #expect(publish.qos == 1)
        #expect(publish.availabilityTopic == "home/meter/status")
        #expect(configuration.isReplay == false)
        #expect(configuration.mqtt?.host == "localhost")
        #expect(configuration.mqtt?.port == 1883)
    }

    // MARK: - BridgeFactory errors

    @Test("BridgeFactory: a file: source that cannot be opened is reported before anything connects")
    func factoryMissingFile() {
        var settings = Settings()
        settings.source = "file:/nonexistent/p1mqtt/capture.txt"
        do {
            _ = try BridgeFactory.configuration(from: settings)
            Issue.record("a missing capture file was accepted")
        } catch {
            #expect(error.problems == ["source: cannot open /nonexistent/p1mqtt/capture.txt: No such file or directory"])
        }
    }

    @Test("BridgeFactory: a directory is not a readable file: source")
    func factoryDirectory() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var settings = Settings()
        settings.source = "file:\(directory.path)"
        do {
            _ = try BridgeFactory.configuration(from: settings)
            Issue.record("file:\(directory.path) (a directory) was accepted as a capture file")
        } catch {
            #expect(error.problems.count == 1)
            #expect(error.problems.first?.hasPrefix("source: ") == true)
            #expect(error.problems.first?.contains(directory.path) == true)
        }
    }

    @Test("BridgeFactory: a readable file: source is a replay; serial, tcp and rfxtrx sources are live")
    func factorySources() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("capture.txt")
        try Data(TestTelegrams.dsmr5()).write(to: file)
        var settings = Settings()
        settings.source = "file:\(file.path)"
        let configuration = try BridgeFactory.configuration(from: settings)
        #expect(configuration.isReplay)
        #expect(configuration.source.name == "file \(file.path)")

        // Live sources open their device or connection when the bridge runs (and retry), not here.
        for (source, name) in [("serial:/dev/ttyUSB0", "serial /dev/ttyUSB0"), ("tcp://127.0.0.1:2001", "tcp 127.0.0.1:2001"),
                               ("rfxtrx+tcp://127.0.0.1:2002", "rfxtrx on tcp 127.0.0.1:2002")] {
            settings.source = source
            let live = try BridgeFactory.configuration(from: settings)
            #expect(!live.isReplay)
            #expect(live.source.name == name)
        }
        settings.source = "serial:/dev/ttyUSB0@115200/9Q9"
        #expect(throws: ConfigurationError.self) { _ = try BridgeFactory.configuration(from: settings) }
        settings.source = "nonsense"
        #expect(throws: ConfigurationError.self) { _ = try BridgeFactory.configuration(from: settings) }
        settings.source = "simulator"
        settings.key = Self.hex31
        do {
            _ = try BridgeFactory.configuration(from: settings)
            Issue.record("a 31-digit key was accepted")
        } catch {
            #expect(error.problems == ["meter.key: the decryption key must be 32 hexadecimal digits (16 bytes), got 31 digits"])
        }
        settings.key = nil
        settings.broker = "broker.example:0"
        do {
            _ = try BridgeFactory.configuration(from: settings)
            Issue.record("port 0 was accepted")
        } catch {
            #expect(error.problems == ["mqtt.broker: port 0 is out of range (1…65535)"])
        }
    }

    @Test("mqtt.connect_timeout and the reconnect delays reach the MQTT client's configuration")
    func connectionTiming() throws {
        let settings = try Self.parse(#"{"mqtt": {"connect_timeout": 40, "reconnect_delay_min": 5, "reconnect_delay_max": 300}}"#)
        #expect(settings.connectTimeout == 40)
        #expect(settings.reconnectDelayMinimum == 5)
        #expect(settings.reconnectDelayMaximum == 300)
        let mqtt = try #require(try BridgeFactory.configuration(from: settings).mqtt)
        #expect(mqtt.connectTimeout == .seconds(40))
        #expect(mqtt.minimumReconnectDelay == .seconds(5))
        #expect(mqtt.maximumReconnectDelay == .seconds(300))
        #expect(mqtt.description.hasSuffix("connect timeout 40 s, reconnect after 5 s to 300 s"), "\(mqtt.description)")
        let defaults = try #require(try BridgeFactory.configuration(from: Settings()).mqtt)
        #expect(defaults.connectTimeout == .seconds(15) && defaults.minimumReconnectDelay == .seconds(1)
            && defaults.maximumReconnectDelay == .seconds(60))
        #expect(!defaults.description.contains("reconnect") && !defaults.description.contains("timeout"))
    }

    @Test("BridgeFactory: TLS changes the default port to 8883")
    func factoryTLSPort() throws {
        var settings = Settings()
        settings.broker = "broker.example"
        settings.tls = MQTTConfiguration.TLS()
        #expect(try BridgeFactory.configuration(from: settings).mqtt?.port == 8883)
        settings.broker = "broker.example:8884"
        #expect(try BridgeFactory.configuration(from: settings).mqtt?.port == 8884)
        settings.tls = nil
        settings.broker = "broker.example"
        #expect(try BridgeFactory.configuration(from: settings).mqtt?.port == 1883)
    }

    // MARK: - BrokerAddress

    @Test("BrokerAddress.parse: host, host:port, [IPv6]:port", arguments: [
        ("localhost", "localhost", 1883),
        ("broker.example", "broker.example", 1883),
        ("host:1884", "host", 1884),
        ("192.168.1.10:8883", "192.168.1.10", 8883),
        ("[::1]:1883", "::1", 1883),
        ("[::1]", "::1", 1883),
        ("[fe80::1%eth0]:1884", "fe80::1%eth0", 1884),
        ("::1", "::1", 1883),
        ("host:65535", "host", 65535),
        ("host:1", "host", 1),
    ])
    func brokerAddress(text: String, host: String, port: Int) {
        switch BrokerAddress.parse(text) {
        case .success(let address):
            #expect(address.host == host)
            #expect(address.port == port)
        case .failure(let problem):
            Issue.record("\(text): \(problem)")
        }
    }

    @Test("BrokerAddress.parse: the default port can be chosen")
    func brokerDefaultPort() {
        #expect(BrokerAddress.parse("host", defaultPort: 8883).value?.port == 8883)
        #expect(BrokerAddress.parse("host:1883", defaultPort: 8883).value?.port == 1883)
    }

    @Test("BrokerAddress.parse: bad ports and hosts are explained", arguments: [
        ("host:abc", "'host:abc': the port must be a number"),
        ("host:", "'host:': the port must be a number"),
        ("host:0", "port 0 is out of range (1…65535)"),
        ("host:65536", "port 65536 is out of range (1…65535)"),
        ("host:-1", "port -1 is out of range (1…65535)"),
        (":1883", "':1883' has no host name"),
        ("", "'' has no host name"),
        ("[::1", "'[::1' has an opening [ without ]"),
        ("[::1]1883", "'[::1]1883' is not [HOST]:PORT"),
        ("[::1]:http", "'[::1]:http' is not [HOST]:PORT"),
        ("[]:1883", "'[]:1883' has no host name"),
    ])
    func badBrokerAddress(text: String, expected: String) {
        switch BrokerAddress.parse(text) {
        case .success(let address): Issue.record("\(text) parsed as \(address)")
        case .failure(let problem): #expect(problem.description == expected)
        }
    }

    // MARK: - SourceSpec

    @Test("SourceSpec parses every documented form", arguments: [
        ("simulator", SourceSpec.simulator(.dsmr5)),
        ("simulator:dsmr5", .simulator(.dsmr5)),
        ("file:capture.txt", .file("capture.txt")),
        ("file:/var/log/p1 capture.txt", .file("/var/log/p1 capture.txt")),
        ("-", .standardInput),
        ("serial:/dev/ttyUSB0", .serial(device: "/dev/ttyUSB0", settings: nil)),
        ("serial:/dev/ttyUSB0@115200/8N1", .serial(device: "/dev/ttyUSB0", settings: "115200/8N1")),
        ("serial:/dev/ttyS0@9600/7E1", .serial(device: "/dev/ttyS0", settings: "9600/7E1")),
        ("/dev/ttyAMA0", .serial(device: "/dev/ttyAMA0", settings: nil)),
        ("/dev/ttyUSB1@115200/8N1", .serial(device: "/dev/ttyUSB1", settings: "115200/8N1")),
        ("tcp://192.168.1.5:2001", .tcp(host: "192.168.1.5", port: 2001)),
        ("tcp://p1.local:23", .tcp(host: "p1.local", port: 23)),
        ("tcp://[fe80::1]:2001", .tcp(host: "fe80::1", port: 2001)),
        ("rfxtrx+serial:/dev/ttyUSB1", .rfxtrxSerial(device: "/dev/ttyUSB1")),
        ("rfxtrx+tcp://10.0.0.2:10001", .rfxtrxTCP(host: "10.0.0.2", port: 10001)),
    ])
    func sourceSpec(text: String, expected: SourceSpec) throws {
        let spec = try SourceSpec(parsing: text)
        #expect(spec == expected)
        // The description is a specification that parses back to the same source.
        #expect(try SourceSpec(parsing: spec.description) == spec)
        #expect(spec.isReplay == (text.hasPrefix("file:")))
    }

    @Test("SourceSpec descriptions", arguments: [
        (SourceSpec.simulator(.dsmr5), "simulator:dsmr5"),
        (.file("a.txt"), "file:a.txt"),
        (.standardInput, "-"),
        (.serial(device: "/dev/ttyUSB0", settings: nil), "serial:/dev/ttyUSB0"),
        (.serial(device: "/dev/ttyUSB0", settings: "115200/8N1"), "serial:/dev/ttyUSB0@115200/8N1"),
        (.tcp(host: "h", port: 1), "tcp://h:1"),
        (.rfxtrxSerial(device: "/dev/x"), "rfxtrx+serial:/dev/x"),
        (.rfxtrxTCP(host: "h", port: 2), "rfxtrx+tcp://h:2"),
    ])
    func sourceDescription(spec: SourceSpec, text: String) {
        #expect(spec.description == text)
    }

    @Test("SourceSpec explains what is wrong", arguments: [
        ("simulator:dsmr9", "unknown simulator profile 'dsmr9'; available: dsmr5, belgium, luxembourg, dsmr22"),
        ("file:", "source 'file:' needs a path, e.g. file:capture.txt"),
        ("serial:", "source 'serial:' needs a device, e.g. serial:/dev/ttyUSB0"),
        ("serial:@115200/8N1", "source 'serial:' needs a device, e.g. serial:/dev/ttyUSB0"),
        ("tcp://host", "source 'tcp://host' needs HOST:PORT with a port from 1 to 65535"),
        ("tcp://host:0", "source 'tcp://host:0' needs HOST:PORT with a port from 1 to 65535"),
        ("tcp://host:65536", "source 'tcp://host:65536' needs HOST:PORT with a port from 1 to 65535"),
        ("tcp://host:port", "source 'tcp://host:port' needs HOST:PORT with a port from 1 to 65535"),
        ("tcp://:2001", "source 'tcp://:2001' needs HOST:PORT with a port from 1 to 65535"),
        ("rfxtrx+tcp://host", "source 'rfxtrx+tcp://host' needs HOST:PORT with a port from 1 to 65535"),
        ("", "unknown source ''; use one of: simulator[:PROFILE], file:PATH, -, serial:DEVICE[@115200/8N1], tcp://HOST:PORT, rfxtrx+serial:DEVICE, rfxtrx+tcp://HOST:PORT"),
        ("mqtt://broker", "unknown source 'mqtt://broker'; use one of: simulator[:PROFILE], file:PATH, -, serial:DEVICE[@115200/8N1], tcp://HOST:PORT, rfxtrx+serial:DEVICE, rfxtrx+tcp://HOST:PORT"),
        ("capture.txt", "unknown source 'capture.txt'; use one of: simulator[:PROFILE], file:PATH, -, serial:DEVICE[@115200/8N1], tcp://HOST:PORT, rfxtrx+serial:DEVICE, rfxtrx+tcp://HOST:PORT"),
    ])
    func badSourceSpec(text: String, expected: String) {
        do {
            let spec = try SourceSpec(parsing: text)
            Issue.record("\(text.debugDescription) parsed as \(spec)")
        } catch {
            #expect(error.description == expected)
        }
    }

    @Test("SourceSpec: rfxtrx+serial: without a device is an error, like serial:")
    func rfxtrxWithoutDevice() {
        #expect(throws: SourceSpec.ParseError.self, "rfxtrx+serial: with no device was accepted") {
            _ = try SourceSpec(parsing: "rfxtrx+serial:")
        }
    }

    // MARK: - ReplayRate

    @Test("ReplayRate parses max, meter and seconds", arguments: [
        ("max", ReplayRate.max), ("meter", .meter), ("1", .interval(1)), ("0.25", .interval(0.25)), ("2.5", .interval(2.5)),
        ("0", .max), ("0.0", .max),
    ])
    func replayRate(text: String, expected: ReplayRate) {
        #expect(ReplayRate(text) == expected)
    }

    @Test("ReplayRate rejects everything else", arguments: ["fast", "", "-1", "-0.5", "inf", "nan", "MAX", "1s", " 1"])
    func badReplayRate(text: String) {
        #expect(ReplayRate(text) == nil)
    }

    @Test("ReplayRate descriptions and pauses")
    func replayPauses() throws {
        #expect(ReplayRate.max.description == "max")
        #expect(ReplayRate.meter.description == "meter")
        #expect(ReplayRate.interval(2.5).description == "2.5")
        #expect(ReplayRate(ReplayRate.interval(2.5).description) == .interval(2.5))
        let t0 = MeterTimestamp(secondsSince1970: 1_700_000_000)
        let t5 = MeterTimestamp(secondsSince1970: 1_700_000_005)
        let t600 = MeterTimestamp(secondsSince1970: 1_700_000_600)
        #expect(ReplayRate.max.pause(after: t0, before: t5) == 0)
        #expect(ReplayRate.interval(2).pause(after: t0, before: t600) == 2)
        #expect(ReplayRate.meter.pause(after: t0, before: t5) == 5)
        // Gaps are capped, clocks going backwards do not stall, missing timestamps pace at 1 s.
        #expect(ReplayRate.meter.pause(after: t0, before: t600) == 10)
        #expect(ReplayRate.meter.pause(after: t5, before: t0) == 0)
        #expect(ReplayRate.meter.pause(after: nil, before: t5) == 1)
        #expect(ReplayRate.meter.pause(after: t0, before: nil) == 1)
        #expect(try Self.parse(#"{"replay": {"rate": "max"}}"#).rate == .max)
        #expect(try Self.parse(#"{"replay": {"rate": "meter"}}"#).rate == .meter)
        #expect(try Self.parse(#"{"replay": {"rate": 2}}"#).rate == .interval(2))
        #expect(try Self.parse(#"{"replay": {"rate": "0.5"}}"#).rate == .interval(0.5))
    }
}

private extension Result {
    var value: Success? {
        if case .success(let value) = self { return value }
        return nil
    }
}

@Suite("Value names in the configuration")
struct ValueNamesTests {
    @Test("every value the example telegrams publish can be renamed, throttled and switched off by its names and groups")
    func everyPublishedValueIsNameable() throws {
        var flows = FlowEstimator()
        var seen = 0
        for name in VariantTelegramFixtures.files {
            let telegram = try VariantTelegramFixtures.decode(name)
            let readings = ReadingMapper.readings(of: telegram)
            for reading in readings + flows.flows(from: readings) {
                let value = reading.value
                seen += 1
                for use in [ValueNames.Use.rename, .interval, .disable] {
                    #expect(ValueNames.problem(with: value.path, use: use) == nil, "\(name): \(value.path)")
                    #expect(ValueNames.problem(with: value.key, use: use) == nil, "\(name): \(value.key)")
                }
                if let code = value.code {
                    #expect(ValueNames.problem(with: code.description, use: .disable) == nil, "\(name): \(code)")
                }
                for group in value.groups + (value.device.map { [$0] } ?? []) {
                    #expect(ValueNames.problem(with: group, use: .disable) == nil, "\(name): group \(group)")
                }
            }
        }
        #expect(seen > 300)
    }

    @Test("every M-Bus kind's device segment is a device name")
    func deviceSegments() {
        for type in [nil] + Array(0...20) {
            var device = MBusDevice(channel: 2)
            device.deviceType = type
            let segment = ReadingMapper.deviceSegment(device)
            #expect(ValueNames.deviceSegment(segment), "\(segment)")
        }
    }
}
