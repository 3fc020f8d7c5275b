import Foundation
import Mapping

/// Reads `p1mqtt.json` strictly: unknown keys (with a "did you mean"), wrong types, values out of range and
/// malformed keys are all reported at once, each naming its field, before anything connects.
public enum ConfigurationFile {
    /// Reads and checks a configuration file.
    /// - Throws: ``ConfigurationError`` listing every problem.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(ConfigurationError) -> Settings
    {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(["\(path): cannot read the file (does it exist, and may p1mqtt read it?)"])
        }
        return try parse(data, name: path, environment: environment)
    }

    /// Checks a configuration document.
    public static func parse(_ data: Data, name: String = "configuration",
                             environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(ConfigurationError) -> Settings
    {
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            let reason = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
            throw ConfigurationError(["\(name): not valid JSON: \(reason)"])
        }
        var reader = Reader(environment: environment)
        let settings = reader.read(root)
        if !reader.problems.isEmpty { throw ConfigurationError(reader.problems) }
        return settings
    }
}

/// Walks the document, collecting problems instead of stopping at the first.
private struct Reader {
    let environment: [String: String]
    var problems: [String] = []

    mutating func read(_ root: Any) -> Settings {
        var settings = Settings()
        guard let object = root as? [String: Any] else {
            problems.append("the configuration must be a JSON object ({ … })")
            return settings
        }
        check(object, "", allowed: ["source", "meter", "mqtt", "topics", "replay", "homeassistant", "logging", "$schema", "comment"])
        if let source = string(object, "source", path: "source") {
            do { _ = try SourceSpec(parsing: source) } catch { problems.append("source: \(error.description)") }
            settings.source = source
        }
        if let meter = section(object, "meter") { readMeter(meter, &settings) }
        if let mqtt = section(object, "mqtt") { readMQTT(mqtt, &settings) }
        if let topics = section(object, "topics") { readTopics(topics, &settings) }
        if let replay = section(object, "replay") {
            check(replay, "replay", allowed: ["rate", "exit_at_end"])
            if let rate = value(replay, "rate", path: "replay.rate") {
                let text = (rate as? String) ?? (rate as? NSNumber).map { "\($0)" } ?? ""
                if let parsed = ReplayRate(text) { settings.rate = parsed } else {
                    problems.append("replay.rate: expected \"max\", \"meter\" or a number of seconds, got \(describe(rate))")
                }
            }
            if let exit = bool(replay, "exit_at_end", path: "replay.exit_at_end") { settings.exitAtEnd = exit }
        }
        if let homeAssistant = section(object, "homeassistant") {
            check(homeAssistant, "homeassistant", allowed: ["discovery", "prefix", "mode", "device_name", "meter_id"])
            if let discovery = bool(homeAssistant, "discovery", path: "homeassistant.discovery") { settings.discovery = discovery }
            if let prefix = topic(homeAssistant, "prefix", path: "homeassistant.prefix") { settings.discoveryPrefix = prefix }
            if let mode = string(homeAssistant, "mode", path: "homeassistant.mode") {
                if let parsed = DiscoveryOptions.Mode(rawValue: mode) { settings.discoveryMode = parsed } else {
                    problems.append("homeassistant.mode: expected \"entity\" or \"device\", got \"\(mode)\"")
                }
            }
            if let name = string(homeAssistant, "device_name", path: "homeassistant.device_name") {
                if name.trimmingCharacters(in: .whitespaces).isEmpty {
                    problems.append("homeassistant.device_name: must not be empty")
                } else {
                    settings.meterName = name
                }
            }
            if let id = string(homeAssistant, "meter_id", path: "homeassistant.meter_id") { settings.meterID = id }
        }
        if let logging = section(object, "logging") {
            check(logging, "logging", allowed: ["level"])
            if let level = string(logging, "level", path: "logging.level") {
                let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
                if levels.contains(level) { settings.logLevel = level } else {
                    problems.append("logging.level: expected one of \(levels.joined(separator: ", ")), got \"\(level)\"")
                }
            }
        }
        return settings
    }

    private mutating func readMeter(_ meter: [String: Any], _ settings: inout Settings) {
        check(meter, "meter", allowed: ["variant", "key", "key_file", "key_env", "authentication_key", "verify_tag", "max_telegram_size"])
        if let variant = string(meter, "variant", path: "meter.variant") {
            if let parsed = MeterVariant(name: variant) { settings.variant = parsed } else {
                problems.append("meter.variant: unknown variant \"\(variant)\"; use one of \(MeterVariant.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        if let key = secret(meter, "key", section: "meter") {
            if GCMCipher.parseKey(key) == nil {
                problems.append("meter.key: the decryption key must be 32 hexadecimal digits (16 bytes), got \(key.count) characters")
            } else {
                settings.key = key
            }
        }
        if let key = string(meter, "authentication_key", path: "meter.authentication_key") {
            if GCMCipher.parseKey(key) == nil {
                problems.append("meter.authentication_key: must be 32 hexadecimal digits (16 bytes)")
            } else {
                settings.authenticationKey = key
            }
        }
        if let verify = bool(meter, "verify_tag", path: "meter.verify_tag") { settings.verifyTag = verify }
        if let size = integer(meter, "max_telegram_size", path: "meter.max_telegram_size", range: 1024...1_048_576) {
            settings.maximumTelegramSize = size
        }
    }

    private mutating func readMQTT(_ mqtt: [String: Any], _ settings: inout Settings) {
        check(mqtt, "mqtt", allowed: ["broker", "client_id", "username", "password", "password_file", "password_env", "keepalive", "protocol", "tls"])
        if let broker = string(mqtt, "broker", path: "mqtt.broker") {
            if case .failure(let problem) = BrokerAddress.parse(broker) { problems.append("mqtt.broker: \(problem)") }
            settings.broker = broker
        }
        if let id = string(mqtt, "client_id", path: "mqtt.client_id") { settings.clientID = id }
        if let user = string(mqtt, "username", path: "mqtt.username") { settings.username = user }
        if let password = secret(mqtt, "password", section: "mqtt") { settings.password = password }
        if let keepalive = integer(mqtt, "keepalive", path: "mqtt.keepalive", range: 5...3600) { settings.keepalive = keepalive }
        if let version = value(mqtt, "protocol", path: "mqtt.protocol") {
            let text = (version as? String) ?? (version as? NSNumber).map { "\($0)" } ?? ""
            switch text {
            case "3.1.1", "311", "3": settings.protocolVersion = .v311
            case "5", "5.0": settings.protocolVersion = .v5
            default: problems.append("mqtt.protocol: expected \"3.1.1\" or \"5\", got \(describe(version))")
            }
        }
        if let tls = section(mqtt, "tls", path: "mqtt.tls") {
            check(tls, "mqtt.tls", allowed: ["enabled", "ca_file", "ca_directory", "certificate_file", "key_file", "insecure"])
            let enabled = bool(tls, "enabled", path: "mqtt.tls.enabled") ?? true
            var options = MQTTConfiguration.TLS()
            options.caFile = file(tls, "ca_file", path: "mqtt.tls.ca_file")
            options.caDirectory = directory(tls, "ca_directory", path: "mqtt.tls.ca_directory")
            options.certificateFile = file(tls, "certificate_file", path: "mqtt.tls.certificate_file")
            options.keyFile = file(tls, "key_file", path: "mqtt.tls.key_file")
            options.insecure = bool(tls, "insecure", path: "mqtt.tls.insecure") ?? false
            if (options.certificateFile == nil) != (options.keyFile == nil) {
                problems.append("mqtt.tls: certificate_file and key_file must be given together")
            }
            if enabled { settings.tls = options }
        }
    }

    private mutating func readTopics(_ topics: [String: Any], _ settings: inout Settings) {
        check(topics, "topics", allowed: ["base", "telegram", "raw", "qos", "retain", "rename", "disable", "min_interval", "intervals", "only_on_change", "guard_registers", "power_unit", "derived"])
        if let unit = string(topics, "power_unit", path: "topics.power_unit") {
            switch unit {
            case "kW": settings.powerInWatts = false
            case "W": settings.powerInWatts = true
            default: problems.append("topics.power_unit: expected \"kW\" or \"W\", got \"\(unit)\"")
            }
        }
        if let derived = bool(topics, "derived", path: "topics.derived") { settings.derivedValues = derived }
        if let base = topic(topics, "base", path: "topics.base") { settings.baseTopic = base }
        if topics["telegram"] is NSNull { settings.telegramTopic = nil } else if let telegram = topic(topics, "telegram", path: "topics.telegram") {
            settings.telegramTopic = telegram
        }
        if let raw = topic(topics, "raw", path: "topics.raw") { settings.rawTopic = raw }
        if let qos = integer(topics, "qos", path: "topics.qos", range: 0...1) { settings.qos = qos }
        if let retain = bool(topics, "retain", path: "topics.retain") { settings.retain = retain }
        if let renames = value(topics, "rename", path: "topics.rename") {
            if let map = renames as? [String: Any] {
                for (key, target) in map.sorted(by: { $0.key < $1.key }) {
                    guard let target = target as? String else {
                        problems.append("topics.rename.\(key): expected a topic string, got \(describe(target))")
                        continue
                    }
                    if let problem = TopicMap.problem(with: target) { problems.append("topics.rename.\(key): \(problem)") }
                    settings.renames[key] = target
                }
            } else {
                problems.append("topics.rename: expected an object mapping keys or OBIS codes to topics, got \(describe(renames))")
            }
        }
        if let disabled = value(topics, "disable", path: "topics.disable") {
            if let list = disabled as? [Any], list.allSatisfy({ $0 is String }) {
                settings.disabled = Set(list.compactMap { $0 as? String })
            } else {
                problems.append("topics.disable: expected a list of keys, OBIS codes or groups, got \(describe(disabled))")
            }
        }
        if let interval = number(topics, "min_interval", path: "topics.min_interval", range: 0...86_400) {
            settings.minimumInterval = interval
        }
        if let intervals = value(topics, "intervals", path: "topics.intervals") {
            if let map = intervals as? [String: Any] {
                for (key, seconds) in map.sorted(by: { $0.key < $1.key }) {
                    guard let seconds = seconds as? NSNumber, !isBoolean(seconds), seconds.doubleValue >= 0 else {
                        problems.append("topics.intervals.\(key): expected a number of seconds ≥ 0, got \(describe(seconds))")
                        continue
                    }
                    settings.intervals[key] = seconds.doubleValue
                }
            } else {
                problems.append("topics.intervals: expected an object mapping keys to seconds, got \(describe(intervals))")
            }
        }
        if let change = bool(topics, "only_on_change", path: "topics.only_on_change") { settings.onlyOnChange = change }
        if let guarded = bool(topics, "guard_registers", path: "topics.guard_registers") { settings.guardRegisters = guarded }
    }

    // MARK: - Typed access

    private mutating func check(_ object: [String: Any], _ path: String, allowed: [String]) {
        for key in object.keys.sorted() where !allowed.contains(key) {
            let field = path.isEmpty ? key : "\(path).\(key)"
            if let suggestion = allowed.min(by: { distance(key, $0) < distance(key, $1) }), distance(key, suggestion) <= 3 {
                problems.append("\(field): unknown setting; did you mean \"\(suggestion)\"?")
            } else {
                problems.append("\(field): unknown setting; \(path.isEmpty ? "the file" : path) accepts \(allowed.filter { !$0.hasPrefix("$") && $0 != "comment" }.joined(separator: ", "))")
            }
        }
    }

    /// A present, non-null value.
    private func value(_ object: [String: Any], _ key: String, path: String) -> Any? {
        guard let value = object[key], !(value is NSNull) else { return nil }
        return value
    }

    private mutating func section(_ object: [String: Any], _ key: String, path: String? = nil) -> [String: Any]? {
        guard let value = value(object, key, path: path ?? key) else { return nil }
        guard let section = value as? [String: Any] else {
            problems.append("\(path ?? key): expected an object ({ … }), got \(describe(value))")
            return nil
        }
        return section
    }

    private mutating func string(_ object: [String: Any], _ key: String, path: String) -> String? {
        guard let value = value(object, key, path: path) else { return nil }
        guard let text = value as? String else {
            problems.append("\(path): expected a string, got \(describe(value))")
            return nil
        }
        return text
    }

    private mutating func topic(_ object: [String: Any], _ key: String, path: String) -> String? {
        guard let text = string(object, key, path: path) else { return nil }
        if let problem = TopicMap.problem(with: text) {
            problems.append("\(path): \(problem)")
            return nil
        }
        return text
    }

    private mutating func bool(_ object: [String: Any], _ key: String, path: String) -> Bool? {
        guard let value = value(object, key, path: path) else { return nil }
        guard let number = value as? NSNumber, isBoolean(number) else {
            problems.append("\(path): expected true or false, got \(describe(value))")
            return nil
        }
        return number.boolValue
    }

    private mutating func number(_ object: [String: Any], _ key: String, path: String, range: ClosedRange<Double>) -> Double? {
        guard let value = value(object, key, path: path) else { return nil }
        guard let number = value as? NSNumber, !isBoolean(number) else {
            problems.append("\(path): expected a number, got \(describe(value))")
            return nil
        }
        guard range.contains(number.doubleValue) else {
            problems.append("\(path): \(number) is out of range (\(range.lowerBound.formatted0)…\(range.upperBound.formatted0))")
            return nil
        }
        return number.doubleValue
    }

    private mutating func integer(_ object: [String: Any], _ key: String, path: String, range: ClosedRange<Int>) -> Int? {
        guard let value = number(object, key, path: path, range: Double(range.lowerBound)...Double(range.upperBound)) else { return nil }
        guard value == value.rounded() else {
            problems.append("\(path): expected a whole number, got \(value)")
            return nil
        }
        return Int(value)
    }

    private mutating func file(_ object: [String: Any], _ key: String, path: String) -> String? {
        guard let file = string(object, key, path: path) else { return nil }
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) || isDirectory.boolValue {
            problems.append("\(path): file not found: \(file)")
        } else if !FileManager.default.isReadableFile(atPath: file) {
            problems.append("\(path): file not readable by this user: \(file)")
        }
        return file
    }

    private mutating func directory(_ object: [String: Any], _ key: String, path: String) -> String? {
        guard let directory = string(object, key, path: path) else { return nil }
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) || !isDirectory.boolValue {
            problems.append("\(path): directory not found: \(directory)")
        }
        return directory
    }

    /// A secret given inline, in a file (`<key>_file`) or in an environment variable (`<key>_env`).
    private mutating func secret(_ object: [String: Any], _ key: String, section: String) -> String? {
        let sources = [key, "\(key)_file", "\(key)_env"].filter { object[$0] != nil && !(object[$0] is NSNull) }
        if sources.count > 1 {
            problems.append("\(section): give only one of \(sources.joined(separator: ", "))")
            return nil
        }
        if let inline = string(object, key, path: "\(section).\(key)") { return inline }
        if let path = string(object, "\(key)_file", path: "\(section).\(key)_file") {
            guard let data = FileManager.default.contents(atPath: path) else {
                problems.append("\(section).\(key)_file: cannot read \(path)")
                return nil
            }
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let name = string(object, "\(key)_env", path: "\(section).\(key)_env") {
            guard let value = environment[name], !value.isEmpty else {
                problems.append("\(section).\(key)_env: the environment variable \(name) is not set")
                return nil
            }
            return value
        }
        return nil
    }

    private func describe(_ value: Any) -> String {
        switch value {
        case is NSNull: return "null"
        case let text as String: return "\"\(text)\""
        case let number as NSNumber: return isBoolean(number) ? (number.boolValue ? "true" : "false") : "\(number)"
        case is [Any]: return "a list"
        case is [String: Any]: return "an object"
        default: return "\(value)"
        }
    }

    private func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}

/// JSONSerialization gives booleans as NSNumber too; their type encoding is `c`.
private func isBoolean(_ number: NSNumber) -> Bool {
    String(cString: number.objCType) == "c"
}

private extension Double {
    var formatted0: String { self == rounded() ? String(Int(self)) : String(self) }
}
