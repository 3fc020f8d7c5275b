extension MeterTimestamp {
    /// A date and time on the meter's own (local) clock.
    public struct LocalTime: Sendable, Hashable {
        /// The calendar year, e.g. 2026.
        public var year: Int
        /// 1…12.
        public var month: Int
        /// 1…31.
        public var day: Int
        /// 0…23.
        public var hour: Int
        /// The offset from UTC in force, in seconds (3600 for CET, 7200 for CEST).
        public var utcOffset: Int64
    }

    /// The meter's local time at this moment: UTC plus the zone's standard offset, plus an hour in EU summer
    /// time (last Sunday of March to last Sunday of October, 01:00 UTC), the rule every P1 meter follows.
    /// - Parameter standardOffset: the winter offset in seconds (``MeterVariant/standardUTCOffset``).
    public func localTime(standardOffset: Int64 = 3600) -> LocalTime {
        let (utcYear, _, _) = Self.civilFromDays(Self.floorDiv(secondsSince1970, 86_400))
        let offset = standardOffset + (Self.isSummerTime(utc: secondsSince1970, year: utcYear) ? 3600 : 0)
        let local = secondsSince1970 + offset
        let days = Self.floorDiv(local, 86_400)
        let (year, month, day) = Self.civilFromDays(days)
        return LocalTime(year: year, month: month, day: day, hour: Int((local - days * 86_400) / 3600), utcOffset: offset)
    }

    /// The UTC moment of a local date and hour on the meter's clock (the first one, when the October hour
    /// occurs twice; the next valid one, when the March hour is skipped).
    /// - Parameter standardOffset: the winter offset in seconds (``MeterVariant/standardUTCOffset``).
    public static func moment(year: Int, month: Int, day: Int, hour: Int = 0, standardOffset: Int64 = 3600) -> MeterTimestamp {
        let local = daysFromCivil(year: year, month: month, day: day) * 86_400 + Int64(hour) * 3600
        // Try summer time first: in the repeated October hour that is the earlier moment.
        let summer = local - standardOffset - 3600
        if isSummerTime(utc: summer, year: year) { return MeterTimestamp(secondsSince1970: summer) }
        let winter = local - standardOffset
        if !isSummerTime(utc: winter, year: year) { return MeterTimestamp(secondsSince1970: winter) }
        // 02:00–03:00 on the last Sunday of March does not exist: it is 03:00 summer time.
        return MeterTimestamp(secondsSince1970: summer + 3600)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (for other modules that format or parse dates
    /// without Foundation; the one calendar implementation of the project).
    public static func daysSince1970(year: Int, month: Int, day: Int) -> Int64 {
        daysFromCivil(year: year, month: month, day: day)
    }

    /// The proleptic Gregorian date of a day number since 1970-01-01.
    public static func date(daysSince1970 days: Int64) -> (year: Int, month: Int, day: Int) {
        civilFromDays(days)
    }
}
