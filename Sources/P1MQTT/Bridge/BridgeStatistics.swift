import Synchronization

/// The counters behind the `<base>/stats` topic, shared between the reading task and the stats task.
final class BridgeStatistics: Sendable {
    struct Snapshot: Sendable {
        var decoder = TelegramDecoder.Statistics()
        var lastTelegram: MeterTimestamp?
        var lastTelegramAt: Double?
        var sourceEnded = false
    }

    private let snapshot = Mutex(Snapshot())
    let startedAt = monotonicSeconds()

    func update(_ decoder: TelegramDecoder.Statistics, telegram: MeterTimestamp?, sawTelegram: Bool) {
        snapshot.withLock { state in
            state.decoder = decoder
            if sawTelegram {
                state.lastTelegramAt = monotonicSeconds()
                if let telegram { state.lastTelegram = telegram }
            }
        }
    }

    func sourceEnded() { snapshot.withLock { $0.sourceEnded = true } }

    var current: Snapshot { snapshot.withLock { $0 } }

    /// The stats document: what a user needs to see whether the meter, the cable and the broker are fine.
    func json(source: any ByteSource, publisher: Publisher, client: MQTTClient?) -> [UInt8] {
        let snapshot = current
        let now = monotonicSeconds()
        let published = publisher.statistics
        var json = JSONWriter(capacity: 1024)
        json.beginObject()
        json.key("version")
        json.string(P1MQTTVersion.current)
        json.key("uptime")
        json.number(Int(now - startedAt))
        json.key("source")
        json.beginObject()
        json.key("name")
        json.string(source.name)
        json.key("state")
        json.string(snapshot.sourceEnded ? "ended" : source.state)
        json.endObject()
        json.key("telegrams")
        json.beginObject()
        json.key("accepted")
        json.number(snapshot.decoder.accepted)
        json.key("rejected")
        json.number(snapshot.decoder.rejectedTotal)
        json.key("rejected_by_reason")
        json.beginObject()
        for reason in RejectionReason.allCases {
            if let count = snapshot.decoder.rejected[reason] {
                json.key(string: reason.rawValue)
                json.number(count)
            }
        }
        json.endObject()
        json.key("bytes")
        json.number(snapshot.decoder.bytes)
        json.key("skipped_bytes")
        json.number(snapshot.decoder.skippedBytes)
        json.endObject()
        json.key("last_telegram")
        if let time = snapshot.lastTelegram { json.timestamp(time) } else { json.null() }
        json.key("last_telegram_age")
        if let at = snapshot.lastTelegramAt { json.number(Int(now - at)) } else { json.null() }
        json.key("anomalies_withheld")
        json.number(published.anomalies)
        json.key("register_resets")
        json.number(published.registerResets)
        json.key("mqtt")
        guard let client else {
            // Running without MQTT (`--broker none`).
            json.null()
            json.endObject()
            return json.bytes
        }
        let mqtt = client.statistics
        json.beginObject()
        json.key("connected")
        json.bool(client.isConnected)
        json.key("connections")
        json.number(mqtt.connections)
        json.key("reconnects")
        json.number(max(0, mqtt.connections - 1))
        json.key("published")
        json.number(mqtt.published)
        json.key("dropped_while_disconnected")
        json.number(mqtt.droppedWhileDisconnected)
        json.key("discovery_messages")
        json.number(published.discoveryMessages)
        json.endObject()
        json.endObject()
        return json.bytes
    }

    /// The state for observers (web API, health, metrics), with the same document as `<base>/stats`.
    func status(source: any ByteSource, publisher: Publisher, client: MQTTClient?) -> BridgeStatus {
        let snapshot = current
        let now = monotonicSeconds()
        var rejected: [String: Int] = [:]
        for (reason, count) in snapshot.decoder.rejected { rejected[reason.rawValue] = count }
        let mqtt = client?.statistics
        return BridgeStatus(
            statistics: json(source: source, publisher: publisher, client: client),
            telegramsAccepted: snapshot.decoder.accepted, telegramsRejected: rejected,
            secondsSinceLastTelegram: snapshot.lastTelegramAt.map { now - $0 },
            sourceState: snapshot.sourceEnded ? "ended" : source.state,
            mqtt: client.map { $0.isConnected ? .connected : .disconnected } ?? .notConfigured,
            mqttReconnects: max(0, (mqtt?.connections ?? 0) - 1), messagesPublished: mqtt?.published ?? 0,
            uptime: now - startedAt)
    }
}
