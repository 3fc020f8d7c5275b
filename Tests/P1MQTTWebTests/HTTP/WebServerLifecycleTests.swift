import Foundation
import Logging
@testable import P1MQTTWeb
import ServiceLifecycle
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Web server lifecycle")
struct WebServerLifecycleTests {
    @Test("in a ServiceGroup: a graceful shutdown ends the event streams cleanly and stops listening")
    func gracefulShutdown() async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let live = LiveState()
        let server = WebServer(configuration: WebConfiguration(port: 0), live: live, history: nil, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [server], logger: logger))
        let running = Task { try await group.run() }
        let port = try #require(await server.listeningPort())
        live.accepted(WebFixtures.update(try WebFixtures.telegram("dsmr5")))
        let fd = try HTTPTestClient.connect(port: port)
        defer { close(fd) }
        try HTTPTestClient.send(fd, Array("GET /events HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        _ = await HTTPTestClient.receive(fd, timeout: 5) { String(decoding: $0, as: UTF8.self).contains("data: ") }

        await group.triggerGracefulShutdown()
        try await running.value
        // The stream got its last chunk ("0\r\n\r\n") and was closed; nobody listens any more.
        let rest = String(decoding: await HTTPTestClient.receive(fd, timeout: 5), as: UTF8.self)
        #expect(rest.hasSuffix("0\r\n\r\n"), "\(rest.suffix(100))")
        await #expect(throws: (any Error).self) { try await HTTPTestClient.request(port: port, path: "/healthz") }
    }
}
