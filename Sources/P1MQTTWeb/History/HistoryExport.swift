import P1MQTT

/// History records as CSV or JSON, for `p1mqtt history export` and further processing (spreadsheets, scripts).
/// Quantities are exact decimals (the meter's thousandths), times local ISO 8601 with the meter's offset.
public enum HistoryExport {
    /// The output formats.
    public enum Format: String, Sendable, CaseIterable {
        /// Comma-separated values with a header line.
        case csv
        /// A JSON array of records.
        case json
    }

    /// The CSV header: one column per quantity, all four tariffs always present so the columns never move.
    public static let csvHeader = "kind,start,end,import_kwh_t1,import_kwh_t2,import_kwh_t3,import_kwh_t4,import_kwh_total,"
        + "export_kwh_t1,export_kwh_t2,export_kwh_t3,export_kwh_t4,export_kwh_total,gas_m3,water_m3,peak_power_kw,"
        + "telegrams,complete"

    /// The records in `format`.
    public static func export(_ records: [PeriodRecord], format: Format) -> [UInt8] {
        switch format {
        case .csv: csv(records)
        case .json: json(records)
        }
    }

    /// One line per record after the header; an absent gas or water meter or power is an empty field.
    public static func csv(_ records: [PeriodRecord]) -> [UInt8] {
        var text = csvHeader + "\n"
        for record in records {
            var fields = [record.kind.rawValue, PeriodRecord.localISO(record.start, offset: record.utcOffset),
                          PeriodRecord.localISO(record.end, offset: record.endUTCOffset)]
            for values in [record.importWh, record.exportWh] {
                fields += values.map { PeriodRecord.thousandths($0).description }
                fields.append(PeriodRecord.thousandths(values.reduce(0, +)).description)
            }
            for value in [record.gasLitres, record.waterLitres, record.peakPowerW] {
                fields.append(value.map { PeriodRecord.thousandths($0).description } ?? "")
            }
            fields += [String(record.telegrams), record.complete ? "true" : "false"]
            text += fields.joined(separator: ",") + "\n"
        }
        return Array(text.utf8)
    }

    /// A JSON array of the history API's record objects, each starting with `"kind"` (an export may mix
    /// hours, days and months), followed by a line end.
    public static func json(_ records: [PeriodRecord]) -> [UInt8] {
        var writer = JSONWriter(capacity: 256 * max(records.count, 1))
        writer.beginArray()
        for record in records { record.write(to: &writer, includingKind: true) }
        writer.endArray()
        return writer.bytes + [0x0A]
    }
}
