import Mapping

/// Gas and water flow (volume per hour) from consecutive M-Bus readings, which meters stamp every five
/// minutes or every hour: the difference between two readings over the time between their stamps.
public struct FlowEstimator: Sendable {
    private var last: [String: (value: MeterNumber, time: MeterTimestamp)] = [:]

    /// Creates an estimator.
    public init() {}

    /// The flow readings that the new M-Bus readings make computable (one per device whose reading time
    /// moved on); empty most of the time.
    public mutating func flows(from readings: [Reading]) -> [Reading] {
        var times: [String: MeterTimestamp] = [:]
        for reading in readings where reading.value.key == "reading_time" {
            if let device = reading.value.device, case .text(let text) = reading.payload, let time = Self.parseISO(text) {
                times[device] = time
            }
        }
        var flows: [Reading] = []
        for reading in readings where reading.value.key == "reading" && reading.kind == .register {
            guard let device = reading.value.device, let time = times[device], let value = reading.payload.number,
                reading.unit == "m³" || reading.unit == "L"
            else { continue }
            defer { last[device] = (value, time) }
            guard let previous = last[device], time > previous.time else { continue }
            let hours = Double(time.secondsSince1970 - previous.time.secondsSince1970) / 3600
            let delta = value.doubleValue - previous.value.doubleValue
            // A gap of more than three hours says nothing about the current flow; a drop is not a flow.
            guard hours <= 3, delta >= 0 else { continue }
            let flow = MeterNumber(mantissa: Int64((delta / hours * 1000).rounded()), scale: 3)
            flows.append(Reading(
                value: TopicMap.Value(device: device, key: "flow", code: nil, groups: reading.value.groups + ["flow", "derived"]),
                payload: .number(flow), unit: "\(reading.unit ?? "m³")/h", kind: .measurement))
        }
        return flows
    }

    /// `2026-11-21T02:05:00Z` back to a timestamp (the mapper formats reading times that way).
    static func parseISO(_ text: String) -> MeterTimestamp? {
        let digits = Array(text.utf8)
        guard digits.count == 20 else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let digit = digits[index] &- 0x30
                guard digit < 10 else { return nil }
                value = value * 10 + Int(digit)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
            let minute = number(14..<16), let second = number(17..<19)
        else { return nil }
        let days = MeterTimestamp.daysFromCivil(year: year, month: month, day: day)
        return MeterTimestamp(secondsSince1970: days * 86_400 + Int64(hour * 3600 + minute * 60 + second))
    }
}
