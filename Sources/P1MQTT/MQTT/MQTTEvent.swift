/// A change of the connection or an incoming message, delivered through ``MQTTClient/events``.
///
/// Connection events are produced once per change, not once per reconnect attempt: a broker that stays away
/// for an hour yields one ``connectionRefused(_:)``, then one ``connected`` when it is back.
public enum MQTTEvent: Sendable, Hashable {
    /// The broker accepted the connection (the first one or a reconnect). Subscriptions have been re-issued
    /// and the `onConnect` hook has run.
    case connected
    /// An established connection ended unexpectedly; the client reconnects by itself.
    case connectionLost(MQTTError)
    /// A connection attempt failed: the broker refused it (e.g. bad credentials), could not be reached, or the
    /// TLS handshake failed. The client keeps retrying; this is produced again only when the reason changes.
    case connectionRefused(MQTTError)
    /// A message arrived on a topic subscribed with ``MQTTClient/subscribe(topic:qos:)``.
    case message(MQTTMessage)
}

/// A message received from the broker.
public struct MQTTMessage: Sendable, Hashable {
    /// The topic it was published on.
    public let topic: String
    /// The payload bytes, copied out of libmosquitto's buffer.
    public let payload: [UInt8]
    /// True when the broker sent a stored retained message (typically right after subscribing), false for a
    /// message published while subscribed.
    public let retained: Bool

    /// Creates a message.
    /// - Parameters:
    ///   - topic: the topic.
    ///   - payload: the payload bytes.
    ///   - retained: whether it is a retained message.
    public init(topic: String, payload: [UInt8], retained: Bool) {
        self.topic = topic
        self.payload = payload
        self.retained = retained
    }

    /// The payload decoded as UTF-8 (invalid sequences replaced), for text payloads such as `online`.
    public var text: String { String(decoding: payload, as: UTF8.self) }
}
