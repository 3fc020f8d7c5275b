#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging
import Synchronization

/// Reads a P1 cable on a serial device, on a thread of its own.
///
/// With fixed settings it streams the bytes as they come. With automatic settings it tries each of
/// ``SerialSettings/automaticOrder`` for ``detectionTimeout`` and keeps the first that gives a valid telegram;
/// when no valid telegram has come for ``quietTimeout`` it starts detecting again. Bytes read while detecting
/// are passed on too: the decoder downstream rejects whatever is garbage.
///
/// The stream never ends by itself: when the device disappears (USB cable pulled) or reads fail, the port is
/// closed and reopened with a growing delay (1 s to 30 s) until the device is back. It throws only for a
/// problem the user must fix (the path is not a serial device, or permission is denied on the first open).
/// Cancelling the consumer stops the thread within a quarter of a second.
public struct SerialByteSource: ByteSource {
    /// The device path, e.g. `/dev/ttyUSB0` or `/dev/serial/by-id/usb-…`.
    public let device: String
    /// The settings, fixed or detected.
    public let settings: SerialSettings.Selection
    /// How long each setting is tried while detecting (a DSMR 4 meter sends every 10 s).
    public let detectionTimeout: Duration
    /// How long without a valid telegram before detecting again (automatic settings only).
    public let quietTimeout: Duration
    private let logger: Logger
    private let shared = SharedStatus()

    /// Where the source is, for the statistics topic and for tests.
    public struct Status: Sendable, Hashable {
        /// What the reader thread is doing.
        public enum State: Sendable, Hashable {
            /// Not started yet, or stopped.
            case idle
            /// The device cannot be opened; the reason, and the reader retries.
            case waitingForDevice(String)
            /// Trying settings until one gives a valid telegram.
            case detecting(SerialSettings)
            /// Reading with these settings.
            case reading(SerialSettings)
        }

        /// The state.
        public var state = State.idle
        /// The settings that last gave valid telegrams (or the fixed ones once the device is open); nil while
        /// still detecting for the first time.
        public var settings: SerialSettings?
        /// Bytes read since the stream started.
        public var bytes = 0
        /// How many times the device was opened successfully.
        public var opens = 0
        /// Telegrams the detector accepted (automatic settings only).
        public var validTelegrams = 0
    }

    /// Creates a source.
    /// - Parameters:
    ///   - device: the device path.
    ///   - settings: fixed settings, or ``SerialSettings/Selection/automatic`` (the default).
    ///   - logger: where state changes are logged (device gone, back, settings chosen).
    ///   - detectionTimeout: how long each setting is tried while detecting.
    ///   - quietTimeout: how long without a valid telegram before detecting again.
    public init(device: String, settings: SerialSettings.Selection = .automatic,
                logger: Logger = Logger(label: "p1mqtt"), detectionTimeout: Duration = .seconds(12),
                quietTimeout: Duration = .seconds(60)) {
        self.device = device
        self.settings = settings
        self.logger = logger
        self.detectionTimeout = detectionTimeout
        self.quietTimeout = quietTimeout
    }

    /// `serial /dev/ttyUSB0`.
    public var name: String { "serial \(device)" }

    /// `reading 115200 8N1`, `detecting (trying 9600 7E1)`, `waiting for the device (…)`.
    public var state: String {
        switch status.state {
        case .idle: "idle"
        case .waitingForDevice(let reason): "waiting for the device (\(reason))"
        case .detecting(let settings): "detecting (trying \(settings))"
        case .reading(let settings): "reading \(settings)"
        }
    }

    /// A snapshot of the reader's state; shared by every stream of this source.
    public var status: Status { shared.value.withLock { $0 } }

    /// The settings that give valid telegrams (fixed ones once the device is open), or nil while detecting.
    public var currentSettings: SerialSettings? { status.settings }

    /// Checks what can be checked before starting: a path that is not a serial device, or one the user may not
    /// open, is refused; a missing device is fine (the source waits for it to be plugged in).
    public func validate() throws(SourceError) {
        do throws(SerialPort.Failure) {
            let port = try SerialPort.open(device)
            defer { port.close() }
            guard port.attributes() != nil else {
                throw SerialPort.Failure(kind: .notASerialDevice, description: "\(device) is not a serial device (not a terminal); give the P1 cable's device, e.g. /dev/ttyUSB0")
            }
        } catch {
            switch error.kind {
            case .notFound, .busy, .other: return
            case .permissionDenied, .notASerialDevice: throw SourceError("\(name): \(error.description)")
            }
        }
    }

    /// The bytes as they arrive. Meant to be consumed by one task at a time.
    public func chunks() -> AsyncThrowingStream<[UInt8], any Error> {
        // A live line must not stall while the consumer is busy, and must not grow without bound if it stops:
        // keep the newest chunks (a telegram cut by a drop is rejected downstream, the next one is whole).
        let (stream, continuation) = AsyncThrowingStream.makeStream(
            of: [UInt8].self, throwing: (any Error).self, bufferingPolicy: .bufferingNewest(1024))
        let reader = SerialReader(source: self, shared: shared, logger: logger, continuation: continuation)
        continuation.onTermination = { _ in reader.cancel() }
        if !DetachedThread.start({ reader.run() }) {
            continuation.finish(throwing: SourceError("cannot start a thread to read \(name)"))
        }
        return stream
    }
}

/// The status behind a lock, shared between the reader thread and whoever asks.
private final class SharedStatus: Sendable {
    let value = Mutex(SerialByteSource.Status())

    func update(_ change: (inout SerialByteSource.Status) -> Void) {
        value.withLock { change(&$0) }
    }
}

/// The blocking read loop with detection and reopening. A class so the termination handler can reach the
/// cancellation flag; everything mutable is confined to the reader thread, which `run` is called on.
private final class SerialReader: Sendable {
    let device: String
    let name: String
    let selection: SerialSettings.Selection
    let detectionSeconds: Double
    let quietSeconds: Double
    let quietText: String
    let shared: SharedStatus
    let logger: Logger
    let continuation: AsyncThrowingStream<[UInt8], any Error>.Continuation
    private let cancelled = AtomicFlag()

    /// The longest a poll waits, so cancellation is noticed promptly.
    static let pollMilliseconds: Int32 = 250

    init(source: SerialByteSource, shared: SharedStatus, logger: Logger,
         continuation: AsyncThrowingStream<[UInt8], any Error>.Continuation) {
        device = source.device
        name = source.name
        selection = source.settings
        detectionSeconds = max(0.1, ReconnectBackoff.seconds(source.detectionTimeout))
        quietSeconds = max(0.1, ReconnectBackoff.seconds(source.quietTimeout))
        quietText = ReconnectBackoff.describe(source.quietTimeout)
        self.shared = shared
        self.logger = logger
        self.continuation = continuation
    }

    func cancel() { cancelled.set() }

    /// How a session with an open port ended.
    private enum SessionEnd {
        case cancelled
        case gone(String)
        case fatal(SourceError)
    }

    func run() {
        var backoff = ReconnectBackoff(minimum: .seconds(1), maximum: .seconds(30))
        var everOpened = false
        var loggedProblem: String?
        // Settings that gave valid telegrams survive a reopen: the same meter is usually plugged back in.
        var chosen: SerialSettings? = selection.isAutomatic ? nil : selection.candidates.first
        shared.update { $0.state = .idle; $0.bytes = 0 }
        while !cancelled.isSet {
            let port: SerialPort
            do {
                port = try SerialPort.open(device)
            } catch {
                // Before the first successful open, a wrong path or missing permission is the user's to fix;
                // later the same errors are part of a device coming back (udev sets permissions late).
                if !everOpened && (error.kind == .permissionDenied || error.kind == .notASerialDevice) {
                    finish(throwing: SourceError("\(name): \(error.description)"))
                    return
                }
                let delay = backoff.nextDelay()
                if loggedProblem != error.description {
                    logger.warning("\(name): waiting for device: \(error.description); retrying every \(ReconnectBackoff.describe(backoff.minimum)) to \(ReconnectBackoff.describe(backoff.maximum))")
                    loggedProblem = error.description
                }
                shared.update { $0.state = .waitingForDevice(error.description) }
                sleep(delay)
                continue
            }
            if loggedProblem != nil { logger.notice("\(name): device is back") }
            loggedProblem = nil
            everOpened = true
            shared.update { $0.opens += 1 }
            let end = session(port, chosen: &chosen, backoff: &backoff)
            port.close()
            switch end {
            case .cancelled:
                // The consumer went away (the flag may not be set yet if `yield` noticed it first).
                cancelled.set()
            case .fatal(let error):
                finish(throwing: error)
                return
            case .gone(let reason):
                logger.warning("\(name): \(reason); reopening")
                loggedProblem = reason
                shared.update { $0.state = .waitingForDevice(reason) }
                sleep(backoff.nextDelay())
            }
        }
        finish(throwing: nil)
    }

    private func finish(throwing error: SourceError?) {
        shared.update { $0.state = .idle }
        if let error { continuation.finish(throwing: error) } else { continuation.finish() }
    }

    /// Reads from an open port until it fails or the stream is cancelled.
    private func session(_ port: SerialPort, chosen: inout SerialSettings?,
                         backoff: inout ReconnectBackoff) -> SessionEnd {
        let candidates = selection.candidates
        // Start with the settings that worked before, else with the first candidate.
        var index = chosen.flatMap { candidates.firstIndex(of: $0) } ?? 0
        var detecting = selection.isAutomatic && chosen == nil
        var decoder = TelegramDecoder()
        var phaseStart = monotonicSeconds()
        var lastValid = phaseStart
        var failedRounds = 0
        var receivedBytes = false

        func use(_ settings: SerialSettings) -> SessionEnd? {
            do {
                try port.configure(settings)
            } catch {
                // A device that is not a terminal never will be; anything else may be a device going away.
                return error.kind == .notASerialDevice
                    ? .fatal(SourceError("\(name): \(error.description)")) : .gone(error.description)
            }
            decoder = TelegramDecoder(options: .init(stripParity: settings.isSevenBit))
            phaseStart = monotonicSeconds()
            let state: SerialByteSource.Status.State = detecting ? .detecting(settings) : .reading(settings)
            shared.update { $0.state = state }
            if detecting { logger.debug("\(name): trying \(settings)") }
            return nil
        }

        if let end = use(candidates[index]) { return end }
        if !selection.isAutomatic { shared.update { $0.settings = candidates[index] } }
        let capacity = 4096
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        defer { buffer.deallocate() }

        while !cancelled.isSet {
            let settings = candidates[index]
            switch port.read(into: buffer, timeoutMilliseconds: Self.pollMilliseconds) {
            case .gone(let reason):
                return .gone(reason)
            case .timeout:
                break
            case .bytes(let count):
                if !receivedBytes {
                    // The device works: the next outage starts again from the shortest delay.
                    receivedBytes = true
                    backoff.reset()
                }
                var chunk = Array(buffer[0..<count])
                // Some USB adapters ignore CS7 and deliver the parity bit as bit 7: clear it here as well.
                if settings.isSevenBit {
                    for position in chunk.indices { chunk[position] &= 0x7F }
                }
                shared.update { $0.bytes += count }
                if case .terminated = continuation.yield(chunk) { return .cancelled }
                guard selection.isAutomatic else { continue }
                var valid = 0
                decoder.feed(chunk) { event in
                    if case .telegram = event { valid += 1 }
                }
                if valid > 0 {
                    lastValid = monotonicSeconds()
                    failedRounds = 0
                    shared.update { $0.validTelegrams += valid; $0.settings = settings; $0.state = .reading(settings) }
                    if detecting || chosen != settings {
                        logger.info("\(name): \(settings) gives valid telegrams")
                    }
                    detecting = false
                    chosen = settings
                }
            }
            guard selection.isAutomatic else { continue }
            let now = monotonicSeconds()
            if detecting && now - phaseStart >= detectionSeconds {
                index = (index + 1) % candidates.count
                if index == 0 {
                    failedRounds += 1
                    if failedRounds == 1 {
                        logger.warning("\(name): no valid telegram at \(candidates.map(\.description).joined(separator: ", ")); still trying (check the cable; p1mqtt probe \(device) tells more)")
                    }
                }
                if let end = use(candidates[index]) { return end }
            } else if !detecting && now - lastValid >= quietSeconds {
                logger.warning("\(name): no valid telegram for \(quietText) at \(settings); detecting the line settings again")
                detecting = true
                chosen = nil
                index = 0
                shared.update { $0.settings = nil }
                if let end = use(candidates[index]) { return end }
            }
        }
        return .cancelled
    }

    /// Waits `delay`, waking every 100 ms to notice cancellation.
    private func sleep(_ delay: Duration) {
        let end = monotonicSeconds() + ReconnectBackoff.seconds(delay)
        while !cancelled.isSet {
            let left = end - monotonicSeconds()
            if left <= 0 { return }
            usleep(UInt32(min(left, 0.1) * 1_000_000))
        }
    }
}
