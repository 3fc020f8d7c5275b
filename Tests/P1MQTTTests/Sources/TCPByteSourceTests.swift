import Foundation
import Logging
import Synchronization
import Testing
@testable import P1MQTT
import P1MQTTTestSupport

/// The TCP source against a scriptable loopback server: delivery, reconnection after a reset, a refused
/// port, a silent server, random segmentation, name resolution, cancellation and the once-per-change logging.
@Suite("TCP byte source", .timeLimit(.minutes(1)))
struct TCPByteSourceTests {
    /// A source with short delays so reconnection tests take a second or two.
    private func source(port: Int, host: String = "127.0.0.1", watchdog: Duration = .seconds(30),
                        logger: Logger = Logger(label: "test.tcp") { _ in SwiftLogNoOpLogHandler() }) -> TCPByteSource {
        TCPByteSource(host: host, port: port, watchdog: watchdog, connectTimeout: .seconds(3),
                      minimumReconnectDelay: .milliseconds(50), maximumReconnectDelay: .milliseconds(200),
                      logger: logger)
    }

    @Test func deliversTelegramsAndReconnectsAfterTheServerResetsTheConnection() async throws {
        let server = try LoopbackP1Server()
        defer { server.shutDown() }
        let (logger, logs) = CapturingLogHandler.logger()
        let source = source(port: server.port, logger: logger)
        let (task, received) = TCPTestSupport.consume(source)
        defer { task.cancel() }
        let telegrams = TCPTestSupport.telegrams(4)

        #expect(await server.waitForAccepts(1))
        #expect(server.send(telegrams[0] + telegrams[1]))
        #expect(await TCPTestSupport.eventually { received.telegrams.count == 2 })

        server.resetConnections()
        #expect(await server.waitForAccepts(2))
        #expect(server.send(telegrams[2]))
        #expect(server.send(telegrams[3]))
        #expect(await TCPTestSupport.eventually { received.telegrams.count == 4 })

        let decoded = received.decoded
        #expect(decoded.telegrams == telegrams.map(TCPTestSupport.body))
        #expect(decoded.rejected == 0)
        #expect(source.statistics.connections == 2)
        #expect(source.statistics.reconnects == 1)
        #expect(source.statistics.bytes == telegrams.reduce(0) { $0 + $1.count })
        let warnings = logs.messages(atLeast: .warning)
        #expect(warnings == ["connection to tcp 127.0.0.1:\(server.port) lost (reset by the server); reconnecting"])
        #expect(logs.messages(atLeast: .info).filter { $0 == "connected to tcp 127.0.0.1:\(server.port)" }.count == 2)
    }

    /// A consumer that stalls while the sender pours megabytes in (a replay over TCP, a ser2net backlog): the
    /// reader waits for room and TCP holds the sender back, so not one byte is lost and memory stays bounded.
    @Test func aConsumerThatFallsBehindLosesNothing() async throws {
        let server = try LoopbackP1Server()
        defer { server.shutDown() }
        let source = source(port: server.port)
        let telegrams = TCPTestSupport.telegrams(200)
        let payload = Array([[UInt8]](repeating: Array(telegrams.joined()), count: 80).joined())  // 16,000 telegrams, ~14 MB
        var iterator = source.chunks().makeAsyncIterator()
        #expect(await server.waitForAccepts(1))
        let sent = Mutex(false)
        let sender = Thread { sent.withLock { $0 = server.send(payload) } }
        sender.start()
        // Far more than the stream's 256 chunks and the kernel's buffers arrive while nobody reads.
        try await Task.sleep(for: .seconds(2))
        var decoder = TelegramDecoder()
        var accepted = 0
        var rejected = 0
        var bytes = 0
        while bytes < payload.count, let chunk = try await iterator.next() {
            bytes += chunk.count
            decoder.feed(chunk) { event in
                if case .telegram = event { accepted += 1 } else { rejected += 1 }
            }
        }
        #expect(bytes == payload.count)
        #expect(accepted == 16_000)
        #expect(rejected == 0)
        #expect(await TCPTestSupport.eventually { sent.withLock { $0 } })
    }

    @Test func reconnectsByItselfWhenARefusingServerComesBack() async throws {
        let server = try LoopbackP1Server()
        defer { server.shutDown() }
        let (logger, logs) = CapturingLogHandler.logger()
        let source = source(port: server.port, logger: logger)
        let (task, received) = TCPTestSupport.consume(source)
        defer { task.cancel() }
        let telegrams = TCPTestSupport.telegrams(2)

        #expect(await server.waitForAccepts(1))
        #expect(server.send(telegrams[0]))
        #expect(await TCPTestSupport.eventually { received.telegrams.count == 1 })

        try await server.stopListening()
        server.resetConnections()
        #expect(await TCPTestSupport.eventually { source.statistics.failedAttempts >= 3 })
        #expect(!source.statistics.isConnected)

        try await server.startListening()
        #expect(await server.waitForAccepts(2))
        #expect(server.send(telegrams[1]))
        #expect(await TCPTestSupport.eventually { received.telegrams.count == 2 })
        #expect(received.telegrams == telegrams.map(TCPTestSupport.body))

        // Several refused attempts, one error line.
        let errors = logs.messages(atLeast: .error)
        #expect(errors.count == 1)
        #expect(errors.first?.hasPrefix("cannot connect to tcp 127.0.0.1:\(server.port) (connection refused") == true)
        #expect(errors.first?.hasSuffix("retrying every ≤0.2 s") == true)
    }

    @Test func watchdogReplacesAConnectionThatStaysSilent() async throws {
        let server = try LoopbackP1Server()
        defer { server.shutDown() }
        let (logger, logs) = CapturingLogHandler.logger()
        let source = source(port: server.port, watchdog: .seconds(1), logger: logger)
        let (task, _) = TCPTestSupport.consume(source)
        defer { task.cancel() }

        #expect(await server.waitForAccepts(3, timeout: .seconds(15)))
        #expect(source.statistics.watchdogTimeouts >= 2)
        // Each connection lived for the watchdog's second (less a little for timer granularity), no shorter.
        let intervals = server.acceptIntervals
        #expect(intervals.count >= 2)
        #expect(intervals.allSatisfy { $0 >= 0.9 }, "seconds between connections: \(intervals)")

        // Two timeouts, one warning; one "connected" line after it, the further reconnects at debug level.
        let watchdogLines = logs.messages(atLeast: .warning).filter { $0.hasPrefix("watchdog: no data from tcp 127.0.0.1:\(server.port) for 1 s") }
        #expect(watchdogLines.count == 1)
        #expect(logs.messages(atLeast: .info).filter { $0.hasPrefix("connected to") }.count == 2)
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func chunksSplitAtRandomBoundariesReassembleIntoTheSameTelegrams(seed: UInt64) async throws {
        let server = try LoopbackP1Server()
        defer { server.shutDown() }
        let source = source(port: server.port)
        let (task, received) = TCPTestSupport.consume(source)
        defer { task.cancel() }
        let telegrams = TCPTestSupport.telegrams(5, seed: seed)
        // Noise before the first telegram, as when connecting in the middle of one.
        let stream = Array("0.7.0(00.000*kW)\r\n!1234\r\n".utf8) + telegrams.joined()

        #expect(await server.waitForAccepts(1))
        #expect(await server.sendInPieces(stream, seed: seed, maximumPiece: 97))
        #expect(await TCPTestSupport.eventually { received.all.count == stream.count })

        #expect(received.all == stream)
        let decoded = received.decoded
        #expect(decoded.telegrams == telegrams.map(TCPTestSupport.body))
        #expect(decoded.rejected == 0)
    }

    @Test func resolvesLocalhost() async throws {
        let server = try LoopbackP1Server()
        defer { server.shutDown() }
        // `localhost` may resolve to ::1 first, where nothing listens: the source must go on to 127.0.0.1.
        let source = source(port: server.port, host: "localhost")
        #expect(source.name == "tcp localhost:\(server.port)")
        let (task, received) = TCPTestSupport.consume(source)
        defer { task.cancel() }
        let telegram = TCPTestSupport.telegrams(1)[0]

        #expect(await server.waitForAccepts(1))
        #expect(server.send(telegram))
        #expect(await TCPTestSupport.eventually { received.telegrams.count == 1 })
        #expect(received.telegrams == [TCPTestSupport.body(telegram)])
        #expect(source.statistics.failedAttempts == 0)
    }

    @Test func cancellingTheConsumerClosesTheConnectionPromptly() async throws {
        let server = try LoopbackP1Server()
        defer { server.shutDown() }
        let source = source(port: server.port)
        let (task, _) = TCPTestSupport.consume(source)

        #expect(await server.waitForAccepts(1))
        #expect(await TCPTestSupport.eventually { source.statistics.isConnected })
        task.cancel()
        #expect(await TCPTestSupport.eventually(timeout: .seconds(2)) { server.newestClosedByPeer })
        #expect(await TCPTestSupport.eventually(timeout: .seconds(2)) { !source.statistics.isConnected })
        try await Task.sleep(for: .milliseconds(300))
        #expect(server.acceptedCount == 1, "a cancelled source must not reconnect")
    }

    @Test func namesShowHostAndPort() {
        let logger = Logger(label: "test.tcp") { _ in SwiftLogNoOpLogHandler() }
        #expect(TCPByteSource(host: "192.168.1.5", port: 2000, logger: logger).name == "tcp 192.168.1.5:2000")
        #expect(TCPByteSource(host: "fe80::1", port: 23, logger: logger).name == "tcp [fe80::1]:23")
        let defaults = TCPByteSource(host: "meter.local", port: 2000, logger: logger)
        #expect(defaults.watchdog == .seconds(60))
        #expect(defaults.minimumReconnectDelay == .seconds(1))
        #expect(defaults.maximumReconnectDelay == .seconds(60))
    }
}
