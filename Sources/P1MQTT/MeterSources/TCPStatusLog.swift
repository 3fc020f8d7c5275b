import Logging

/// Logs the state changes of a TCP source once each: a dongle that stays unreachable, or a server that
/// accepts and then stays silent, produces a few lines, not one (or two) per reconnect attempt. Repeats go to
/// the debug level. Everything is forgotten once a connection has delivered data for a while, so the next
/// problem is reported again.
struct TCPStatusLog {
    /// A condition that ended a connection or prevented one.
    enum Problem: Hashable {
        /// The connection could not be opened.
        case cannotConnect(String)
        /// An open connection ended.
        case lost(String)
        /// Nothing arrived for the watchdog's time.
        case silent
    }

    /// `tcp HOST:PORT`.
    let name: String
    /// The host as configured, to tell whether the connected address is worth mentioning.
    let host: String
    /// The longest reconnect delay, for the messages.
    let maximumDelay: Duration
    /// The watchdog time, for the messages.
    let watchdog: Duration
    let logger: Logger

    /// The problems logged since the source last worked.
    private var reported: Set<Problem> = []
    /// Whether a "connected" line has been logged since the last newly reported problem.
    private var connectedLogged = false

    init(name: String, host: String, maximumDelay: Duration, watchdog: Duration, logger: Logger) {
        self.name = name
        self.host = host
        self.maximumDelay = maximumDelay
        self.watchdog = watchdog
        self.logger = logger
    }

    /// A connection was opened to `peer`.
    mutating func connected(to peer: NetworkAddress) {
        let address = peer.host == host ? "" : " (\(peer))"
        if connectedLogged {
            logger.debug("connected to \(name)\(address) again")
        } else {
            connectedLogged = true
            logger.info("connected to \(name)\(address)")
        }
    }

    /// The connection has been delivering data for a while: the source works; report the next problem anew.
    mutating func working() {
        if !reported.isEmpty { logger.debug("\(name) is delivering data again") }
        reported.removeAll()
    }

    /// A connection attempt failed or a connection ended.
    mutating func report(_ problem: Problem) {
        guard reported.insert(problem).inserted else {
            logger.debug("\(name): \(message(for: problem)) (again)")
            return
        }
        connectedLogged = false
        switch problem {
        case .cannotConnect: logger.error("\(message(for: problem))")
        case .lost, .silent: logger.warning("\(message(for: problem))")
        }
    }

    private func message(for problem: Problem) -> String {
        switch problem {
        case .cannotConnect(let reason):
            "cannot connect to \(name) (\(reason)); retrying every ≤\(ReconnectBackoff.describe(maximumDelay))"
        case .lost(let reason):
            "connection to \(name) lost (\(reason)); reconnecting"
        case .silent:
            "watchdog: no data from \(name) for \(ReconnectBackoff.describe(watchdog)); reconnecting (is the meter connected to the P1 server, and its P1 port enabled?)"
        }
    }
}
