import Logging

/// Keeps the log readable over months: the first rejection of each kind is logged with its detail, after
/// that one summary line per interval ("last 60 s: 58 telegrams ok, 2 rejected (crc 2)") and only when
/// something was rejected.
struct ActivityLog: Sendable {
    let logger: Logger
    let interval: Double
    private var windowStart: Double
    private var accepted = 0
    private var rejected: [RejectionReason: Int] = [:]
    private var explained: Set<RejectionReason> = []

    init(logger: Logger, interval: Double = 60, now: Double) {
        self.logger = logger
        self.interval = interval
        windowStart = now
    }

    mutating func accepted(now: Double) {
        accepted += 1
        summarise(now: now)
    }

    mutating func rejected(_ rejection: Rejection, now: Double) {
        rejected[rejection.reason, default: 0] += 1
        if explained.insert(rejection.reason).inserted {
            logger.warning("telegram rejected: \(rejection.detail) (further rejections are summarised every \(Int(interval)) s)")
        }
        summarise(now: now)
    }

    private mutating func summarise(now: Double) {
        guard now - windowStart >= interval else { return }
        let total = rejected.values.reduce(0, +)
        if total > 0 {
            let reasons = rejected.sorted { $0.value > $1.value }.map { "\($0.key.rawValue) \($0.value)" }
                .joined(separator: ", ")
            logger.notice("last \(Int(now - windowStart)) s: \(accepted) telegrams ok, \(total) rejected (\(reasons))")
        }
        windowStart = now
        accepted = 0
        rejected.removeAll()
    }
}
