/// The delay before the next reconnect attempt: doubling from a minimum to a cap, with jitter.
///
/// The jitter (each delay is drawn from the upper half of the current step, never below the minimum)
/// spreads out reconnects of several daemons after a broker restart instead of having them arrive together.
struct ReconnectBackoff: Sendable {
    /// The first delay.
    let minimum: Duration
    /// The longest delay.
    let maximum: Duration
    /// Failed attempts since the last successful connection.
    private(set) var failures = 0

    init(minimum: Duration, maximum: Duration) {
        self.minimum = minimum
        self.maximum = max(minimum, maximum)
    }

    /// The upper bound of the next delay, before jitter: minimum × 2^failures, capped at the maximum.
    var currentStep: Duration {
        // 2^30 × any sensible minimum is far above any cap; stopping there avoids overflowing the shift.
        let factor = 1 << min(failures, 30)
        let seconds = min(Self.seconds(minimum) * Double(factor), Self.seconds(maximum))
        return .nanoseconds(Int64(seconds * 1e9))
    }

    /// Returns the delay to wait now and advances to the next step.
    /// - Parameter jitter: a number in 0...1 (random in production, fixed in tests); 0 gives half the
    ///   step, 1 the full step.
    mutating func nextDelay(jitter: Double = Double.random(in: 0...1)) -> Duration {
        let step = Self.seconds(currentStep)
        let seconds = max(Self.seconds(minimum), step * (0.5 + 0.5 * min(max(jitter, 0), 1)))
        failures += 1
        return .nanoseconds(Int64(seconds * 1e9))
    }

    /// Starts again from the minimum, after a successful connection.
    mutating func reset() {
        failures = 0
    }
}

extension ReconnectBackoff {
    /// A duration in seconds, for arithmetic with jitter factors and for APIs that take seconds. (A static
    /// function rather than a `Duration` extension, so it cannot clash with a helper elsewhere in the module.)
    static func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }

    /// `60 s`, `1.5 s`, `0.4 s`: a delay for a log line.
    static func describe(_ duration: Duration) -> String {
        let value = seconds(duration)
        if value >= 10 || value == value.rounded() { return "\(Int(value.rounded())) s" }
        return "\((value * 10).rounded() / 10) s"
    }
}
