import Foundation
import Logging
import P1MQTT
@testable import P1MQTTWeb
import Testing

@Suite("Web API", .serialized)
struct WebAPITests {
    static let securityHeaders = ["x-frame-options": "DENY", "x-content-type-options": "nosniff", "referrer-policy": "no-referrer"]

    /// The headers every response must carry.
    static func expectSecurityHeaders(_ response: HTTPTestResponse, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        for (name, value) in securityHeaders {
            #expect(response.header(name) == value, "\(what): \(name)", sourceLocation: sourceLocation)
        }
        #expect(response.header("content-security-policy")?.contains("frame-ancestors 'none'") == true, "\(what): CSP",
                sourceLocation: sourceLocation)
    }

    @Test("before the first telegram: 503 with a JSON reason where there is nothing to show")
    func beforeFirstTelegram() async throws {
        let server = try await RunningServer(history: MemoryHistory())
        defer { Task { await server.stop() } }
        let openAPI = try OpenAPIChecker()
        for path in ["/api/v1/telegram", "/api/v1/readings", "/api/v1/devices", "/api/v1/stats"] {
            let response = try await server.get(path)
            #expect(response.status == 503, "\(path)")
            #expect(openAPI.problems(path: path, response: response).isEmpty, "\(openAPI.problems(path: path, response: response))")
            let body = try #require(try response.json() as? [String: Any])
            #expect((body["reason"] as? String)?.isEmpty == false)
            Self.expectSecurityHeaders(response, path)
        }
        let health = try await server.get("/healthz")
        #expect(health.status == 503)
        #expect(openAPI.problems(path: "/healthz", response: health).isEmpty)
        #expect(health.text.contains("no telegram"))
        let metrics = try await server.get("/metrics")
        #expect(metrics.status == 200)
        await server.stop()
    }

    @Test("every endpoint answers as docs/openapi.json says, with the telegram's own JSON and Last-Modified")
    func endpointsMatchOpenAPI() async throws {
        let now = Int64(Date().timeIntervalSince1970)
        let server = try await RunningServer(history: MemoryHistory.sample(now: now))
        let openAPI = try OpenAPIChecker()
        let telegram = try WebFixtures.telegram("dsmr5_two_gas")
        let update = WebFixtures.update(telegram, receivedAt: 1_763_700_000.25)
        server.live.bridgeStarted { WebFixtures.status() }
        server.live.accepted(update)

        let paths = ["/api/v1/telegram", "/api/v1/readings", "/api/v1/devices", "/api/v1/stats", "/healthz", "/metrics",
                     "/api/v1/history/hours", "/api/v1/history/days", "/api/v1/history/months", "/"]
        for path in paths {
            let response = try await server.get(path)
            let template = path.hasPrefix("/api/v1/history/") ? "/api/v1/history/{kind}" : path
            let problems = openAPI.problems(path: template, response: response)
            #expect(problems.isEmpty, "\(path): \(problems)")
            #expect(response.status == 200, "\(path): \(response.status) \(response.text.prefix(300))")
            Self.expectSecurityHeaders(response, path)
            let head = try await server.get(path, method: "HEAD")
            #expect(head.status == response.status && head.header("content-length") == response.header("content-length"), "HEAD \(path)")
        }
        // The telegram endpoint serves exactly the MQTT document.
        let telegramResponse = try await server.get("/api/v1/telegram")
        #expect(telegramResponse.body == update.json)
        #expect(telegramResponse.header("last-modified") == "Fri, 21 Nov 2025 04:40:00 GMT")
        #expect(try await server.get("/api/v1/readings").header("last-modified") == "Fri, 21 Nov 2025 04:40:00 GMT")

        let readings = try #require(try await server.get("/api/v1/readings").json() as? [String: Any])
        let list = try #require(readings["readings"] as? [[String: Any]])
        let tariff1 = try #require(list.first { $0["key"] as? String == "energy_import_tariff_1" })
        #expect(tariff1["name"] as? String == "Energy import tariff 1")
        #expect(tariff1["unit"] as? String == "kWh")
        #expect(tariff1["value"] is NSNumber && tariff1["device"] is NSNull)
        #expect(list.contains { $0["path"] as? String == "gas_2/reading" && $0["unit"] as? String == "m³" })
        #expect(list.contains { $0["key"] as? String == "tariff_indicator" && $0["value"] is String })

        let devices = try #require(try await server.get("/api/v1/devices").json() as? [String: Any])
        let meter = try #require(devices["meter"] as? [String: Any])
        #expect(meter["equipment_id"] as? String == telegram.equipmentID)
        #expect(meter["variant"] as? String == telegram.variant.rawValue)
        let mbus = try #require(devices["mbus"] as? [[String: Any]])
        #expect(mbus.count == telegram.mbusDevices.filter { !$0.isPlaceholder }.count && mbus.count == 1)
        #expect(mbus.allSatisfy { $0["value"] is NSNumber && $0["kind"] as? String == "gas" && $0["channel"] as? Int == 2 })

        let stats = try await server.get("/api/v1/stats")
        #expect(stats.body == WebFixtures.status().statistics)
        await server.stop()
    }

    @Test("history: unix seconds, ISO dates and date-times; 400 for nonsense; 404 when off; 503 when it fails")
    func history() async throws {
        let now = Int64(Date().timeIntervalSince1970)
        let history = MemoryHistory.sample(now: now)
        let server = try await RunningServer(history: history)
        let openAPI = try OpenAPIChecker()
        // Defaults: 48 hours, 14 days, 24 months.
        for (kind, count) in [("hours", 48), ("days", 14), ("months", 24)] {
            let response = try await server.get("/api/v1/history/\(kind)")
            #expect(openAPI.problems(path: "/api/v1/history/{kind}", response: response).isEmpty)
            let records = try #require(try response.json() as? [[String: Any]])
            #expect(records.count == count, "\(kind)")
            #expect(records.last?["complete"] as? Bool == false)
        }
        _ = try await server.get("/api/v1/history/hours?from=1763730000&to=1763733600")
        #expect(history.lastQuery?.1 == 1_763_730_000 && history.lastQuery?.2 == 1_763_733_600)
        _ = try await server.get("/api/v1/history/days?from=2025-11-21&to=2025-11-22T00:00:00%2B01:00")
        #expect(history.lastQuery?.1 == 1_763_679_600 && history.lastQuery?.2 == 1_763_766_000)
        _ = try await server.get("/api/v1/history/hours?from=2025-07-01T02:00&to=2025-07-01T00:30Z")
        #expect(history.lastQuery?.1 == 1_751_328_000 && history.lastQuery?.2 == 1_751_329_800)

        for query in ["from=yesterday", "from=2025-13-01", "from=2025-11-21T25:00", "from=10&to=5", "from=0&to=2000000000"] {
            let response = try await server.get("/api/v1/history/hours?\(query)")
            #expect(response.status == 400, "\(query)")
            #expect(openAPI.problems(path: "/api/v1/history/{kind}", response: response).isEmpty)
        }
        #expect(try await server.get("/api/v1/history/weeks").status == 404)
        history.fail(with: "history.sqlite: disk I/O error")
        let failing = try await server.get("/api/v1/history/days")
        #expect(failing.status == 503 && failing.text.contains("disk I/O error"))
        #expect(openAPI.problems(path: "/api/v1/history/{kind}", response: failing).isEmpty)
        await server.stop()

        let withoutHistory = try await RunningServer(history: nil)
        let off = try await withoutHistory.get("/api/v1/history/days")
        #expect(off.status == 404 && off.text.contains("history is off"))
        #expect(openAPI.problems(path: "/api/v1/history/{kind}", response: off).isEmpty)
        await withoutHistory.stop()
    }

    @Test("token: 401 without it or with a wrong one; accepted as bearer header, and as ?token= for the page and /events only")
    func token() async throws {
        let server = try await RunningServer(configuration: WebConfiguration(token: "s3cret/+token"))
        server.live.accepted(WebFixtures.update(try WebFixtures.telegram("dsmr5")))
        let openAPI = try OpenAPIChecker()
        for path in ["/", "/api/v1/readings", "/api/v1/telegram", "/metrics", "/api/v1/stats", "/events", "/nonexistent"] {
            let response = try await server.get(path)
            #expect(response.status == 401, "\(path)")
            #expect(response.header("www-authenticate")?.hasPrefix("Bearer") == true)
            Self.expectSecurityHeaders(response, path)
            if path != "/nonexistent" {
                #expect(openAPI.problems(path: path, response: response).isEmpty, "\(openAPI.problems(path: path, response: response))")
            }
            #expect(try await server.get(path, headers: ["Authorization": "Bearer wrong"]).status == 401)
        }
        #expect(try await server.get("/api/v1/readings", headers: ["Authorization": "Bearer s3cret/+token"]).status == 200)
        #expect(try await server.get("/", headers: ["Authorization": "bearer s3cret/+token"]).status == 200)
        #expect(try await server.get("/?token=s3cret%2F%2Btoken").status == 200)
        #expect(try await server.get("/api/v1/readings?token=s3cret%2F%2Btoken").status == 401)
        // /events with the query token: the stream starts.
        let fd = try HTTPTestClient.connect(port: server.port)
        try HTTPTestClient.send(fd, Array("GET /events?token=s3cret%2F%2Btoken HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        let start = await HTTPTestClient.receive(fd, timeout: 5) { String(decoding: $0, as: UTF8.self).contains("data: ") }
        close(fd)
        #expect(String(decoding: start, as: UTF8.self).hasPrefix("HTTP/1.1 200"))
        #expect(String(decoding: start, as: UTF8.self).contains("text/event-stream"))
        // Health checks need no token.
        #expect(try await server.get("/healthz").status == 200)
        await server.stop()
    }

    @Test("only GET and HEAD: 405 with Allow for everything else; unknown paths 404; security headers everywhere")
    func methods() async throws {
        let server = try await RunningServer()
        let openAPI = try OpenAPIChecker()
        for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
            let response = try await HTTPTestClient.request(port: server.port, method: method, path: "/api/v1/readings",
                                                      body: method == "POST" ? Array("{}".utf8) : [])
            #expect(response.status == 405, "\(method)")
            #expect(response.header("allow") == "GET, HEAD")
            Self.expectSecurityHeaders(response, method)
            #expect(try (response.json() as? [String: Any])?["reason"] is String)
        }
        let missing = try await server.get("/nope")
        #expect(missing.status == 404)
        Self.expectSecurityHeaders(missing, "404")
        // The page's policy allows its own script and style by hash, nothing inline otherwise.
        let page = try await server.get("/")
        let policy = try #require(page.header("content-security-policy"))
        #expect(policy.contains("script-src 'sha256-") && !policy.contains("unsafe-inline") && policy.contains("connect-src 'self'"))
        #expect(openAPI.problems(path: "/", response: page).isEmpty)
        let scriptHash = "sha256-" + SHA256.base64(SHA256.digest(Array(WebPage.script.utf8)))
        #expect(policy.contains(scriptHash))
        #expect(page.text.contains("<script>" + WebPage.script + "</script>"))
        await server.stop()
    }

    @Test("requests beyond 64 KiB are cut off; bodies of GET requests are ignored; keep-alive serves several requests")
    func requestLimits() async throws {
        let server = try await RunningServer()
        // A huge header: the connection is closed without an answer (or with 400 from the parser).
        let fd = try HTTPTestClient.connect(port: server.port)
        let big = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 100_000) + "\r\n\r\n"
        try? HTTPTestClient.send(fd, Array(big.utf8))
        let answer = await HTTPTestClient.receive(fd, timeout: 5)
        close(fd)
        #expect(!String(decoding: answer, as: UTF8.self).hasPrefix("HTTP/1.1 503"))
        // A GET with a small body is answered, the body ignored.
        let withBody = try await HTTPTestClient.request(port: server.port, path: "/healthz", body: Array("ignored".utf8))
        #expect(withBody.status == 503)
        // Two requests on one connection.
        let keep = try HTTPTestClient.connect(port: server.port)
        try HTTPTestClient.send(keep, Array("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
        let both = String(decoding: await HTTPTestClient.receive(keep, timeout: 5), as: UTF8.self)
        close(keep)
        #expect(both.components(separatedBy: "HTTP/1.1 ").count == 3, "\(both)")
        await server.stop()
    }

    @Test("healthz: 200 with a recent telegram and MQTT connected or not configured; 503 when stale or disconnected")
    func health() async throws {
        let server = try await RunningServer(configuration: WebConfiguration(healthWindow: 30))
        let openAPI = try OpenAPIChecker()
        let status = StatusBox(WebFixtures.status(age: nil))
        server.live.bridgeStarted { status.value }
        var response = try await server.get("/healthz")
        #expect(response.status == 503 && response.text.contains("no telegram"))
        let cases: [(Double?, BridgeStatus.MQTTState, Int, String)] = [
            (2, .connected, 200, "\"status\":\"ok\""),
            (2, .notConfigured, 200, "\"mqtt\":\"not_configured\""),
            (2, .disconnected, 503, "not connected to the MQTT broker"),
            (31, .connected, 503, "no telegram for 31 s"),
            (29.9, .connected, 200, "\"last_telegram_age\":29.9"),
        ]
        for (age, mqtt, expected, text) in cases {
            status.value = WebFixtures.status(age: age, mqtt: mqtt)
            response = try await server.get("/healthz")
            #expect(response.status == expected, "\(String(describing: age)) \(mqtt)")
            #expect(response.text.contains(text), "\(response.text)")
            #expect(openAPI.problems(path: "/healthz", response: response).isEmpty)
        }
        await server.stop()
    }

    @Test("a port in use gives a one-line error")
    func portInUse() async throws {
        let first = try await RunningServer()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let second = WebServer(configuration: WebConfiguration(port: first.port), live: LiveState(), history: nil, logger: logger)
        await #expect {
            try await second.run()
        } throws: { error in
            "\(error)" == "web server: cannot listen on 127.0.0.1:\(first.port): the port is in use by another program (choose another web port)"
        }
        await first.stop()
    }
}

/// A status the test changes while the server reads it.
final class StatusBox: @unchecked Sendable {
    // @unchecked: `stored` is only touched under `lock`.
    private let lock = NSLock()
    private var stored: BridgeStatus
    init(_ value: BridgeStatus) { stored = value }
    var value: BridgeStatus {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
