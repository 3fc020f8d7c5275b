import P1MQTT
import Synchronization

/// What the web server knows about the meter right now: the bridge's observer.
///
/// The bridge calls ``accepted(_:)`` for every telegram; it builds the readings document and the server-sent
/// event once (a few microseconds for a typical telegram), stores them, and tells the event stream, which
/// delivers on its own event loop. Nothing here waits for a web client.
public final class LiveState: TelegramObserver {
    private struct State {
        var latest: LiveSnapshot?
        var status: (@Sendable () -> BridgeStatus)?
        var listeners: [Int: @Sendable (LiveSnapshot) -> Void] = [:]
        var nextListener = 0
        var sequence = 0
    }

    private let state = Mutex(State())

    /// Creates an empty state: the API answers 503 until the first telegram arrives.
    public init() {}

    /// Remembers how to ask the bridge for its status (statistics, health, metrics).
    public func bridgeStarted(status: @escaping @Sendable () -> BridgeStatus) {
        state.withLock { $0.status = status }
    }

    /// Stores the telegram and hands it to the event stream.
    public func accepted(_ update: TelegramUpdate) {
        let sequence = state.withLock { state in
            state.sequence += 1
            return state.sequence
        }
        // Built outside the lock: requests read the previous snapshot meanwhile.
        let snapshot = LiveSnapshot(update: update, sequence: sequence)
        let listeners = state.withLock { state in
            if (state.latest?.sequence ?? 0) < sequence { state.latest = snapshot }
            return Array(state.listeners.values)
        }
        for listener in listeners { listener(snapshot) }
    }

    /// Nothing to save: the state lives only in memory.
    public func bridgeStopping() async {}

    /// The latest telegram, nil before the first.
    var latest: LiveSnapshot? { state.withLock { $0.latest } }

    /// The bridge's status, nil until the bridge has started.
    func status() -> BridgeStatus? {
        let closure = state.withLock { $0.status }
        return closure?()
    }

    /// Calls `listener` for every telegram from now on, on the bridge's task (it must return at once);
    /// returns the id for ``removeListener(_:)``.
    func addListener(_ listener: @escaping @Sendable (LiveSnapshot) -> Void) -> Int {
        state.withLock { state in
            state.nextListener += 1
            state.listeners[state.nextListener] = listener
            return state.nextListener
        }
    }

    /// Stops calling a listener.
    func removeListener(_ id: Int) {
        _ = state.withLock { $0.listeners.removeValue(forKey: id) }
    }
}
