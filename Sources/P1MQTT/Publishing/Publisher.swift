import Logging
import Mapping
import Synchronization

/// Publishes telegrams: one retained topic per value, the JSON telegram topic, availability; throttles,
/// guards registers, and puts everything back on the broker after every (re)connect.
///
/// Thread-safe: telegrams arrive from the source task, reconnects from the MQTT network thread.
public final class Publisher: Sendable {
    /// Counters since start.
    public struct Statistics: Sendable, Hashable {
        /// Telegrams handed to ``publish(_:to:now:)``.
        public var telegrams = 0
        /// Messages sent.
        public var messages = 0
        /// Messages the sink could not send (not connected).
        public var unsent = 0
        /// Register values withheld as implausible.
        public var anomalies = 0
        /// New register levels accepted after they persisted (meter replaced or reset).
        public var registerResets = 0
        /// Discovery config messages sent (including re-sends after reconnects and Home Assistant restarts).
        public var discoveryMessages = 0
        /// Connections for which availability and the retained state have been (re)published.
        public var connections = 0
    }

    /// The options.
    public let options: PublishOptions
    private let logger: Logger

    private struct State {
        var throttle: ReadingThrottle
        var guarded = RegisterGuard()
        var flows = FlowEstimator()
        /// What the last discovery was built from (meter, devices, values); discovery is rebuilt only when it
        /// changes, never per telegram.
        var discoveryShape: DiscoveryShape?
        /// The discovery configs in force, by topic, to re-send after a reconnect or Home Assistant restart.
        var discovery: [String: [UInt8]] = [:]
        /// The config topics emptied with every discovery publication, sent before the configs: the other
        /// mode's topics (see ``DiscoveryBuilder/messages(for:readings:)``) and switched-off values.
        var discoveryDeletions: [String] = []
        /// False between ``Publisher/disconnected()`` and the next ``Publisher/connected(_:)``: telegrams then
        /// only update the kept state, which `connected(_:)` sends in full.
        var live = true
        /// Default topics already cleared because the value was renamed.
        var clearedDefaults: Set<String> = []
        /// The latest retained payload per topic, to put back after a broker restart.
        var retained: [String: [UInt8]] = [:]
        var statistics = Statistics()
        /// Register keys whose withholding was already logged, so a stuck register logs once.
        var reportedAnomalies: Set<String> = []
    }

    private let state: Mutex<State>
    /// Held while retained state is recorded *and* sent, by live publishing and by re-publication alike. Without
    /// it, a reconnect's re-publication could take its snapshot of the retained state, a newer telegram could
    /// then be published live, and the snapshot's older values would arrive after it and stay retained.
    private let ordering = Mutex(())

    /// Creates a publisher.
    public init(options: PublishOptions, logger: Logger = Logger(label: "p1mqtt.publish")) {
        self.options = options
        self.logger = logger
        state = Mutex(State(throttle: options.throttle))
    }

    /// The counters.
    public var statistics: Statistics { state.withLock { $0.statistics } }

    /// What ``publish(_:to:now:wantsJSON:)`` made of a telegram, for other outputs.
    public struct Published: Sendable {
        /// The readings, derived values included, before throttling.
        public var readings: [Reading]
        /// The telegram's JSON document, when it was built.
        public var json: [UInt8]?
    }

    /// Publishes one telegram's readings. `now` is monotonic seconds (for throttling).
    /// - Parameter wantsJSON: build the JSON document even when no telegram topic is published.
    @discardableResult
    public func publish(_ telegram: Telegram, to sink: some MessageSink, now: Double, wantsJSON: Bool = false) -> Published {
        ordering.withLock { _ in publishInOrder(telegram, to: sink, now: now, wantsJSON: wantsJSON) }
    }

    private func publishInOrder(_ telegram: Telegram, to sink: some MessageSink, now: Double, wantsJSON: Bool) -> Published {
        var readings = ReadingMapper.readings(of: telegram, options: options.mapping)
        let time = telegram.timestamp.map { Double($0.secondsSince1970) } ?? now
        var json: [UInt8]?
        if options.telegramTopic != nil || wantsJSON {
            var writer = JSONWriter()
            TelegramJSON.write(telegram, to: &writer)
            json = writer.bytes
        }
        var messages: [MQTTClient.Message] = []
        messages.reserveCapacity(readings.count + 2)
        var discovery: [DiscoveryMessage] = []
        var cleared: [String] = []
        var live = true
        state.withLock { state in
            live = state.live
            state.statistics.telegrams += 1
            if options.mapping.derivedValues { readings += state.flows.flows(from: readings) }
            if let discoveryOptions = options.discovery {
                discovery = updatedDiscovery(for: telegram, readings: readings, options: discoveryOptions, &state)
            }
            for reading in readings {
                guard let topic = options.topics.topic(for: reading.value) else { continue }
                if !options.topics.renames.isEmpty, topic != options.topics.defaultTopic(for: reading.value) {
                    // Renamed: the value's old retained message would linger under the default name.
                    let old = options.topics.defaultTopic(for: reading.value)
                    if state.clearedDefaults.insert(old).inserted { cleared.append(old) }
                }
                if options.guardsRegisters && reading.kind == .register, let number = reading.payload.number {
                    switch state.guarded.check(reading.value.path, value: number.doubleValue, unit: reading.unit, at: time) {
                    case .accept:
                        state.reportedAnomalies.remove(reading.value.path)
                    case .acceptNewLevel:
                        state.statistics.registerResets += 1
                        logger.notice("register \(reading.value.path) continues at \(number) \(reading.unit ?? ""): accepted as a new level (meter replaced or reset)")
                    case .withhold(let reason):
                        state.statistics.anomalies += 1
                        if state.reportedAnomalies.insert(reading.value.path).inserted {
                            logger.warning("register \(reading.value.path) \(reason); value withheld")
                        }
                        continue
                    }
                }
                guard let admitted = state.throttle.admit(reading, at: now) else { continue }
                messages.append(MQTTClient.Message(topic: topic, payload: admitted.payload.bytes))
            }
            if let telegramTopic = options.telegramTopic, let json {
                messages.append(MQTTClient.Message(topic: options.topics.own(telegramTopic), payload: json))
            }
            if options.retain {
                for message in messages { state.retained[message.topic] = message.payload }
            }
        }
        for topic in cleared { sink.send(topic: topic, payload: [], qos: options.qos, retain: true) }
        // Not live: no connection, or a new one whose connect hook has yet to run. That hook sends the kept
        // discovery and retained state, this telegram's included; sending them here too would put every
        // config and value on the new connection twice.
        if live { sendDiscovery(discovery, to: sink) }
        send(messages, to: sink, withheld: !live && options.retain)
        if let rawTopic = options.rawTopic {
            // The raw telegram is not retained: it is a stream for debugging, not a state.
            let sent = sink.send(topic: options.topics.own(rawTopic), payload: telegram.bytes, qos: options.qos, retain: false)
            state.withLock { sent ? ($0.statistics.messages += 1) : ($0.statistics.unsent += 1) }
        }
        return Published(readings: readings, json: json)
    }

    /// Publishes what throttling still holds back (at the end of a replay, at shutdown).
    public func flush(to sink: some MessageSink) {
        ordering.withLock { _ in flushInOrder(to: sink) }
    }

    private func flushInOrder(to sink: some MessageSink) {
        let (messages, live) = state.withLock { state -> ([MQTTClient.Message], Bool) in
            let pending = state.throttle.flush().compactMap { reading -> MQTTClient.Message? in
                options.topics.topic(for: reading.value).map { MQTTClient.Message(topic: $0, payload: reading.payload.bytes) }
            }
            if options.retain { for message in pending { state.retained[message.topic] = message.payload } }
            return (pending, state.live)
        }
        send(messages, to: sink, withheld: !live && options.retain)
    }

    /// After every connect: `online` on the availability topic and every retained state again, so a broker
    /// restarted without persistence has the latest values at once. From here on telegrams are sent again.
    public func connected(_ sink: some MessageSink) {
        sink.send(topic: options.availabilityTopic, payload: Array("online".utf8), qos: 1, retain: true)
        ordering.withLock { _ in
            // Live from the moment of the snapshot: a telegram published before it is in the snapshot, one
            // after it goes out by itself, and none goes out twice.
            state.withLock { $0.live = true }
            republishInOrder(to: sink)
        }
        state.withLock { $0.statistics.connections += 1 }
    }

    /// The sink has no connection: not yet (before the first connect) or no longer (after a loss). Until the
    /// next ``connected(_:)``, telegrams only update the discovery and retained state kept for it.
    ///
    /// A client accepts messages as soon as the broker has accepted the connection, a moment before its
    /// connect hook runs ``connected(_:)``; a telegram sent in between would arrive twice, once by itself and
    /// once in the hook's re-publication. Sinks that are never disconnected need not call this.
    public func disconnected() {
        state.withLock { $0.live = false }
    }

    /// Discovery, then every retained state: after Home Assistant announced itself (birth message), whose
    /// entities stay unavailable until they are discovered again and get a state.
    public func republish(to sink: some MessageSink) {
        ordering.withLock { _ in republishInOrder(to: sink) }
    }

    private func republishInOrder(to sink: some MessageSink) {
        let (deletions, discovery, messages) = state.withLock { state in
            (state.discoveryDeletions.map { DiscoveryMessage(topic: $0, payload: []) },
             state.discovery.map { DiscoveryMessage(topic: $0.key, payload: $0.value) },
             state.retained.map { MQTTClient.Message(topic: $0.key, payload: $0.value) })
        }
        // Deletions first, for the reason given at DiscoveryBuilder.messages(for:readings:).
        sendDiscovery(deletions + discovery, to: sink)
        send(messages, to: sink)
    }

    /// The discovery messages that changed since they were last built, remembered for re-sending.
    private func updatedDiscovery(for telegram: Telegram, readings: [Reading], options discoveryOptions: DiscoveryOptions,
                                  _ state: inout State) -> [DiscoveryMessage] {
        if let shape = state.discoveryShape, shape.matches(telegram, readings) { return [] }
        state.discoveryShape = DiscoveryShape(telegram, readings)
        let builder = DiscoveryBuilder(options: discoveryOptions, topics: options.topics,
                                       availabilityTopic: options.availabilityTopic, hostName: options.hostName,
                                       statsTopic: options.statsTopic.map { options.topics.own($0) })
        var changed: [DiscoveryMessage] = []
        var deletions: [String] = []
        for message in builder.messages(for: telegram, readings: readings) where state.discovery[message.topic] != message.payload {
            // Deletions are always "changed", so they keep their place in the builder's order.
            changed.append(message)
            if message.payload.isEmpty {
                // Sent again, before the configs, whenever discovery is re-published: cheap, and the broker may
                // hold the old config again by then (restored from its persistence file, or a run in the other mode).
                deletions.append(message.topic)
                state.discovery[message.topic] = nil
            } else {
                state.discovery[message.topic] = message.payload
            }
        }
        state.discoveryDeletions = deletions
        return changed
    }

    private func sendDiscovery(_ messages: [DiscoveryMessage], to sink: some MessageSink) {
        guard !messages.isEmpty else { return }
        var sent = 0
        for message in messages where sink.send(topic: message.topic, payload: message.payload, qos: 1, retain: true) {
            sent += 1
        }
        state.withLock { $0.statistics.discoveryMessages += sent }
    }

    /// Publishes a retained document of p1mqtt's own (the stats topic) and keeps it for re-sending after a
    /// reconnect or a Home Assistant restart, like the meter's values.
    public func publishOwn(topic: String, payload: [UInt8], to sink: some MessageSink) {
        ordering.withLock { _ in
            let live = state.withLock { state in
                state.retained[topic] = payload
                return state.live
            }
            send([MQTTClient.Message(topic: topic, payload: payload)], to: sink, withheld: !live)
        }
    }

    /// At shutdown: `offline` on the availability topic (a clean disconnect does not trigger the last will).
    public func goingOffline(_ sink: some MessageSink) {
        sink.send(topic: options.availabilityTopic, payload: Array("offline".utf8), qos: 1, retain: true)
    }

    /// Sends the messages; `withheld` ones (kept for the next ``connected(_:)``) only count as unsent.
    private func send(_ messages: [MQTTClient.Message], to sink: some MessageSink, withheld: Bool = false) {
        guard !messages.isEmpty else { return }
        let sent = withheld ? 0 : sink.send(messages, qos: options.qos, retain: options.retain)
        let unsent = messages.count - sent
        state.withLock {
            $0.statistics.messages += sent
            $0.statistics.unsent += unsent
        }
    }
}

/// What a discovery was built from: the meter's id and header, every value's device, key and unit, and the
/// M-Bus devices' ids. Checked against every telegram, so the check compares in place and allocates nothing
/// (hashing some 120 strings per telegram cost more than the rest of the publishing).
struct DiscoveryShape: Sendable {
    private var equipmentID: String?
    private var header: [UInt8]
    private var values: [(device: String?, key: String, unit: String?)]
    private var devices: [String?]

    init(_ telegram: Telegram, _ readings: [Reading]) {
        equipmentID = telegram.equipmentID
        header = Array(telegram.headerBytes)
        values = readings.map { ($0.value.device, $0.value.key, $0.unit) }
        devices = telegram.mbusDevices.map(\.equipmentID)
    }

    func matches(_ telegram: Telegram, _ readings: [Reading]) -> Bool {
        guard readings.count == values.count, telegram.mbusDevices.count == devices.count,
            telegram.equipmentID == equipmentID, telegram.headerBytes.elementsEqual(header)
        else { return false }
        for (reading, value) in zip(readings, values)
        where reading.value.key != value.key || reading.value.device != value.device || reading.unit != value.unit {
            return false
        }
        for (device, id) in zip(telegram.mbusDevices, devices) where device.equipmentID != id { return false }
        return true
    }
}
