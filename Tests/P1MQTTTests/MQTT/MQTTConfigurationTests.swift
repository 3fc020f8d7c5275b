import Foundation
import Testing
@testable import P1MQTT

@Suite("MQTT configuration")
struct MQTTConfigurationTests {
    @Test("defaults: port 1883, 8883 with TLS, p1mqtt-<hostname>, 30 s keepalive, MQTT 3.1.1")
    func defaults() {
        let plain = MQTTConfiguration(host: "broker.lan")
        #expect(plain.port == 1883)
        #expect(plain.keepalive == .seconds(30))
        #expect(plain.protocolVersion == .v311)
        #expect(plain.clientID == "p1mqtt-\(ProcessInfo.processInfo.hostName)" || plain.clientID.hasPrefix("p1mqtt-"))
        #expect(plain.clientID == MQTTConfiguration.defaultClientID())
        #expect(plain.tls == nil)

        let secure = MQTTConfiguration(host: "broker.lan", clientID: "meter-1", tls: .init(caFile: "/ca.pem"))
        #expect(secure.port == 8883)
        #expect(secure.clientID == "meter-1")
        #expect(secure.tls?.insecure == false)
        #expect(MQTTConfiguration(host: "broker.lan", port: 1884, tls: .init()).port == 1884)
    }

    @Test("the description never contains the password")
    func descriptionMasksPassword() {
        let configuration = MQTTConfiguration(host: "broker.lan", username: "p1", password: "hunter2-secret")
        #expect(!configuration.description.contains("hunter2-secret"))
        #expect(configuration.description.contains("password ***"))
        #expect(configuration.description.contains("user p1"))
        #expect(configuration.description.contains("broker.lan:1883"))
        #expect(!MQTTConfiguration(host: "h").description.contains("password"))
    }

    @Test("readPassword(file:) removes one trailing line break and keeps everything else",
          arguments: [("s3cret\n", "s3cret"), ("s3cret\r\n", "s3cret"), ("s3cret", "s3cret"),
                      (" with spaces \n", " with spaces "), ("two\n\n", "two\n")])
    func readPasswordTrims(contents: String, expected: String) throws {
        let path = NSTemporaryDirectory() + "/p1mqtt-password-\(UUID().uuidString)"
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try MQTTConfiguration.readPassword(file: path) == expected)
    }

    @Test("readPassword(file:) names the file and the reason when it cannot read it")
    func readPasswordErrors() throws {
        let missing = "/nonexistent/p1mqtt-password"
        let error = try #require(throws: MQTTError.self) { try MQTTConfiguration.readPassword(file: missing) }
        #expect(error.code == .unreadableFile)
        #expect(error.message.contains(missing))
        #expect(error.message.contains("no such file"))

        let empty = NSTemporaryDirectory() + "/p1mqtt-empty-\(UUID().uuidString)"
        try "\n".write(toFile: empty, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let emptyError = try #require(throws: MQTTError.self) { try MQTTConfiguration.readPassword(file: empty) }
        #expect(emptyError.message.contains("empty"))
    }

    @Test("readPassword(environmentVariable:) returns the value, nil when unset or empty")
    func readPasswordFromEnvironment() {
        let name = "P1MQTT_TEST_PASSWORD_\(UInt32.random(in: 0...UInt32.max))"
        #expect(MQTTConfiguration.readPassword(environmentVariable: name) == nil)
        setenv(name, "from-env", 1)
        #expect(MQTTConfiguration.readPassword(environmentVariable: name) == "from-env")
        setenv(name, "", 1)
        #expect(MQTTConfiguration.readPassword(environmentVariable: name) == nil)
        unsetenv(name)
    }

    @Test("invalid settings are rejected with a message naming the setting")
    func validation() throws {
        func error(_ configuration: MQTTConfiguration) throws -> MQTTError {
            try #require(throws: MQTTError.self) { _ = try MQTTClient(configuration: configuration) }
        }
        let keepalive = try error(MQTTConfiguration(host: "h", keepalive: .seconds(2)))
        #expect(keepalive.code == .invalidConfiguration)
        #expect(keepalive.message.contains("keepalive"))
        #expect(try error(MQTTConfiguration(host: "h", port: 70000)).message.contains("70000"))
        #expect(try error(MQTTConfiguration(host: "")).message.contains("host"))
        #expect(try error(MQTTConfiguration(host: "h", password: "x")).message.contains("username"))
        #expect(try error(MQTTConfiguration(host: "h", will: .init(topic: "a/#", payload: "offline")))
            .message.contains("wildcard"))
        let unreadable = try error(MQTTConfiguration(host: "h", tls: .init(caFile: "/nonexistent/ca.crt")))
        #expect(unreadable.code == .unreadableFile)
        #expect(unreadable.message.contains("/nonexistent/ca.crt"))
        #expect(try error(MQTTConfiguration(host: "h", tls: .init(certificateFile: "/etc/hostname")))
            .message.contains("key file"))
    }
}

@Suite("MQTT reconnect backoff")
struct ReconnectBackoffTests {
    @Test("doubles from the minimum up to the cap, then stays there")
    func doublesUpToCap() {
        var backoff = ReconnectBackoff(minimum: .seconds(1), maximum: .seconds(60))
        let delays = (0..<9).map { _ in backoff.nextDelay(jitter: 1) }
        #expect(delays == [1, 2, 4, 8, 16, 32, 60, 60, 60].map { Duration.seconds($0) })
    }

    @Test("jitter draws from the upper half of the step, never below the minimum")
    func jitter() {
        var backoff = ReconnectBackoff(minimum: .seconds(1), maximum: .seconds(60))
        #expect(backoff.nextDelay(jitter: 0) == .seconds(1))     // half of 1 s would be below the minimum
        #expect(backoff.nextDelay(jitter: 0) == .seconds(1))     // half of 2 s
        #expect(backoff.nextDelay(jitter: 0.5) == .seconds(3))   // 4 s × 0.75
        for _ in 0..<3 { _ = backoff.nextDelay() }              // 8, 16, 32: now at the 60 s cap
        for _ in 0..<100 {
            let delay = backoff.nextDelay()
            #expect(delay >= .seconds(30) && delay <= .seconds(60))
        }
    }

    @Test("delays in log lines read naturally")
    func describe() {
        #expect(ReconnectBackoff.describe(.seconds(60)) == "60 s")
        #expect(ReconnectBackoff.describe(.seconds(1)) == "1 s")
        #expect(ReconnectBackoff.describe(.milliseconds(400)) == "0.4 s")
        #expect(ReconnectBackoff.describe(.milliseconds(12_300)) == "12 s")
    }

    @Test("a successful connection starts again from the minimum")
    func reset() {
        var backoff = ReconnectBackoff(minimum: .milliseconds(100), maximum: .seconds(60))
        for _ in 0..<5 { _ = backoff.nextDelay(jitter: 1) }
        backoff.reset()
        #expect(backoff.nextDelay(jitter: 1) == .milliseconds(100))
    }
}

@Suite("MQTT client without a broker", .timeLimit(.minutes(1)))
struct MQTTClientOfflineTests {
    @Test("publishing before start is dropped and counted; invalid topics and QoS throw")
    func publishWithoutConnection() throws {
        let client = try MQTTClient(configuration: MQTTConfiguration(host: "127.0.0.1", clientID: "offline-test"))
        defer { client.stop() }
        #expect(try client.publish(topic: "p1/state", payload: "x", qos: 0) == false)
        #expect(try client.publish(topic: "p1/state", payload: [1, 2], qos: 1, retain: true) == false)
        #expect(client.statistics.droppedWhileDisconnected == 2)
        #expect(client.statistics.published == 0)
        #expect(!client.isConnected)
        #expect(throws: MQTTError.self) { try client.publish(topic: "p1/+/state", payload: "x") }
        #expect(throws: MQTTError.self) { try client.publish(topic: "", payload: "x") }
        #expect(throws: MQTTError.self) { try client.publish(topic: "p1/state", payload: "x", qos: 3) }
        #expect(throws: MQTTError.self) { try client.subscribe(topic: "p1/#/x") }
        try client.subscribe(topic: "p1/+/set", qos: 1)
    }

    @Test("stop is safe twice and without start; a stopped client cannot start again")
    func stopTwice() throws {
        let client = try MQTTClient(configuration: MQTTConfiguration(host: "127.0.0.1", clientID: "stop-test"))
        client.stop()
        client.stop()
        let error = try #require(throws: MQTTError.self) { try client.start() }
        #expect(error.message.contains("create a new one"))
    }

    @Test("stop returns promptly while the broker is unreachable and the client is waiting to retry")
    func stopWhileRetrying() async throws {
        let port = try BrokerFixture.freePort()   // nothing listens there
        var configuration = MQTTConfiguration.test(port: port)
        configuration.minimumReconnectDelay = .seconds(30)   // so stop() finds it in a long pause
        configuration.maximumReconnectDelay = .seconds(60)
        let client = try MQTTClient(configuration: configuration)
        let recorder = EventRecorder(client.events)
        try client.start()
        #expect(await recorder.wait { $0.refusals.count == 1 })
        #expect(recorder.refusals.first?.code == .unreachable)
        #expect(recorder.refusals.first?.message.contains("connection refused") == true)
        let started = ContinuousClock.now
        client.stop()
        #expect(ContinuousClock.now - started < .seconds(2))
    }
}
