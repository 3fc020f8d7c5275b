/// A moment the meter reported, as UTC seconds since 1970.
///
/// Meters write local time as `YYMMDDhhmmssX`, X being `S` (summer time, UTC+2) or `W` (winter time, UTC+1)
/// for the Central European zone every P1 country uses. The letter says which offset the meter applied, so the
/// conversion is exact even in the October hour that occurs twice. DSMR 2.2/3 write 12 digits without the
/// letter; the EU daylight-saving rule (last Sunday of March/October, 01:00 UTC) decides then.
public struct MeterTimestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Seconds since 1970-01-01T00:00:00Z.
    public let secondsSince1970: Int64

    /// Creates a timestamp from Unix seconds.
    public init(secondsSince1970: Int64) {
        self.secondsSince1970 = secondsSince1970
    }

    /// Parses `YYMMDDhhmmss` with an optional `S`/`W`; nil for impossible dates such as `632525252525W`.
    /// - Parameter standardOffset: the zone's winter offset from UTC in seconds: 3600 for Central European
    ///   meters (the default), 0 for Irish ones (GMT/IST). Summer time adds an hour.
    @inlinable
    public init?(_ bytes: UnsafeBufferPointer<UInt8>, standardOffset: Int64 = 3600) {
        guard bytes.count == 12 || bytes.count == 13 else { return nil }
        var fields = (0, 0, 0, 0, 0, 0)
        for index in 0..<6 {
            let high = bytes[index * 2] &- 0x30
            let low = bytes[index * 2 + 1] &- 0x30
            guard high < 10, low < 10 else { return nil }
            let value = Int(high) * 10 + Int(low)
            switch index {
            case 0: fields.0 = value
            case 1: fields.1 = value
            case 2: fields.2 = value
            case 3: fields.3 = value
            case 4: fields.4 = value
            default: fields.5 = value
            }
        }
        let year = fields.0 < 70 ? 2000 + fields.0 : 1900 + fields.0
        let (month, day, hour, minute, second) = (fields.1, fields.2, fields.3, fields.4, fields.5)
        guard (1...12).contains(month), day >= 1, day <= Self.daysIn(month: month, year: year),
            hour < 24, minute < 60, second < 60
        else { return nil }
        let local = Self.daysFromCivil(year: year, month: month, day: day) * 86_400
            + Int64(hour * 3600 + minute * 60 + second)
        let offset: Int64
        if bytes.count == 13 {
            switch bytes[12] {
            case 0x53, 0x73: offset = standardOffset + 3600  // S
            case 0x57, 0x77: offset = standardOffset  // W
            default: return nil
            }
        } else {
            // Without the letter, assume the EU rule; in the repeated October hour this picks summer time.
            let summer = Self.isSummerTime(utc: local - standardOffset - 3600, year: year)
            offset = summer ? standardOffset + 3600 : standardOffset
        }
        secondsSince1970 = local - offset
    }

    /// Parses a string such as `"170102192002W"`.
    public init?(_ text: String, standardOffset: Int64 = 3600) {
        let bytes = Array(text.utf8)
        guard let value = bytes.withUnsafeBufferPointer({ MeterTimestamp($0, standardOffset: standardOffset) })
        else { return nil }
        self = value
    }

    /// ISO 8601 in UTC: `2017-01-02T18:20:02Z`.
    public var description: String {
        var bytes: [UInt8] = []
        write(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the ISO 8601 form to `output` without allocating a String.
    public func write(to output: inout [UInt8]) {
        let days = secondsSince1970 >= 0 ? secondsSince1970 / 86_400 : (secondsSince1970 - 86_399) / 86_400
        let secondsOfDay = Int(secondsSince1970 - days * 86_400)
        let (year, month, day) = Self.civilFromDays(days)
        func two(_ value: Int) {
            output.append(UInt8(value / 10) + 0x30)
            output.append(UInt8(value % 10) + 0x30)
        }
        two(year / 100)
        two(year % 100)
        output.append(0x2D)
        two(month)
        output.append(0x2D)
        two(day)
        output.append(0x54)
        two(secondsOfDay / 3600)
        output.append(0x3A)
        two(secondsOfDay / 60 % 60)
        output.append(0x3A)
        two(secondsOfDay % 60)
        output.append(0x5A)
    }

    /// The form meters write: local time `YYMMDDhhmmssX` with `S` in summer time and `W` in winter time
    /// (EU rule), for a zone `standardOffset` seconds ahead of UTC in winter.
    public func meterText(standardOffset: Int64 = 3600) -> String {
        let year = Self.civilFromDays(Self.floorDiv(secondsSince1970, 86_400)).year
        let summer = Self.isSummerTime(utc: secondsSince1970, year: year)
        let local = secondsSince1970 + standardOffset + (summer ? 3600 : 0)
        let days = Self.floorDiv(local, 86_400)
        let (y, month, day) = Self.civilFromDays(days)
        let secondsOfDay = Int(local - days * 86_400)
        var text = ""
        for value in [y % 100, month, day, secondsOfDay / 3600, secondsOfDay / 60 % 60, secondsOfDay % 60] {
            text += value < 10 ? "0\(value)" : "\(value)"
        }
        return text + (summer ? "S" : "W")
    }

    static func floorDiv(_ value: Int64, _ divisor: Int64) -> Int64 {
        value >= 0 ? value / divisor : (value - divisor + 1) / divisor
    }

    public static func < (lhs: MeterTimestamp, rhs: MeterTimestamp) -> Bool {
        lhs.secondsSince1970 < rhs.secondsSince1970
    }

    @usableFromInline
    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    @usableFromInline
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let m = Int64(month)
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civilFromDays(_ days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        return (Int(yearOfEra + era * 400) + (month <= 2 ? 1 : 0), month, day)
    }

    /// EU rule: summer time from the last Sunday of March 01:00 UTC to the last Sunday of October 01:00 UTC.
    @usableFromInline
    static func isSummerTime(utc: Int64, year: Int) -> Bool {
        func lastSunday(month: Int) -> Int64 {
            let lastDay = daysFromCivil(year: year, month: month, day: 31)
            let weekday = (lastDay + 4) % 7  // 1970-01-01 was a Thursday (4); Sunday = 0
            return (lastDay - (weekday < 0 ? weekday + 7 : weekday)) * 86_400 + 3600
        }
        return utc >= lastSunday(month: 3) && utc < lastSunday(month: 10)
    }
}
