import P1MQTT

/// Turns telegrams into hourly, daily and monthly periods on the meter's own clock. Pure: no I/O, no clock;
/// fed ``HistorySample``s in telegram order, it returns the periods that closed.
///
/// Energy is computed from register differences: each telegram adds `register − baseline` to the open hour,
/// day and month, and the register becomes the new baseline. The baseline is part of ``State``, which the
/// store saves with the periods, so energy used while p1mqtt was down (or while telegrams were lost) counts
/// in the period in which the meter is read again: the sum of all periods is always the last register minus
/// the first. A register that goes backwards or jumps implausibly is held back by a ``RegisterGuard``; if the
/// new level persists (meter replaced) the baseline restarts there, so no period ever gets negative energy.
public struct HistoryAccumulator: Sendable {
    /// Everything needed to continue after a restart.
    public struct State: Sendable, Hashable {
        /// The registers up to which energy has been attributed to periods.
        public var baseline: HistoryRegisters
        /// The meter time of the last telegram counted; earlier telegrams are ignored.
        public var lastTime: Int64?
        /// The meter's winter offset from UTC, as of the last telegram.
        public var standardOffset: Int64
        /// The periods in progress, at most one per kind (``PeriodRecord/complete`` false).
        public var open: [PeriodRecord]

        /// Creates a state; the default is a fresh history.
        public init(baseline: HistoryRegisters = HistoryRegisters(), lastTime: Int64? = nil,
                    standardOffset: Int64 = 3600, open: [PeriodRecord] = []) {
            self.baseline = baseline
            self.lastTime = lastTime
            self.standardOffset = standardOffset
            self.open = open
        }
    }

    /// What one sample did.
    public enum Outcome: Sendable, Hashable {
        /// Counted; `closed` are the periods it ended (complete, oldest first), `notes` say what the register
        /// guard did (for the log).
        case counted(closed: [PeriodRecord], notes: [String])
        /// Ignored: its time is before the last counted telegram's (`lastTime`), e.g. the meter's clock went
        /// back or a capture was replayed into an existing history.
        case outOfOrder(lastTime: Int64)
        /// Held back: its time is more than ``clockTolerance`` ahead of both this machine's clock
        /// (`machineTime`) and the last counted telegram, which is what a meter clock glitch looks like.
        /// Counted only if the meter keeps to the new time for ``confirmations`` telegrams in a row (then it
        /// is this machine's clock that is wrong).
        case aheadOfClock(machineTime: Int64)
    }

    /// The current state, to save.
    public private(set) var state: State

    /// Per register: when its baseline last changed, and a new level seen but not believed yet.
    private struct RegisterCheck: Sendable {
        var changedAt: Int64?
        var candidate: Int64?
        var candidateCount = 0
        /// A withheld value was noted already: one note per episode, not one per telegram.
        var noted = false
    }

    private var guards = Array(repeating: RegisterCheck(), count: HistoryRegisters.count)

    /// How many telegrams in a row must show an implausible new level before it is believed (meter replaced),
    /// or keep to a time far ahead of this machine's clock before it is believed.
    public static let confirmations = 10

    /// Seconds a telegram's time may run ahead of this machine's clock and of the last counted telegram before
    /// it is taken for a clock glitch (see ``Outcome/aheadOfClock(machineTime:)``).
    public static let clockTolerance: Int64 = 3600

    /// 2020-01-01T00:00:00Z: a machine clock before this is taken as not set.
    static let earliestPlausibleClock: Int64 = 1_577_836_800

    /// The latest time of telegrams held back for running ahead of the clock, and how many in a row.
    private var ahead: (time: Int64, count: Int)?

    /// Creates an accumulator that continues from `state` (as loaded from the store).
    public init(state: State = State()) {
        self.state = state
        // The first telegram after a restart is judged against the saved registers over the whole downtime.
        for slot in 0..<HistoryRegisters.count where state.baseline[slot] != nil {
            guards[slot].changedAt = state.lastTime
        }
    }

    private enum Verdict {
        case count(Int64)
        case newLevel
        case withhold(String)
    }

    /// Decides what a register value means. Rising at a plausible rate since the baseline last changed: the
    /// difference counts (the time since the last *change* matters: a DSMR 4 gas meter steps once an hour). A
    /// 0 (meters send it when a device is missing), a step back, or a rise faster than any household uses
    /// (250 kW, 50 m³/h, as ``RegisterGuard``) counts nothing; if the same new level persists for
    /// ``confirmations`` telegrams the meter was replaced or reset and the baseline restarts there.
    private mutating func judge(slot: Int, value: Int64, at time: Int64) -> Verdict {
        guard let baseline = state.baseline[slot] else {
            state.baseline[slot] = value
            guards[slot] = RegisterCheck(changedAt: time)
            return .count(0)
        }
        if value == baseline {
            guards[slot].candidate = nil
            guards[slot].candidateCount = 0
            return .count(0)
        }
        let problem: String?
        if value == 0 {
            problem = "reads 0 after \(PeriodRecord.thousandths(baseline))"
        } else if value < baseline {
            problem = "went back from \(PeriodRecord.thousandths(baseline)) to \(PeriodRecord.thousandths(value))"
        } else {
            let seconds = max(time - (guards[slot].changedAt ?? time), 60)
            let perHour: Int64 = slot >= HistoryRegisters.gasSlot ? 50_000 : 250_000
            let limit = perHour.multipliedReportingOverflow(by: seconds).partialValue / 3600
            problem = value - baseline > limit
                ? "jumped by \(PeriodRecord.thousandths(value - baseline)) in \(seconds) s, more than any household uses" : nil
        }
        guard let problem else {
            state.baseline[slot] = value
            guards[slot] = RegisterCheck(changedAt: time)
            return .count(value - baseline)
        }
        // A new level is believed when it persists (non-decreasing, itself plausible from the candidate on).
        if value != 0, let candidate = guards[slot].candidate, value >= candidate {
            guards[slot].candidateCount += 1
        } else {
            guards[slot].candidateCount = value == 0 ? 0 : 1
        }
        guards[slot].candidate = value == 0 ? nil : value
        if guards[slot].candidateCount >= Self.confirmations {
            state.baseline[slot] = value
            guards[slot] = RegisterCheck(changedAt: time)
            return .newLevel
        }
        return .withhold(problem)
    }

    /// Counts one telegram.
    /// - Parameter receivedAt: this machine's clock (seconds since 1970) when the telegram arrived; with it, a
    ///   telegram stamped far in the future is held back (``Outcome/aheadOfClock(machineTime:)``) instead of
    ///   closing the periods in progress and making every later telegram "out of order" until real time
    ///   catches up with the glitch. Nil: the meter's time is taken as it is.
    public mutating func add(_ sample: HistorySample, receivedAt: Double? = nil) -> Outcome {
        if let last = state.lastTime, sample.time < last { return .outOfOrder(lastTime: last) }
        // A clock before 2020 has not been set (a Raspberry Pi without network after boot): it cannot judge.
        if let now = receivedAt.flatMap({ Int64(exactly: $0.rounded(.down)) }), now >= Self.earliestPlausibleClock,
            sample.time > now &+ Self.clockTolerance, sample.time > (state.lastTime ?? Int64.min) &+ Self.clockTolerance
        {
            // Telegrams that follow on from the held-back one (no step back, no new jump) confirm it.
            let count = ahead.map { sample.time >= $0.time && sample.time - $0.time <= Self.clockTolerance ? $0.count + 1 : 1 } ?? 1
            ahead = (sample.time, count)
            if count < Self.confirmations { return .aheadOfClock(machineTime: now) }
        }
        ahead = nil
        state.lastTime = sample.time
        state.standardOffset = sample.standardOffset

        // Close what this telegram's time has left behind, and open the periods it falls in.
        var closed: [PeriodRecord] = []
        var open: [PeriodRecord] = []
        for kind in PeriodKind.allCases {
            if var period = state.open.first(where: { $0.kind == kind }) {
                if sample.time < period.end {
                    open.append(period)
                    continue
                }
                period.complete = true
                closed.append(period)
            }
            let bounds = Self.period(kind, containing: sample.time, standardOffset: sample.standardOffset)
            open.append(PeriodRecord(kind: kind, start: bounds.start, end: bounds.end, utcOffset: bounds.utcOffset,
                                     endUTCOffset: bounds.endUTCOffset))
        }

        // Register differences since the baseline, through the plausibility check.
        var delta = Array(repeating: Int64(0), count: HistoryRegisters.count)
        var notes: [String] = []
        for slot in 0..<HistoryRegisters.count {
            guard let value = sample.registers[slot] else { continue }
            let name = HistoryRegisters.columnNames[slot]
            switch judge(slot: slot, value: value, at: sample.time) {
            case .count(let difference):
                delta[slot] = difference
            case .newLevel:
                notes.append("\(name) register restarted at \(PeriodRecord.thousandths(value)) (meter replaced or reset); counting continues from there")
            case .withhold(let reason):
                if !guards[slot].noted {
                    guards[slot].noted = true
                    notes.append("\(name) register \(reason); not counted unless it persists")
                }
            }
        }

        for index in open.indices {
            for tariff in 0..<4 {
                open[index].importWh[tariff] += delta[HistoryRegisters.importSlot + tariff]
                open[index].exportWh[tariff] += delta[HistoryRegisters.exportSlot + tariff]
            }
            // Gas and water are there (possibly 0) once the meter has shown them in the period.
            if sample.registers[HistoryRegisters.gasSlot] != nil {
                open[index].gasLitres = (open[index].gasLitres ?? 0) + delta[HistoryRegisters.gasSlot]
            }
            if sample.registers[HistoryRegisters.waterSlot] != nil {
                open[index].waterLitres = (open[index].waterLitres ?? 0) + delta[HistoryRegisters.waterSlot]
            }
            if let power = sample.powerW {
                open[index].peakPowerW = max(open[index].peakPowerW ?? power, power)
            }
            open[index].telegrams += 1
        }
        state.open = open
        return .counted(closed: closed, notes: notes)
    }

    /// The bounds of the hour, day or month containing `time` on the meter's clock (EU daylight-saving rule).
    /// Days are 23 or 25 hours long on the switch days; the October hour that occurs twice is two hours.
    public static func period(_ kind: PeriodKind, containing time: Int64, standardOffset: Int64 = 3600)
        -> (start: Int64, end: Int64, utcOffset: Int64, endUTCOffset: Int64)
    {
        func offset(_ moment: Int64) -> Int64 {
            MeterTimestamp(secondsSince1970: moment).localTime(standardOffset: standardOffset).utcOffset
        }
        let local = MeterTimestamp(secondsSince1970: time).localTime(standardOffset: standardOffset)
        let start: Int64
        let end: Int64
        switch kind {
        case .hours:
            // Hours are counted in UTC steps, so both 02:00 hours of the October switch exist.
            let localSeconds = time + local.utcOffset
            start = time - (localSeconds % 3600 + 3600) % 3600
            end = start + 3600
        case .days:
            start = MeterTimestamp.moment(year: local.year, month: local.month, day: local.day,
                                          standardOffset: standardOffset).secondsSince1970
            // 30 hours after midnight is always on the next day (days last 23 to 25 hours).
            let next = MeterTimestamp(secondsSince1970: start + 30 * 3600).localTime(standardOffset: standardOffset)
            end = MeterTimestamp.moment(year: next.year, month: next.month, day: next.day,
                                        standardOffset: standardOffset).secondsSince1970
        case .months:
            start = MeterTimestamp.moment(year: local.year, month: local.month, day: 1,
                                          standardOffset: standardOffset).secondsSince1970
            end = MeterTimestamp.moment(year: local.month == 12 ? local.year + 1 : local.year,
                                        month: local.month % 12 + 1, day: 1,
                                        standardOffset: standardOffset).secondsSince1970
        }
        return (start, end, offset(start), offset(end))
    }
}
