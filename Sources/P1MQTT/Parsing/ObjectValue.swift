/// The typed value of one data line.
public enum ObjectValue: Sendable, Hashable {
    /// `()`: the meter sent nothing (an empty text message, an unused id).
    case empty
    /// A number, with the unit the meter wrote after `*` (nil when it wrote none).
    case number(MeterNumber, unit: String?)
    /// Text kept exactly as sent (P1 version `50`, tariff `0002`).
    case text(String)
    /// A hex-encoded string (ids, text messages): `decoded` when it decodes to printable text, and `raw`.
    case hexText(decoded: String?, raw: String)
    /// A timestamp; nil when the meter sent an impossible one such as `632525252525W`.
    case timestamp(MeterTimestamp?)
    /// A reading with the time it was taken (M-Bus meters, Belgian month peak); a part may be missing.
    case reading(MeterNumber?, unit: String?, timestamp: MeterTimestamp?)
    /// The entries of a profile buffer (power failures, monthly peaks), or values that share one time stamp
    /// (E.ON's registers at the end of last month).
    case entries([ProfileEntry])
    /// Several values on one line that fit no other shape.
    case list([ObjectValue])
}

/// One entry of a profile buffer (`99.97.0` power failure, `98.1.0` monthly peak).
public struct ProfileEntry: Sendable, Hashable {
    /// The start of the period the entry covers (the month, for peaks), when the entry has one.
    public var periodStart: MeterTimestamp?
    /// When it happened: the end of a power failure, the time of a peak. Nil when invalid.
    public var timestamp: MeterTimestamp?
    /// The value: a duration, a peak power.
    public var value: MeterNumber?
    /// The value's unit as written.
    public var unit: String?

    /// Creates an entry.
    public init(periodStart: MeterTimestamp? = nil, timestamp: MeterTimestamp?, value: MeterNumber?, unit: String?) {
        self.periodStart = periodStart
        self.timestamp = timestamp
        self.value = value
        self.unit = unit
    }
}

/// The interpretation of a line with byte ranges instead of strings: the JSON writer and publishers use it
/// directly, ``ObjectValue`` materialises it.
enum InterpretedValue {
    case empty
    case number(MeterNumber, unit: Range<Int>?)
    case text(Range<Int>)
    case hexText(Range<Int>)
    case timestamp(MeterTimestamp?)
    case reading(MeterNumber?, unit: Range<Int>?, timestamp: MeterTimestamp?)
    case entries([InterpretedEntry])
    case list([InterpretedValue])
}

struct InterpretedEntry {
    var periodStart: MeterTimestamp?
    var timestamp: MeterTimestamp?
    var value: MeterNumber?
    var unit: Range<Int>?
}

extension ObjectValue {
    init(_ value: InterpretedValue, in telegram: Telegram) {
        func unit(_ range: Range<Int>?) -> String? { range.map { telegram.text($0) } }
        switch value {
        case .empty: self = .empty
        case .number(let number, let range): self = .number(number, unit: unit(range))
        case .text(let range): self = .text(telegram.text(range))
        case .hexText(let range):
            self = .hexText(decoded: telegram.bytes.withUnsafeBufferPointer { decodeHexText(UnsafeBufferPointer(rebasing: $0[range])) },
                            raw: telegram.text(range))
        case .timestamp(let timestamp): self = .timestamp(timestamp)
        case .reading(let number, let range, let timestamp):
            self = .reading(number, unit: unit(range), timestamp: timestamp)
        case .entries(let entries):
            self = .entries(entries.map {
                ProfileEntry(periodStart: $0.periodStart, timestamp: $0.timestamp, value: $0.value, unit: unit($0.unit))
            })
        case .list(let values): self = .list(values.map { ObjectValue($0, in: telegram) })
        }
    }

    /// The value as one display string: the number, the decoded text, the ISO timestamp; nil when empty.
    public var displayText: String? {
        switch self {
        case .empty: nil
        case .number(let number, _): number.description
        case .text(let text): text
        case .hexText(let decoded, let raw): decoded ?? raw
        case .timestamp(let timestamp): timestamp?.description
        case .reading(let number, _, _): number?.description
        case .entries, .list: nil
        }
    }
}

/// Decodes hex-encoded text such as `4B384547…` to `K8EG…`, but only when the result is printable ASCII:
/// many "hex" fields are really decimal serials that would decode to control characters.
func decodeHexText(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
    guard bytes.count >= 2, bytes.count % 2 == 0 else { return nil }
    // Decoded straight into the string's storage: no intermediate array per equipment id per telegram.
    var printable = true
    let text = String(unsafeUninitializedCapacity: bytes.count / 2) { storage in
        var index = 0
        while index < bytes.count {
            guard let high = TelegramFramer.hexValue(bytes[index]), let low = TelegramFramer.hexValue(bytes[index + 1]) else {
                printable = false
                return 0
            }
            let byte = high << 4 | low
            guard byte >= 0x20 && byte < 0x7F else {
                printable = false
                return 0
            }
            storage[index / 2] = byte
            index += 2
        }
        return bytes.count / 2
    }
    return printable ? text : nil
}
