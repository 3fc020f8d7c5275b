import Mapping

/// One value ready to publish: where it goes, what it says, and how publishing may treat it.
public struct Reading: Sendable, Hashable {
    /// How a value behaves over time, which decides throttling and plausibility checks.
    public enum Kind: Sendable, Hashable {
        /// A cumulative register (energy, gas, water, heat): only rises; the latest value is published and
        /// implausible values (0, backwards, impossible jumps) are withheld.
        case register
        /// An instantaneous measurement (power, voltage, current): averaged over a throttle interval.
        case measurement
        /// Anything else (tariff, ids, counters of events, timestamps): the latest value is published.
        case state
    }

    /// The value's identity for topics and renames.
    public var value: TopicMap.Value
    /// The payload.
    public var payload: Payload
    /// The unit of a numeric payload, normalised for Home Assistant (`kWh`, `m³`), if any.
    public var unit: String?
    /// Throttling and plausibility behaviour.
    public var kind: Kind

    /// Creates a reading.
    public init(value: TopicMap.Value, payload: Payload, unit: String? = nil, kind: Kind = .state) {
        self.value = value
        self.payload = payload
        self.unit = unit
        self.kind = kind
    }
}

/// What a topic carries: a bare number, a bare text, or JSON for values with several parts.
public enum Payload: Sendable, Hashable, CustomStringConvertible {
    /// A number with the meter's digits, e.g. `1234.567`.
    case number(MeterNumber)
    /// Text, e.g. `low` or an ISO timestamp.
    case text(String)
    /// A JSON document (failure log, peak history).
    case json([UInt8])

    /// The bytes to publish.
    public var bytes: [UInt8] {
        switch self {
        case .number(let number):
            var bytes: [UInt8] = []
            number.write(to: &bytes)
            return bytes
        case .text(let text): return Array(text.utf8)
        case .json(let json): return json
        }
    }

    /// The payload as text.
    public var description: String { String(decoding: bytes, as: UTF8.self) }

    /// The number, for numeric payloads.
    public var number: MeterNumber? {
        if case .number(let number) = self { return number }
        return nil
    }
}
