import CMosquitto
import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// libmosquitto calls plain C function pointers, which cannot capture anything; the client is found through
// the handle's userdata pointer instead of a global registry. The pointer is unretained, which is safe
// because callbacks only run (a) on the network thread, which holds a strong reference to the client for its
// whole life, or (b) the log callback, on a thread inside publish()/subscribe()/stop(), whose caller holds a
// reference; and `destroyHandle()` clears the userdata before freeing the handle.
extension MQTTClient {
    /// Points the handle's userdata at this client and installs the callbacks.
    func installCallbacks() {
        mosquitto_user_data_set(mosq, Unmanaged.passUnretained(self).toOpaque())
        mosquitto_connect_v5_callback_set(mosq) { _, userdata, code, _, _ in
            MQTTClient.client(from: userdata)?.didConnect(code: code)
        }
        mosquitto_disconnect_v5_callback_set(mosq) { _, userdata, code, _ in
            MQTTClient.client(from: userdata)?.didDisconnect(code: code)
        }
        mosquitto_publish_v5_callback_set(mosq) { _, userdata, messageID, reasonCode, _ in
            MQTTClient.client(from: userdata)?.didPublish(messageID: messageID, reasonCode: reasonCode)
        }
        mosquitto_message_v5_callback_set(mosq) { _, userdata, message, _ in
            guard let client = MQTTClient.client(from: userdata), let message = message?.pointee,
                  let topic = message.topic else { return }
            // Copy now: libmosquitto frees the message when the callback returns.
            var payload: [UInt8] = []
            if let bytes = message.payload, message.payloadlen > 0 {
                payload = Array(UnsafeRawBufferPointer(start: bytes, count: Int(message.payloadlen)))
            }
            client.continuation.yield(.message(MQTTMessage(topic: String(cString: topic), payload: payload,
                                                           retained: message.retain)))
        }
        listenToLibraryLog(true)
    }

    /// Switches libmosquitto's log callback on or off. While it is set, libmosquitto formats a line with
    /// printf for every packet it sends, which costs more than the rest of publishing a value; so it is on
    /// while connecting (TLS failures are reported only there) and off while connected, unless trace logging
    /// asks for every line.
    func listenToLibraryLog(_ on: Bool) {
        guard on || logger.logLevel > .trace else { return }
        if !on {
            mosquitto_log_callback_set(mosq, nil)
            return
        }
        mosquitto_log_callback_set(mosq) { _, userdata, level, text in
            guard let client = MQTTClient.client(from: userdata), let text else { return }
            let important = level == MOSQ_LOG_ERR || level == MOSQ_LOG_WARNING
            guard important || client.logger.logLevel <= .trace else { return }
            client.didLog(level: level, text: String(cString: text))
        }
    }

    static func client(from userdata: UnsafeMutableRawPointer?) -> MQTTClient? {
        guard let userdata else { return nil }
        return Unmanaged<MQTTClient>.fromOpaque(userdata).takeUnretainedValue()
    }

    /// CONNACK arrived (network thread).
    func didConnect(code: Int32) {
        guard code == 0 else {
            let refusal = refusalError(code: code)
            state.withLock { $0.refusal = refusal }
            return
        }
        listenToLibraryLog(false)
        let (running, failedAttempts) = state.withLock { state -> (Bool, Int) in
            state.sessionConnected = true
            guard state.lifecycle == .running else { return (false, 0) }
            state.connected = true
            state.statistics.connections += 1
            // Messages still unacknowledged from the previous connection are resent by libmosquitto and
            // acknowledged soon; starting the count afresh means a lost acknowledgement can never block
            // QoS 1 publishing for good.
            state.unacknowledged.removeAll()
            awaitingAcknowledgement.store(0, ordering: .sequentiallyConsistent)
            // Queued QoS 0 packets of the old connection were discarded with it; their callbacks never come.
            outstandingCount.store(0, ordering: .relaxed)
            // A clean session forgets subscriptions, so every connect re-issues them.
            for subscription in state.subscriptions {
                issue(subscription)
            }
            let failedAttempts = state.failedAttempts
            state.failedAttempts = 0
            return (true, failedAttempts)
        }
        // A CONNACK that arrives while stopping: no hook, no event, the DISCONNECT is on its way.
        guard running else { return }
        let after = failedAttempts == 0 ? "" : " (after \(failedAttempts) failed attempt\(failedAttempts == 1 ? "" : "s"))"
        logger.info("MQTT: connected to \(configuration.endpoint)\(after)")
        // The hook runs before the event, so "online" and the retained state are queued before anyone
        // watching the events reacts to the connection.
        onConnect?(self)
        continuation.yield(.connected)
    }

    /// The connection ended (network thread): 0 after our own DISCONNECT, otherwise the reason.
    func didDisconnect(code: Int32) {
        let loss = code == 0 ? nil : lossError(code: code, errno: errno)
        state.withLock { state in
            state.connected = false
            if state.loss == nil { state.loss = loss }
        }
    }

    /// The broker acknowledged a QoS 1/2 message, or a QoS 0 message was written (network thread).
    func didPublish(messageID: Int32, reasonCode: Int32) {
        // Nearly always a QoS 0 write with nothing awaiting acknowledgement: then no lock at all, so this
        // thread never waits for a publisher that holds the lock while handing over a telegram.
        if awaitingAcknowledgement.load(ordering: .sequentiallyConsistent) > 0 {
            state.withLock { state in
                if state.unacknowledged.remove(messageID) != nil {
                    awaitingAcknowledgement.subtract(1, ordering: .sequentiallyConsistent)
                }
            }
        }
        outstandingCount.subtract(1, ordering: .relaxed)
        // MQTT 5 reason codes below 0x80 are successes (0x10: "no matching subscribers").
        if reasonCode >= 0x80 {
            let reason = mosquitto_reason_string(reasonCode).map { String(cString: $0) } ?? "reason code \(reasonCode)"
            logger.debug("MQTT: the broker did not accept message \(messageID): \(reason)")
        }
    }

    /// A line from libmosquitto's own log (any thread). Kept at debug/trace level, because it repeats on
    /// every reconnect attempt; the first error line of an attempt is kept for the one user-facing message.
    func didLog(level: Int32, text: String) {
        if level == MOSQ_LOG_ERR {
            diagnostics.withLock { diagnostics in
                if diagnostics.firstError == nil { diagnostics.firstError = text }
            }
        }
        if level == MOSQ_LOG_ERR || level == MOSQ_LOG_WARNING {
            logger.debug("libmosquitto: \(text)")
        } else {
            logger.trace("libmosquitto: \(text)")
        }
    }
}
