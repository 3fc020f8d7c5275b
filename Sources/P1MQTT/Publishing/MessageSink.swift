/// Where the publisher hands its messages: the MQTT client, or anything else that takes topic/payload pairs.
public protocol MessageSink: Sendable {
    /// Sends one message; returns false when it could not be sent now (e.g. not connected).
    @discardableResult
    func send(topic: String, payload: [UInt8], qos: Int, retain: Bool) -> Bool
}

extension MQTTClient: MessageSink {
    /// Publishes through libmosquitto; an invalid topic or payload counts as not sent.
    @discardableResult
    public func send(topic: String, payload: [UInt8], qos: Int, retain: Bool) -> Bool {
        (try? publish(topic: topic, payload: payload, qos: qos, retain: retain)) ?? false
    }
}
