#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Everything needed to reach one MQTT broker. A value type, checked by ``MQTTClient/init(configuration:logger:onConnect:)``.
///
/// The password is never part of ``description``, so a configuration can be logged as a whole.
public struct MQTTConfiguration: Sendable, CustomStringConvertible {
    /// The MQTT protocol version spoken to the broker.
    ///
    /// The default is 3.1.1: every broker in use with home automation speaks it, p1mqtt needs none of the
    /// version 5 features, and with 3.1.1 the refusal codes are few and well known. Version 5 is available
    /// for brokers that require it; both are tested against mosquitto.
    public enum ProtocolVersion: String, Sendable, Hashable, CaseIterable {
        /// MQTT 3.1.1 (the default).
        case v311 = "3.1.1"
        /// MQTT 5.
        case v5 = "5"
    }

    /// TLS settings. Server certificate verification, including the host name, is always on unless
    /// ``insecure`` is set.
    public struct TLS: Sendable, Hashable {
        /// A PEM file with the CA certificate(s) that signed the broker's certificate.
        public var caFile: String?
        /// A directory of PEM CA certificates (hashed as by `openssl rehash`).
        public var caDirectory: String?
        /// The client certificate (PEM), for brokers that require client certificates; needs ``keyFile``.
        public var certificateFile: String?
        /// The private key of ``certificateFile`` (PEM, not encrypted).
        public var keyFile: String?
        /// Skip the check that the broker's certificate names ``MQTTConfiguration/host``. The certificate
        /// chain is still verified. Only for testing: anyone who can redirect the traffic can impersonate
        /// the broker.
        public var insecure: Bool

        /// Creates TLS settings. Without ``caFile`` and ``caDirectory`` the operating system's trusted CAs are
        /// used, which suits brokers with a certificate from a public CA.
        /// - Parameters:
        ///   - caFile: PEM file with the trusted CA certificate(s).
        ///   - caDirectory: directory of trusted CA certificates.
        ///   - certificateFile: client certificate, if the broker asks for one.
        ///   - keyFile: the client certificate's private key.
        ///   - insecure: disable the host name check (a warning is logged).
        public init(caFile: String? = nil, caDirectory: String? = nil, certificateFile: String? = nil,
                    keyFile: String? = nil, insecure: Bool = false) {
            self.caFile = caFile
            self.caDirectory = caDirectory
            self.certificateFile = certificateFile
            self.keyFile = keyFile
            self.insecure = insecure
        }
    }

    /// The message the broker publishes for the client when the connection ends without a clean disconnect
    /// (crash, power cut, network loss). A clean ``MQTTClient/stop()`` does not trigger it, so publish
    /// `offline` yourself before stopping.
    public struct Will: Sendable, Hashable {
        /// The topic, e.g. `p1mqtt/status`.
        public var topic: String
        /// The payload, e.g. the bytes of `offline`.
        public var payload: [UInt8]
        /// The QoS (0, 1 or 2).
        public var qos: Int
        /// Whether the broker keeps it as the topic's retained message.
        public var retain: Bool

        /// Creates a last will.
        /// - Parameters:
        ///   - topic: the topic to publish on.
        ///   - payload: the payload bytes.
        ///   - qos: 0, 1 or 2.
        ///   - retain: keep it as the retained message.
        public init(topic: String, payload: [UInt8], qos: Int = 1, retain: Bool = true) {
            self.topic = topic
            self.payload = payload
            self.qos = qos
            self.retain = retain
        }

        /// Creates a last will with a text payload.
        /// - Parameters:
        ///   - topic: the topic to publish on.
        ///   - payload: the payload text, sent as UTF-8.
        ///   - qos: 0, 1 or 2.
        ///   - retain: keep it as the retained message.
        public init(topic: String, payload: String, qos: Int = 1, retain: Bool = true) {
            self.init(topic: topic, payload: Array(payload.utf8), qos: qos, retain: retain)
        }
    }

    /// The broker's host name or address.
    public var host: String
    /// The broker's TCP port.
    public var port: Int
    /// The MQTT client identifier. Must be unique on the broker: a second client with the same ID makes the
    /// broker drop the first.
    public var clientID: String
    /// The keepalive interval; a dead connection is noticed after about 1.5 times this. At least 5 s.
    public var keepalive: Duration
    /// The protocol version; see ``ProtocolVersion`` for why 3.1.1 is the default.
    public var protocolVersion: ProtocolVersion
    /// The username, or nil to connect anonymously.
    public var username: String?
    /// The password. Never logged. See ``readPassword(file:)`` and ``readPassword(environmentVariable:)``.
    public var password: String?
    /// TLS settings, or nil for a plain TCP connection.
    public var tls: TLS?
    /// The last will, or nil for none.
    public var will: Will?
    /// The first delay before reconnecting; it doubles after each failed attempt.
    public var minimumReconnectDelay: Duration
    /// The longest delay between reconnect attempts.
    public var maximumReconnectDelay: Duration
    /// How long to wait for the broker's answer to CONNECT (including the TLS handshake) before trying again.
    public var connectTimeout: Duration
    /// The most QoS 1/2 messages waiting for the broker's acknowledgement; further ones are dropped and counted
    /// until acknowledgements arrive, so a stalled connection cannot build an unbounded backlog of stale
    /// readings.
    public var maximumUnacknowledged: Int

    /// Creates a configuration.
    /// - Parameters:
    ///   - host: broker host name or address.
    ///   - port: broker port; nil means 1883, or 8883 when `tls` is set.
    ///   - clientID: client identifier; nil means ``defaultClientID()`` (`p1mqtt-<hostname>`).
    ///   - keepalive: keepalive interval, at least 5 s.
    ///   - protocolVersion: 3.1.1 (default) or 5.
    ///   - username: username, or nil for anonymous.
    ///   - password: password, or nil.
    ///   - tls: TLS settings, or nil for plain TCP.
    ///   - will: last will, or nil.
    ///   - minimumReconnectDelay: first reconnect delay (default 1 s).
    ///   - maximumReconnectDelay: cap of the exponential reconnect delay (default 60 s).
    ///   - connectTimeout: how long to wait for the broker to accept a connection (default 15 s).
    ///   - maximumUnacknowledged: cap on QoS 1/2 messages awaiting acknowledgement (default 1000).
    public init(
        host: String,
        port: Int? = nil,
        clientID: String? = nil,
        keepalive: Duration = .seconds(30),
        protocolVersion: ProtocolVersion = .v311,
        username: String? = nil,
        password: String? = nil,
        tls: TLS? = nil,
        will: Will? = nil,
        minimumReconnectDelay: Duration = .seconds(1),
        maximumReconnectDelay: Duration = .seconds(60),
        connectTimeout: Duration = .seconds(15),
        maximumUnacknowledged: Int = 1000
    ) {
        self.host = host
        self.port = port ?? (tls == nil ? 1883 : 8883)
        self.clientID = clientID ?? Self.defaultClientID()
        self.keepalive = keepalive
        self.protocolVersion = protocolVersion
        self.username = username
        self.password = password
        self.tls = tls
        self.will = will
        self.minimumReconnectDelay = minimumReconnectDelay
        self.maximumReconnectDelay = maximumReconnectDelay
        self.connectTimeout = connectTimeout
        self.maximumUnacknowledged = maximumUnacknowledged
    }

    /// `p1mqtt-<hostname>`: stable across restarts (so the broker replaces a stale session of the same
    /// daemon instead of keeping two) and distinct between machines.
    public static func defaultClientID() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        let name: String
        if gethostname(&buffer, buffer.count - 1) == 0 {
            name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        } else {
            name = ""
        }
        return name.isEmpty ? "p1mqtt" : "p1mqtt-\(name)"
    }

    /// `host:port`, as used in log lines.
    public var endpoint: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// A one-line summary for logs; the password appears as `***` when set.
    public var description: String {
        var parts = ["mqtt\(tls == nil ? "" : "s")://\(endpoint)", "client ID \(clientID)", "MQTT \(protocolVersion.rawValue)"]
        if let username { parts.append("user \(username)") }
        if password != nil { parts.append("password ***") }
        if let tls {
            if let caFile = tls.caFile { parts.append("CA file \(caFile)") }
            if let caDirectory = tls.caDirectory { parts.append("CA directory \(caDirectory)") }
            if tls.caFile == nil && tls.caDirectory == nil { parts.append("system CAs") }
            if let certificateFile = tls.certificateFile { parts.append("client certificate \(certificateFile)") }
            if tls.insecure { parts.append("INSECURE: host name not verified") }
        }
        if let will { parts.append("will on \(will.topic)") }
        // Timing only when it is not the default, so the usual line stays short.
        let describe = ReconnectBackoff.describe
        if connectTimeout != .seconds(15) { parts.append("connect timeout \(describe(connectTimeout))") }
        if minimumReconnectDelay != .seconds(1) || maximumReconnectDelay != .seconds(60) {
            parts.append("reconnect after \(describe(minimumReconnectDelay)) to \(describe(maximumReconnectDelay))")
        }
        return parts.joined(separator: ", ")
    }

    /// Checks the values libmosquitto would reject with a bare `MOSQ_ERR_INVAL`, so the user gets a message
    /// that names the setting instead.
    func validate() throws(MQTTError) {
        func invalid(_ message: String) -> MQTTError { MQTTError(.invalidConfiguration, message) }
        if host.isEmpty { throw invalid("the MQTT host is empty") }
        if !(1...65535).contains(port) { throw invalid("the MQTT port \(port) is not between 1 and 65535") }
        if clientID.isEmpty || clientID.utf8.count > 65535 {
            throw invalid("the MQTT client ID must be 1 to 65535 bytes long")
        }
        if keepalive < .seconds(5) || keepalive > .seconds(65535) {
            throw invalid("the MQTT keepalive must be between 5 s and 65535 s, got \(keepalive)")
        }
        if password != nil && username == nil {
            throw invalid("an MQTT password is set without a username; set the username too")
        }
        if minimumReconnectDelay <= .zero || maximumReconnectDelay < minimumReconnectDelay {
            throw invalid("the reconnect delays must be positive, with the maximum not below the minimum")
        }
        if connectTimeout <= .zero { throw invalid("the MQTT connect timeout must be positive") }
        if maximumUnacknowledged < 1 { throw invalid("maximumUnacknowledged must be at least 1") }
        if let will {
            if !(0...2).contains(will.qos) { throw invalid("the last will QoS must be 0, 1 or 2, got \(will.qos)") }
            if will.topic.isEmpty || will.topic.contains("+") || will.topic.contains("#") {
                throw invalid("the last will topic '\(will.topic)' must be non-empty and contain no + or # wildcards")
            }
        }
        if let tls {
            if (tls.certificateFile == nil) != (tls.keyFile == nil) {
                throw invalid("a TLS client certificate needs both the certificate file and the key file")
            }
            for path in [tls.caFile, tls.certificateFile, tls.keyFile].compactMap({ $0 }) where access(path, R_OK) != 0 {
                throw MQTTError(.unreadableFile, "cannot read the TLS file \(path): \(String(cString: strerror(errno)))")
            }
            if let directory = tls.caDirectory, access(directory, R_OK | X_OK) != 0 {
                throw MQTTError(.unreadableFile,
                                "cannot read the TLS CA directory \(directory): \(String(cString: strerror(errno)))")
            }
        }
    }
}
