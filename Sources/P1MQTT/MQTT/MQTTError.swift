/// A problem with the MQTT connection or its configuration. ``message`` is one line a user can act on.
///
/// A struct with an open set of ``Code``s rather than an enum, so that new kinds of failure can be added
/// without breaking code that switches over them.
public struct MQTTError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of problem it is, for code that reacts differently to, say, bad credentials and a broker
    /// that is down.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Backing: String, Sendable, Hashable {
            case invalidConfiguration = "invalid configuration"
            case unreadableFile = "unreadable file"
            case notAuthorized = "not authorised"
            case refused = "refused"
            case tls = "TLS"
            case unreachable = "unreachable"
            case timeout = "timeout"
            case connectionLost = "connection lost"
            case invalidArgument = "invalid argument"
            case library = "libmosquitto"
        }

        private let backing: Backing
        private init(_ backing: Backing) { self.backing = backing }

        /// A configuration value is out of range or inconsistent (e.g. a keepalive below 5 s).
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// A password, certificate or key file could not be read.
        public static let unreadableFile = Code(.unreadableFile)
        /// The broker refused the credentials (wrong or missing username/password, or not allowed to connect).
        public static let notAuthorized = Code(.notAuthorized)
        /// The broker refused the connection for another reason (client ID rejected, protocol version, busy).
        public static let refused = Code(.refused)
        /// The TLS handshake failed: untrusted or mismatching certificate, wrong port, unreadable key.
        public static let tls = Code(.tls)
        /// The broker could not be reached: name lookup failed, nothing listening, no route.
        public static let unreachable = Code(.unreachable)
        /// The broker accepted the TCP connection but did not answer the MQTT CONNECT in time.
        public static let timeout = Code(.timeout)
        /// An established connection ended without ``MQTTClient/stop()`` being called.
        public static let connectionLost = Code(.connectionLost)
        /// A topic, QoS or payload passed to publish or subscribe is not valid MQTT.
        public static let invalidArgument = Code(.invalidArgument)
        /// libmosquitto reported an error not covered by the other codes.
        public static let library = Code(.library)

        /// The code's name, e.g. `not authorised`.
        public var description: String { backing.rawValue }
    }

    /// The kind of problem.
    public let code: Code
    /// One line saying what went wrong and, where possible, what to do about it.
    public let message: String

    /// Creates an error.
    /// - Parameters:
    ///   - code: the kind of problem.
    ///   - message: one line a user can act on.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
