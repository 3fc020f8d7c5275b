/// How fast a recorded capture is replayed.
public enum ReplayRate: Sendable, Hashable, CustomStringConvertible {
    /// As fast as possible.
    case max
    /// At the meter's own pace: the time between the telegrams' timestamps (1 s when they have none).
    case meter
    /// A fixed number of seconds between telegrams.
    case interval(Double)

    /// Parses `max`, `meter` or a number of seconds.
    public init?(_ text: String) {
        switch text {
        case "max": self = .max
        case "meter": self = .meter
        default:
            guard let seconds = Double(text), seconds >= 0, seconds.isFinite else { return nil }
            self = seconds == 0 ? .max : .interval(seconds)
        }
    }

    /// `max`, `meter` or the seconds.
    public var description: String {
        switch self {
        case .max: "max"
        case .meter: "meter"
        case .interval(let seconds): "\(seconds)"
        }
    }

    /// The pause before a telegram stamped `current`, after one stamped `previous`.
    func pause(after previous: MeterTimestamp?, before current: MeterTimestamp?) -> Double {
        switch self {
        case .max: return 0
        case .interval(let seconds): return seconds
        case .meter:
            guard let previous, let current else { return 1 }
            // A gap in the capture (or a clock jump) should not stall the replay.
            return Double(Swift.min(Swift.max(current.secondsSince1970 - previous.secondsSince1970, 0), 10))
        }
    }
}
