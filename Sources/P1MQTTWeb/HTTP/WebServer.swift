import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The local web page and API (issue 8): a swift-service-lifecycle service on SwiftNIO's HTTP/1 server.
///
/// One event loop thread serves every connection (the answers come from memory); one more thread reads the
/// history. ``run()`` binds, serves until a graceful shutdown or cancellation, then closes the event streams
/// and the listening socket.
///
/// Endpoints: `/` (the page), `/events` (server-sent events), `/api/v1/telegram`, `/api/v1/readings`,
/// `/api/v1/devices`, `/api/v1/history/{hours|days|months}`, `/api/v1/stats`, `/healthz`, `/metrics`; see
/// `docs/openapi.json`.
public final class WebServer: Service, Sendable {
    /// Why the server could not start.
    public struct StartError: Error, CustomStringConvertible {
        /// The one-line message.
        public var description: String
    }

    private let configuration: WebConfiguration
    private let live: LiveState
    private let history: (any HistoryReading)?
    private let logger: Logger
    private let bound = Mutex<BindState>(.waiting)

    private enum BindState {
        case waiting
        case listening(Int)
        case failed
    }

    /// The most bytes a request may have (request line, headers and an ignored body).
    static let requestLimit = 64 * 1024
    /// The most connections at once; more are closed right away.
    static let maximumConnections = 256

    /// Creates the server; nothing happens until ``run()``.
    public init(configuration: WebConfiguration, live: LiveState, history: (any HistoryReading)?, logger: Logger) {
        self.configuration = configuration
        self.live = live
        self.history = history
        self.logger = logger
    }

    /// The port the server listens on once it does (useful with port 0); nil when binding failed or the
    /// server stopped. Waits up to `timeout` seconds for ``run()`` to bind.
    public func listeningPort(timeout: Double = 30) async -> Int? {
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        while ContinuousClock.now < deadline {
            switch bound.withLock({ $0 }) {
            case .listening(let port): return port
            case .failed: return nil
            case .waiting: try? await Task.sleep(for: .milliseconds(10))
            }
        }
        return nil
    }

    /// Serves until a graceful shutdown is requested or the task is cancelled. Throws ``StartError`` when
    /// the address cannot be bound (port in use, address not on this machine).
    public func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let historyPool = NIOThreadPool(numberOfThreads: 1)
        historyPool.start()
        let loop = group.next()
        let stream = EventStream(loop: loop, keepAliveInterval: configuration.keepAliveInterval,
                                 maximumClients: configuration.maximumEventClients)
        let router = WebRouter(configuration: configuration, live: live, history: history, stream: stream)
        let connections = Atomic<Int>(0)
        let listener = live.addListener { stream.publish($0) }
        let bufferLimit = max(1024, configuration.eventBufferLimit)
        defer { live.removeListener(listener) }

        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 64)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.maxMessagesPerRead, value: 4)
                .childChannelOption(.writeBufferWaterMark, value: .init(low: bufferLimit / 2, high: bufferLimit))
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let count = connections.wrappingAdd(1, ordering: .relaxed).newValue
                        channel.closeFuture.whenComplete { _ in connections.wrappingSubtract(1, ordering: .relaxed) }
                        guard count <= Self.maximumConnections else {
                            channel.close(promise: nil)
                            return
                        }
                        let limiter = RequestSizeLimiter(limit: Self.requestLimit)
                        let pipeline = channel.pipeline.syncOperations
                        try pipeline.addHandler(limiter)
                        try pipeline.configureHTTPServerPipeline(withErrorHandling: true)
                        try pipeline.addHandler(IdleStateHandler(readTimeout: .seconds(60)))
                        try pipeline.addHandler(HTTPHandler(router: router, stream: stream, historyPool: historyPool,
                                                            limiter: limiter))
                    }
                }
                .bind(host: configuration.host, port: configuration.port)
                .get()
        } catch {
            bound.withLock { $0 = .failed }
            try? await historyPool.shutdownGracefully()
            try? await group.shutdownGracefully()
            throw StartError(description: Self.explain(error, configuration))
        }
        let port = channel.localAddress?.port ?? configuration.port
        bound.withLock { $0 = .listening(port) }
        logger.info("web page and API on http://\(Self.hostForURL(configuration.host)):\(port)/\(configuration.token == nil ? "" : " (a token is required)")")
        stream.start()

        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                try? await channel.closeFuture.get()
            } onGracefulShutdown: {
                channel.close(promise: nil)
            }
        } onCancel: {
            channel.close(promise: nil)
        }
        // Event streams never end by themselves: end them, so clients see a clean close.
        try? await loop.submit { stream.stop() }.get()
        bound.withLock { $0 = .failed }
        try? await historyPool.shutdownGracefully()
        try? await group.shutdownGracefully()
        logger.debug("web server stopped")
    }

    /// One line that says what to do: the port is taken, or the address is not this machine's.
    static func explain(_ error: any Error, _ configuration: WebConfiguration) -> String {
        let address = "\(hostForURL(configuration.host)):\(configuration.port)"
        if let error = error as? IOError {
            switch error.errnoCode {
            case 98, 48:  // EADDRINUSE (Linux, BSD)
                return "web server: cannot listen on \(address): the port is in use by another program (choose another web port)"
            case 99, 49:  // EADDRNOTAVAIL
                return "web server: cannot listen on \(address): the address is not one of this machine's"
            case 13:  // EACCES
                return "web server: cannot listen on \(address): permission denied (ports below 1024 need privileges)"
            default:
                break
            }
        }
        return "web server: cannot listen on \(address): \(error)"
    }

    private static func hostForURL(_ host: String) -> String {
        host.contains(":") ? "[\(host)]" : host
    }
}
