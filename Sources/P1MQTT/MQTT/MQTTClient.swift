import CMosquitto
import Dispatch
import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// A connection to one MQTT broker through libmosquitto that stays up by itself.
///
/// After ``start()`` a dedicated network thread connects, and reconnects forever with a capped exponential
/// backoff after every failure, including refused credentials and TLS failures, where libmosquitto's own
/// loop would give up for good. Each change of the connection is logged once and delivered once through
/// ``events``. ``publish(topic:payload:qos:retain:)`` and ``subscribe(topic:qos:)`` can be called from any
/// thread; subscriptions are re-issued on every reconnect, and ``onConnect`` runs after each connect so the
/// caller can publish its availability and retained state again.
///
/// While disconnected nothing is queued: publishes are dropped and counted (``Statistics``), because a
/// burst of stale meter readings after an outage is worse than a gap.
///
/// - Important: Call ``stop()`` when done. The network thread keeps the client alive until then.
public final class MQTTClient: @unchecked Sendable {
    // Why `@unchecked Sendable` is sound:
    // - `mosq` never changes. libmosquitto is in threaded mode (`mosquitto_threaded_set`), in which
    //   publish/subscribe/disconnect may be called from any thread while the network thread runs
    //   `mosquitto_loop` or its own loop (`serviceConnection`): in that mode they only queue packets, and only
    //   the network thread touches the socket.
    // - The handle is destroyed exactly once, in `destroyHandle()`, while holding `state`'s lock. Every call
    //   into libmosquitto from a thread other than the network thread is made while holding that lock after
    //   checking `handleDestroyed`; the network thread destroys the handle only as its last act.
    // - All mutable Swift state lives in the two `Mutex`es; everything else is an immutable, Sendable `let`.

    /// Counters since the client was created.
    public struct Statistics: Sendable, Hashable {
        /// Messages handed to libmosquitto for sending while connected.
        public internal(set) var published = 0
        /// Messages not sent because the client was not connected (or not started, or stopped).
        public internal(set) var droppedWhileDisconnected = 0
        /// QoS 1/2 messages not sent because ``MQTTConfiguration/maximumUnacknowledged`` messages were still
        /// waiting for the broker's acknowledgement (a stalled connection).
        public internal(set) var droppedBacklogFull = 0
        /// Successful connections, the first one included.
        public internal(set) var connections = 0
    }

    /// The configuration the client was created with.
    public let configuration: MQTTConfiguration
    /// Connection changes and received messages, in order. Bounded: when nobody reads, the oldest events are
    /// discarded. Finishes after ``stop()``. Iterate it from one task only.
    public let events: AsyncStream<MQTTEvent>
    /// Runs on the network thread after every successful connect, before ``MQTTEvent/connected`` is
    /// delivered, with publishing already possible: the place to publish `online` and re-send retained state.
    public let onConnect: (@Sendable (MQTTClient) -> Void)?
    /// Runs on the network thread after an established connection ended, before the next attempt (so before
    /// the next ``onConnect``); not after ``stop()``.
    public let onDisconnect: (@Sendable (MQTTClient) -> Void)?

    let continuation: AsyncStream<MQTTEvent>.Continuation
    let logger: Logger
    /// The libmosquitto handle; see the comment at the top of the class for who may use it when.
    let mosq: OpaquePointer
    let state = Mutex(State())
    /// Messages handed to libmosquitto whose write (QoS 0) or acknowledgement (QoS 1/2) is still pending.
    /// An atomic rather than part of `state`: libmosquitto reports every QoS 0 write from its network thread,
    /// and taking `state`'s lock there for each message made that thread and the publisher contend for it.
    let outstandingCount = Atomic<Int>(0)
    /// `state.unacknowledged.count`, readable without the lock, so the write callback of a QoS 0 message
    /// only takes the lock when QoS 1/2 messages are actually awaiting their acknowledgement.
    let awaitingAcknowledgement = Atomic<Int>(0)
    /// Kept apart from `state` because libmosquitto logs from inside calls made while `state` is locked.
    let diagnostics = Mutex(Diagnostics())
    /// Signalled by ``stop()`` to cut a reconnect delay short.
    let wakeUp = DispatchSemaphore(value: 0)
    /// Wakes the network thread from its `poll` when packets were queued while connected.
    let wake = WakeSignal()
    /// Signalled by the network thread when it has finished and destroyed the handle.
    let supervisionFinished = DispatchSemaphore(value: 0)

    /// How many events are kept for a slow reader.
    static let eventBufferSize = 256
    /// How long ``stop()`` waits for the network thread. Normally it takes milliseconds; only a blocking TCP
    /// connect to an unresponsive host can take longer, and shutdown should not wait minutes for that.
    static let stopTimeout: Duration = .seconds(5)

    struct Subscription: Sendable, Hashable {
        var topic: String
        var qos: Int
    }

    struct State: Sendable {
        enum Lifecycle: Sendable { case idle, running, stopping, stopped }
        var lifecycle = Lifecycle.idle
        var handleDestroyed = false
        /// True between a successful CONNACK and the end of that connection: publishing is possible.
        var connected = false
        /// Whether the current connection attempt got as far as a successful CONNACK.
        var sessionConnected = false
        var disconnectRequested = false
        /// The network thread, so stop() can tell when it is called from a callback on that thread.
        var networkThread: pthread_t?
        /// Why the broker refused the current attempt, from the connect callback.
        var refusal: MQTTError?
        /// Why the current connection ended, from the disconnect callback.
        var loss: MQTTError?
        /// Failed attempts since the last successful connect, for the "connected" log line.
        var failedAttempts = 0
        var subscriptions: [Subscription] = []
        /// Message IDs of QoS 1/2 publishes not yet acknowledged by the broker.
        var unacknowledged: Set<Int32> = []
        var statistics = Statistics()
    }

    struct Diagnostics: Sendable {
        /// The first error line libmosquitto logged during the current attempt. TLS failures are reported
        /// only this way (e.g. `OpenSSL Error[0]: error:0A000086:SSL routines::certificate verify failed`).
        var firstError: String?
    }

    /// Creates a client; it does not connect until ``start()``.
    /// - Parameters:
    ///   - configuration: the broker and how to reach it.
    ///   - logger: where connection changes are logged (once each) and libmosquitto's own log goes (at
    ///     debug/trace level).
    ///   - onConnect: run on the network thread after every successful connect; see ``onConnect``. It
    ///     receives the client so it need not capture it.
    ///   - onDisconnect: run on the network thread after an established connection was lost; see
    ///     ``onDisconnect``.
    /// - Throws: ``MQTTError`` for an invalid configuration, unreadable TLS files, or when libmosquitto
    ///   cannot be set up.
    public init(configuration: MQTTConfiguration, logger: Logger = Logger(label: "p1mqtt.mqtt"),
                onConnect: (@Sendable (MQTTClient) -> Void)? = nil,
                onDisconnect: (@Sendable (MQTTClient) -> Void)? = nil) throws(MQTTError) {
        try configuration.validate()
        let initialisation = MosquittoLibrary.initialisation
        guard initialisation == MOSQ_ERR_SUCCESS.rawValue else {
            throw MQTTError(.library, "libmosquitto failed to initialise: \(MosquittoLibrary.describe(initialisation))")
        }
        // A clean session: p1mqtt only publishes state, so there is nothing worth keeping on the broker, and
        // subscriptions are re-issued on every connect anyway.
        guard let handle = mosquitto_new(configuration.clientID, true, nil) else {
            throw MQTTError(.library, "libmosquitto could not create a client: \(String(cString: strerror(errno)))")
        }
        do {
            try Self.configure(handle, with: configuration)
        } catch {
            mosquitto_destroy(handle)
            throw error
        }
        self.configuration = configuration
        self.logger = logger
        self.onConnect = onConnect
        self.onDisconnect = onDisconnect
        self.mosq = handle
        (events, continuation) = AsyncStream.makeStream(of: MQTTEvent.self,
                                                        bufferingPolicy: .bufferingNewest(Self.eventBufferSize))
        installCallbacks()
        if configuration.tls?.insecure == true {
            logger.warning("MQTT: TLS host name verification is disabled (insecure); anyone able to redirect the traffic to \(configuration.host) can impersonate the broker")
        }
    }

    deinit {
        // Reached only when the network thread is not running (it holds a reference while it runs).
        destroyHandle()
        continuation.finish()
    }

    /// Applies the configuration to a fresh handle. Everything here must happen before the first connect.
    private static func configure(_ handle: OpaquePointer, with configuration: MQTTConfiguration) throws(MQTTError) {
        func check(_ code: Int32, _ what: String) throws(MQTTError) {
            guard code != MOSQ_ERR_SUCCESS.rawValue else { return }
            throw MQTTError(.invalidConfiguration, "\(what): \(MosquittoLibrary.describe(code))")
        }
        // Threaded mode makes publish() from other threads only queue packets and wake the network thread,
        // instead of writing to the socket (and running callbacks) on the caller's thread.
        try check(mosquitto_threaded_set(handle, true), "cannot enable libmosquitto's threaded mode")
        // No Nagle: the network loop corks the socket around each batch instead (MQTTClient+NetworkLoop.swift),
        // so a telegram's messages leave together and at once, rather than after the broker's delayed ACK.
        try check(mosquitto_int_option(handle, MOSQ_OPT_TCP_NODELAY, 1), "cannot disable Nagle's algorithm")
        let version = configuration.protocolVersion == .v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311
        try check(mosquitto_int_option(handle, MOSQ_OPT_PROTOCOL_VERSION, version),
                  "cannot select MQTT \(configuration.protocolVersion.rawValue)")
        if let username = configuration.username {
            try check(mosquitto_username_pw_set(handle, username, configuration.password),
                      "the MQTT username or password is not valid (must be UTF-8 without NUL)")
        }
        if let will = configuration.will {
            let code = will.payload.withUnsafeBytes { bytes in
                mosquitto_will_set(handle, will.topic, Int32(clamping: bytes.count), bytes.baseAddress,
                                   Int32(will.qos), will.retain)
            }
            try check(code, "the last will on '\(will.topic)' is not valid")
        }
        if let tls = configuration.tls {
            // Without a password callback OpenSSL would prompt on the terminal for an encrypted key and block
            // the daemon; answering "no password" turns that into a TLS error in the log instead.
            let noKeyPassword: @convention(c) (UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?) -> Int32 = { _, _, _, _ in 0 }
            if tls.caFile != nil || tls.caDirectory != nil {
                try check(mosquitto_tls_set(handle, tls.caFile, tls.caDirectory, tls.certificateFile, tls.keyFile,
                                            noKeyPassword),
                          "the TLS settings were rejected (check the CA, certificate and key files are PEM)")
            } else {
                try check(mosquitto_int_option(handle, MOSQ_OPT_TLS_USE_OS_CERTS, 1),
                          "cannot use the system's trusted CA certificates")
                if tls.certificateFile != nil {
                    try check(mosquitto_tls_set(handle, nil, "/etc/ssl/certs", tls.certificateFile, tls.keyFile,
                                                noKeyPassword),
                              "the TLS client certificate settings were rejected (check the files are PEM)")
                }
            }
            if tls.insecure {
                try check(mosquitto_tls_insecure_set(handle, true), "cannot disable TLS host name verification")
            }
        }
    }

    // MARK: - Lifecycle

    /// Starts the network thread, which connects and keeps the connection up until ``stop()``. Returns at
    /// once; watch ``events`` or the log for the outcome. Calling it again while running does nothing.
    /// - Throws: ``MQTTError`` when the client was already stopped (create a new one), or when the thread
    ///   cannot be created.
    public func start() throws(MQTTError) {
        let lifecycle = state.withLock { state in
            let previous = state.lifecycle
            if previous == .idle { state.lifecycle = .running }
            return previous
        }
        switch lifecycle {
        case .idle:
            break
        case .running:
            return
        case .stopping, .stopped:
            throw MQTTError(.invalidArgument, "this MQTT client was stopped and cannot be started again; create a new one")
        }
        logger.info("MQTT: connecting to \(configuration) (libmosquitto \(MosquittoLibrary.version))")
        let code = startNetworkThread()
        if code != 0 {
            state.withLock { $0.lifecycle = .idle }
            throw MQTTError(.library, "cannot start the MQTT network thread: \(String(cString: strerror(code)))")
        }
    }

    /// Disconnects cleanly (so the broker does not publish the last will), stops the network thread and
    /// frees libmosquitto's resources. Publish `offline` before calling it. Blocks until the network thread
    /// has finished, normally milliseconds (at most a few seconds), except when called from ``onConnect``,
    /// where it returns at once and the network thread finishes after the hook. Safe to call more than once;
    /// a stopped client cannot be started again.
    public func stop() {
        enum Action { case nothing, destroy, stopThread(wasConnected: Bool) }
        let action = state.withLock { state -> Action in
            switch state.lifecycle {
            case .idle:
                state.lifecycle = .stopped
                return .destroy
            case .running:
                state.lifecycle = .stopping
                let wasConnected = state.connected
                if wasConnected {
                    // Queues the DISCONNECT and wakes the network thread from its select(). Done under the
                    // lock so the network thread cannot destroy the handle in between.
                    requestDisconnect(&state)
                }
                return .stopThread(wasConnected: wasConnected)
            case .stopping, .stopped:
                return .nothing
            }
        }
        switch action {
        case .nothing:
            return
        case .destroy:
            destroyHandle()
            continuation.finish()
        case .stopThread(let wasConnected):
            wakeUp.signal()
            let calledFromNetworkThread = state.withLock { state in
                state.networkThread.map { pthread_equal($0, pthread_self()) != 0 } ?? false
            }
            // From a callback (e.g. onConnect) the thread cannot be waited for: it is this thread. It sees the
            // stop as soon as the callback returns, disconnects and cleans up by itself.
            if calledFromNetworkThread { return }
            let seconds = ReconnectBackoff.seconds(Self.stopTimeout)
            if supervisionFinished.wait(timeout: .now() + .milliseconds(Int(seconds * 1000))) == .timedOut {
                logger.warning("MQTT: a connection attempt to \(configuration.endpoint) is still pending; not waiting for it any longer (it is cleaned up when it ends)")
            } else if wasConnected {
                logger.info("MQTT: disconnected from \(configuration.endpoint)")
            } else {
                logger.info("MQTT: stopped trying to connect to \(configuration.endpoint)")
            }
        }
    }

    /// Sends DISCONNECT once per connection. Call with `state`'s lock held.
    func requestDisconnect(_ state: inout State) {
        guard !state.disconnectRequested, !state.handleDestroyed else { return }
        state.disconnectRequested = true
        _ = mosquitto_disconnect(mosq)
        wake.signal()
    }

    /// The one place the handle is freed. Idempotent.
    func destroyHandle() {
        state.withLock { state in
            guard !state.handleDestroyed else { return }
            state.handleDestroyed = true
            state.connected = false
            // Detach Swift first: nothing may call back into this object from inside mosquitto_destroy.
            mosquitto_user_data_set(mosq, nil)
            mosquitto_destroy(mosq)
        }
    }

    // MARK: - Publishing and subscribing

    /// Whether the broker has accepted the connection and it has not been lost since.
    public var isConnected: Bool {
        state.withLock { $0.connected }
    }

    /// Messages handed to libmosquitto and not yet written to the socket (QoS 0) or acknowledged (QoS 1/2).
    /// libmosquitto's send queue is unbounded, so a producer faster than the network (a replay at full speed)
    /// waits while this is high.
    public var outstanding: Int {
        // Briefly negative when a write callback overtakes the increment of its own publish.
        max(0, outstandingCount.load(ordering: .relaxed))
    }

    /// The counters.
    public var statistics: Statistics {
        state.withLock { $0.statistics }
    }

    /// Subscribes to a topic filter, now if connected and again after every reconnect. Messages arrive as
    /// ``MQTTEvent/message(_:)``. Subscribing to the same filter again only changes its QoS.
    /// - Parameters:
    ///   - topic: a topic filter; `+` and `#` wildcards are allowed.
    ///   - qos: the maximum QoS to receive with, 0, 1 or 2.
    /// - Throws: ``MQTTError`` with code ``MQTTError/Code/invalidArgument`` for an invalid filter or QoS.
    public func subscribe(topic: String, qos: Int = 0) throws(MQTTError) {
        guard (0...2).contains(qos) else {
            throw MQTTError(.invalidArgument, "the QoS must be 0, 1 or 2, got \(qos)")
        }
        guard !topic.isEmpty, mosquitto_sub_topic_check(topic) == MOSQ_ERR_SUCCESS.rawValue else {
            throw MQTTError(.invalidArgument, "cannot subscribe to '\(topic)': not a valid topic filter (+ and # must fill a whole level, # only last)")
        }
        state.withLock { state in
            if let index = state.subscriptions.firstIndex(where: { $0.topic == topic }) {
                state.subscriptions[index].qos = qos
            } else {
                state.subscriptions.append(Subscription(topic: topic, qos: qos))
            }
            if state.connected && !state.handleDestroyed {
                issue(Subscription(topic: topic, qos: qos))
                wake.signal()
            }
        }
    }

    /// Stops a subscription made with ``subscribe(topic:qos:)``; it is not re-issued after reconnects.
    /// - Parameter topic: the same filter as passed to ``subscribe(topic:qos:)``.
    public func unsubscribe(topic: String) {
        state.withLock { state in
            state.subscriptions.removeAll { $0.topic == topic }
            if state.connected && !state.handleDestroyed {
                _ = mosquitto_unsubscribe(mosq, nil, topic)
                wake.signal()
            }
        }
    }

    /// Sends SUBSCRIBE. Call with `state`'s lock held and the handle alive.
    func issue(_ subscription: Subscription) {
        let code = mosquitto_subscribe(mosq, nil, subscription.topic, Int32(subscription.qos))
        // NO_CONN: the connection just broke; the subscription is re-issued on the next connect.
        if code != MOSQ_ERR_SUCCESS.rawValue && code != MOSQ_ERR_NO_CONN.rawValue {
            logger.warning("MQTT: cannot subscribe to '\(subscription.topic)': \(MosquittoLibrary.describe(code))")
        }
    }
}
