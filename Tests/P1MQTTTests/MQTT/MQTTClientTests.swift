import Foundation
import Logging
import Synchronization
import Testing
@testable import P1MQTT
import P1MQTTTestSupport

/// Against a real mosquitto on 127.0.0.1, one private broker per test.
@Suite("MQTT client against mosquitto", .serialized, .timeLimit(.minutes(1)),
       .enabled(if: BrokerFixture.isAvailable, "needs mosquitto and mosquitto-clients"))
struct MQTTClientTests {
    /// Counts onConnect runs and publishes "online" retained from it, as the publisher will.
    final class OnlineHook: Sendable {
        let runs = Mutex(0)
        let topic: String
        init(topic: String) { self.topic = topic }
        var count: Int { runs.withLock { $0 } }
        func callAsFunction(_ client: MQTTClient) {
            runs.withLock { $0 += 1 }
            _ = try? client.publish(topic: topic, payload: "online", qos: 1, retain: true)
        }
    }

    @Test("retained messages published by the client reach a real mosquitto_sub as retained")
    func retainedPublish() async throws {
        let broker = try BrokerFixture()
        defer { broker.stop() }
        let hook = OnlineHook(topic: "p1test/status")
        let client = try MQTTClient(configuration: .test(port: broker.port), onConnect: { hook($0) })
        defer { client.stop() }
        let recorder = EventRecorder(client.events)
        try client.start()
        #expect(await recorder.wait { $0.connectedCount == 1 }, "events: \(recorder.events)\n\(broker.log)")
        #expect(client.isConnected)
        #expect(try client.publish(topic: "p1test/power", payload: #"{"w":1234}"#, qos: 1, retain: true))
        #expect(try client.publish(topic: "p1test/tariff", payload: Array("2".utf8), qos: 0, retain: true))

        let received = try await broker.subscribe(topic: "p1test/#", count: 3)
        #expect(Set(received) == [
            .init(topic: "p1test/status", retained: true, payload: "online"),
            .init(topic: "p1test/power", retained: true, payload: #"{"w":1234}"#),
            .init(topic: "p1test/tariff", retained: true, payload: "2"),
        ])
        #expect(hook.count == 1)
        #expect(client.statistics.published == 3)
        #expect(client.statistics.connections == 1)
        #expect(client.statistics.droppedWhileDisconnected == 0)
    }

    @Test("MQTT 5 works as well", arguments: [MQTTConfiguration.ProtocolVersion.v311, .v5])
    func protocolVersions(version: MQTTConfiguration.ProtocolVersion) async throws {
        let broker = try BrokerFixture()
        defer { broker.stop() }
        let client = try MQTTClient(configuration: .test(port: broker.port, protocolVersion: version))
        defer { client.stop() }
        let recorder = EventRecorder(client.events)
        try client.start()
        #expect(await recorder.wait { $0.connectedCount == 1 })
        #expect(try client.publish(topic: "p1test/version", payload: version.rawValue, qos: 1, retain: true))
        let received = try await broker.subscribe(topic: "p1test/version", count: 1)
        #expect(received == [.init(topic: "p1test/version", retained: true, payload: version.rawValue)])
        // mosquitto logs the protocol as "p2" for 3.1.1 and "p5" for 5.
        #expect(broker.log.contains(version == .v5 ? "(p5," : "(p2,"))
    }

    @Test("an ungraceful connection loss makes the broker publish the will; the client comes back online")
    func willOnUngracefulLoss() async throws {
        let broker = try BrokerFixture()
        defer { broker.stop() }
        let hook = OnlineHook(topic: "p1test/status")
        let will = MQTTConfiguration.Will(topic: "p1test/status", payload: "offline", qos: 1, retain: true)
        let client = try MQTTClient(configuration: .test(port: broker.port, will: will), onConnect: { hook($0) })
        defer { client.stop() }
        let recorder = EventRecorder(client.events)
        try client.start()
        #expect(await recorder.wait { $0.connectedCount == 1 })

        let subscriber = try broker.startSubscriber(topic: "p1test/status", count: 3)
        // The retained "online" arriving proves the subscriber is subscribed before the connection breaks.
        #expect(await subscriber.waitForMessages(1).map(\.payload) == ["online"])
        #expect(shutDownConnections(toPort: broker.port) == 1)
        let messages = await subscriber.waitForMessages(3)
        #expect(messages.map(\.payload) == ["online", "offline", "online"], "\(broker.log)")
        #expect(await recorder.wait { $0.connectedCount == 2 })
        #expect(recorder.losses.count == 1)
        #expect(hook.count == 2)
    }

    @Test("a clean stop sends what was published just before it, and does not trigger the will")
    func cleanStopSendsNoWill() async throws {
        let broker = try BrokerFixture()
        defer { broker.stop() }
        let hook = OnlineHook(topic: "p1test/status")
        let will = MQTTConfiguration.Will(topic: "p1test/status", payload: "will")
        let client = try MQTTClient(configuration: .test(port: broker.port, will: will), onConnect: { hook($0) })
        let recorder = EventRecorder(client.events)
        try client.start()
        #expect(await recorder.wait { $0.connectedCount == 1 })
        let subscriber = try broker.startSubscriber(topic: "p1test/status", count: 3)
        #expect(await subscriber.waitForMessages(1).map(\.payload) == ["online"])
        // What the publisher does at shutdown: "offline" right before stop(); it must not be lost.
        #expect(try client.publish(topic: "p1test/status", payload: "offline", qos: 1, retain: true))
        client.stop()
        #expect(!client.isConnected)
        // A will would arrive within milliseconds of the connection closing.
        let messages = await subscriber.waitForExit(timeout: .seconds(1))
        #expect(messages.map(\.payload) == ["online", "offline"])
        #expect(broker.log.contains("disconnected."))   // mosquitto's line for a clean DISCONNECT
        #expect(await recorder.wait { $0.losses.isEmpty })
    }

    @Test("after the broker restarts the client reconnects by itself, runs onConnect again and publishes")
    func reconnectAfterBrokerRestart() async throws {
        let broker = try BrokerFixture()
        defer { broker.stop() }
        let hook = OnlineHook(topic: "p1test/status")
        let (logger, logs) = CapturingLogHandler.logger()
        let client = try MQTTClient(configuration: .test(port: broker.port), logger: logger, onConnect: { hook($0) })
        defer { client.stop() }
        let recorder = EventRecorder(client.events)
        try client.start()
        #expect(await recorder.wait { $0.connectedCount == 1 })

        try broker.restart()
        #expect(await recorder.wait { $0.connectedCount == 2 }, "events: \(recorder.events)")
        #expect(recorder.losses.count == 1)
        #expect(recorder.losses.first?.code == .connectionLost)
        #expect(hook.count == 2)
        #expect(client.statistics.connections == 2)
        #expect(try client.publish(topic: "p1test/after", payload: "restart", qos: 1, retain: true))
        let received = try await broker.subscribe(topic: "p1test/#", count: 2)
        // Both come from after the restart: the broker kept nothing (persistence false).
        #expect(Set(received.map(\.payload)) == ["online", "restart"])
        #expect(logs.messages(atLeast: .warning).filter { $0.contains("lost") }.count == 1)
        #expect(logs.messages(atLeast: .info).filter { $0.hasPrefix("MQTT: connected to") }.count == 2)
    }

    @Test("publishes while disconnected are dropped and counted, not queued and replayed later")
    func noQueueingWhileDisconnected() async throws {
        let broker = try BrokerFixture()
        defer { broker.stop() }
        let client = try MQTTClient(configuration: .test(port: broker.port))
        defer { client.stop() }
        let recorder = EventRecorder(client.events)
        try client.start()
        #expect(await recorder.wait { $0.connectedCount == 1 })

        broker.stop()
        #expect(await recorder.wait { $0.losses.count == 1 })
        #expect(!client.isConnected)
        #expect(try client.publish(topic: "p1test/stale", payload: "qos0", qos: 0, retain: true) == false)
        #expect(try client.publish(topic: "p1test/stale", payload: "qos1", qos: 1, retain: true) == false)
        #expect(client.statistics.droppedWhileDisconnected == 2)

        try broker.restart()
        #expect(await recorder.wait { $0.connectedCount == 2 })
        #expect(try client.publish(topic: "p1test/fresh", payload: "now", qos: 1, retain: true))
        let received = try await broker.subscribe(topic: "p1test/#", count: 2, timeout: .seconds(1))
        #expect(received.map(\.topic) == ["p1test/fresh"])
    }

    @Test("refused credentials: one refused event and one log line, retries until the broker lets it in",
          arguments: [MQTTConfiguration.ProtocolVersion.v311, .v5])
    func refusedThenAccepted(version: MQTTConfiguration.ProtocolVersion) async throws {
        // The client has no credentials; the broker requires them.
        let broker = try BrokerFixture(.init(users: ["someone": "else"]))
        defer { broker.stop() }
        let (logger, logs) = CapturingLogHandler.logger()
        let client = try MQTTClient(configuration: .test(port: broker.port, protocolVersion: version), logger: logger)
        defer { client.stop() }
        let recorder = EventRecorder(client.events)
        try client.start()
        #expect(await recorder.wait { $0.refusals.count == 1 })
        // Several more attempts (every 0.1–0.4 s) happen here; none may add an event or an error line.
        #expect(await recorder.wait(timeout: .seconds(3)) { _ in
            logs.all.filter { $0.contains("failed again") }.count >= 3
        })
        let refusal = try #require(recorder.refusals.first)
        #expect(refusal.code == .notAuthorized)
        #expect(refusal.message.contains("not authorised"))
        #expect(refusal.message.contains("username and password"))
        #expect(recorder.refusals.count == 1)
        #expect(recorder.connectedCount == 0)
        let errors = logs.messages(atLeast: .error)
        #expect(errors.count == 1)
        #expect(errors.first?.hasPrefix("MQTT: cannot connect to 127.0.0.1:\(broker.port) (not authorised") == true)

        try broker.restart(with: .init(users: ["someone": "else"], allowAnonymous: true))
        #expect(await recorder.wait { $0.connectedCount == 1 }, "events: \(recorder.events)")
        #expect(logs.messages(atLeast: .info).contains { $0.hasPrefix("MQTT: connected to") && $0.contains("failed attempts") })
    }

    @Test("a wrong password is refused with a clear reason; fixing the password file lets the client in")
    func wrongPasswordThenFixed() async throws {
        let broker = try BrokerFixture(.init(users: ["p1mqtt": "right"]))
        defer { broker.stop() }
        let client = try MQTTClient(configuration: .test(port: broker.port, username: "p1mqtt", password: "wrong"))
        defer { client.stop() }
        let recorder = EventRecorder(client.events)
        try client.start()
        #expect(await recorder.wait { $0.refusals.count == 1 })
        #expect(recorder.refusals.first?.code == .notAuthorized)
        #expect(recorder.refusals.first?.message.contains("check the username/password") == true)
        try broker.restart(with: .init(users: ["p1mqtt": "wrong"]))
        #expect(await recorder.wait { $0.connectedCount == 1 })
        // While the broker restarts an attempt may find it unreachable; the credentials were refused once.
        #expect(recorder.refusals.filter { $0.code == .notAuthorized }.count == 1)
    }

    /// A client connected to `broker`'s TLS listener, trusting the test CA. Stop it when done.
    private static func connectedTLSClient(_ broker: BrokerFixture) async throws -> MQTTClient {
        let tlsPort = try #require(broker.tlsPort)
        let client = try MQTTClient(configuration: .test(port: tlsPort, host: "localhost",
                                                         tls: .init(caFile: broker.caFile)))
        let recorder = EventRecorder(client.events)
        try client.start()
        #expect(await recorder.wait { $0.connectedCount == 1 }, "events: \(recorder.events)\n\(broker.log)")
        return client
    }

    @Test("TLS with the test CA connects and publishes", .enabled(if: BrokerFixture.opensslPath != nil))
    func tlsTrusted() async throws {
        let broker = try BrokerFixture(.init(tls: true))
        defer { broker.stop() }
        let client = try await Self.connectedTLSClient(broker)
        defer { client.stop() }
        #expect(try client.publish(topic: "p1test/tls", payload: "secure", qos: 1, retain: true))
        let received = try await broker.subscribe(topic: "p1test/tls", count: 1)
        #expect(received.map(\.payload) == ["secure"])
    }

    @Test("TLS: batches far larger than the socket buffer all arrive, in order (partial writes over TLS)",
          .enabled(if: BrokerFixture.opensslPath != nil))
    func tlsBulkBatches() async throws {
        let broker = try BrokerFixture(.init(tls: true))
        defer { broker.stop() }
        let client = try await Self.connectedTLSClient(broker)
        defer { client.stop() }
        #expect(try client.publish(topic: "p1test/bulk/0", payload: "ready", qos: 1, retain: true))
        // 1 + 900 messages, under mosquitto's default queue of 1,000 for a subscriber that falls behind.
        let subscriber = try broker.startSubscriber(topic: "p1test/bulk/#", count: 901)
        #expect(await subscriber.waitForMessages(1).map(\.payload) == ["ready"])

        // 14 MB in nine batches while the broker is stopped: the kernel's socket buffers fill, OpenSSL reports
        // "want write", and the network loop must carry on when the socket is writable again.
        let brokerPID = try #require(broker.processID, "cannot find the broker's process")
        let filler = String(repeating: "x", count: 16_000)
        kill(brokerPID, SIGSTOP)
        do {
            defer { kill(brokerPID, SIGCONT) }
            for batch in 0..<9 {
                let messages = (0..<100).map { index in
                    MQTTClient.Message(topic: "p1test/bulk/\(batch)", payload: Array("\(index) \(filler)".utf8))
                }
                #expect(try client.publish(messages) == 100)
            }
            try await Task.sleep(for: .seconds(1))
            #expect(client.outstanding > 0, "everything fitted into the socket buffers: the test proves nothing")
        }
        let received = await subscriber.waitForExit(timeout: .seconds(30)).dropFirst()
        #expect(received.count == 900, "\(received.count) of 900; broker: \(broker.log.split(separator: "\n").filter { $0.contains("drop") || $0.contains("Drop") }.prefix(5)), received by the broker \(broker.log.components(separatedBy: "Received PUBLISH from p1mqtt-test").count - 1), sent \(broker.log.components(separatedBy: "Sending PUBLISH to fixture-sub").count - 1)")
        for batch in 0..<9 {
            let indices = received.filter { $0.topic == "p1test/bulk/\(batch)" }.map { $0.payload.prefix { $0 != " " } }
            #expect(indices == (0..<100).map { Substring("\($0)") }, "batch \(batch): lost or out of order")
        }
        #expect(client.isConnected)
    }

    @Test("TLS with an untrusted CA: one event naming the certificate problem, and the client keeps retrying",
          .enabled(if: BrokerFixture.opensslPath != nil))
    func tlsUntrusted() async throws {
        let broker = try BrokerFixture(.init(tls: true))
        defer { broker.stop() }
        let tlsPort = try #require(broker.tlsPort)
        let (logger, logs) = CapturingLogHandler.logger()
        let client = try MQTTClient(configuration: .test(port: tlsPort, host: "localhost",
                                                         tls: .init(caFile: broker.untrustedCAFile)),
                                    logger: logger)
        defer { client.stop() }
        let recorder = EventRecorder(client.events)
        try client.start()
        #expect(await recorder.wait { $0.refusals.count == 1 })
        let refusal = try #require(recorder.refusals.first)
        #expect(refusal.code == .tls)
        #expect(refusal.message.contains("certificate verify failed"), "\(refusal.message)")
        #expect(await recorder.wait(timeout: .seconds(3)) { _ in
            logs.all.filter { $0.contains("failed again") }.count >= 2
        })
        #expect(recorder.refusals.count == 1)
        #expect(recorder.connectedCount == 0)
        #expect(logs.messages(atLeast: .error).count == 1)
    }

    @Test("TLS checks the host name unless insecure is set", .enabled(if: BrokerFixture.opensslPath != nil))
    func tlsHostNameVerification() async throws {
        let broker = try BrokerFixture(.init(tls: true))
        defer { broker.stop() }
        let tlsPort = try #require(broker.tlsPort)
        // The certificate names localhost, not 127.0.0.1: trusted CA, wrong name.
        let strict = try MQTTClient(configuration: .test(port: tlsPort, tls: .init(caFile: broker.caFile)))
        let strictEvents = EventRecorder(strict.events)
        try strict.start()
        #expect(await strictEvents.wait { $0.refusals.count == 1 })
        #expect(strictEvents.refusals.first?.code == .tls)
        strict.stop()
        #expect(strictEvents.connectedCount == 0)

        let (logger, logs) = CapturingLogHandler.logger()
        let insecure = try MQTTClient(configuration: .test(port: tlsPort, tls: .init(caFile: broker.caFile, insecure: true)),
                                      logger: logger)
        defer { insecure.stop() }
        #expect(logs.messages(atLeast: .warning).contains { $0.contains("verification is disabled") })
        let insecureEvents = EventRecorder(insecure.events)
        try insecure.start()
        #expect(await insecureEvents.wait { $0.connectedCount == 1 }, "events: \(insecureEvents.events)")
    }

    @Test("an ACL-restricted user can publish to its allowed topic only")
    func aclRestrictedUser() async throws {
        let acl = """
            user sensor
            topic write p1test/meter/#

            user reader
            topic read #

            """
        let broker = try BrokerFixture(.init(users: ["sensor": "s3nsor", "reader": "r3ader"], acl: acl))
        defer { broker.stop() }
        let client = try MQTTClient(configuration: .test(port: broker.port, username: "sensor", password: "s3nsor"))
        defer { client.stop() }
        let recorder = EventRecorder(client.events)
        try client.start()
        #expect(await recorder.wait { $0.connectedCount == 1 })
        // MQTT 3.1.1 has no way to tell the publisher about an ACL denial: the broker drops it silently.
        try client.publish(topic: "p1test/elsewhere", payload: "denied", qos: 1, retain: true)
        try client.publish(topic: "p1test/meter/power", payload: "allowed", qos: 1, retain: true)
        let received = try await broker.subscribe(topic: "p1test/#", count: 2, timeout: .seconds(1),
                                                  username: "reader", password: "r3ader")
        #expect(received == [.init(topic: "p1test/meter/power", retained: true, payload: "allowed")])
    }

    @Test("subscriptions are re-issued after a reconnect and deliver message events")
    func subscriptionsSurviveReconnect() async throws {
        let broker = try BrokerFixture()
        defer { broker.stop() }
        let client = try MQTTClient(configuration: .test(port: broker.port))
        defer { client.stop() }
        let recorder = EventRecorder(client.events)
        try client.subscribe(topic: "p1test/cmd/#", qos: 1)
        try client.start()
        #expect(await recorder.wait { $0.connectedCount == 1 })
        // Retained, so it is delivered even if SUBSCRIBE reaches the broker after the publish.
        try broker.publish(topic: "p1test/cmd/before", message: "one", retain: true)
        #expect(await recorder.wait { $0.messages.count == 1 })

        try broker.restart()
        #expect(await recorder.wait { $0.connectedCount == 2 })
        try broker.publish(topic: "p1test/cmd/after", message: "two", retain: true)
        #expect(await recorder.wait { $0.messages.count == 2 }, "events: \(recorder.events)")
        #expect(recorder.messages.map(\.topic) == ["p1test/cmd/before", "p1test/cmd/after"])
        #expect(recorder.messages.map(\.text) == ["one", "two"])

        // A stored retained message is flagged as such when a new subscription picks it up.
        try client.subscribe(topic: "p1test/cmd/after", qos: 0)
        #expect(await recorder.wait { $0.messages.count == 3 })
        #expect(recorder.messages.last?.retained == true)
    }

    @Test("publishes racing from four threads all go out, and each publish wakes the network loop at once")
    func publishesWakeTheNetworkLoop() async throws {
        let broker = try BrokerFixture()
        defer { broker.stop() }
        let client = try MQTTClient(configuration: .test(port: broker.port))
        defer { client.stop() }
        let recorder = EventRecorder(client.events)
        try client.subscribe(topic: "p1test/echo/#", qos: 0)
        try client.start()
        #expect(await recorder.wait { $0.connectedCount == 1 })
        // A retained marker comes back once SUBSCRIBE has been processed.
        #expect(try client.publish(topic: "p1test/echo/ready", payload: "1", qos: 1, retain: true))
        #expect(await recorder.wait { $0.messages.contains { $0.topic == "p1test/echo/ready" } })

        // Single publishes from four threads race the network loop's wake-ups (fewer than the 256 events the
        // client keeps for a slow reader).
        await withTaskGroup(of: Void.self) { group in
            for sender in 0..<4 {
                group.addTask {
                    for index in 0..<50 { _ = try? client.publish(topic: "p1test/echo/\(sender)", payload: "\(index)") }
                }
            }
        }
        #expect(await recorder.wait { $0.messages.count == 201 }, "\(recorder.messages.count) of 201 messages")
        for sender in 0..<4 {
            let payloads = recorder.messages.filter { $0.topic == "p1test/echo/\(sender)" }.map(\.text)
            #expect(payloads == (0..<50).map { "\($0)" }, "sender \(sender): order or loss")
        }

        // Then one at a time: a lost wake-up would leave each message waiting for the loop's 1-second timeout.
        let clock = ContinuousClock()
        var roundTrips: [Duration] = []
        for index in 0..<20 {
            let before = recorder.messages.count
            let start = clock.now
            #expect(try client.publish(topic: "p1test/echo/single", payload: "\(index)"))
            #expect(await recorder.wait(timeout: .seconds(5)) { $0.messages.count > before })
            roundTrips.append(clock.now - start)
        }
        let median = roundTrips.sorted()[roundTrips.count / 2]
        #expect(median < .milliseconds(300), "round trips: \(roundTrips)")
    }

    @Test("a broker that stops answering is noticed by the keepalive, and the client reconnects when it is back")
    func keepaliveNoticesAFrozenBroker() async throws {
        let broker = try BrokerFixture()
        defer { broker.stop() }
        let brokerPID = try #require(broker.processID, "cannot find the broker's process")
        // The test configuration's keepalive is 5 s: PINGREQ after 5 s of silence, the connection given up when
        // the next 5 s bring no PINGRESP. The TCP connection itself stays open all along.
        let client = try MQTTClient(configuration: .test(port: broker.port))
        defer { client.stop() }
        let recorder = EventRecorder(client.events)
        try client.start()
        #expect(await recorder.wait { $0.connectedCount == 1 })
        kill(brokerPID, SIGSTOP)
        let frozen = await recorder.wait(timeout: .seconds(20)) { !$0.losses.isEmpty }
        kill(brokerPID, SIGCONT)
        #expect(frozen, "events: \(recorder.events)")
        #expect(recorder.losses.first?.message.contains("keepalive") == true, "\(recorder.losses)")
        #expect(await recorder.wait(timeout: .seconds(20)) { $0.connectedCount == 2 }, "events: \(recorder.events)")
        #expect(try client.publish(topic: "p1test/after", payload: "back", qos: 1, retain: true))
        let received = try await broker.subscribe(topic: "p1test/after", count: 1)
        #expect(received.map(\.payload) == ["back"])
    }

    @Test("MQTT 5: a second client with the same ID takes the session over; the first's loss names the client ID")
    func sessionTakenOver() async throws {
        let broker = try BrokerFixture()
        defer { broker.stop() }
        let configuration = MQTTConfiguration.test(port: broker.port, protocolVersion: .v5)
        let first = try MQTTClient(configuration: configuration)
        defer { first.stop() }
        let firstEvents = EventRecorder(first.events)
        try first.start()
        #expect(await firstEvents.wait { $0.connectedCount == 1 })

        // The same client ID: the broker closes the first connection (mosquitto 2.0 without a word; later
        // brokers with MQTT 5 reason 0x8E, "session taken over"). Either way the reason names the client ID.
        let second = try MQTTClient(configuration: configuration)
        let secondEvents = EventRecorder(second.events)
        try second.start()
        #expect(await secondEvents.wait { $0.connectedCount >= 1 })
        #expect(await firstEvents.wait { !$0.losses.isEmpty }, "events: \(firstEvents.events)")
        let loss = firstEvents.losses.first?.message ?? ""
        #expect(loss.contains("another client") && loss.contains("the same client ID '\(configuration.clientID)'")
                || loss.contains("another client connected with the client ID '\(configuration.clientID)'"), "\(loss)")
        second.stop()
        // With the other one gone, the first reconnects by itself.
        #expect(await firstEvents.wait { $0.connectedCount >= 2 }, "events: \(firstEvents.events)")
    }
}
