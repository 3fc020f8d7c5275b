import Mapping
import P1MQTT

/// The cumulative registers the history follows, in thousandths of the meter's unit (Wh, litres): import
/// tariffs 1…4, export tariffs 1…4, gas, water. Nil for a register the meter does not send (or has not sent).
public struct HistoryRegisters: Sendable, Hashable {
    /// How many registers there are.
    public static let count = 10
    /// Slot of import tariff 1 (…4 follow).
    public static let importSlot = 0
    /// Slot of export tariff 1 (…4 follow).
    public static let exportSlot = 4
    /// Slot of the gas meter.
    public static let gasSlot = 8
    /// Slot of the water meter.
    public static let waterSlot = 9
    /// Column names in the database, one per slot.
    static let columnNames = ["import_t1", "import_t2", "import_t3", "import_t4",
                              "export_t1", "export_t2", "export_t3", "export_t4", "gas", "water"]

    /// The values by slot (always ``count`` entries).
    public var values: [Int64?]

    /// Creates registers, all unknown.
    public init() {
        values = Array(repeating: nil, count: Self.count)
    }

    /// The value of a slot.
    public subscript(slot: Int) -> Int64? {
        get { values[slot] }
        set { values[slot] = newValue }
    }

    /// The unit the register guard judges a slot's plausibility in, once divided by 1000.
    static func unit(ofSlot slot: Int) -> String { slot >= gasSlot ? "m³" : "kWh" }
}

/// What the history needs from one telegram: the meter's time, its registers and its import power.
public struct HistorySample: Sendable, Hashable {
    /// The meter's clock, seconds since 1970 (UTC).
    public var time: Int64
    /// The meter's winter offset from UTC in seconds (3600; 0 for Irish meters), for local periods.
    public var standardOffset: Int64
    /// The registers read in this telegram.
    public var registers: HistoryRegisters
    /// Import power in W, if sent.
    public var powerW: Int64?

    /// Creates a sample.
    public init(time: Int64, standardOffset: Int64 = 3600, registers: HistoryRegisters = HistoryRegisters(),
                powerW: Int64? = nil) {
        self.time = time
        self.standardOffset = standardOffset
        self.registers = registers
        self.powerW = powerW
    }

    /// The sample of an accepted telegram; nil when the telegram carries no time of its own (DSMR 2.2), since
    /// history periods follow the meter's clock.
    ///
    /// Electricity comes from `energy_import_tariff_1`…`_4` / `energy_export_tariff_1`…`_4`; a meter that sends
    /// only totals (Sweden, EasyMeter Q3D, Luxembourg) has them counted as tariff 1. Gas and water come from the
    /// first M-Bus device of that kind (`gas_1/reading`, `water_2/reading`, in m³).
    public init?(_ update: TelegramUpdate) {
        guard let timestamp = update.telegram.timestamp else { return nil }
        var registers = HistoryRegisters()
        var totals: (import: Int64?, export: Int64?) = (nil, nil)
        var power: Int64?
        for reading in update.readings {
            guard let number = reading.payload.number else { continue }
            if let device = reading.value.device {
                guard reading.value.key == "reading", reading.unit == "m³", let litres = Self.thousandths(number)
                else { continue }
                if device.hasPrefix("gas_"), registers[HistoryRegisters.gasSlot] == nil {
                    registers[HistoryRegisters.gasSlot] = litres
                } else if device.hasPrefix("water_"), registers[HistoryRegisters.waterSlot] == nil {
                    registers[HistoryRegisters.waterSlot] = litres
                }
                continue
            }
            let key = reading.value.key
            if key == "power_import" {
                switch reading.unit {
                case "kW": power = Self.thousandths(number)
                case "W": power = Self.thousandths(number).map { $0 / 1000 }
                default: break
                }
                continue
            }
            guard key.hasPrefix("energy_"), reading.unit == "kWh", let wattHours = Self.thousandths(number) else { continue }
            switch key {
            case "energy_import_total": totals.import = totals.import ?? wattHours
            case "energy_export_total": totals.export = totals.export ?? wattHours
            default:
                for (prefix, slot) in [("energy_import_tariff_", HistoryRegisters.importSlot),
                                       ("energy_export_tariff_", HistoryRegisters.exportSlot)] where key.hasPrefix(prefix) {
                    if let tariff = Int(key.dropFirst(prefix.count)), (1...4).contains(tariff) {
                        registers[slot + tariff - 1] = wattHours
                    }
                }
            }
        }
        // A total is used only without tariff registers: with them it is their derived sum (counted already).
        for (slot, total) in [(HistoryRegisters.importSlot, totals.import), (HistoryRegisters.exportSlot, totals.export)] {
            if (slot..<slot + 4).allSatisfy({ registers[$0] == nil }), let total { registers[slot] = total }
        }
        self.init(time: timestamp.secondsSince1970, standardOffset: update.telegram.variant.standardUTCOffset,
                  registers: registers, powerW: power)
    }

    /// The number × 1000 as an integer (kWh → Wh, m³ → litres, kW → W), exact for up to three decimals and
    /// truncated beyond (no meter sends finer registers); nil on overflow or a negative value.
    static func thousandths(_ number: MeterNumber) -> Int64? {
        guard number.mantissa >= 0 else { return nil }
        if number.scale <= 3 { return number.shifted(by: -3)?.mantissa }
        var value = number.mantissa
        for _ in 3..<Int(number.scale) { value /= 10 }
        return value
    }
}
