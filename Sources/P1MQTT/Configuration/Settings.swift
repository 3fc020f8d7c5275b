/// Everything configurable, as read from `config/p1mqtt.json` and overridden by command-line flags.
/// Every field has a default, so a first run needs no file at all.
public struct Settings: Sendable, Hashable {
    /// The source specification (`simulator`, `file:PATH`, `serial:/dev/ttyUSB0`, …).
    public var source = "simulator"

    /// Seconds without a byte after which a network source reconnects.
    public var watchdog = 60

    /// The `meter` section.
    public var variant: MeterVariant?
    /// The decryption key (32 hex digits), from the file, a key file or an environment variable.
    public var key: String?
    /// The authentication key for encrypted meters (default: the public Smarty key).
    public var authenticationKey: String?
    /// Check the GCM tag of encrypted frames.
    public var verifyTag = true
    /// The largest telegram accepted, in bytes.
    public var maximumTelegramSize = TelegramFramer.defaultMaximumTelegramSize

    /// `host[:port]` of the broker.
    public var broker = "localhost:1883"
    /// The MQTT client id; nil derives one from the host name.
    public var clientID: String?
    /// MQTT user name.
    public var username: String?
    /// MQTT password (never logged).
    public var password: String?
    /// Keepalive in seconds.
    public var keepalive = 30
    /// Seconds to wait for the broker to accept a connection (TCP, TLS and CONNACK) before trying again.
    public var connectTimeout = 15
    /// The first delay before reconnecting, in seconds; it doubles after each failed attempt.
    public var reconnectDelayMinimum = 1
    /// The longest delay between reconnect attempts, in seconds.
    public var reconnectDelayMaximum = 60
    /// `3.1.1` or `5`.
    public var protocolVersion = MQTTConfiguration.ProtocolVersion.v311
    /// TLS settings; nil for a plain connection.
    public var tls: MQTTConfiguration.TLS?

    /// The base topic.
    public var baseTopic = "p1mqtt"
    /// The JSON telegram topic below the base; nil to switch it off.
    public var telegramTopic: String? = "telegram"
    /// The raw telegram topic below the base; nil (the default) for none.
    public var rawTopic: String?
    /// QoS of state messages.
    public var qos = 0
    /// Retain state messages.
    public var retain = true
    /// Topic renames by key or OBIS code.
    public var renames: [String: String] = [:]
    /// Keys, OBIS codes and groups not to publish.
    public var disabled: Set<String> = []
    /// Minimum seconds between publications of a value.
    public var minimumInterval = 0.0
    /// Minimum seconds per key.
    public var intervals: [String: Double] = [:]
    /// Publish a value only when it changed.
    public var onlyOnChange = false
    /// Withhold implausible register values.
    public var guardRegisters = true
    /// Seconds between publications of `<base>/stats`; 0 switches the topic off.
    public var statsInterval = 60.0

    /// Replay pace for recorded captures.
    public var rate = ReplayRate.meter
    /// Exit when a replay ends.
    public var exitAtEnd = false
    /// Replay a file again and again.
    public var loop = false

    /// Publish Home Assistant discovery.
    public var discovery = true
    /// The Home Assistant discovery prefix.
    public var discoveryPrefix = "homeassistant"
    /// Per-entity or per-device discovery.
    public var discoveryMode = DiscoveryOptions.Mode.entity
    /// The electricity meter's name in Home Assistant.
    public var meterName = "Electricity meter"
    /// The meter id for meters that send none.
    public var meterID: String?
    /// Publish power in W instead of kW.
    public var powerInWatts = false
    /// Publish derived values (net power, totals across tariffs, gas/water flow).
    public var derivedValues = true

    /// The log level (`trace` … `critical`).
    public var logLevel = "info"

    /// Where the local web page and API listen (`127.0.0.1:8080`); nil (the default) for no web server.
    public var httpListen: String?
    /// The bearer token the web API requires; nil for none.
    public var httpToken: String?
    /// Seconds without a telegram after which `/healthz` reports unhealthy.
    public var healthWindow = 60.0
    /// Where accepted telegrams are served to TCP clients (`127.0.0.1:2000`), like ser2net; nil (the default) for
    /// no relay.
    public var relayListen: String?
    /// The directory of the local history database; nil (the default) for no history.
    public var dataDirectory: String?
    /// How long hourly, daily and monthly history rows are kept.
    public var keepHours = 48
    /// Days of daily rows.
    public var keepDays = 14
    /// Months of monthly rows.
    public var keepMonths = 24

    /// The defaults.
    public init() {}
}
