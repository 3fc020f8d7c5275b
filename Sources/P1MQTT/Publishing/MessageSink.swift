/// Where the publisher hands its messages: the MQTT client, or anything else that takes topic/payload pairs.
public protocol MessageSink: Sendable {
    /// Sends one message; returns false when it could not be sent now (e.g. not connected).
    @discardableResult
    func send(topic: String, payload: [UInt8], qos: Int, retain: Bool) -> Bool

    /// Sends several messages in order with the same QoS and retain flag; returns how many were sent. The
    /// default sends them one by one; a sink that can hand over a batch more cheaply implements it.
    @discardableResult
    func send(_ messages: [MQTTClient.Message], qos: Int, retain: Bool) -> Int
}

extension MessageSink {
    /// Sends the messages one by one.
    @discardableResult
    public func send(_ messages: [MQTTClient.Message], qos: Int, retain: Bool) -> Int {
        var sent = 0
        for message in messages where send(topic: message.topic, payload: message.payload, qos: qos, retain: retain) {
            sent += 1
        }
        return sent
    }
}

extension MQTTClient: MessageSink {
    /// Publishes through libmosquitto; an invalid topic or payload counts as not sent.
    @discardableResult
    public func send(topic: String, payload: [UInt8], qos: Int, retain: Bool) -> Bool {
        (try? publish(topic: topic, payload: payload, qos: qos, retain: retain)) ?? false
    }

    /// Publishes the batch through libmosquitto under one lock; invalid messages count as not sent.
    @discardableResult
    public func send(_ messages: [MQTTClient.Message], qos: Int, retain: Bool) -> Int {
        (try? publish(messages, qos: qos, retain: retain)) ?? 0
    }
}
