import Mapping

/// What the publisher publishes, where, and how often.
public struct PublishOptions: Sendable {
    /// Topic names, renames and switched-off values.
    public var topics: TopicMap
    /// QoS for state messages (0 or 1).
    public var qos: Int
    /// Whether state messages are retained (so a new subscriber sees the latest value at once).
    public var retain: Bool
    /// Publishing intervals and averaging.
    public var throttle: ReadingThrottle
    /// The JSON telegram topic below the base, or nil for none.
    public var telegramTopic: String?
    /// The raw telegram topic below the base, or nil for none (the default).
    public var rawTopic: String?
    /// Withhold implausible register values (0, backwards, impossible jumps).
    public var guardsRegisters: Bool
    /// The availability topic below the base.
    public var statusTopic: String
    /// The statistics topic below the base, or nil for none.
    public var statsTopic: String?
    /// How values are expressed (power in W, derived values).
    public var mapping: ReadingMapper.Options
    /// Home Assistant discovery, or nil for none.
    public var discovery: DiscoveryOptions?
    /// The host name (part of the id of meters that send none).
    public var hostName: String

    /// Creates options; the defaults publish every value of every telegram, retained, at QoS 0.
    public init(topics: TopicMap = TopicMap(), qos: Int = 0, retain: Bool = true, throttle: ReadingThrottle = ReadingThrottle(),
                telegramTopic: String? = "telegram", rawTopic: String? = nil, guardsRegisters: Bool = true,
                statusTopic: String = "status", statsTopic: String? = nil, mapping: ReadingMapper.Options = .init(),
                discovery: DiscoveryOptions? = DiscoveryOptions(), hostName: String = "p1mqtt") {
        self.topics = topics
        self.qos = qos
        self.retain = retain
        self.throttle = throttle
        self.telegramTopic = telegramTopic
        self.rawTopic = rawTopic
        self.guardsRegisters = guardsRegisters
        self.statusTopic = statusTopic
        self.statsTopic = statsTopic
        self.mapping = mapping
        self.discovery = discovery
        self.hostName = hostName
    }

    /// `<base>/status`.
    public var availabilityTopic: String { topics.own(statusTopic) }
}
