/// Something besides MQTT that wants every accepted telegram: the local web page, its API and the history.
///
/// The bridge calls an observer from its reading task, after the telegram was handed to MQTT, in telegram
/// order. An observer must return quickly (it holds up the next telegram); slow work belongs on its own task.
public protocol TelegramObserver: Sendable {
    /// Once, before the first telegram: how to ask the bridge for its current state at any time (for
    /// statistics, health and metrics answered on demand).
    func bridgeStarted(status: @escaping @Sendable () -> BridgeStatus)

    /// An accepted telegram with what was made of it.
    func accepted(_ update: TelegramUpdate)

    /// The bridge is stopping (the source ended or a shutdown was requested): save what must survive.
    func bridgeStopping() async
}

/// One accepted telegram as the bridge's outputs see it.
public struct TelegramUpdate: Sendable {
    /// The telegram.
    public var telegram: Telegram
    /// Its values as published (mapped, units normalised, derived values included), before any throttling.
    public var readings: [Reading]
    /// The telegram as JSON: the same document as the MQTT telegram topic.
    public var json: [UInt8]
    /// When it was accepted, in seconds since 1970 by this machine's clock (the meter's own time is in
    /// ``Telegram/timestamp``).
    public var receivedAt: Double

    /// Creates an update.
    public init(telegram: Telegram, readings: [Reading], json: [UInt8], receivedAt: Double) {
        self.telegram = telegram
        self.readings = readings
        self.json = json
        self.receivedAt = receivedAt
    }
}

/// The bridge's state at one moment, for statistics, health checks and metrics.
public struct BridgeStatus: Sendable {
    /// The connection to the broker.
    public enum MQTTState: String, Sendable, Hashable {
        /// Running without MQTT (`--broker none`).
        case notConfigured = "not_configured"
        /// Connected to the broker.
        case connected
        /// Not connected (connecting, or reconnecting after a loss).
        case disconnected
    }

    /// The statistics document, exactly as published on `<base>/stats`.
    public var statistics: [UInt8]
    /// Telegrams accepted since start.
    public var telegramsAccepted: Int
    /// Telegrams rejected since start, by reason (`crc`, `truncated`, …).
    public var telegramsRejected: [String: Int]
    /// Seconds since the last accepted telegram; nil before the first.
    public var secondsSinceLastTelegram: Double?
    /// The source's state (`connected`, `waiting for data`, `ended`, …).
    public var sourceState: String
    /// The broker connection.
    public var mqtt: MQTTState
    /// Successful broker connections after the first.
    public var mqttReconnects: Int
    /// Messages handed to the broker.
    public var messagesPublished: Int
    /// Seconds since the bridge started.
    public var uptime: Double

    /// Creates a status.
    public init(statistics: [UInt8], telegramsAccepted: Int, telegramsRejected: [String: Int],
                secondsSinceLastTelegram: Double?, sourceState: String, mqtt: MQTTState, mqttReconnects: Int,
                messagesPublished: Int, uptime: Double) {
        self.statistics = statistics
        self.telegramsAccepted = telegramsAccepted
        self.telegramsRejected = telegramsRejected
        self.secondsSinceLastTelegram = secondsSinceLastTelegram
        self.sourceState = sourceState
        self.mqtt = mqtt
        self.mqttReconnects = mqttReconnects
        self.messagesPublished = messagesPublished
        self.uptime = uptime
    }
}
