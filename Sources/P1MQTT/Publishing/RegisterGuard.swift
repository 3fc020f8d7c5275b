/// Keeps implausible values of cumulative registers (energy, gas, water, heat) off MQTT.
///
/// Home Assistant's energy statistics take a register that drops as a meter reset and one that jumps as real
/// consumption, so one bad telegram can ruin a day's statistics. A value that falls back to 0, goes backwards
/// or rises faster than any household can consume is withheld. If the new level persists (a meter was really
/// replaced or reset), it is accepted after ``confirmations`` consistent readings.
public struct RegisterGuard: Sendable {
    /// What to do with a register value.
    public enum Verdict: Sendable, Hashable {
        /// Publish it.
        case accept
        /// Publish it: a new level persisted long enough to be believed (meter replaced or reset).
        case acceptNewLevel
        /// Withhold it; the reason is for logs and counters.
        case withhold(String)
    }

    /// How many consistent readings at a new level make it believable.
    public let confirmations: Int

    private struct State {
        var value: Double
        var time: Double
        var candidate: (value: Double, time: Double, count: Int)?
    }

    private var states: [String: State] = [:]

    /// Creates a guard.
    public init(confirmations: Int = 10) {
        self.confirmations = max(1, confirmations)
    }

    /// Judges the next value of register `key`, read at `time` (seconds, meter clock when available).
    /// - Parameter unit: the value's unit, which decides the largest plausible rate of rise.
    public mutating func check(_ key: String, value: Double, unit: String?, at time: Double) -> Verdict {
        guard let state = states[key] else {
            states[key] = State(value: value, time: time)
            return .accept
        }
        if let issue = problem(from: state.value, at: state.time, to: value, at: time, unit: unit) {
            // Is this the continuation of a new level seen before?
            if var candidate = state.candidate,
                problem(from: candidate.value, at: candidate.time, to: value, at: time, unit: unit) == nil
            {
                candidate.count += 1
                if candidate.count >= confirmations {
                    states[key] = State(value: value, time: time)
                    return .acceptNewLevel
                }
                candidate.value = value
                candidate.time = time
                states[key]?.candidate = candidate
            } else {
                states[key]?.candidate = (value, time, 1)
            }
            return .withhold(issue)
        }
        states[key] = State(value: value, time: time)
        return .accept
    }

    /// Forgets everything (e.g. when the meter changes).
    public mutating func reset() { states.removeAll() }

    private func problem(from old: Double, at oldTime: Double, to new: Double, at newTime: Double, unit: String?) -> String? {
        if new == old { return nil }
        if new == 0 { return "reads 0 after \(old)" }
        if new < old { return "went backwards from \(old) to \(new)" }
        // Allow at least a minute's worth: meters stamp gas readings per 5 minutes or per hour.
        let hours = max(newTime - oldTime, 60) / 3600
        let limit = Self.maximumRatePerHour(unit) * hours
        if new - old > limit { return "jumped by \(new - old) \(unit ?? "") in \(Int(newTime - oldTime)) s, more than any household uses" }
        return nil
    }

    /// The largest plausible rise per hour: 250 kW for electricity (a large three-phase connection is 50–80 kW),
    /// 50 m³/h for gas and water, 5 GJ/h for heat.
    static func maximumRatePerHour(_ unit: String?) -> Double {
        switch unit {
        case "kWh", "kvarh": 250
        case "MWh": 0.25
        case "Wh", "varh": 250_000
        case "m³", "m3": 50
        case "GJ": 5
        case "MJ": 5000
        default: .infinity
        }
    }
}
