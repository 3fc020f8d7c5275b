#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import Mapping

/// Turns checked ``Settings`` into a runnable ``Bridge/Configuration``.
public enum BridgeFactory {
    private static func serialSettings(_ text: String?) throws(ConfigurationError) -> SerialSettings.Selection {
        do { return try SerialSettings.Selection(parsing: text) } catch {
            throw ConfigurationError(["source: \(error.description)"])
        }
    }

    /// The machine's host name (part of the id of meters that send none).
    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "p1mqtt" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "p1mqtt" : name
    }

    /// Builds the bridge configuration.
    /// - Throws: ``ConfigurationError`` for a source that cannot be used here or a file that cannot be opened.
    public static func configuration(from settings: Settings, logger: Logger = Logger(label: "p1mqtt"))
        throws(ConfigurationError) -> Bridge.Configuration
    {
        let spec: SourceSpec
        do { spec = try SourceSpec(parsing: settings.source) } catch { throw ConfigurationError(["source: \(error.description)"]) }
        var decoder = TelegramDecoder.Options(variant: settings.variant, maximumTelegramSize: settings.maximumTelegramSize)
        if let key = settings.key {
            let keyBytes: [UInt8]
            do { keyBytes = try GCMCipher.readKey(key) } catch {
                throw ConfigurationError(["meter.key: the decryption key \(error.description)"])
            }
            let authentication = settings.authenticationKey.flatMap(GCMCipher.parseKey) ?? GCMCipher.smartyAuthenticationKey
            do {
                decoder.cipher = try GCMCipher(key: keyBytes, authenticationKey: authentication, verifiesTag: settings.verifyTag)
            } catch {
                throw ConfigurationError(["meter.key: \(error.description)"])
            }
        }
        let source: any ByteSource
        switch spec {
        case .simulator(let profile):
            // With a key, the simulated meter encrypts what it sends, so the whole decryption path runs.
            source = SimulatorByteSource(profile: profile, cipher: decoder.cipher)
        case .file(let path):
            let file = FileByteSource(path: path, loops: settings.loop)
            do { try file.validate() } catch { throw ConfigurationError(["source: \(error.description)"]) }
            source = file
        case .standardInput:
            source = FileByteSource(path: nil)
        case .serial(let device, let settingsText):
            source = SerialByteSource(device: device, settings: try serialSettings(settingsText), logger: logger)
        case .tcp(let host, let port):
            source = TCPByteSource(host: host, port: port, watchdog: .seconds(settings.watchdog), logger: logger)
        case .rfxtrxSerial(let device):
            // The RFXtrx433 talks 38400 8N1 itself, whatever the meter behind it uses; its packets are not
            // telegrams, so automatic detection would never settle.
            source = RFXtrxByteSource(transport: SerialByteSource(
                device: device, settings: .fixed(SerialSettings(baud: 38400)), logger: logger))
        case .rfxtrxTCP(let host, let port):
            source = RFXtrxByteSource(transport: TCPByteSource(host: host, port: port, watchdog: .seconds(settings.watchdog),
                                                               logger: logger))
        }
        let topics = TopicMap(base: settings.baseTopic, renames: settings.renames, disabled: settings.disabled)
        let publish = PublishOptions(
            topics: topics, qos: settings.qos, retain: settings.retain,
            throttle: ReadingThrottle(interval: settings.minimumInterval, intervals: settings.intervals,
                                      onlyOnChange: settings.onlyOnChange),
            telegramTopic: settings.telegramTopic, rawTopic: settings.rawTopic, guardsRegisters: settings.guardRegisters,
            statsTopic: settings.statsInterval > 0 ? "stats" : nil,
            mapping: ReadingMapper.Options(powerInWatts: settings.powerInWatts, derivedValues: settings.derivedValues),
            discovery: settings.discovery
                ? DiscoveryOptions(prefix: settings.discoveryPrefix, mode: settings.discoveryMode, meterName: settings.meterName,
                                   meterID: settings.meterID)
                : nil,
            hostName: Self.hostName())
        // `none`: no MQTT at all, for the local web page, API and history only.
        guard settings.broker.lowercased() != "none" else {
            return Bridge.Configuration(
                source: source, isReplay: spec.isReplay, decoder: decoder, publish: publish, mqtt: nil,
                rate: settings.rate, exitAtEnd: settings.exitAtEnd, statsInterval: settings.statsInterval)
        }
        let address: BrokerAddress
        switch BrokerAddress.parse(settings.broker, defaultPort: settings.tls == nil ? 1883 : 8883) {
        case .success(let parsed): address = parsed
        case .failure(let problem): throw ConfigurationError(["mqtt.broker: \(problem)"])
        }
        let clientID = settings.clientID ?? (settings.baseTopic == "p1mqtt"
            ? MQTTConfiguration.defaultClientID()
            : "\(MQTTConfiguration.defaultClientID())-\(TopicMap.segment(settings.baseTopic))")
        let mqtt = MQTTConfiguration(
            host: address.host, port: address.port, clientID: clientID, keepalive: .seconds(settings.keepalive),
            protocolVersion: settings.protocolVersion, username: settings.username, password: settings.password,
            tls: settings.tls, minimumReconnectDelay: .seconds(settings.reconnectDelayMinimum),
            maximumReconnectDelay: .seconds(settings.reconnectDelayMaximum), connectTimeout: .seconds(settings.connectTimeout))
        return Bridge.Configuration(
            source: source, isReplay: spec.isReplay, decoder: decoder, publish: publish, mqtt: mqtt,
            rate: settings.rate, exitAtEnd: settings.exitAtEnd, statsInterval: settings.statsInterval)
    }
}
