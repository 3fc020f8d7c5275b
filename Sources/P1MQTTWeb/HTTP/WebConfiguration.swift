/// How the local web page and API are served.
///
/// The server is off unless the integrator creates one; when it runs it listens on the loopback address, so
/// only this machine can reach it until someone deliberately chooses another address (and, ideally, a token).
public struct WebConfiguration: Sendable, Hashable {
    /// The address to listen on: `127.0.0.1` (default, this machine only), `0.0.0.0` or `::` (every interface),
    /// or one interface's address.
    public var host: String
    /// The TCP port; 0 picks a free one (tests), see ``WebServer/listeningPort()``.
    public var port: Int
    /// When set, every request except `GET /healthz` must carry `Authorization: Bearer <token>`; the page and
    /// `/events` also accept `?token=<token>`, because a browser's `EventSource` cannot set headers.
    public var token: String?
    /// `GET /healthz` answers 503 when the last telegram is older than this many seconds.
    public var healthWindow: Double
    /// At most this many `/events` clients at once; more get a 503 (each costs up to ``eventBufferLimit``).
    public var maximumEventClients: Int
    /// The seconds between keep-alive comments on `/events`, so proxies and browsers keep an idle stream open.
    public var keepAliveInterval: Double
    /// The most bytes an `/events` client may have waiting in the server: events for a client that is not
    /// reading are dropped beyond this, so a stalled client never grows memory.
    public var eventBufferLimit: Int

    /// Creates a configuration; the defaults listen on 127.0.0.1:8080 without a token.
    public init(host: String = "127.0.0.1", port: Int = 8080, token: String? = nil, healthWindow: Double = 60,
                maximumEventClients: Int = 32, keepAliveInterval: Double = 15, eventBufferLimit: Int = 64 * 1024) {
        self.host = host
        self.port = port
        self.token = token
        self.healthWindow = healthWindow
        self.maximumEventClients = maximumEventClients
        self.keepAliveInterval = keepAliveInterval
        self.eventBufferLimit = eventBufferLimit
    }
}
