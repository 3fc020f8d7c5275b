import P1MQTT

/// The three history resolutions, as in the DSMR logger.
public enum PeriodKind: String, Sendable, Hashable, CaseIterable {
    /// Clock hours on the meter's clock.
    case hours
    /// Days, midnight to midnight on the meter's clock.
    case days
    /// Calendar months on the meter's clock.
    case months
}

/// What happened in one period: energy per tariff, gas and water, peak power. Quantities are integers in
/// thousandths of the meter's unit (Wh, litres, W), so they add up exactly, like the meter's own registers.
public struct PeriodRecord: Sendable, Hashable {
    /// Hour, day or month.
    public var kind: PeriodKind
    /// The period's start, seconds since 1970 (UTC); the boundary is on the meter's local clock.
    public var start: Int64
    /// The period's end (the next period's start), seconds since 1970 (UTC).
    public var end: Int64
    /// The meter's offset from UTC at the start, in seconds (3600 CET, 7200 CEST), for showing local time.
    public var utcOffset: Int64
    /// The meter's offset from UTC at the end: differs from ``utcOffset`` for the periods that contain a
    /// daylight-saving switch, so a day in March ends at `00:00+02:00`, not at `23:00+01:00`.
    public var endUTCOffset: Int64
    /// Imported energy per tariff 1…4 in Wh (always four entries; 0 for a tariff the meter does not use).
    public var importWh: [Int64]
    /// Exported energy per tariff 1…4 in Wh (always four entries).
    public var exportWh: [Int64]
    /// Gas used in litres (dm³), nil when there is no gas meter.
    public var gasLitres: Int64?
    /// Water used in litres, nil when there is no water meter.
    public var waterLitres: Int64?
    /// The highest import power seen in the period, in W, nil when none was seen.
    public var peakPowerW: Int64?
    /// Telegrams that contributed.
    public var telegrams: Int
    /// Whether the period is over (false for the period in progress).
    public var complete: Bool

    /// Creates a record.
    public init(kind: PeriodKind, start: Int64, end: Int64, utcOffset: Int64, importWh: [Int64] = [0, 0, 0, 0],
                exportWh: [Int64] = [0, 0, 0, 0], gasLitres: Int64? = nil, waterLitres: Int64? = nil,
                peakPowerW: Int64? = nil, telegrams: Int = 0, complete: Bool = false, endUTCOffset: Int64? = nil) {
        self.kind = kind
        self.start = start
        self.end = end
        self.utcOffset = utcOffset
        self.endUTCOffset = endUTCOffset ?? utcOffset
        self.importWh = importWh
        self.exportWh = exportWh
        self.gasLitres = gasLitres
        self.waterLitres = waterLitres
        self.peakPowerW = peakPowerW
        self.telegrams = telegrams
        self.complete = complete
    }

    /// Writes the record as the JSON object of the history API (and `p1mqtt history export --format json`):
    ///
    /// `{"start":"2026-11-21T14:00:00+01:00","end":…,"energy_import_kwh":{"total":1.234,"tariff_1":…,"tariff_2":…},
    /// "energy_export_kwh":{…},"gas_m3":0.123,"water_m3":null,"peak_power_kw":2.5,"telegrams":360,"complete":true}`
    ///
    /// Tariffs 3 and 4 appear only when non-zero (only E.ON Hungary meters have them).
    /// - Parameter includingKind: begin with `"kind":"hours"` (the export, which may mix the three kinds).
    public func write(to json: inout JSONWriter, includingKind: Bool = false) {
        json.beginObject()
        if includingKind {
            json.key("kind")
            json.string(kind.rawValue)
        }
        json.key("start")
        json.string(Self.localISO(start, offset: utcOffset))
        json.key("end")
        json.string(Self.localISO(end, offset: endUTCOffset))
        for (name, values) in [("energy_import_kwh", importWh), ("energy_export_kwh", exportWh)] {
            json.key(string: name)
            json.beginObject()
            json.key("total")
            json.number(Self.thousandths(values.reduce(0, +)))
            for (index, value) in values.enumerated() where index < 2 || value != 0 {
                json.key(string: "tariff_\(index + 1)")
                json.number(Self.thousandths(value))
            }
            json.endObject()
        }
        json.key("gas_m3")
        if let gasLitres { json.number(Self.thousandths(gasLitres)) } else { json.null() }
        json.key("water_m3")
        if let waterLitres { json.number(Self.thousandths(waterLitres)) } else { json.null() }
        json.key("peak_power_kw")
        if let peakPowerW { json.number(Self.thousandths(peakPowerW)) } else { json.null() }
        json.key("telegrams")
        json.number(telegrams)
        json.key("complete")
        json.bool(complete)
        json.endObject()
    }

    /// `1234` → `1.234`, exactly: Wh as kWh, litres as m³, W as kW.
    public static func thousandths(_ value: Int64) -> MeterNumber {
        MeterNumber(mantissa: value, scale: 3)
    }

    /// ISO 8601 with the meter's offset: `2026-11-21T14:00:00+01:00`.
    public static func localISO(_ seconds: Int64, offset: Int64) -> String {
        let utc = MeterTimestamp(secondsSince1970: seconds + offset).description  // 2026-11-21T14:00:00Z
        let sign = offset < 0 ? "-" : "+"
        let minutes = abs(offset) / 60
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return String(utc.dropLast()) + "\(sign)\(two(minutes / 60)):\(two(minutes % 60))"
    }
}

/// Read access to the history, for the web API and the export command.
public protocol HistoryReading: Sendable {
    /// The records of one kind whose start lies in `from..<to` (seconds since 1970; nil for unbounded), oldest
    /// first, the period in progress included (``PeriodRecord/complete`` false).
    func records(_ kind: PeriodKind, from: Int64?, to: Int64?) throws(HistoryError) -> [PeriodRecord]
}

/// Why the history cannot be read or written; the message names the file and what to do.
public struct HistoryError: Error, Sendable, CustomStringConvertible {
    /// The one-line message.
    public var description: String

    /// Creates an error.
    public init(_ description: String) {
        self.description = description
    }
}
