/// Limits how often each value is published, for users who want "every 10 s" rather than every telegram.
///
/// With an interval, a measurement (power, voltage, current) is published as the mean of the samples since its
/// last publication, not as whichever sample happened to be last; registers and states publish their latest
/// value. The first value of every key is published at once, so a restart shows data immediately.
public struct ReadingThrottle: Sendable {
    /// The interval for every value without its own, in seconds; 0 publishes every telegram.
    public var interval: Double
    /// Intervals per key or path (`power_import`, `gas_1/reading`).
    public var intervals: [String: Double]
    /// Publish a value only when it differs from the last published one.
    public var onlyOnChange: Bool

    private struct State {
        var lastTime: Double
        var lastPayload: [UInt8]?
        var sum = 0.0
        var samples = 0
        var scale: UInt8 = 0
        var pending: Reading?
    }

    private var states: [String: State] = [:]

    /// Creates a throttle.
    public init(interval: Double = 0, intervals: [String: Double] = [:], onlyOnChange: Bool = false) {
        self.interval = max(0, interval)
        self.intervals = intervals
        self.onlyOnChange = onlyOnChange
    }

    /// True when nothing is throttled and every reading passes unchanged.
    public var isPassThrough: Bool { interval == 0 && intervals.isEmpty && !onlyOnChange }

    /// Decides whether `reading`, seen at `now` (monotonic seconds), is published now, and with which payload.
    public mutating func admit(_ reading: Reading, at now: Double) -> Reading? {
        if isPassThrough { return reading }
        let path = reading.value.path
        let period = intervals[path] ?? intervals[reading.value.key] ?? interval
        guard var state = states[path] else {
            states[path] = State(lastTime: now, lastPayload: reading.payload.bytes)
            return reading
        }
        var candidate = reading
        if period > 0 {
            if reading.kind == .measurement, let number = reading.payload.number {
                state.sum += number.doubleValue
                state.samples += 1
                state.scale = max(state.scale, number.scale)
            }
            guard now - state.lastTime >= period else {
                state.pending = reading
                states[path] = state
                return nil
            }
            if state.samples > 0 {
                candidate.payload = .number(Self.mean(state.sum, state.samples, scale: state.scale))
            }
        }
        state.sum = 0
        state.samples = 0
        state.pending = nil
        let bytes = candidate.payload.bytes
        if onlyOnChange && bytes == state.lastPayload {
            state.lastTime = now
            states[path] = state
            return nil
        }
        state.lastTime = now
        state.lastPayload = bytes
        states[path] = state
        return candidate
    }

    /// What is still held back (values seen since their last publication), e.g. when a replay ends.
    public mutating func flush() -> [Reading] {
        var readings: [Reading] = []
        for (path, var state) in states {
            guard var reading = state.pending else { continue }
            if state.samples > 0 { reading.payload = .number(Self.mean(state.sum, state.samples, scale: state.scale)) }
            state.pending = nil
            state.sum = 0
            state.samples = 0
            state.lastPayload = reading.payload.bytes
            states[path] = state
            readings.append(reading)
        }
        return readings
    }

    static func mean(_ sum: Double, _ samples: Int, scale: UInt8) -> MeterNumber {
        let factor = pow10(scale)
        return MeterNumber(mantissa: Int64((sum / Double(samples) * factor).rounded()), scale: scale)
    }

    private static func pow10(_ exponent: UInt8) -> Double {
        (0..<exponent).reduce(1.0) { product, _ in product * 10 }
    }
}
