@testable import P1MQTT
@testable import P1MQTTWeb
import Testing

@Suite("History accumulator")
struct HistoryAccumulatorTests {
    let t0 = utc(2025, 11, 21, 13)  // 14:00 CET

    @Test("an hour's energy is the register at its last telegram minus the one at the previous hour's last")
    func hourBoundary() {
        var accumulator = HistoryAccumulator()
        #expect(accumulator.closing(sample(t0, import1: 1000)).isEmpty)
        #expect(accumulator.closing(sample(t0 + 1800, import1: 1500)).isEmpty)
        #expect(accumulator.closing(sample(t0 + 3599, import1: 2000)).isEmpty)
        let closed = accumulator.closing(sample(t0 + 3600, import1: 2100))
        #expect(closed.count == 1)
        let hour = closed[0]
        #expect(hour.kind == .hours && hour.start == t0 && hour.end == t0 + 3600 && hour.utcOffset == 3600)
        #expect(hour.importWh == [1000, 0, 0, 0] && hour.exportWh == [0, 0, 0, 0])
        #expect(hour.telegrams == 3 && hour.complete)
        #expect(hour.gasLitres == nil && hour.waterLitres == nil && hour.peakPowerW == nil)
        let open = accumulator.state.open
        #expect(open.map(\.kind) == [.hours, .days, .months])
        #expect(open[0].importWh[0] == 100 && !open[0].complete && open[0].telegrams == 1)
        #expect(open[1].importWh[0] == 1100 && open[1].start == utc(2025, 11, 20, 23) && open[1].end == utc(2025, 11, 21, 23))
        #expect(open[2].start == utc(2025, 10, 31, 23) && open[2].end == utc(2025, 11, 30, 23))
        #expect(accumulator.state.baseline[0] == 2100 && accumulator.state.lastTime == t0 + 3600)
    }

    @Test("period bounds on the meter's clock: 23- and 25-hour days, both 02:00 hours in October, months, Irish time")
    func bounds() {
        let spring = HistoryAccumulator.period(.days, containing: utc(2025, 3, 30, 12))
        #expect(spring.start == utc(2025, 3, 29, 23) && spring.end == utc(2025, 3, 30, 22))
        #expect(spring.utcOffset == 3600 && spring.endUTCOffset == 7200)
        let autumn = HistoryAccumulator.period(.days, containing: utc(2025, 10, 26, 12))
        #expect(autumn.start == utc(2025, 10, 25, 22) && autumn.end == utc(2025, 10, 26, 23))
        let first = HistoryAccumulator.period(.hours, containing: utc(2025, 10, 26, 0, 30))
        let second = HistoryAccumulator.period(.hours, containing: utc(2025, 10, 26, 1, 30))
        #expect(first.start == utc(2025, 10, 26, 0) && first.utcOffset == 7200)
        #expect(second.start == utc(2025, 10, 26, 1) && second.utcOffset == 3600)
        #expect(PeriodRecord.localISO(first.start, offset: first.utcOffset) == "2025-10-26T02:00:00+02:00")
        #expect(PeriodRecord.localISO(second.start, offset: second.utcOffset) == "2025-10-26T02:00:00+01:00")
        let october = HistoryAccumulator.period(.months, containing: utc(2025, 10, 15))
        #expect(october.start == utc(2025, 9, 30, 22) && october.end == utc(2025, 10, 31, 23))
        let december = HistoryAccumulator.period(.months, containing: utc(2025, 12, 31, 22, 59))
        #expect(december.start == utc(2025, 11, 30, 23) && december.end == utc(2025, 12, 31, 23))
        let irish = HistoryAccumulator.period(.days, containing: utc(2025, 1, 15, 12), standardOffset: 0)
        #expect(irish.start == utc(2025, 1, 15) && irish.end == utc(2025, 1, 16))
        // 23:30 UTC on 31 December is already January 1st in Amsterdam.
        let newYear = HistoryAccumulator.period(.days, containing: utc(2025, 12, 31, 23, 30))
        #expect(newYear.start == utc(2025, 12, 31, 23))
    }

    /// Feeds a sample every 15 minutes with 10 Wh each, and returns the closed periods.
    private func run(from start: Int64, to end: Int64) -> (closed: [PeriodRecord], accumulator: HistoryAccumulator) {
        var accumulator = HistoryAccumulator()
        var closed: [PeriodRecord] = []
        var register: Int64 = 1_000_000
        for time in stride(from: start, through: end, by: 900) {
            closed += accumulator.closing(sample(time, import1: register))
            register += 10
        }
        return (closed, accumulator)
    }

    @Test("the day of the switch to summer time has 23 hours, the day back 25, and each day is the sum of its hours")
    func daylightSavingDays() {
        for (day, hours) in [((2025, 3, 30), 23), ((2025, 10, 26), 25)] {
            let bounds = HistoryAccumulator.period(.days, containing: utc(day.0, day.1, day.2, 12))
            let (closed, _) = run(from: bounds.start - 7200, to: bounds.end + 7200)
            let dayRecord = closed.first { $0.kind == .days && $0.start == bounds.start }
            let hourRecords = closed.filter { $0.kind == .hours && $0.start >= bounds.start && $0.start < bounds.end }
            #expect(hourRecords.count == hours)
            #expect(Set(hourRecords.map(\.start)).count == hours)
            #expect(dayRecord?.end == bounds.end)
            #expect(dayRecord?.importWh[0] == hourRecords.map { $0.importWh[0] }.reduce(0, +))
            #expect(dayRecord?.importWh[0] == Int64(hours * 4 * 10))
        }
    }

    @Test("tariffs and export are counted per register")
    func tariffsAndExport() {
        var accumulator = HistoryAccumulator()
        _ = accumulator.closing(sample(t0, import1: 1000, import2: 5000, export1: 0, export2: 300))
        _ = accumulator.closing(sample(t0 + 600, import1: 1000, import2: 5200, export1: 0, export2: 300))
        _ = accumulator.closing(sample(t0 + 1200, import1: 1000, import2: 5200, export1: 0, export2: 900))
        let closed = accumulator.closing(sample(t0 + 3600, import1: 1100, import2: 5200, export1: 0, export2: 900))
        #expect(closed.first?.importWh == [0, 200, 0, 0])
        #expect(closed.first?.exportWh == [0, 600, 0, 0])
        #expect(accumulator.state.open[0].importWh == [100, 0, 0, 0])
    }

    @Test("gas counts the gas meter's own reading; an hourly (DSMR 4) step of 2 m³ is believed")
    func gas() {
        var accumulator = HistoryAccumulator()
        var closed: [PeriodRecord] = []
        for time in stride(from: t0, through: t0 + 3600, by: 60) {
            closed += accumulator.closing(sample(time, import1: 1000, gas: 1_000_000 + 10 * ((time - t0) / 300), power: 400))
        }
        #expect(closed.first?.gasLitres == 110)
        #expect(closed.first?.waterLitres == nil)
        #expect(closed.first?.peakPowerW == 400)

        var hourly = HistoryAccumulator()
        _ = hourly.closing(sample(t0 + 30, gas: 2_000_000))
        _ = hourly.closing(sample(t0 + 1800, gas: 2_000_000))
        let result = hourly.add(sample(t0 + 3630, gas: 2_002_000))
        #expect(result == .counted(closed: result.closedPeriods, notes: []))
        #expect(hourly.state.open[0].gasLitres == 2000)
        #expect(hourly.state.open[1].gasLitres == 2000)
    }

    @Test("missed telegrams and a gap of several hours lose no energy: it counts where the meter reads again")
    func gap() {
        var accumulator = HistoryAccumulator()
        var closed = accumulator.closing(sample(utc(2025, 11, 21, 9, 30), import1: 10_000, export1: 50))
        closed += accumulator.closing(sample(utc(2025, 11, 21, 9, 45), import1: 10_200, export1: 50))
        closed += accumulator.closing(sample(utc(2025, 11, 21, 13, 30), import1: 15_000, export1: 70))
        closed += accumulator.closing(sample(utc(2025, 11, 21, 13, 45), import1: 15_100, export1: 75))
        #expect(closed.map(\.start) == [utc(2025, 11, 21, 9)])
        #expect(closed[0].importWh[0] == 200)
        let open = accumulator.state.open
        #expect(open[0].start == utc(2025, 11, 21, 13) && open[0].importWh[0] == 4900 && open[0].exportWh[0] == 25)
        #expect(closed[0].importWh[0] + open[0].importWh[0] == 15_100 - 10_000)
        #expect(open[1].importWh[0] == 15_100 - 10_000)
    }

    @Test("a replaced meter (register back to near 0) never gives negative energy; counting restarts at the new level")
    func registerReset() {
        var accumulator = HistoryAccumulator()
        var time = t0
        func feed(_ value: Int64) -> HistoryAccumulator.Outcome {
            time += 10
            return accumulator.add(sample(time, import1: value))
        }
        for value: Int64 in [5_000_000, 5_000_010, 5_000_020] { _ = feed(value) }
        // One 0 (a glitch) and one impossible jump are not counted, and do not move the baseline.
        if case .counted(_, let notes) = feed(0) { #expect(notes.count == 1 && notes[0].contains("reads 0")) }
        _ = feed(5_000_030)
        _ = feed(9_000_000_000)
        _ = feed(5_000_040)
        #expect(accumulator.state.open[0].importWh[0] == 40)
        // The meter is replaced: the new register starts at 0.100 kWh and rises.
        var notes: [String] = []
        for step: Int64 in 0..<15 {
            if case .counted(_, let more) = feed(100 + 10 * step) { notes += more }
        }
        #expect(notes.count == 2)
        #expect(notes.last?.contains("restarted at 0.190") == true)
        // 40 before, then 190 → 240 after the new level was believed.
        #expect(accumulator.state.open[0].importWh[0] == 90)
        #expect(accumulator.state.open.allSatisfy { $0.importWh.allSatisfy { $0 >= 0 } })
    }

    @Test("a telegram older than the last one is ignored and changes nothing")
    func outOfOrder() {
        var accumulator = HistoryAccumulator()
        _ = accumulator.add(sample(t0 + 100, import1: 1000))
        let before = accumulator.state
        #expect(accumulator.add(sample(t0 + 50, import1: 900)) == .outOfOrder(lastTime: t0 + 100))
        #expect(accumulator.add(sample(t0 - 7200, import1: 1200)) == .outOfOrder(lastTime: t0 + 100))
        #expect(accumulator.state == before)
        // The same second again is fine (a repeated telegram).
        if case .counted = accumulator.add(sample(t0 + 100, import1: 1000)) {} else { Issue.record("not counted") }
    }

    @Test("a telegram stamped far ahead of this machine's clock (meter clock glitch) is held back; the next ones count as usual")
    func clockGlitchAhead() {
        var accumulator = HistoryAccumulator()
        let now = Double(t0)
        _ = accumulator.add(sample(t0, import1: 1000), receivedAt: now)
        let before = accumulator.state
        // One telegram from 2099, then the meter is back on time.
        #expect(accumulator.add(sample(utc(2099, 1, 1), import1: 1004), receivedAt: now + 10) == .aheadOfClock(machineTime: t0 + 10))
        #expect(accumulator.state == before)
        if case .counted(let closed, _) = accumulator.add(sample(t0 + 20, import1: 1010), receivedAt: now + 20) {
            #expect(closed.isEmpty)
        } else {
            Issue.record("the telegram after the glitch was not counted")
        }
        #expect(accumulator.state.lastTime == t0 + 20)
        #expect(accumulator.state.open.allSatisfy { $0.importWh[0] == 10 && $0.start <= t0 })
        // Within the tolerance (an hour) the meter's time is taken as it is.
        if case .counted = accumulator.add(sample(t0 + 3000, import1: 1020), receivedAt: now + 30) {} else {
            Issue.record("a telegram 50 minutes ahead of the clock was held back")
        }
    }

    @Test("a time far ahead that the meter keeps to is believed after ten telegrams (this machine's clock is wrong)")
    func machineClockBehind() {
        var accumulator = HistoryAccumulator()
        let behind = Double(t0 - 86_400 * 30)  // this machine is a month behind
        var outcomes: [HistoryAccumulator.Outcome] = []
        for index in 0..<12 {
            outcomes.append(accumulator.add(sample(t0 + Int64(index) * 10, import1: 1000 + Int64(index)), receivedAt: behind + Double(index) * 10))
        }
        #expect(outcomes.prefix(9).allSatisfy { if case .aheadOfClock = $0 { true } else { false } })
        #expect(outcomes.suffix(3).allSatisfy { if case .counted = $0 { true } else { false } })
        #expect(accumulator.state.lastTime == t0 + 110)
        // A clock that was never set (1970, before 2020) does not judge at all.
        var unset = HistoryAccumulator()
        if case .counted = unset.add(sample(t0, import1: 1000), receivedAt: 12) {} else { Issue.record("judged by an unset clock") }
    }

    @Test("peak power is the highest import power of the period, in W")
    func peak() {
        var accumulator = HistoryAccumulator()
        for (offset, power) in [(0, 500), (10, 2500), (20, 1200)] {
            _ = accumulator.add(sample(t0 + Int64(offset), import1: 1000, power: Int64(power)))
        }
        let closed = accumulator.closing(sample(t0 + 3600, import1: 1000, power: 300))
        #expect(closed.first?.peakPowerW == 2500)
        #expect(accumulator.state.open[0].peakPowerW == 300)
        #expect(accumulator.state.open[1].peakPowerW == 2500)
    }

    @Test("after a restart the saved baseline is the reference: downtime energy goes to the period it is read in")
    func continuesFromState() {
        var first = HistoryAccumulator()
        _ = first.add(sample(t0, import1: 1000))
        _ = first.add(sample(t0 + 600, import1: 1300))
        var second = HistoryAccumulator(state: first.state)
        let closed = second.closing(sample(t0 + 7200 + 60, import1: 2000))
        #expect(closed.first?.importWh[0] == 300)
        #expect(second.state.open[0].importWh[0] == 700)
        // A value back below the saved baseline is not believed at once after a restart either.
        var third = HistoryAccumulator(state: second.state)
        if case .counted(_, let notes) = third.add(sample(t0 + 7300, import1: 10)) { #expect(notes.count == 1) }
        #expect(third.state.baseline[0] == 2000)
    }
}

extension HistoryAccumulator.Outcome {
    var closedPeriods: [PeriodRecord] {
        if case .counted(let closed, _) = self { return closed }
        return []
    }
}
