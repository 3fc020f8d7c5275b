import ArgumentParser
import P1MQTT
import P1MQTTWeb

/// `p1mqtt history`: the local history kept by `p1mqtt run --data-dir`.
struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Work with the local history (hours, days, months) that p1mqtt keeps in its data directory.",
        subcommands: [HistoryExportCommand.self]
    )
}

/// `p1mqtt history export`: the history as CSV or JSON on standard output.
struct HistoryExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Print the history as CSV or JSON.",
        discussion: """
            Reads \(HistoryStore.fileName) in the data directory (also while p1mqtt runs) without changing it. \
            Energy in kWh, gas and water in m³, peak power in kW, exact to the meter's last digit; times are \
            the meter's local time with its UTC offset. The period in progress is included (complete: false).

            --from and --to take a date (2026-11-21) or a date and time (2026-11-21T14:00, on the meter's \
            clock, or with Z or an offset such as +01:00). Periods starting at or after --from and before \
            --to are printed; a --to without a time includes that whole day.

            Exit status: 0 on success, 1 when the history cannot be read, 2 for a bad option.

            Examples:
              p1mqtt history export --data-dir /var/lib/p1mqtt
              p1mqtt history export --data-dir /var/lib/p1mqtt --period days --format json --from 2026-11-01
            """
    )

    @Option(help: ArgumentHelp("The directory p1mqtt keeps its history in (as given to p1mqtt run).", valueName: "path"))
    var dataDir: String?

    @Option(help: ArgumentHelp("Which periods: hours, days, months or all.", valueName: "period"))
    var period: String = "all"

    @Option(help: ArgumentHelp("Output format: csv or json.", valueName: "format"))
    var format: String = "csv"

    @Option(help: ArgumentHelp("Only periods starting at or after this date/time.", valueName: "date"))
    var from: String?

    @Option(help: ArgumentHelp("Only periods starting before this date/time (a date alone includes the day).", valueName: "date"))
    var to: String?

    func run() throws {
        let kinds: [PeriodKind]
        let outputFormat: HistoryExport.Format
        let directory: String
        do {
            guard let dataDir, !dataDir.isEmpty else { throw CommandError("--data-dir is required") }
            directory = dataDir
            if period == "all" {
                kinds = PeriodKind.allCases
            } else if let kind = PeriodKind(rawValue: period) {
                kinds = [kind]
            } else {
                throw CommandError("unknown period '\(period)'; use hours, days, months or all")
            }
            guard let parsed = HistoryExport.Format(rawValue: format) else {
                throw CommandError("unknown format '\(format)'; use csv or json")
            }
            outputFormat = parsed
            // Checked before opening the file, with the usual offset; applied below with the history's own.
            for (name, value) in [("--from", from), ("--to", to)] {
                if let value, HistoryDate.parse(value, standardOffset: 3600, endOfDay: false) == nil {
                    throw CommandError("\(name): '\(value)' is not a date; use 2026-11-21 or 2026-11-21T14:00 (optionally with Z or +01:00)")
                }
            }
        } catch {
            Output.error("p1mqtt history export: \(error)")
            throw ExitCode(2)
        }
        var records: [PeriodRecord] = []
        do throws(HistoryError) {
            let store = try HistoryStore.open(directory: directory, readOnly: true)
            // The meter's zone as the history recorded it (0 for Irish meters), for dates without an offset.
            let offset = try store.loadState().standardOffset
            let lower = from.flatMap { HistoryDate.parse($0, standardOffset: offset, endOfDay: false) }
            let upper = to.flatMap { HistoryDate.parse($0, standardOffset: offset, endOfDay: true) }
            for kind in kinds { records += try store.records(kind, from: lower, to: upper) }
        } catch {
            Output.error("p1mqtt history export: \(error)")
            throw ExitCode(1)
        }
        Output.write(HistoryExport.export(records, format: outputFormat))
    }
}

/// Dates and times of `--from` / `--to`.
enum HistoryDate {
    /// `2026-11-21`, `2026-11-21T14:00`, `2026-11-21T14:00:30`, each optionally with `Z` or `±hh:mm`, as
    /// seconds since 1970. Without an offset the time is on the meter's clock (EU daylight-saving rule).
    /// - Parameter endOfDay: a date alone means the end of that day (the next midnight), for `--to`.
    static func parse(_ text: String, standardOffset: Int64, endOfDay: Bool) -> Int64? {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count, range.allSatisfy({ bytes[$0] &- 0x30 < 10 }) else { return nil }
            return range.reduce(0) { $0 * 10 + Int(bytes[$1] - 0x30) }
        }
        guard bytes.count >= 10, bytes[4] == 0x2D, bytes[7] == 0x2D, let year = number(0..<4),
            let month = number(5..<7), let day = number(8..<10), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var hour = 0, minute = 0, second = 0
        var index = 10
        let dateOnly = bytes.count == 10
        if index < bytes.count, bytes[index] == 0x54 || bytes[index] == 0x20 {  // T or space
            guard let h = number(11..<13), bytes.count >= 16, bytes[13] == 0x3A, let m = number(14..<16),
                h < 24, m < 60
            else { return nil }
            hour = h
            minute = m
            index = 16
            if index < bytes.count, bytes[index] == 0x3A {
                guard let s = number(17..<19), s < 60 else { return nil }
                second = s
                index = 19
            }
        }
        var offset: Int64?
        if index < bytes.count {
            switch bytes[index] {
            case 0x5A where index + 1 == bytes.count: offset = 0  // Z
            case 0x2B, 0x2D:  // + or -
                guard bytes.count == index + 6, bytes[index + 3] == 0x3A, let h = number(index + 1..<index + 3),
                    let m = number(index + 4..<index + 6)
                else { return nil }
                offset = Int64(h * 3600 + m * 60) * (bytes[index] == 0x2D ? -1 : 1)
            default: return nil
            }
        }
        // Day numbers beyond the month (2026-02-30) are refused by comparing with the local date they give.
        let midnight = MeterTimestamp.moment(year: year, month: month, day: day, standardOffset: standardOffset)
        let local = midnight.localTime(standardOffset: standardOffset)
        guard local.year == year, local.month == month, local.day == day else { return nil }
        if dateOnly && endOfDay {
            let next = MeterTimestamp(secondsSince1970: midnight.secondsSince1970 + 30 * 3600).localTime(standardOffset: standardOffset)
            return MeterTimestamp.moment(year: next.year, month: next.month, day: next.day,
                                         standardOffset: standardOffset).secondsSince1970
        }
        let seconds = Int64(minute * 60 + second)
        if let offset {
            // The local wall time with an explicit offset: midnight's UTC moment plus its own offset gives the
            // local midnight as if it were UTC.
            let wall = midnight.secondsSince1970 + local.utcOffset + Int64(hour) * 3600 + seconds
            return wall - offset
        }
        return MeterTimestamp.moment(year: year, month: month, day: day, hour: hour,
                                     standardOffset: standardOffset).secondsSince1970 + seconds
    }
}
