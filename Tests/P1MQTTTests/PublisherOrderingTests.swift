import Dispatch
import Foundation
@testable import P1MQTT
import Synchronization
import Testing

/// A reconnect's re-publication and live publishing must not overtake each other: otherwise the retained
/// state the broker keeps can be older than the latest telegram (found as a rare failure of the stdin
/// integration tests).
@Suite("Publisher: re-publication and live telegrams stay in order")
struct PublisherOrderingTests {
    /// Records every message; the first batch after `blockNextBatch` waits until released.
    final class GatedSink: MessageSink, @unchecked Sendable {
        // @unchecked: all mutable state is behind `lock`; the semaphores are thread-safe.
        private let lock = NSLock()
        private var messages: [MQTTClient.Message] = []
        private var block = false
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)

        func blockNextBatch() { lock.withLock { block = true } }

        func send(topic: String, payload: [UInt8], qos: Int, retain: Bool) -> Bool {
            lock.withLock { messages.append(MQTTClient.Message(topic: topic, payload: payload)) }
            return true
        }

        func send(_ batch: [MQTTClient.Message], qos: Int, retain: Bool) -> Int {
            let wait = lock.withLock { () -> Bool in
                defer { block = false }
                return block
            }
            if wait {
                entered.signal()
                release.wait()
            }
            lock.withLock { messages += batch }
            return batch.count
        }

        /// The last payload sent on `topic`.
        func last(_ topic: String) -> String? {
            lock.withLock { messages.last { $0.topic == topic }.map { String(decoding: $0.payload, as: UTF8.self) } }
        }
    }

    @Test("a live telegram published during a re-publication is sent after it, so it stays the retained value")
    func liveAfterRepublication() throws {
        typealias T = TestTelegrams
        let older = try #require(T.decode(T.dsmr5(number: 1)).telegrams.first)
        let newer = try #require(T.decode(T.dsmr5(number: 2)).telegrams.first)
        let publisher = Publisher(options: PublishOptions(discovery: nil))
        let sink = GatedSink()
        publisher.publish(older, to: sink, now: 1)
        let olderValue = try #require(sink.last("p1mqtt/timestamp"))

        // A reconnect re-publishes the retained state (the older telegram) and is slow to hand it over …
        sink.blockNextBatch()
        let republished = DispatchSemaphore(value: 0)
        Thread { publisher.republish(to: sink); republished.signal() }.start()
        #expect(sink.entered.wait(timeout: .now() + 5) == .success)
        // … while the next telegram arrives.
        let published = DispatchSemaphore(value: 0)
        Thread { publisher.publish(newer, to: sink, now: 2); published.signal() }.start()
        // The live telegram waits for the re-publication to be handed over.
        #expect(published.wait(timeout: .now() + 0.3) == .timedOut)
        sink.release.signal()
        #expect(republished.wait(timeout: .now() + 5) == .success)
        #expect(published.wait(timeout: .now() + 5) == .success)

        let newerValue = try #require(sink.last("p1mqtt/timestamp"))
        #expect(newerValue != olderValue)
        // The newer telegram's values went out last: they are what the broker retains.
        let expected = newer.timestamp?.description
        #expect(newerValue == expected)
    }
}
