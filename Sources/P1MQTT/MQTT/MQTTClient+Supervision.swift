import CMosquitto
import Dispatch
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// The network thread. libmosquitto's own loop (`loop_forever`, `loop_start`) stops reconnecting for good
// after a refused login or a TLS failure, which for a daemon means silently never publishing again. So the
// client runs its own thread: a blocking `mosquitto_connect`, then `mosquitto_loop` until the connection
// ends, then a backoff delay, forever until `stop()`.
extension MQTTClient {
    /// How one connection attempt ended.
    enum SessionOutcome {
        /// `stop()` was called.
        case stopped
        /// The attempt failed before the broker accepted it.
        case failed(MQTTError)
        /// The broker accepted the connection, and later it ended.
        case lost(MQTTError)
    }

    /// Starts the network thread; returns 0 or the `pthread_create` error.
    func startNetworkThread() -> Int32 {
        // The thread owns one reference to the client until it ends: this is what keeps the unretained
        // userdata pointer valid while callbacks can run.
        let context = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let code = pthread_create(&thread, nil, { context in
            guard let context else { return nil }
            let client = Unmanaged<MQTTClient>.fromOpaque(context).takeRetainedValue()
            client.superviseConnection()
            return nil
        }, context)
        guard code == 0 else {
            Unmanaged<MQTTClient>.fromOpaque(context).release()
            return code
        }
        // Nobody joins it: stop() waits on a semaphore instead, so that it can give up after a while.
        pthread_detach(thread)
        return 0
    }

    /// The network thread's body.
    func superviseConnection() {
        state.withLock { $0.networkThread = pthread_self() }
        var backoff = ReconnectBackoff(minimum: configuration.minimumReconnectDelay,
                                       maximum: configuration.maximumReconnectDelay)
        // The failure last logged and delivered, so a broker that stays away produces one log line and one
        // event, not one per attempt. Cleared by a successful connection.
        var reported: MQTTError?
        let maximumDelay = ReconnectBackoff.describe(configuration.maximumReconnectDelay)
        attempts: while isRunning {
            switch runSession() {
            case .stopped:
                break attempts
            case .lost(let error):
                backoff.reset()
                reported = nil
                onDisconnect?(self)
                logger.warning("MQTT: connection to \(configuration.endpoint) lost (\(error.message)); reconnecting")
                continuation.yield(.connectionLost(error))
            case .failed(let error):
                state.withLock { $0.failedAttempts += 1 }
                if error != reported {
                    reported = error
                    logger.error("MQTT: cannot connect to \(configuration.endpoint) (\(error.message)); retrying every ≤\(maximumDelay)")
                    continuation.yield(.connectionRefused(error))
                } else {
                    logger.debug("MQTT: connecting to \(configuration.endpoint) failed again (\(error.message))")
                }
            }
            guard pause(for: backoff.nextDelay()) else { break }
        }
        finishSupervision()
    }

    var isRunning: Bool {
        state.withLock { $0.lifecycle == .running }
    }

    /// Waits before the next attempt; `stop()` cuts the wait short. Returns whether to go on.
    func pause(for delay: Duration) -> Bool {
        let milliseconds = Int(ReconnectBackoff.seconds(delay) * 1000)
        _ = wakeUp.wait(timeout: .now() + .milliseconds(milliseconds))
        return isRunning
    }

    /// One connection attempt and, if it succeeds, the connection's whole life.
    func runSession() -> SessionOutcome {
        diagnostics.withLock { $0 = Diagnostics() }
        listenToLibraryLog(true)
        state.withLock { state in
            state.sessionConnected = false
            state.disconnectRequested = false
            state.refusal = nil
            state.loss = nil
        }
        let keepalive = Int32(clamping: configuration.keepalive.components.seconds)
        // Blocking: name lookup and TCP connect happen here, so their errors come back with errno set. The
        // TLS handshake and CONNACK follow in mosquitto_loop.
        var code = mosquitto_connect(mosq, configuration.host, Int32(configuration.port), keepalive)
        var savedErrno = errno
        if code == MOSQ_ERR_SUCCESS.rawValue {
            let clock = ContinuousClock()
            let connectDeadline = clock.now + configuration.connectTimeout
            var disconnectDeadline: ContinuousClock.Instant?
            var established = false
            while true {
                // Returns after at most a second, or at once when a packet is queued from another thread, so
                // stop() and the connect timeout are noticed promptly without spinning. Once the broker has
                // accepted the connection, p1mqtt's own loop takes over (see MQTTClient+NetworkLoop.swift).
                code = established ? serviceConnection(timeout: 1000) : mosquitto_loop(mosq, 1000, 1)
                savedErrno = errno
                guard code == MOSQ_ERR_SUCCESS.rawValue else { break }
                let (running, sessionConnected) = state.withLock { ($0.lifecycle == .running, $0.sessionConnected) }
                established = sessionConnected
                if !running {
                    // stop() sends DISCONNECT itself only once connected; make sure one goes out in every
                    // case, then give it a moment to be written before giving up on a clean goodbye.
                    if let deadline = disconnectDeadline {
                        if clock.now > deadline { break }
                    } else {
                        disconnectDeadline = clock.now + .seconds(2)
                        state.withLock { requestDisconnect(&$0) }
                    }
                } else if !sessionConnected && clock.now > connectDeadline {
                    let timeout = ReconnectBackoff.describe(configuration.connectTimeout)
                    let hint = configuration.tls == nil ? "does the port expect TLS?" : "is it a TLS port?"
                    return .failed(MQTTError(.timeout, "no answer to CONNECT within \(timeout); is \(configuration.endpoint) an MQTT broker, \(hint)"))
                }
            }
        }
        let (running, sessionConnected, refusal, loss) = state.withLock { state in
            state.connected = false
            return (state.lifecycle == .running, state.sessionConnected, state.refusal, state.loss)
        }
        if !running { return .stopped }
        if let refusal { return .failed(refusal) }
        if sessionConnected { return .lost(loss ?? lossError(code: code, errno: savedErrno)) }
        return .failed(connectFailure(code: code, errno: savedErrno))
    }

    /// The network thread's last act: free the handle, end the event stream, release `stop()`.
    func finishSupervision() {
        destroyHandle()
        continuation.finish()
        supervisionFinished.signal()
    }

    // MARK: - Turning codes into messages a user can act on

    /// Why the broker refused CONNECT, from the CONNACK code (MQTT 3.1.1) or reason code (MQTT 5).
    func refusalError(code: Int32) -> MQTTError {
        let credentials = configuration.username == nil
            ? "the broker does not accept anonymous clients; configure a username and password"
            : "check the username/password and the broker's password file"
        switch (configuration.protocolVersion, code) {
        case (.v311, 4), (.v5, 0x86):
            return MQTTError(.notAuthorized, "bad username or password: \(credentials)")
        case (.v311, 5), (.v5, 0x87), (.v5, 0x8C):
            return MQTTError(.notAuthorized, "not authorised: \(credentials)")
        case (.v5, 0x8A):
            return MQTTError(.notAuthorized, "banned by the broker")
        case (.v311, 1), (.v5, 0x84):
            return MQTTError(.refused, "the broker does not support MQTT \(configuration.protocolVersion.rawValue); try the other protocol version")
        case (.v311, 2), (.v5, 0x85):
            return MQTTError(.refused, "the broker rejected the client ID '\(configuration.clientID)'; choose another one")
        case (.v311, 3), (.v5, 0x88), (.v5, 0x89):
            return MQTTError(.refused, "the broker is unavailable or busy")
        default:
            let text = configuration.protocolVersion == .v5
                ? mosquitto_reason_string(code).map { String(cString: $0) } ?? "reason code \(code)"
                : mosquitto_connack_string(code).map { String(cString: $0) } ?? "CONNACK code \(code)"
            return MQTTError(.refused, "the broker refused the connection: \(text)")
        }
    }

    /// Why an established connection ended, from a disconnect callback or `mosquitto_loop` code.
    func lossError(code: Int32, errno: Int32) -> MQTTError {
        // Under MQTT 5 a DISCONNECT from the broker passes its reason code (≥ 0x80) instead of a libmosquitto
        // error code.
        if configuration.protocolVersion == .v5 && code >= 0x80 {
            let reason = mosquitto_reason_string(code).map { String(cString: $0) } ?? "reason code \(code)"
            let hint = code == 0x8E ? "; another client connected with the client ID '\(configuration.clientID)'" : ""
            return MQTTError(.connectionLost, "the broker disconnected: \(reason)\(hint)")
        }
        switch code {
        case MOSQ_ERR_CONN_LOST.rawValue:
            // mosquitto 2.0 closes the older of two connections with the same client ID without saying why
            // (later brokers send MQTT 5 reason 0x8E, handled above): name the likely cause when it repeats.
            return MQTTError(.connectionLost, "the broker closed the connection; if this repeats every few seconds, another client is connecting with the same client ID '\(configuration.clientID)'")
        case MOSQ_ERR_KEEPALIVE.rawValue:
            let seconds = configuration.keepalive.components.seconds
            return MQTTError(.connectionLost, "no answer from the broker within the \(seconds) s keepalive")
        case MOSQ_ERR_ERRNO.rawValue:
            return MQTTError(.connectionLost, String(cString: strerror(errno)))
        default:
            return MQTTError(.connectionLost, MosquittoLibrary.describe(code))
        }
    }

    /// Why an attempt failed before CONNACK: lookup, TCP connect, TLS handshake, or the broker hanging up.
    func connectFailure(code: Int32, errno: Int32) -> MQTTError {
        let logged = diagnostics.withLock { $0.firstError }
        if configuration.tls != nil && (code == MOSQ_ERR_TLS.rawValue || logged?.contains("SSL") == true) {
            // "Error: host name verification failed." reads better inside the sentence without its full stop.
            let detail = logged.map { ": \($0.hasSuffix(".") ? String($0.dropLast()) : $0)" } ?? ""
            if logged?.contains("certificate verify failed") == true {
                // libmosquitto frees the connection before OpenSSL's reason (expired, unknown CA, …) can be
                // asked for, so name every cause, with this machine's clock: a Raspberry Pi without network
                // time starts in the past and then finds every certificate "not yet valid".
                var now = timespec()
                clock_gettime(CLOCK_REALTIME, &now)
                // The date only: the line is logged again only when it changes, and a wrong clock is off by
                // days or years, not minutes.
                let date = MeterTimestamp(secondsSince1970: Int64(now.tv_sec)).description.prefix(10)
                return MQTTError(.tls, "TLS handshake failed\(detail): the broker's certificate is not signed by the configured CA, or has expired or is not yet valid (today is \(date) on this machine; check its clock)")
            }
            return MQTTError(.tls, "TLS handshake failed\(detail); check the CA certificate and that the broker's certificate is valid for '\(configuration.host)'")
        }
        switch code {
        case MOSQ_ERR_ERRNO.rawValue where errno == ECONNREFUSED:
            return MQTTError(.unreachable, "connection refused; is the broker running and listening on port \(configuration.port)?")
        case MOSQ_ERR_ERRNO.rawValue:
            return MQTTError(.unreachable, String(cString: strerror(errno)))
        case MOSQ_ERR_EAI.rawValue:
            // libmosquitto leaves getaddrinfo's code in errno.
            let reason = gai_strerror(errno).map { String(cString: $0) } ?? "lookup failed"
            return MQTTError(.unreachable, "cannot resolve the host name '\(configuration.host)': \(reason)")
        case MOSQ_ERR_CONN_LOST.rawValue:
            let hint = configuration.tls == nil ? "; does the port expect TLS?" : ""
            return MQTTError(.refused, "the broker closed the connection before accepting it\(hint)")
        case MOSQ_ERR_PROTOCOL.rawValue:
            return MQTTError(.refused, "protocol error; is \(configuration.endpoint) an MQTT broker?")
        default:
            let detail = logged.map { " (\($0))" } ?? ""
            return MQTTError(.library, "\(MosquittoLibrary.describe(code))\(detail)")
        }
    }
}
