import CMosquitto
import Synchronization

extension MQTTClient {
    /// One message of a batch for ``publish(_:qos:retain:)``.
    public struct Message: Sendable, Hashable {
        /// The topic; no `+` or `#` wildcards.
        public var topic: String
        /// The payload bytes; an empty retained payload deletes the topic's retained message.
        public var payload: [UInt8]

        /// Creates a message.
        public init(topic: String, payload: [UInt8]) {
            self.topic = topic
            self.payload = payload
        }
    }

    /// Publishes a message. Callable from any thread, including from ``onConnect``.
    ///
    /// While disconnected the message is dropped and counted in ``Statistics/droppedWhileDisconnected``,
    /// whatever the QoS: libmosquitto would otherwise queue QoS 1/2 messages without limit during an outage
    /// and send them all, stale, on reconnect.
    /// - Parameters:
    ///   - topic: the topic; no `+` or `#` wildcards.
    ///   - payload: the payload bytes; an empty retained payload deletes the topic's retained message.
    ///   - qos: 0, 1 or 2.
    ///   - retain: whether the broker keeps it as the topic's retained message.
    /// - Returns: true when the message was handed to libmosquitto for sending, false when it was dropped
    ///   (not connected, or too many QoS 1/2 messages unacknowledged).
    /// - Throws: ``MQTTError`` with code ``MQTTError/Code/invalidArgument`` for an invalid topic, QoS or
    ///   payload size, or ``MQTTError/Code/library`` for another libmosquitto error.
    @discardableResult
    public func publish(topic: String, payload: [UInt8], qos: Int = 0, retain: Bool = false) throws(MQTTError) -> Bool {
        try Self.validate(qos: qos)
        try Self.validate(topic: topic, payloadSize: payload.count)
        let sent = try state.withLock { state throws(MQTTError) -> Bool in
            try publishLocked(&state, topic: topic, payload: payload, qos: qos, retain: retain)
        }
        if sent { wake.signal() }
        return sent
    }

    /// Publishes a text message (UTF-8). See ``publish(topic:payload:qos:retain:)-(_,[UInt8],_,_)``.
    /// - Parameters:
    ///   - topic: the topic; no `+` or `#` wildcards.
    ///   - payload: the text.
    ///   - qos: 0, 1 or 2.
    ///   - retain: whether the broker keeps it as the topic's retained message.
    /// - Returns: true when handed to libmosquitto, false when dropped.
    /// - Throws: ``MQTTError`` for an invalid topic, QoS or payload.
    @discardableResult
    public func publish(topic: String, payload: String, qos: Int = 0, retain: Bool = false) throws(MQTTError) -> Bool {
        try publish(topic: topic, payload: Array(payload.utf8), qos: qos, retain: retain)
    }

    /// Publishes several messages with the same QoS and retain flag, in order, taking the client's lock once
    /// for all of them (one telegram is about 40 messages). Messages with an invalid topic or payload are
    /// skipped, not sent, and do not stop the others.
    /// - Parameters:
    ///   - messages: the messages, sent in this order.
    ///   - qos: 0, 1 or 2.
    ///   - retain: whether the broker keeps them as the topics' retained messages.
    /// - Returns: how many were handed to libmosquitto; the rest were dropped (not connected, backlog full)
    ///   or invalid.
    /// - Throws: ``MQTTError`` with code ``MQTTError/Code/invalidArgument`` only for an invalid QoS.
    @discardableResult
    public func publish(_ messages: [Message], qos: Int = 0, retain: Bool = false) throws(MQTTError) -> Int {
        try Self.validate(qos: qos)
        let sent = state.withLock { state -> Int in
            var sent = 0
            for message in messages {
                do throws(MQTTError) {
                    try Self.validate(topic: message.topic, payloadSize: message.payload.count)
                    if try publishLocked(&state, topic: message.topic, payload: message.payload, qos: qos, retain: retain) {
                        sent += 1
                    }
                } catch {
                    logger.debug("MQTT: \(error)")
                }
            }
            return sent
        }
        // One wake-up for the whole batch: the network thread then writes all of it in one go.
        if sent > 0 { wake.signal() }
        return sent
    }

    private static func validate(qos: Int) throws(MQTTError) {
        guard (0...2).contains(qos) else {
            throw MQTTError(.invalidArgument, "the QoS must be 0, 1 or 2, got \(qos)")
        }
    }

    private static func validate(topic: String, payloadSize: Int) throws(MQTTError) {
        guard !topic.isEmpty, mosquitto_pub_topic_check(topic) == MOSQ_ERR_SUCCESS.rawValue else {
            throw MQTTError(.invalidArgument, "cannot publish to '\(topic)': a topic must be non-empty and contain no + or # wildcards")
        }
        guard payloadSize <= 268_435_455 else {
            throw MQTTError(.invalidArgument, "the payload for '\(topic)' is \(payloadSize) bytes; MQTT allows at most 256 MiB")
        }
    }

    /// Hands one validated message to libmosquitto. Call with `state`'s lock held.
    private func publishLocked(_ state: inout State, topic: String, payload: [UInt8], qos: Int,
                               retain: Bool) throws(MQTTError) -> Bool {
        guard state.lifecycle == .running, state.connected, !state.handleDestroyed else {
            state.statistics.droppedWhileDisconnected += 1
            return false
        }
        if qos > 0 && state.unacknowledged.count >= configuration.maximumUnacknowledged {
            state.statistics.droppedBacklogFull += 1
            return false
        }
        // Counted before the call: libmosquitto's network thread may write the message, and report it, before
        // mosquitto_publish returns. For QoS 1/2 the acknowledgement callback then sees a non-zero
        // `awaitingAcknowledgement`, takes the lock, and so waits until the message ID is recorded below.
        // (libmosquitto's publish takes none of the locks it holds while running callbacks: no deadlock.)
        outstandingCount.add(1, ordering: .relaxed)
        if qos > 0 { awaitingAcknowledgement.add(1, ordering: .sequentiallyConsistent) }
        var messageID: Int32 = 0
        // libmosquitto copies the payload.
        let code = payload.withUnsafeBytes { bytes in
            mosquitto_publish(mosq, &messageID, topic, Int32(bytes.count), bytes.baseAddress, Int32(qos), retain)
        }
        switch code {
        case MOSQ_ERR_SUCCESS.rawValue:
            state.statistics.published += 1
            if qos > 0 { state.unacknowledged.insert(messageID) }
            return true
        case MOSQ_ERR_NO_CONN.rawValue where qos > 0:
            // The connection broke a moment ago and the disconnect callback has not run yet. libmosquitto has
            // queued a QoS 1/2 message anyway and sends it after reconnecting (bounded: this window is short,
            // and further publishes see `connected == false`).
            state.statistics.published += 1
            state.unacknowledged.insert(messageID)
            return true
        default:
            outstandingCount.subtract(1, ordering: .relaxed)
            if qos > 0 { awaitingAcknowledgement.subtract(1, ordering: .sequentiallyConsistent) }
            switch code {
            case MOSQ_ERR_NO_CONN.rawValue:
                // Same window as above; a QoS 0 message is gone.
                state.statistics.droppedWhileDisconnected += 1
                return false
            case MOSQ_ERR_OVERSIZE_PACKET.rawValue, MOSQ_ERR_PAYLOAD_SIZE.rawValue:
                throw MQTTError(.invalidArgument, "the message for '\(topic)' (\(payload.count) bytes) is larger than the broker accepts")
            case MOSQ_ERR_MALFORMED_UTF8.rawValue, MOSQ_ERR_INVAL.rawValue:
                throw MQTTError(.invalidArgument, "cannot publish to '\(topic)': \(MosquittoLibrary.describe(code))")
            default:
                throw MQTTError(.library, "publishing to '\(topic)' failed: \(MosquittoLibrary.describe(code))")
            }
        }
    }
}
