import Foundation
import P1MQTT
@testable import P1MQTTWeb
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Web: server-sent events", .serialized)
struct EventStreamTests {
    /// The `data:` payloads in a dechunked event stream.
    static func events(_ stream: [UInt8]) -> [String] {
        String(decoding: stream, as: UTF8.self).components(separatedBy: "\n\n").compactMap { block in
            block.split(separator: "\n").first { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) }
        }
    }

    /// Opens `/events` and returns the socket after the response head arrived.
    /// `head.body` holds the raw (still chunked) bytes that came with the head.
    static func open(_ server: RunningServer, receiveBuffer: Int32? = nil) async throws -> (fd: Int32, head: HTTPTestResponse) {
        let fd = try HTTPTestClient.connect(port: server.port, receiveBuffer: receiveBuffer)
        try HTTPTestClient.send(fd, Array("GET /events HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        let start = await HTTPTestClient.receive(fd, timeout: 5) { String(decoding: $0, as: UTF8.self).contains("retry: ") }
        let separator: [UInt8] = [13, 10, 13, 10]
        let end = try #require(start.indices.first { start[$0...].starts(with: separator) })
        var head = try HTTPTestClient.parse(Array(start[..<(end + 4)]))
        head.body = Array(start[(end + 4)...])
        return (fd, head)
    }

    @Test("a client receives each telegram's readings as one event, with the security headers")
    func twoTelegrams() async throws {
        let server = try await RunningServer()
        let (fd, head) = try await Self.open(server)
        defer { close(fd) }
        #expect(head.status == 200)
        #expect(head.header("content-type") == "text/event-stream; charset=utf-8")
        #expect(head.header("x-frame-options") == "DENY" && head.header("x-content-type-options") == "nosniff")
        let openAPI = try OpenAPIChecker()
        #expect(openAPI.problems(path: "/events", response: HTTPTestResponse(status: 200, headers: head.headers, body: [])).isEmpty)

        server.live.accepted(WebFixtures.update(try WebFixtures.telegram("dsmr5")))
        server.live.accepted(WebFixtures.update(try WebFixtures.telegram("belgium")))
        var received: [UInt8] = head.body
        received += await HTTPTestClient.receive(fd, timeout: 5) { Self.events(HTTPTestClient.dechunk(head.body + $0)).count >= 2 }
        let events = Self.events(HTTPTestClient.dechunk(received))
        try #require(events.count == 2, "\(String(decoding: received, as: UTF8.self).prefix(500))")
        let first = try #require(try JSONSerialization.jsonObject(with: Data(events[0].utf8)) as? [String: Any])
        let second = try #require(try JSONSerialization.jsonObject(with: Data(events[1].utf8)) as? [String: Any])
        #expect(first["sequence"] as? Int == 1 && second["sequence"] as? Int == 2)
        let firstKeys = (first["readings"] as? [[String: Any]] ?? []).compactMap { $0["key"] as? String }
        #expect(firstKeys.contains("power_export_l1") && firstKeys.contains("energy_import_tariff_2"))
        // The event is exactly the readings document.
        #expect(events[1] == String(decoding: try await server.get("/api/v1/readings").body, as: UTF8.self))
        await server.stop()
    }

    @Test("a new client gets the latest telegram at once; keep-alive comments arrive; many clients at once")
    func latestAndKeepAlive() async throws {
        let server = try await RunningServer(configuration: WebConfiguration(keepAliveInterval: 0.2))
        server.live.accepted(WebFixtures.update(try WebFixtures.telegram("dsmr5")))
        var sockets: [Int32] = []
        defer { sockets.forEach { close($0) } }
        for _ in 0..<10 {
            let (fd, head) = try await Self.open(server)
            sockets.append(fd)
            let more = await HTTPTestClient.receive(fd, timeout: 5) { String(decoding: head.body + $0, as: UTF8.self).contains(": keep-alive") }
            let text = String(decoding: HTTPTestClient.dechunk(head.body + more), as: UTF8.self)
            #expect(Self.events(HTTPTestClient.dechunk(head.body + more)).count == 1)
            #expect(text.contains(": keep-alive\n\n"))
        }
        #expect(try await server.get("/metrics").text.contains("p1mqtt_web_event_clients 10\n"))
        server.live.accepted(WebFixtures.update(try WebFixtures.telegram("dsmr4")))
        for fd in sockets {
            let more = await HTTPTestClient.receive(fd, timeout: 5) { String(decoding: $0, as: UTF8.self).contains("data: ") }
            #expect(String(decoding: more, as: UTF8.self).contains("\"sequence\":2"))
        }
        await server.stop()
    }

    @Test("a client that never reads does not hold up accepted() nor grow memory; it misses events and is disconnected")
    func stalledClient() async throws {
        let server = try await RunningServer(configuration: WebConfiguration(keepAliveInterval: 0.25))
        let (stalled, head) = try await Self.open(server, receiveBuffer: 4096)
        defer { close(stalled) }
        #expect(head.status == 200)
        let telegram = try WebFixtures.telegram("dsmr5")
        let update = WebFixtures.update(telegram)
        let before = residentBytes()
        // On a thread of its own, like the bridge's reading task.
        let live = server.live
        let (total, slowest) = try await offPool { () -> (Duration, Duration) in
            var slowest = Duration.zero
            let clock = ContinuousClock()
            let started = clock.now
            for index in 0..<10_000 {
                var next = update
                next.receivedAt += Double(index)
                let elapsed = clock.measure { live.accepted(next) }
                slowest = max(slowest, elapsed)
            }
            return (clock.now - started, slowest)
        }
        let grown = residentBytes() - before
        // About 5 KB per event: 50 MB if nothing were dropped.
        let size = update.readings.count
        #expect(grown < 25_000_000, "resident memory grew by \(grown) bytes for 10,000 events of \(size) readings")
        #expect(total < .seconds(20), "10,000 telegrams took \(total)")
        #expect(slowest < .milliseconds(200), "the slowest accepted() took \(slowest)")
        print("stalled client: 10,000 accepted() in \(total), slowest \(slowest), resident memory grew \(grown / 1024) KiB")

        try await Task.sleep(for: .milliseconds(300))
        let metrics = try await server.get("/metrics").text
        let dropped = metrics.split(separator: "\n").first { $0.hasPrefix("p1mqtt_web_events_dropped_total ") }
        let droppedCount = Int(dropped?.split(separator: " ").last ?? "0") ?? 0
        #expect(droppedCount > 0, "\(String(describing: dropped))")
        print("stalled client: \(metrics.split(separator: "\n").filter { $0.hasPrefix("p1mqtt_web_events") })")
        // The server still answers, and the stalled client is disconnected after four keep-alive intervals.
        var clients = ""
        for _ in 0..<50 {
            try await Task.sleep(for: .milliseconds(100))
            clients = try await server.get("/metrics").text
            if clients.contains("p1mqtt_web_event_clients 0\n") { break }
        }
        #expect(clients.contains("p1mqtt_web_event_clients 0\n"))
        // A new client is served normally.
        let (fresh, freshHead) = try await Self.open(server)
        defer { close(fresh) }
        #expect(Self.events(HTTPTestClient.dechunk(freshHead.body)).count == 1)
        await server.stop()
    }

    /// This process's resident set size in bytes (from /proc/self/statm).
    func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
    }
}
