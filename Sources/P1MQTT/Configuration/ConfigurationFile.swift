import FoundationEssentials
import Mapping

/// Reads `p1mqtt.json` strictly: unknown keys (with a "did you mean"), wrong types, values out of range and
/// malformed keys are all reported at once, each naming its field, before anything connects.
public enum ConfigurationFile {
    /// A secret the configuration file may give (inline, `_file` or `_env`) and a command-line flag may replace.
    public enum Secret: String, Sendable, Hashable, CaseIterable {
        /// `mqtt.password` (the flag `--password-file`).
        case mqttPassword = "mqtt.password"
        /// `meter.key` (the flag `--key`).
        case meterKey = "meter.key"
        /// `http.token`.
        case httpToken = "http.token"
    }

    /// Reads and checks a configuration file.
    /// - Parameters:
    ///   - givenElsewhere: secrets a flag gives instead: the file's form of them is still checked, but its
    ///     `_file` is not read nor its `_env` required (a service may not be able to read the file's choice).
    /// - Throws: ``ConfigurationError`` listing every problem.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                            givenElsewhere: Set<Secret> = []) throws(ConfigurationError) -> Settings
    {
        let data: [UInt8]
        switch SecretFile.bytes(path) {
        case .success(let bytes): data = bytes
        case .failure(let problem): throw ConfigurationError(["\(path): cannot read the configuration file: \(problem)"])
        }
        return try parse(Data(data), name: path, environment: environment, givenElsewhere: givenElsewhere)
    }

    /// Checks a configuration document.
    public static func parse(_ data: Data, name: String = "configuration",
                             environment: [String: String] = ProcessInfo.processInfo.environment,
                             givenElsewhere: Set<Secret> = []) throws(ConfigurationError) -> Settings
    {
        let syntax = JSONSyntaxCheck.problems(in: Array(data))
        if !syntax.isEmpty { throw ConfigurationError(syntax.map { "\(name): \($0)" }) }
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch let DecodingError.dataCorrupted(context) {
            let reason = (context.underlyingError.map { "\($0)" } ?? context.debugDescription)
            throw ConfigurationError(["\(name): not valid JSON: \(reason)"])
        } catch {
            throw ConfigurationError(["\(name): not valid JSON: \(error)"])
        }
        var reader = Reader(environment: environment, givenElsewhere: givenElsewhere)
        let settings = reader.read(root)
        if !reader.problems.isEmpty { throw ConfigurationError(reader.problems) }
        return settings
    }
}

/// Walks the document, collecting problems instead of stopping at the first.
private struct Reader {
    let environment: [String: String]
    let givenElsewhere: Set<ConfigurationFile.Secret>
    var problems: [String] = []

    mutating func read(_ root: JSONValue) -> Settings {
        var settings = Settings()
        guard case .object(let object) = root else {
            problems.append("the configuration must be a JSON object ({ … })")
            return settings
        }
        check(object, "", allowed: ["source", "connection", "meter", "mqtt", "topics", "replay", "homeassistant", "logging", "http",
                                    "history", "relay", "$schema", "comment"])
        if let connection = section(object, "connection") {
            check(connection, "connection", allowed: ["watchdog"])
            if let watchdog = integer(connection, "watchdog", path: "connection.watchdog", range: 5...86_400) {
                settings.watchdog = watchdog
            }
        }
        if let source = string(object, "source", path: "source") {
            do { _ = try SourceSpec(parsing: source) } catch { problems.append("source: \(error.description)") }
            settings.source = source
        }
        if let meter = section(object, "meter") { readMeter(meter, &settings) }
        if let mqtt = section(object, "mqtt") { readMQTT(mqtt, &settings) }
        if let topics = section(object, "topics") { readTopics(topics, &settings) }
        if let replay = section(object, "replay") {
            check(replay, "replay", allowed: ["rate", "exit_at_end", "loop"])
            if let loop = bool(replay, "loop", path: "replay.loop") { settings.loop = loop }
            if let rate = value(replay, "rate", path: "replay.rate") {
                let text: String
                switch rate {
                case .string(let value): text = value
                case .number(let value): text = String(value)
                default: text = ""
                }
                if let parsed = ReplayRate(text) { settings.rate = parsed } else {
                    problems.append("replay.rate: expected \"max\", \"meter\" or a number of seconds, got \(rate.described)")
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
                if name.trimmedWhitespace.isEmpty {
                    problems.append("homeassistant.device_name: must not be empty")
                } else {
                    settings.meterName = name
                }
            }
            if let id = string(homeAssistant, "meter_id", path: "homeassistant.meter_id") { settings.meterID = id }
        }
        if let http = section(object, "http") {
            check(http, "http", allowed: ["listen", "token", "token_file", "token_env", "health_window"])
            if let listen = string(http, "listen", path: "http.listen") {
                if case .failure(let problem) = BrokerAddress.parseListen(listen, defaultPort: BrokerAddress.defaultWebPort) {
                    problems.append("http.listen: \(problem)")
                }
                settings.httpListen = listen
            }
            if let token = secret(http, "token", section: "http") {
                if token.count < 16 {
                    problems.append("http.token: use at least 16 characters (e.g. the output of: openssl rand -hex 16)")
                }
                settings.httpToken = token
            }
            if let window = number(http, "health_window", path: "http.health_window", range: 5...86_400) {
                settings.healthWindow = window
            }
        }
        if let relay = section(object, "relay") {
            check(relay, "relay", allowed: ["listen"])
            if let listen = string(relay, "listen", path: "relay.listen") {
                if case .failure(let problem) = BrokerAddress.parseListen(listen, defaultPort: BrokerAddress.defaultRelayPort) {
                    problems.append("relay.listen: \(problem)")
                }
                settings.relayListen = listen
            }
        }
        if let history = section(object, "history") {
            check(history, "history", allowed: ["data_dir", "keep_hours", "keep_days", "keep_months"])
            if let directory = string(history, "data_dir", path: "history.data_dir") {
                if directory.isEmpty { problems.append("history.data_dir: must not be empty") } else { settings.dataDirectory = directory }
            }
            if let hours = integer(history, "keep_hours", path: "history.keep_hours", range: 1...87_600) { settings.keepHours = hours }
            if let days = integer(history, "keep_days", path: "history.keep_days", range: 1...3_650) { settings.keepDays = days }
            if let months = integer(history, "keep_months", path: "history.keep_months", range: 1...1_200) { settings.keepMonths = months }
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

    private mutating func readMeter(_ meter: [String: JSONValue], _ settings: inout Settings) {
        check(meter, "meter", allowed: ["variant", "key", "key_file", "key_env", "authentication_key", "verify_tag", "max_telegram_size"])
        if let variant = string(meter, "variant", path: "meter.variant") {
            if let parsed = MeterVariant(name: variant) { settings.variant = parsed } else {
                problems.append("meter.variant: unknown variant \"\(variant)\"; use one of \(MeterVariant.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        if let key = secret(meter, "key", section: "meter") {
            do {
                _ = try GCMCipher.readKey(key)
                settings.key = key
            } catch {
                problems.append("meter.key: the decryption key \(error.description)")
            }
        }
        if let key = string(meter, "authentication_key", path: "meter.authentication_key") {
            do {
                _ = try GCMCipher.readKey(key)
                settings.authenticationKey = key
            } catch {
                problems.append("meter.authentication_key: \(error.description)")
            }
        }
        if let verify = bool(meter, "verify_tag", path: "meter.verify_tag") { settings.verifyTag = verify }
        if let size = integer(meter, "max_telegram_size", path: "meter.max_telegram_size", range: 1024...1_048_576) {
            settings.maximumTelegramSize = size
        }
    }

    private mutating func readMQTT(_ mqtt: [String: JSONValue], _ settings: inout Settings) {
        check(mqtt, "mqtt", allowed: ["broker", "client_id", "username", "password", "password_file", "password_env", "keepalive",
                                      "connect_timeout", "reconnect_delay_min", "reconnect_delay_max", "protocol", "tls"])
        if let broker = string(mqtt, "broker", path: "mqtt.broker") {
            if case .failure(let problem) = BrokerAddress.parse(broker) { problems.append("mqtt.broker: \(problem)") }
            settings.broker = broker
        }
        if let id = string(mqtt, "client_id", path: "mqtt.client_id") { settings.clientID = id }
        if let user = string(mqtt, "username", path: "mqtt.username") { settings.username = user }
        if let password = secret(mqtt, "password", section: "mqtt") { settings.password = password }
        if let keepalive = integer(mqtt, "keepalive", path: "mqtt.keepalive", range: 5...3600) { settings.keepalive = keepalive }
        if let timeout = integer(mqtt, "connect_timeout", path: "mqtt.connect_timeout", range: 1...600) { settings.connectTimeout = timeout }
        let minimum = integer(mqtt, "reconnect_delay_min", path: "mqtt.reconnect_delay_min", range: 1...3600)
        let maximum = integer(mqtt, "reconnect_delay_max", path: "mqtt.reconnect_delay_max", range: 1...3600)
        if let minimum { settings.reconnectDelayMinimum = minimum }
        if let maximum { settings.reconnectDelayMaximum = maximum }
        if (minimum != nil || maximum != nil), settings.reconnectDelayMaximum < settings.reconnectDelayMinimum {
            problems.append("mqtt.reconnect_delay_max (\(settings.reconnectDelayMaximum) s) is below mqtt.reconnect_delay_min (\(settings.reconnectDelayMinimum) s)")
        }
        if let version = value(mqtt, "protocol", path: "mqtt.protocol") {
            switch version {
            case .string("3.1.1"), .string("311"), .string("3"), .number(3), .number(311): settings.protocolVersion = .v311
            case .string("5"), .string("5.0"), .number(5): settings.protocolVersion = .v5
            default: problems.append("mqtt.protocol: expected \"3.1.1\" or \"5\", got \(version.described)")
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

    private mutating func readTopics(_ topics: [String: JSONValue], _ settings: inout Settings) {
        check(topics, "topics", allowed: ["base", "telegram", "raw", "qos", "retain", "rename", "disable", "min_interval", "intervals", "only_on_change", "guard_registers", "power_unit", "derived", "stats_interval"])
        if let interval = number(topics, "stats_interval", path: "topics.stats_interval", range: 0...86_400) {
            settings.statsInterval = interval
        }
        if let unit = string(topics, "power_unit", path: "topics.power_unit") {
            switch unit {
            case "kW": settings.powerInWatts = false
            case "W": settings.powerInWatts = true
            default: problems.append("topics.power_unit: expected \"kW\" or \"W\", got \"\(unit)\"")
            }
        }
        if let derived = bool(topics, "derived", path: "topics.derived") { settings.derivedValues = derived }
        if let base = topic(topics, "base", path: "topics.base") { settings.baseTopic = base }
        if topics["telegram"] == .null { settings.telegramTopic = nil } else if let telegram = topic(topics, "telegram", path: "topics.telegram") {
            if telegram.hasPrefix("/") { problems.append("topics.telegram: a topic below the base has no leading '/'") }
            settings.telegramTopic = telegram
        }
        if let raw = topic(topics, "raw", path: "topics.raw") {
            if raw.hasPrefix("/") { problems.append("topics.raw: a topic below the base has no leading '/'") }
            settings.rawTopic = raw
        }
        if let qos = integer(topics, "qos", path: "topics.qos", range: 0...1) { settings.qos = qos }
        if let retain = bool(topics, "retain", path: "topics.retain") { settings.retain = retain }
        if let renames = value(topics, "rename", path: "topics.rename") {
            if case .object(let map) = renames {
                for (key, target) in map.sorted(by: { $0.key < $1.key }) {
                    guard case .string(let target) = target else {
                        problems.append("topics.rename.\(key): expected a topic string, got \(target.described)")
                        continue
                    }
                    if let problem = TopicMap.problem(with: target) { problems.append("topics.rename.\(key): \(problem)") }
                    if let problem = ValueNames.problem(with: key, use: .rename) { problems.append("topics.rename: \(problem)") }
                    settings.renames[key] = target
                }
            } else {
                problems.append("topics.rename: expected an object mapping keys or OBIS codes to topics, got \(renames.described)")
            }
        }
        if let disabled = value(topics, "disable", path: "topics.disable") {
            let names: [String]? = {
                guard case .array(let list) = disabled else { return nil }
                let names = list.compactMap { item -> String? in
                    if case .string(let name) = item { return name }
                    return nil
                }
                return names.count == list.count ? names : nil
            }()
            for name in names ?? [] {
                if let problem = ValueNames.problem(with: name, use: .disable) { problems.append("topics.disable: \(problem)") }
            }
            if let names { settings.disabled = Set(names) } else {
                problems.append("topics.disable: expected a list of keys, OBIS codes or groups, got \(disabled.described)")
            }
        }
        if let interval = number(topics, "min_interval", path: "topics.min_interval", range: 0...86_400) {
            settings.minimumInterval = interval
        }
        if let intervals = value(topics, "intervals", path: "topics.intervals") {
            if case .object(let map) = intervals {
                for (key, seconds) in map.sorted(by: { $0.key < $1.key }) {
                    guard case .number(let value) = seconds, value >= 0 else {
                        problems.append("topics.intervals.\(key): expected a number of seconds ≥ 0, got \(seconds.described)")
                        continue
                    }
                    if let problem = ValueNames.problem(with: key, use: .interval) { problems.append("topics.intervals: \(problem)") }
                    settings.intervals[key] = value
                }
            } else {
                problems.append("topics.intervals: expected an object mapping keys to seconds, got \(intervals.described)")
            }
        }
        if let change = bool(topics, "only_on_change", path: "topics.only_on_change") { settings.onlyOnChange = change }
        if let guarded = bool(topics, "guard_registers", path: "topics.guard_registers") { settings.guardRegisters = guarded }
        // p1mqtt's own topics, by what they carry.
        var own = ["status": "status", "statistics": "stats"]
        if let telegram = settings.telegramTopic { own["telegram"] = telegram }
        if let raw = settings.rawTopic { own["raw telegram"] = raw }
        problems += ValueNames.renameCollisions(settings.renames, disabled: settings.disabled, base: settings.baseTopic,
                                                ownTopics: own)
    }

    // MARK: - Typed access

    private mutating func check(_ object: [String: JSONValue], _ path: String, allowed: [String]) {
        for key in object.keys.sorted() where !allowed.contains(key) {
            let field = path.isEmpty ? key : "\(path).\(key)"
            if let suggestion = allowed.min(by: { editDistance(key, $0) < editDistance(key, $1) }), editDistance(key, suggestion) <= 3 {
                problems.append("\(field): unknown setting; did you mean \"\(suggestion)\"?")
            } else {
                problems.append("\(field): unknown setting; \(path.isEmpty ? "the file" : path) accepts \(allowed.filter { !$0.hasPrefix("$") && $0 != "comment" }.joined(separator: ", "))")
            }
        }
    }

    /// A present, non-null value.
    private func value(_ object: [String: JSONValue], _ key: String, path: String) -> JSONValue? {
        guard let value = object[key], value != .null else { return nil }
        return value
    }

    private mutating func section(_ object: [String: JSONValue], _ key: String, path: String? = nil) -> [String: JSONValue]? {
        guard let value = value(object, key, path: path ?? key) else { return nil }
        guard case .object(let section) = value else {
            problems.append("\(path ?? key): expected an object ({ … }), got \(value.described)")
            return nil
        }
        return section
    }

    private mutating func string(_ object: [String: JSONValue], _ key: String, path: String) -> String? {
        guard let value = value(object, key, path: path) else { return nil }
        guard case .string(let text) = value else {
            problems.append("\(path): expected a string, got \(value.described)")
            return nil
        }
        return text
    }

    private mutating func topic(_ object: [String: JSONValue], _ key: String, path: String) -> String? {
        guard let text = string(object, key, path: path) else { return nil }
        if let problem = TopicMap.problem(with: text) {
            problems.append("\(path): \(problem)")
            return nil
        }
        return text
    }

    private mutating func bool(_ object: [String: JSONValue], _ key: String, path: String) -> Bool? {
        guard let value = value(object, key, path: path) else { return nil }
        guard case .bool(let flag) = value else {
            problems.append("\(path): expected true or false, got \(value.described)")
            return nil
        }
        return flag
    }

    private mutating func number(_ object: [String: JSONValue], _ key: String, path: String, range: ClosedRange<Double>) -> Double? {
        guard let value = value(object, key, path: path) else { return nil }
        guard case .number(let number) = value else {
            problems.append("\(path): expected a number, got \(value.described)")
            return nil
        }
        guard range.contains(number) else {
            problems.append("\(path): \(value.described) is out of range (\(range.lowerBound.formatted0)…\(range.upperBound.formatted0))")
            return nil
        }
        return number
    }

    private mutating func integer(_ object: [String: JSONValue], _ key: String, path: String, range: ClosedRange<Int>) -> Int? {
        guard let value = number(object, key, path: path, range: Double(range.lowerBound)...Double(range.upperBound)) else { return nil }
        guard value == value.rounded() else {
            problems.append("\(path): expected a whole number, got \(value)")
            return nil
        }
        return Int(value)
    }

    private mutating func file(_ object: [String: JSONValue], _ key: String, path: String) -> String? {
        guard let file = string(object, key, path: path) else { return nil }
        if !FileKind.isRegularFile(file) {
            problems.append("\(path): file not found: \(file)")
        } else if !FileManager.default.isReadableFile(atPath: file) {
            problems.append("\(path): file not readable by this user: \(file)")
        }
        return file
    }

    private mutating func directory(_ object: [String: JSONValue], _ key: String, path: String) -> String? {
        guard let directory = string(object, key, path: path) else { return nil }
        if !FileKind.isDirectory(directory) {
            problems.append("\(path): directory not found: \(directory)")
        }
        return directory
    }

    /// A secret given inline, in a file (`<key>_file`) or in an environment variable (`<key>_env`).
    private mutating func secret(_ object: [String: JSONValue], _ key: String, section: String) -> String? {
        let sources = [key, "\(key)_file", "\(key)_env"].filter { object[$0] != nil && object[$0] != .null }
        if sources.count > 1 {
            problems.append("\(section): give only one of \(sources.joined(separator: ", "))")
            return nil
        }
        let inline = string(object, key, path: "\(section).\(key)")
        let file = string(object, "\(key)_file", path: "\(section).\(key)_file")
        let variable = string(object, "\(key)_env", path: "\(section).\(key)_env")
        // A flag replaces the file's secret: reading the file's choice could only fail where the flag is the fix.
        if let secret = ConfigurationFile.Secret(rawValue: "\(section).\(key)"), givenElsewhere.contains(secret) {
            return nil
        }
        if let inline { return inline }
        if let file {
            switch SecretFile.text(file) {
            case .success(let text): return text
            case .failure(let problem):
                problems.append("\(section).\(key)_file: cannot read \(file): \(problem)")
                return nil
            }
        }
        if let variable {
            guard let value = environment[variable], !value.isEmpty else {
                problems.append("\(section).\(key)_env: the environment variable \(variable) is not set")
                return nil
            }
            return value
        }
        return nil
    }
}

private extension String {
    var trimmedWhitespace: String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}

private extension Double {
    var formatted0: String { self == rounded() ? String(Int(self)) : String(self) }
}
