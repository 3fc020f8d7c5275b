import Logging
import ServiceLifecycle

/// The daemon: reads a source, decodes telegrams, publishes them to MQTT and hands them to its observers (the
/// local web page and history), and shuts down cleanly on SIGTERM (publishing `offline` first). Runs as a
/// swift-service-lifecycle service.
public struct Bridge: Service {
    /// Everything the bridge needs.
    public struct Configuration: Sendable {
        /// Where telegrams come from.
        public var source: any ByteSource
        /// Whether the source is a replay (paced, waits for the broker first, may end).
        public var isReplay: Bool
        /// Decoder options (variant, key, parity).
        public var decoder: TelegramDecoder.Options
        /// What and how to publish.
        public var publish: PublishOptions
        /// The broker; nil to run without MQTT (`--broker none`).
        public var mqtt: MQTTConfiguration?
        /// Replay pace.
        public var rate: ReplayRate
        /// Stop when a replayed source ends, instead of staying connected.
        public var exitAtEnd: Bool
        /// Seconds between publications of `<base>/stats`; 0 for none.
        public var statsInterval: Double
        /// Who else gets every accepted telegram (the web page and history).
        public var observers: [any TelegramObserver]

        /// Creates a configuration.
        public init(source: any ByteSource, isReplay: Bool, decoder: TelegramDecoder.Options = .init(),
                    publish: PublishOptions = .init(), mqtt: MQTTConfiguration?, rate: ReplayRate = .meter,
                    exitAtEnd: Bool = false, statsInterval: Double = 60, observers: [any TelegramObserver] = []) {
            self.source = source
            self.isReplay = isReplay
            self.decoder = decoder
            self.publish = publish
            self.mqtt = mqtt
            self.rate = rate
            self.exitAtEnd = exitAtEnd
            self.statsInterval = statsInterval
            self.observers = observers
        }
    }

    /// The configuration.
    public let configuration: Configuration
    /// How many messages a replay may have queued in libmosquitto before it waits.
    static let maximumOutstanding = 2000
    private let logger: Logger

    /// Creates a bridge.
    public init(configuration: Configuration, logger: Logger = Logger(label: "p1mqtt")) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs until the source ends (with ``Configuration/exitAtEnd``) or a graceful shutdown is requested.
    public func run() async throws {
        let publisher = Publisher(options: configuration.publish, logger: logger)
        var created: MQTTClient?
        if var mqtt = configuration.mqtt {
            mqtt.will = MQTTConfiguration.Will(topic: configuration.publish.availabilityTopic, payload: "offline",
                                               qos: 1, retain: true)
            // Until a connection's hook has put the state on it, telegrams only update that state: otherwise the
            // first telegram could go out on a fresh connection and again in the hook's re-publication.
            publisher.disconnected()
            let mqttClient = try MQTTClient(configuration: mqtt, logger: logger,
                                            onConnect: { client in publisher.connected(client) },
                                            onDisconnect: { _ in publisher.disconnected() })
            if let discovery = configuration.publish.discovery {
                // Home Assistant announces a (re)start here; its entities need discovery and states again.
                try mqttClient.subscribe(topic: discovery.birthTopic, qos: 0)
            }
            try mqttClient.start()
            created = mqttClient
        }
        let client = created
        let sink = Sink(client: client)
        let listener = Task { [client] in if let client { await listen(to: client, publisher) } }
        defer { listener.cancel() }
        let statistics = BridgeStatistics()
        let reporter = Task { [client] in if let client { await reportStatistics(statistics, publisher, client) } }
        defer { reporter.cancel() }
        let source = configuration.source
        for observer in configuration.observers {
            observer.bridgeStarted { [client] in statistics.status(source: source, publisher: publisher, client: client) }
        }
        if client == nil {
            logger.info("reading \(configuration.source.name); MQTT is off (broker none)")
        } else {
            logger.info("reading \(configuration.source.name); publishing under \(configuration.publish.topics.base)/")
        }

        var ended = false
        do {
            try await cancelWhenGracefulShutdown {
                if configuration.isReplay, let client { try await waitForConnection(client) }
                try await pump(into: publisher, sink, statistics)
            }
            // A source stopped by a graceful shutdown did not end by itself.
            ended = !Task.isShuttingDownGracefully
        } catch is CancellationError {
            // Graceful shutdown.
        } catch let error as SourceError {
            logger.error("\(error.description)")
            await shutdown(publisher, client, statistics)
            throw error
        }
        if ended {
            statistics.sourceEnded()
            if let client { publishStatistics(statistics, publisher, client) }
        }
        if ended && configuration.exitAtEnd && client != nil && publisher.statistics.connections == 0 {
            // The input ended before the broker connection was up (a short pipe): what was read is waiting in
            // the retained state, which the connect hook publishes. Give the connection a bounded chance.
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(15)
            while publisher.statistics.connections == 0, clock.now < deadline, !Task.isShuttingDownGracefully {
                try? await clock.sleep(for: .milliseconds(20))
            }
        }
        publisher.flush(to: sink)
        // Cancelled (another service failed, e.g. the web server could not listen): the source did not end by itself.
        if ended && !configuration.exitAtEnd && !Task.isShuttingDownGracefully && !Task.isCancelled {
            logger.info(client == nil
                ? "\(configuration.source.name) ended; still serving (stop with Ctrl-C or SIGTERM)"
                : "\(configuration.source.name) ended; staying connected so the retained state stays valid (stop with Ctrl-C or SIGTERM)")
            try? await gracefulShutdown()
        }
        await shutdown(publisher, client, statistics)
    }

    /// Reacts to Home Assistant's birth message: after a random 1–3 s (Home Assistant subscribes to discovery
    /// a moment after announcing itself, and many publishers answering at once would flood it), discovery and
    /// the current states are published again.
    private func listen(to client: MQTTClient, _ publisher: Publisher) async {
        let birthTopic = configuration.publish.discovery?.birthTopic
        var pending: Task<Void, Never>?
        var connections = 0
        var lastHandBack: ContinuousClock.Instant?
        var handBack: Task<Void, Never>?
        defer { handBack?.cancel() }
        for await event in client.events {
            if case .connected = event {
                connections += 1
                // A reconnect runs code nothing else needs (name resolution, connecting, error reports, the
                // full republish): hand its pages back once the states are out again, as after start-up, at
                // most once a minute however often the broker comes and goes.
                let now = ContinuousClock.now
                if connections > 1, lastHandBack.map({ now - $0 >= .seconds(60) }) ?? true {
                    lastHandBack = now
                    handBack = Task {
                        try? await Task.sleep(for: .seconds(10))
                        if Task.isCancelled { return }
                        StartupMemory.release()
                        HeapMemory.trim()
                    }
                }
                continue
            }
            guard let birthTopic, case .message(let message) = event, message.topic == birthTopic,
                message.text == "online", !message.retained || pending == nil
            else { continue }
            pending?.cancel()
            let delay = Double.random(in: 1...3)
            logger.info("Home Assistant announced itself; publishing discovery and states again in \(Int(delay * 1000)) ms")
            pending = Task {
                try? await Task.sleep(for: .milliseconds(Int64(delay * 1000)))
                if !Task.isCancelled { publisher.republish(to: client) }
            }
        }
        pending?.cancel()
    }

    private func shutdown(_ publisher: Publisher, _ client: MQTTClient?, _ statistics: BridgeStatistics) async {
        for observer in configuration.observers { await observer.bridgeStopping() }
        guard let client else {
            logger.info("shutting down: \(publisher.statistics.telegrams) telegrams")
            return
        }
        publishStatistics(statistics, publisher, client)
        let statistics = publisher.statistics
        logger.info("shutting down: \(statistics.telegrams) telegrams, \(statistics.messages) messages published, \(statistics.anomalies) register values withheld")
        // libmosquitto closes the socket on disconnect even with packets still queued: let what was
        // published reach the broker (bounded), then `offline`, then disconnect.
        await drain(client, within: .seconds(5))
        publisher.goingOffline(client)
        await drain(client, within: .seconds(2))
        client.stop()
    }

    /// Waits until libmosquitto has written (and, for QoS 1, the broker acknowledged) what was published.
    private func drain(_ client: MQTTClient, within limit: Duration) async {
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        while client.outstanding > 0, client.isConnected, clock.now < deadline {
            try? await clock.sleep(for: .milliseconds(5))
        }
    }

    private func waitForConnection(_ client: MQTTClient) async throws {
        // Connected, and the connect hook has published availability and the retained state.
        while !client.isConnected {
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// `<base>/stats` soon after start, then every interval.
    private func reportStatistics(_ statistics: BridgeStatistics, _ publisher: Publisher, _ client: MQTTClient) async {
        guard configuration.statsInterval > 0 else { return }
        var delay = min(2, configuration.statsInterval)
        while !Task.isCancelled {
            do { try await Task.sleep(for: .milliseconds(Int64(delay * 1000))) } catch { return }
            publishStatistics(statistics, publisher, client)
            delay = configuration.statsInterval
        }
    }

    private func publishStatistics(_ statistics: BridgeStatistics, _ publisher: Publisher, _ client: MQTTClient) {
        guard configuration.statsInterval > 0, let topic = configuration.publish.statsTopic else { return }
        let json = statistics.json(source: configuration.source, publisher: publisher, client: client)
        publisher.publishOwn(topic: configuration.publish.topics.own(topic), payload: json, to: client)
    }

    private func pump(into publisher: Publisher, _ sink: Sink, _ statistics: BridgeStatistics) async throws {
        var decoder = TelegramDecoder(options: configuration.decoder)
        var activity = ActivityLog(logger: logger, now: monotonicSeconds())
        var previous: MeterTimestamp?
        var first = true
        var telegrams: [Telegram] = []
        for try await chunk in configuration.source.chunks() {
            let now = monotonicSeconds()
            decoder.feed(chunk) { event in
                switch event {
                case .telegram(let telegram):
                    activity.accepted(now: now)
                    telegrams.append(telegram)
                case .rejected(let rejection):
                    activity.rejected(rejection, now: now)
                }
            }
            statistics.update(decoder.statistics, telegram: telegrams.last?.timestamp, sawTelegram: !telegrams.isEmpty)
            for telegram in telegrams {
                if configuration.isReplay && !first {
                    let pause = configuration.rate.pause(after: previous, before: telegram.timestamp)
                    if pause > 0 { try await Task.sleep(for: .milliseconds(Int64(pause * 1000))) }
                }
                first = false
                previous = telegram.timestamp
                deliver(telegram, publisher, sink)
                if let client = sink.client {
                    // Backpressure: libmosquitto queues without limit, so no source may outrun the broker: a
                    // replay waits, a TCP source then holds its sender back, a serial source drops its oldest
                    // bytes. A real meter at one telegram a second never gets near the limit.
                    while client.outstanding > Self.maximumOutstanding, client.isConnected {
                        try await Task.sleep(for: .microseconds(500))
                    }
                }
            }
            telegrams.removeAll(keepingCapacity: true)
        }
        decoder.finish { event in
            if case .telegram(let telegram) = event { deliver(telegram, publisher, sink) }
        }
        let statistics = decoder.statistics
        if Task.isCancelled { return }
        logger.info("\(configuration.source.name) ended: \(statistics.accepted) telegrams accepted, \(statistics.rejectedTotal) rejected\(statistics.rejectedTotal > 0 ? " (\(statistics.rejectedSummary))" : "")")
    }

    /// Publishes a telegram and hands it to the observers.
    private func deliver(_ telegram: Telegram, _ publisher: Publisher, _ sink: Sink) {
        let published = publisher.publish(telegram, to: sink, now: monotonicSeconds(), wantsJSON: !configuration.observers.isEmpty)
        guard !configuration.observers.isEmpty else { return }
        let update = TelegramUpdate(telegram: telegram, readings: published.readings, json: published.json ?? [],
                                    receivedAt: wallClockSeconds())
        for observer in configuration.observers { observer.accepted(update) }
    }

    /// The MQTT client, or nothing at all with `--broker none`.
    struct Sink: MessageSink {
        let client: MQTTClient?

        func send(topic: String, payload: [UInt8], qos: Int, retain: Bool) -> Bool {
            client?.send(topic: topic, payload: payload, qos: qos, retain: retain) ?? false
        }

        func send(_ messages: [MQTTClient.Message], qos: Int, retain: Bool) -> Int {
            client?.send(messages, qos: qos, retain: retain) ?? 0
        }
    }
}
