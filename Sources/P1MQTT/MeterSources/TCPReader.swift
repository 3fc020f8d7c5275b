#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The connection loop of one ``TCPByteSource`` stream, run on a thread of its own: connect, read until the
/// connection ends or falls silent, wait, connect again; until the consumer cancels. A class so the stream's
/// termination handler can reach the cancellation flag.
final class TCPReader: Sendable {
    /// How the reading of one connection ended.
    private enum SessionEnd {
        case cancelled
        case lost(String)
        case silent
    }

    /// A connection counts as working (the backoff and the reported problems start over) once it has
    /// delivered data and stayed open this long: a server that accepts, sends a line such as "port in use"
    /// and closes must not turn into a reconnect every second.
    static let stableAfter = 10.0

    private let source: TCPByteSource
    private let counters: TCPByteSource.StatisticsStore
    private let continuation: AsyncThrowingStream<[UInt8], any Error>.Continuation
    private let cancelled = AtomicFlag()

    init(source: TCPByteSource, counters: TCPByteSource.StatisticsStore,
         continuation: AsyncThrowingStream<[UInt8], any Error>.Continuation) {
        self.source = source
        self.counters = counters
        self.continuation = continuation
    }

    /// Ends the loop; the socket is closed within a poll slice.
    func cancel() { cancelled.set() }

    /// The thread's body.
    func run() {
        var backoff = ReconnectBackoff(minimum: source.minimumReconnectDelay, maximum: source.maximumReconnectDelay)
        var log = TCPStatusLog(name: source.name, host: source.host, maximumDelay: source.maximumReconnectDelay,
                               watchdog: source.watchdog, logger: source.logger)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16 * 1024, alignment: 16)
        defer { buffer.deallocate() }
        while !cancelled.isSet {
            counters.update { $0.attempts += 1 }
            let connection: TCPConnection
            do {
                connection = try TCPConnection.open(host: source.host, port: source.port,
                                                    timeout: source.connectTimeout, cancelled: cancelled)
            } catch {
                if error.cancelled { break }
                counters.update { $0.failedAttempts += 1 }
                log.report(.cannotConnect(error.message))
                guard pause(backoff.nextDelay()) else { break }
                continue
            }
            counters.update {
                $0.connections += 1
                $0.isConnected = true
            }
            log.connected(to: connection.peer)
            let end = read(connection, into: buffer, backoff: &backoff, log: &log)
            connection.disconnect()
            counters.update { $0.isConnected = false }
            switch end {
            case .cancelled:
                break
            case .lost(let reason):
                log.report(.lost(reason))
            case .silent:
                counters.update { $0.watchdogTimeouts += 1 }
                log.report(.silent)
            }
            if case .cancelled = end { break }
            guard pause(backoff.nextDelay()) else { break }
        }
        continuation.finish()
    }

    /// Reads one connection until it ends, falls silent or the stream is cancelled.
    private func read(_ connection: TCPConnection, into buffer: UnsafeMutableRawBufferPointer,
                      backoff: inout ReconnectBackoff, log: inout TCPStatusLog) -> SessionEnd {
        let opened = monotonicSeconds()
        let watchdog = ReconnectBackoff.seconds(source.watchdog)
        var lastData = opened
        var received = false
        var stable = false
        while true {
            if cancelled.isSet { return .cancelled }
            let now: Double
            switch connection.receive(into: buffer) {
            case .data(let count):
                now = monotonicSeconds()
                lastData = now
                received = true
                counters.update { $0.bytes += count }
                let chunk = Array(buffer[0..<count])
                var delivered = false
                while !delivered {
                    switch continuation.yield(chunk) {
                    case .enqueued: delivered = true
                    case .terminated: return .cancelled
                    case .dropped:
                        // The consumer is behind: wait for room (TCP holds the sender back meanwhile).
                        if cancelled.isSet { return .cancelled }
                        usleep(1000)
                    @unknown default: delivered = true
                    }
                }
                // Time spent waiting for the consumer is not silence from the meter.
                lastData = monotonicSeconds()
            case .idle:
                now = monotonicSeconds()
                if now - lastData >= watchdog { return .silent }
            case .closed(let reason):
                return .lost(reason)
            }
            if received && !stable && now - opened >= Self.stableAfter {
                stable = true
                backoff.reset()
                log.working()
            }
        }
    }

    /// Waits before the next attempt, in short slices so a cancellation ends the wait. Returns whether to go on.
    private func pause(_ delay: Duration) -> Bool {
        let end = monotonicSeconds() + ReconnectBackoff.seconds(delay)
        while !cancelled.isSet {
            let remaining = end - monotonicSeconds()
            if remaining <= 0 { return true }
            usleep(UInt32(min(remaining, Double(TCPConnection.pollSlice) / 1000) * 1_000_000))
        }
        return false
    }
}
