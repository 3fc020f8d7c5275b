import Glibc
import Logging
import Testing
@testable import P1MQTT
import P1MQTTTestSupport

/// The server behind `p1mqtt simulate --listen`, read back through the TCP source.
@Suite("Telegram server", .timeLimit(.minutes(1)))
struct TelegramServerTests {
    private let quiet = Logger(label: "test.server") { _ in SwiftLogNoOpLogHandler() }

    private func source(port: Int) -> TCPByteSource {
        TCPByteSource(host: "127.0.0.1", port: port, minimumReconnectDelay: .milliseconds(50),
                      maximumReconnectDelay: .milliseconds(200), logger: quiet)
    }

    @Test func sendsEveryTelegramToEveryConnectedClient() async throws {
        let (logger, logs) = CapturingLogHandler.logger()
        let server = try TelegramServer(host: "127.0.0.1", port: 0, logger: logger)
        defer { server.stop() }
        #expect(server.port > 0)
        #expect(server.address == "127.0.0.1:\(server.port)")
        let first = source(port: server.port)
        let second = source(port: server.port)
        let (firstTask, firstReceived) = TCPTestSupport.consume(first)
        let (secondTask, secondReceived) = TCPTestSupport.consume(second)
        defer {
            firstTask.cancel()
            secondTask.cancel()
        }
        #expect(await TCPTestSupport.eventually { server.clientCount == 2 })
        let telegrams = TCPTestSupport.telegrams(3)
        for telegram in telegrams { server.send(telegram) }

        #expect(await TCPTestSupport.eventually { firstReceived.telegrams.count == 3 && secondReceived.telegrams.count == 3 })
        #expect(firstReceived.telegrams == telegrams.map(TCPTestSupport.body))
        #expect(secondReceived.telegrams == telegrams.map(TCPTestSupport.body))

        // A client that leaves is noticed and logged without waiting for the next telegram.
        firstTask.cancel()
        #expect(await TCPTestSupport.eventually { server.clientCount == 1 })
        #expect(await TCPTestSupport.eventually {
            logs.all.contains { $0.hasPrefix("client 127.0.0.1:") && $0.contains(" disconnected") && $0.hasSuffix("(1 connected)") }
        })
        #expect(logs.all.filter { $0.hasPrefix("client 127.0.0.1:") && $0.contains(" connected (") }.count == 2)
        server.send(telegrams[0])
        #expect(await TCPTestSupport.eventually { secondReceived.telegrams.count == 4 })
    }

    @Test("a client that stops reading is dropped; one that leaves with telegrams unread has disconnected")
    func theLogSaysWhoEndedTheConnection() async throws {
        let (logger, logs) = CapturingLogHandler.logger()
        let server = try TelegramServer(host: "127.0.0.1", port: 0, logger: logger)
        defer { server.stop() }
        let stuck = try Self.rawClient(port: server.port)
        defer { close(stuck) }
        let leaving = try Self.rawClient(port: server.port)
        #expect(await TCPTestSupport.eventually { server.clientCount == 2 })

        // Unread telegrams make the kernel answer the close with a reset: the next send fails with it.
        let telegram = TCPTestSupport.telegrams(1)[0]
        server.send(telegram)
        close(leaving)
        #expect(await TCPTestSupport.eventually {
            server.send(telegram)
            return logs.all.contains { $0.contains(" disconnected") && $0.hasSuffix("(1 connected)") }
        })
        #expect(!logs.all.contains { $0.contains(" dropped") }, "\(logs.all)")

        // The stuck client never reads: once its buffers are full it is dropped, and the log says why.
        #expect(await TCPTestSupport.eventually {
            for _ in 0..<100 { server.send(telegram) }
            return server.clientCount == 0
        })
        #expect(await TCPTestSupport.eventually {
            logs.all.contains { $0.contains(" dropped: not reading, its buffer is full (0 connected)") }
        }, "\(logs.all)")
    }

    /// A plain blocking socket connected to the server, with a small receive buffer so that it fills quickly.
    private static func rawClient(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        var size: Int32 = 4096
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var address = Loopback.address(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(result == 0, "connect: errno \(errno)")
        return fd
    }

    @Test func aTakenPortIsReportedAsInUse() throws {
        let server = try TelegramServer(host: "127.0.0.1", port: 0, logger: quiet)
        defer { server.stop() }
        do {
            let second = try TelegramServer(host: "127.0.0.1", port: server.port, logger: quiet)
            second.stop()
            Issue.record("a second server bound the same port")
        } catch {
            #expect(error.description.hasPrefix("address 127.0.0.1:\(server.port) is in use"))
        }
    }

    @Test func stopDisconnectsTheClients() async throws {
        let server = try TelegramServer(host: "127.0.0.1", port: 0, logger: quiet)
        let source = source(port: server.port)
        let (task, _) = TCPTestSupport.consume(source)
        defer { task.cancel() }
        #expect(await TCPTestSupport.eventually { server.clientCount == 1 })
        server.stop()
        #expect(server.clientCount == 0)
        // The source notices the closed connection, and the port no longer accepts anything.
        #expect(await TCPTestSupport.eventually { source.statistics.failedAttempts >= 1 })
        #expect(!source.statistics.isConnected)
    }
}
