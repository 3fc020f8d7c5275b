import NIOCore
import NIOHTTP1
import Synchronization

/// The `/events` clients and the delivery of each telegram to them (server-sent events).
///
/// The bridge's task only appends the telegram's prebuilt event to a short queue and, if no delivery is
/// pending, schedules one on the server's event loop: its cost does not depend on the number of clients or
/// their speed. The event loop writes each event to every client whose channel is writable; a client whose
/// unsent bytes exceed the channel's high-water mark (``WebConfiguration/eventBufferLimit``) is skipped for
/// that event (it misses it), and one that stays stalled for four keep-alive intervals is disconnected. So a
/// client that never reads costs at most the buffer limit.
final class EventStream: @unchecked Sendable {
    // @unchecked: `subscribers`, `counters` and `keepAlive` are only touched on `loop` (checked with
    // `assertInEventLoop`); the queue shared with the bridge's task is behind a Mutex.

    private struct Pending {
        var snapshots: [LiveSnapshot] = []
        var scheduled = false
        var skipped = 0
    }

    /// One connected client.
    private struct Subscriber {
        let channel: any Channel
        /// The last telegram sent to it (a telegram is never sent twice).
        var lastSequence: Int
        /// When the client was first found unable to take an event (nil while it keeps up).
        var stalledSince: NIODeadline?
    }

    /// Counters for `/metrics` and the tests.
    struct Counters: Sendable, Hashable {
        /// Clients connected now.
        var clients = 0
        /// Events written to clients.
        var delivered = 0
        /// Events a client missed because it was not reading.
        var dropped = 0
        /// Clients disconnected for not reading.
        var disconnected = 0
    }

    /// Events waiting for the event loop; beyond this the oldest is dropped (only when the loop is very busy).
    static let queueLimit = 8

    let loop: any EventLoop
    private let keepAliveInterval: TimeAmount
    private let maximumClients: Int
    private let pending = Mutex(Pending())
    private var subscribers: [ObjectIdentifier: Subscriber] = [:]
    private var counters = Counters()
    private var keepAlive: RepeatedTask?
    private let published = Mutex(Counters())

    init(loop: any EventLoop, keepAliveInterval: Double, maximumClients: Int) {
        self.loop = loop
        self.keepAliveInterval = .milliseconds(Int64(max(0.05, keepAliveInterval) * 1000))
        self.maximumClients = maximumClients
    }

    /// Starts the keep-alive comments.
    func start() {
        loop.execute {
            self.keepAlive = self.loop.scheduleRepeatedTask(initialDelay: self.keepAliveInterval,
                                                            delay: self.keepAliveInterval) { _ in
                self.sendKeepAlive()
            }
        }
    }

    /// A copy of the counters, readable from any thread.
    var statistics: Counters { published.withLock { $0 } }

    /// Called on the bridge's task for each telegram: queue it and make sure a delivery is scheduled.
    func publish(_ snapshot: LiveSnapshot) {
        let schedule = pending.withLock { pending in
            if pending.snapshots.count >= Self.queueLimit {
                pending.snapshots.removeFirst()
                pending.skipped += 1
            }
            pending.snapshots.append(snapshot)
            defer { pending.scheduled = true }
            return !pending.scheduled
        }
        if schedule { loop.execute { self.deliver() } }
    }

    /// Whether another client may connect.
    var hasRoom: Bool {
        loop.assertInEventLoop()
        return subscribers.count < maximumClients
    }

    /// Adds a client whose response head was written, sending it the latest telegram at once so a page shows
    /// values without waiting for the next one.
    func add(_ channel: any Channel, latest: LiveSnapshot?) {
        loop.assertInEventLoop()
        let id = ObjectIdentifier(channel)
        var greeting = ByteBuffer(string: "retry: 5000\n\n")
        if let latest { greeting.writeBytes(latest.event) }
        channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(greeting)), promise: nil)
        subscribers[id] = Subscriber(channel: channel, lastSequence: latest?.sequence ?? 0)
        channel.closeFuture.whenComplete { _ in
            self.loop.execute { self.remove(id) }
        }
        updateCounters { $0.clients = self.subscribers.count }
    }

    /// Disconnects every client (graceful shutdown): each gets the end of its chunked response.
    func stop() {
        loop.assertInEventLoop()
        keepAlive?.cancel()
        keepAlive = nil
        for subscriber in subscribers.values {
            subscriber.channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in
                subscriber.channel.close(promise: nil)
            }
        }
        subscribers.removeAll()
        updateCounters { $0.clients = 0 }
    }

    private func remove(_ id: ObjectIdentifier) {
        if subscribers.removeValue(forKey: id) != nil {
            updateCounters { $0.clients = self.subscribers.count }
        }
    }

    private func deliver() {
        loop.assertInEventLoop()
        let (snapshots, skipped) = pending.withLock { pending in
            defer {
                pending.snapshots.removeAll(keepingCapacity: true)
                pending.scheduled = false
                pending.skipped = 0
            }
            return (pending.snapshots, pending.skipped)
        }
        var delivered = 0, dropped = skipped * subscribers.count
        let buffers = snapshots.map { ByteBuffer(bytes: $0.event) }
        let now = NIODeadline.now()
        for (id, subscriber) in subscribers {
            var wrote = false
            for (snapshot, buffer) in zip(snapshots, buffers) where snapshot.sequence > subscriber.lastSequence {
                subscribers[id]?.lastSequence = snapshot.sequence
                // isWritable turns false once the channel's unsent bytes pass the high-water mark.
                if subscriber.channel.isWritable {
                    subscriber.channel.write(HTTPServerResponsePart.body(.byteBuffer(buffer)), promise: nil)
                    wrote = true
                    delivered += 1
                } else {
                    dropped += 1
                }
            }
            if wrote { subscriber.channel.flush() }
            if subscriber.channel.isWritable || wrote {
                subscribers[id]?.stalledSince = nil
            } else if subscriber.stalledSince == nil {
                subscribers[id]?.stalledSince = now
            }
        }
        updateCounters {
            $0.delivered += delivered
            $0.dropped += dropped
        }
    }

    private func sendKeepAlive() {
        loop.assertInEventLoop()
        let comment = ByteBuffer(string: ": keep-alive\n\n")
        let now = NIODeadline.now()
        var disconnected = 0
        for (id, subscriber) in subscribers {
            if subscriber.channel.isWritable {
                subscriber.channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(comment)), promise: nil)
                subscribers[id]?.stalledSince = nil
            } else if let since = subscriber.stalledSince, now - since > keepAliveInterval * 4 {
                // Not read a byte for a minute (by default): a stuck client; free its buffer.
                subscriber.channel.close(promise: nil)
                subscribers.removeValue(forKey: id)
                disconnected += 1
            } else if subscriber.stalledSince == nil {
                subscribers[id]?.stalledSince = now
            }
        }
        if disconnected > 0 {
            updateCounters {
                $0.disconnected += disconnected
                $0.clients = self.subscribers.count
            }
        }
    }

    private func updateCounters(_ change: (inout Counters) -> Void) {
        change(&counters)
        let copy = counters
        published.withLock { $0 = copy }
    }
}
