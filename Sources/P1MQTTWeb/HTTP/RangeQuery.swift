import P1MQTT

/// The `from` and `to` of `GET /api/v1/history/…`: each is Unix seconds (`1763730000`), an ISO 8601 date
/// (`2025-11-21`: midnight on the meter's clock), or an ISO 8601 date-time with or without offset
/// (`2025-11-21T14:00:00+01:00`, `2025-11-21T13:00Z`, `2025-11-21T14:00`: without offset on the meter's clock).
enum RangeQuery {
    /// Why a value was not understood.
    struct Invalid: Error {
        var reason: String
    }

    /// Seconds since 1970 for one parameter value; `standardOffset` is the meter's offset in winter.
    static func seconds(_ text: String, standardOffset: Int64) throws(Invalid) -> Int64 {
        let bytes = Array(text.utf8)
        if !bytes.isEmpty, bytes.count <= 12, bytes.enumerated().allSatisfy({ isDigit($1) || ($0 == 0 && $1 == UInt8(ascii: "-")) }),
           let value = Int64(text) {
            return value
        }
        func number(_ range: Range<Int>) -> Int64? {
            guard range.upperBound <= bytes.count, bytes[range].allSatisfy(isDigit) else { return nil }
            return bytes[range].reduce(0) { $0 * 10 + Int64($1 - 48) }
        }
        func at(_ index: Int, _ character: Character) -> Bool {
            index < bytes.count && bytes[index] == character.asciiValue
        }
        let invalid = Invalid(reason: "'\(text.prefix(40))' is neither Unix seconds nor an ISO 8601 date (2025-11-21) or date-time (2025-11-21T14:00:00+01:00)")
        guard let year = number(0..<4), at(4, "-"), let month = number(5..<7), at(7, "-"), let day = number(8..<10),
              (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year) else { throw invalid }
        if bytes.count == 10 {
            return MeterTimestamp.moment(year: Int(year), month: Int(month), day: Int(day), standardOffset: standardOffset).secondsSince1970
        }
        guard at(10, "T") || at(10, " "), let hour = number(11..<13), at(13, ":"), let minute = number(14..<16),
              hour < 24, minute < 60 else { throw invalid }
        var index = 16
        var second: Int64 = 0
        if at(16, ":") {
            guard let value = number(17..<19), value < 61 else { throw invalid }
            second = value
            index = 19
            if at(19, ".") {  // fractions are accepted and ignored
                index = 20
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
        }
        let clock = hour * 3600 + minute * 60 + second
        if index == bytes.count {
            // No offset: the meter's local time (the hour decides CET or CEST).
            let start = MeterTimestamp.moment(year: Int(year), month: Int(month), day: Int(day), hour: Int(hour),
                                              standardOffset: standardOffset).secondsSince1970
            return start + minute * 60 + second
        }
        let utcMidnight = HTTPDate.days(year: year, month: month, day: day) * 86_400
        if at(index, "Z") || at(index, "z") {
            guard index + 1 == bytes.count else { throw invalid }
            return utcMidnight + clock
        }
        guard at(index, "+") || at(index, "-"), let offsetHours = number(index + 1..<index + 3) else { throw invalid }
        var offsetMinutes: Int64 = 0
        if at(index + 3, ":"), let minutes = number(index + 4..<index + 6), index + 6 == bytes.count {
            offsetMinutes = minutes
        } else if let minutes = number(index + 3..<index + 5), index + 5 == bytes.count {
            offsetMinutes = minutes
        } else if index + 3 != bytes.count {
            throw invalid
        }
        let offset = (offsetHours * 3600 + offsetMinutes * 60) * (at(index, "-") ? -1 : 1)
        return utcMidnight + clock - offset
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 48 && byte <= 57 }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}
