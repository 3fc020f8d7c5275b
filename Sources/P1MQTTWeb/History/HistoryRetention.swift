/// How long history rows are kept, in periods before the one in progress (like the DSMR logger: 48 hours,
/// 14 days, 24 months). Rows older than that are deleted whenever a period closes, so the file stays small
/// (a few hundred rows, well under a megabyte).
public struct HistoryRetention: Sendable, Hashable {
    /// Complete hours kept.
    public var hours: Int
    /// Complete days kept.
    public var days: Int
    /// Complete months kept.
    public var months: Int

    /// Creates a retention; negative values count as 0 (only the period in progress is kept).
    public init(hours: Int = 48, days: Int = 14, months: Int = 24) {
        self.hours = max(0, hours)
        self.days = max(0, days)
        self.months = max(0, months)
    }

    /// The periods kept of one kind.
    public func count(_ kind: PeriodKind) -> Int {
        switch kind {
        case .hours: hours
        case .days: days
        case .months: months
        }
    }
}
