import Logging
import Synchronization

/// Reads the raw P1 stream from a TCP server: ser2net in raw mode, ESP P1 bridges, network P1 dongles.
///
/// A live source: it never ends by itself. A connection that is refused, closed, reset or silent for longer
/// than the watchdog is replaced by a new one after a delay that doubles from one second to a minute (with
/// jitter), forever, and the host name is resolved again for every attempt. Each state change is logged once.
/// The connection runs on a thread of its own and closes within a quarter of a second of the consumer
/// cancelling the stream.
public struct TCPByteSource: ByteSource {
    /// Counters over every stream this source has produced, for tests and statistics.
    public struct Statistics: Sendable, Hashable {
        /// Connection attempts, successful or not.
        public var attempts = 0
        /// Connections opened.
        public var connections = 0
        /// Attempts that failed (name lookup, refused, unreachable, timed out).
        public var failedAttempts = 0
        /// Connections closed because nothing arrived for the watchdog's time.
        public var watchdogTimeouts = 0
        /// Bytes received.
        public var bytes = 0
        /// Whether a connection is open now.
        public var isConnected = false

        /// Connections opened after the first: how often the source had to reconnect.
        public var reconnects: Int { max(0, connections - 1) }
    }

    /// The server's host name or address.
    public let host: String
    /// The server's port.
    public let port: Int
    /// How long a connection may stay silent before it is replaced.
    public let watchdog: Duration
    /// How long a connection attempt may take.
    public let connectTimeout: Duration
    /// The first reconnect delay.
    public let minimumReconnectDelay: Duration
    /// The longest reconnect delay.
    public let maximumReconnectDelay: Duration
    let logger: Logger
    private let counters = StatisticsStore()

    /// Creates a source for `host:port`.
    /// - Parameters:
    ///   - watchdog: replace a connection that delivers nothing for this long (DSMR meters send every 1 to
    ///     10 seconds, so a minute of silence means a stuck bridge or an unplugged cable).
    ///   - connectTimeout: give up a connection attempt after this long.
    ///   - minimumReconnectDelay, maximumReconnectDelay: the reconnect delays double from the minimum to the
    ///     maximum while attempts fail.
    public init(host: String, port: Int, watchdog: Duration = .seconds(60), connectTimeout: Duration = .seconds(10),
                minimumReconnectDelay: Duration = .seconds(1), maximumReconnectDelay: Duration = .seconds(60),
                logger: Logger) {
        self.host = host
        self.port = port
        self.watchdog = watchdog
        self.connectTimeout = connectTimeout
        self.minimumReconnectDelay = minimumReconnectDelay
        self.maximumReconnectDelay = maximumReconnectDelay
        self.logger = logger
    }

    /// `tcp 192.168.1.5:2000`, `tcp [fe80::1]:2000`.
    public var name: String {
        host.contains(":") ? "tcp [\(host)]:\(port)" : "tcp \(host):\(port)"
    }

    /// `connected` or `disconnected`, with the number of reconnects.
    public var state: String {
        let counters = statistics
        return "\(counters.isConnected ? "connected" : "disconnected"), \(counters.reconnects) reconnects"
    }

    /// The counters so far.
    public var statistics: Statistics {
        counters.value.withLock { $0 }
    }

    /// The bytes as they arrive, across reconnections; finishes only when cancelled.
    public func chunks() -> AsyncThrowingStream<[UInt8], any Error> {
        // Unlike a serial line, a TCP connection can be paused without losing anything: when the consumer is
        // 256 chunks behind, the reader waits, the kernel's buffers fill and TCP's flow control slows the
        // sender (ser2net, a dongle, a replay over the network). Memory stays bounded either way.
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: [UInt8].self, throwing: (any Error).self,
                                                                    bufferingPolicy: .bufferingOldest(256))
        let reader = TCPReader(source: self, counters: counters, continuation: continuation)
        continuation.onTermination = { _ in reader.cancel() }
        if !DetachedThread.start({ reader.run() }) {
            continuation.finish(throwing: SourceError("cannot start a thread to read \(name)"))
        }
        return stream
    }

    /// The counters, shared by the source value and the threads of its streams.
    final class StatisticsStore: Sendable {
        let value = Mutex(Statistics())

        func update(_ change: (inout Statistics) -> Void) {
            value.withLock { change(&$0) }
        }
    }
}
