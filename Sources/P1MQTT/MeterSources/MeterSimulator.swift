#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Mapping

/// A simulated meter that writes consistent telegrams. Household load follows the time of day, solar panels
/// export around noon, the registers integrate the power (so they only rise), the tariff switches at 07:00
/// and 23:00 on weekdays, and gas and water readings advance and are stamped every five minutes (hourly on
/// DSMR 2.2), as real meters do. Every telegram of a variant with a CRC carries a valid one.
///
/// Deterministic for a given seed and sequence of times, so tests can predict it.
public struct MeterSimulator: Sendable {
    /// The meter to imitate.
    public enum Profile: String, Sendable, CaseIterable {
        /// Dutch DSMR 5 with a gas meter on M-Bus channel 1.
        case dsmr5
        /// Belgian e-MUCS (Fluvius) with capacity-tariff values, a gas meter (24.2.3) and a water meter.
        case belgium
        /// Luxembourg Smarty with a gas meter; encrypted when a key is given to the source.
        case luxembourg
        /// Dutch DSMR 2.2: no CRC, no timestamp line, hourly gas reading on two lines.
        case dsmr22
    }

    /// The profile.
    public let profile: Profile
    private var random: SplitMix64
    private var importTariff1 = 4_211.406
    private var importTariff2 = 3_897.113
    private var exportTariff1 = 1_204.552
    private var exportTariff2 = 2_771.090
    private var reactiveImport = 402.114
    private var reactiveExport = 1_377.902
    private var gas = 3_412.078
    private var water = 871.233
    private var stamp: Int64 = 0
    private var gasAtStamp = 3_412.078
    private var waterAtStamp = 871.233
    private var lastTime: Int64?
    private var shortFailures = 7
    private var quarterStart: Int64 = 0
    private var quarterEnergy = 0.0
    private var monthPeak = (value: 0.0, time: Int64(0))
    private var frameCounter: UInt32 = 0x0000_1000

    /// The simulated electricity meter's equipment id.
    public static let equipmentID = "P1M0000000000001"
    /// The simulated gas meter's id.
    public static let gasEquipmentID = "P1G0000000000001"
    /// The simulated water meter's id (Belgian profile).
    public static let waterEquipmentID = "P1W0000000000001"

    /// Creates a simulator.
    public init(profile: Profile = .dsmr5, seed: UInt64 = 1) {
        self.profile = profile
        random = SplitMix64(seed: seed)
    }

    /// What the physics gives for one moment.
    private struct Moment {
        var time: Int64
        var importPower: Double
        var exportPower: Double
        var lowTariff: Bool
        var voltages: [Double]
        var shares = [0.45, 0.3, 0.25]
        var net: Double { importPower - exportPower }
    }

    /// The next telegram, for a meter whose clock reads `time` (Unix seconds). For the Luxembourg profile this
    /// is the plaintext; ``SimulatorByteSource`` encrypts it when given a key.
    public mutating func telegram(at time: Int64) -> [UInt8] {
        let moment = advance(to: time)
        var lines: [String]
        let header: String
        switch profile {
        case .dsmr5:
            header = "/P1M5\\2SIMULATOR-5"
            lines = dsmr5Lines(moment)
        case .belgium:
            header = "/FLU5\\253769999_A"
            lines = belgianLines(moment)
        case .luxembourg:
            header = "/Lux5\\253669999_D"
            lines = luxembourgLines(moment)
        case .dsmr22:
            header = "/ISk5\\2MT382-1004"
            lines = dsmr22Lines(moment)
        }
        var text = header + "\r\n\r\n"
        for line in lines { text += line + "\r\n" }
        text += "!"
        var bytes = Array(text.utf8)
        if profile == .dsmr22 {
            bytes += [0x0D, 0x0A]
        } else {
            bytes += Array(TelegramFramer.hex4(CRC16.arc(bytes)).utf8) + [0x0D, 0x0A]
        }
        return bytes
    }

    /// The system title of the simulated encrypted meter: `SAG` and a serial, as on Luxembourg Smarty meters.
    public static let systemTitle: [UInt8] = Array("SAG".utf8) + [0x10, 0x00, 0x99, 0x99, 0x01]

    /// The next telegram inside a DLMS general-global-cipher frame, as an encrypting meter sends it.
    public mutating func encryptedTelegram(at time: Int64, cipher: GCMCipher) throws(GCMCipher.Failure) -> [UInt8] {
        let plaintext = telegram(at: time)
        frameCounter &+= 1
        return try cipher.seal(plaintext, systemTitle: Self.systemTitle, frameCounter: frameCounter).bytes
    }

    private mutating func advance(to time: Int64) -> Moment {
        if lastTime == nil {
            // Start the registers where a household would have them at this moment, so a restarted
            // simulator continues upwards instead of jumping back (which the register guard would withhold).
            let hours = Double(max(0, time - 1_735_689_600)) / 3600  // since 2025-01-01
            importTariff1 += 0.21 * hours
            importTariff2 += 0.24 * hours
            exportTariff1 += 0.05 * hours
            exportTariff2 += 0.16 * hours
            reactiveImport += 0.02 * hours
            reactiveExport += 0.03 * hours
            gas += 0.09 * hours
            water += 0.015 * hours
        }
        let elapsed = Double(max(0, min(time - (lastTime ?? time), 3600)))
        lastTime = time
        let local = localHour(time)
        // Household load: a base, a morning and an evening peak, and noise (kW).
        let load = 0.25 + 0.6 * bump(local, at: 7.5, width: 1.5) + 1.4 * bump(local, at: 19, width: 2.5)
            + 0.35 * random.unit()
        // Solar: a bell around 13:00, up to 3.2 kW, with passing clouds.
        let solar = max(0, 3.2 * bump(local, at: 13, width: 3.2) * (0.75 + 0.25 * random.unit()))
        let net = load - solar
        let importPower = max(0, net)
        let exportPower = max(0, -net)
        let lowTariff = local < 7 || local >= 23 || isWeekend(time)
        if lowTariff {
            importTariff1 += importPower * elapsed / 3600
            exportTariff1 += exportPower * elapsed / 3600
        } else {
            importTariff2 += importPower * elapsed / 3600
            exportTariff2 += exportPower * elapsed / 3600
        }
        reactiveImport += 0.08 * importPower * elapsed / 3600
        reactiveExport += 0.05 * (importPower + exportPower) * elapsed / 3600
        // Gas: heating in the morning and evening, hot water otherwise (m³/h); water around meals.
        gas += (0.05 + 0.5 * bump(local, at: 7, width: 1) + 0.4 * bump(local, at: 20, width: 2)) * elapsed / 3600
        water += (0.01 + 0.12 * bump(local, at: 7.5, width: 0.7) + 0.08 * bump(local, at: 19.5, width: 1.2)) * elapsed / 3600
        let period: Int64 = profile == .dsmr22 ? 3600 : 300
        if time - stamp >= period || stamp == 0 {
            stamp = time - time % period
            gasAtStamp = gas
            waterAtStamp = water
        }
        // Belgian capacity tariff: the average power of the current quarter hour, and the month's peak.
        if time - quarterStart >= 900 || quarterStart == 0 {
            quarterStart = time - time % 900
            quarterEnergy = 0
        }
        quarterEnergy += importPower * elapsed
        let average = quarterEnergy / Double(max(1, time - quarterStart))
        if average > monthPeak.value { monthPeak = (average, time) }
        if random.unit() < 0.0005 { shortFailures += 1 }
        var voltages: [Double] = []
        let shares = [0.45, 0.3, 0.25]
        for phase in 0..<3 {
            voltages.append(229.0 + 3.0 * random.unit() - (importPower * shares[phase]) * 0.8)
        }
        return Moment(time: time, importPower: importPower, exportPower: exportPower, lowTariff: lowTariff,
                      voltages: voltages)
    }

    private func phaseLines(_ moment: Moment, decimals: Int = 3) -> [String] {
        var lines: [String] = []
        for (phase, code) in [32, 52, 72].enumerated() {
            lines.append("1-0:\(code).7.0(\(fixed(moment.voltages[phase], 3, 1))*V)")
        }
        for (phase, code) in [31, 51, 71].enumerated() {
            let amps = abs(moment.net * moment.shares[phase]) * 1000 / moment.voltages[phase]
            lines.append("1-0:\(code).7.0(\(fixed(amps.rounded(), 3, 0))*A)")
        }
        for (phase, code) in [21, 41, 61].enumerated() {
            lines.append("1-0:\(code).7.0(\(fixed(moment.importPower * moment.shares[phase], 2, 3))*kW)")
        }
        for (phase, code) in [22, 42, 62].enumerated() {
            lines.append("1-0:\(code).7.0(\(fixed(moment.exportPower * moment.shares[phase], 2, 3))*kW)")
        }
        return lines
    }

    private func tariffLines(_ moment: Moment) -> [String] {
        [
            "1-0:1.8.1(\(fixed(importTariff1, 6, 3))*kWh)",
            "1-0:1.8.2(\(fixed(importTariff2, 6, 3))*kWh)",
            "1-0:2.8.1(\(fixed(exportTariff1, 6, 3))*kWh)",
            "1-0:2.8.2(\(fixed(exportTariff2, 6, 3))*kWh)",
        ]
    }

    private func dsmr5Lines(_ moment: Moment) -> [String] {
        var lines = [
            "1-3:0.2.8(50)",
            "0-0:1.0.0(\(meterTime(moment.time)))",
            "0-0:96.1.1(\(hex(Self.equipmentID)))",
        ]
        lines += tariffLines(moment)
        lines += [
            "0-0:96.14.0(\(moment.lowTariff ? "0001" : "0002"))",
            "1-0:1.7.0(\(fixed(moment.importPower, 2, 3))*kW)",
            "1-0:2.7.0(\(fixed(moment.exportPower, 2, 3))*kW)",
            "0-0:96.7.21(\(fixed(Double(shortFailures), 5, 0)))",
            "0-0:96.7.9(00002)",
            "1-0:99.97.0(1)(0-0:96.7.19)(230415103012S)(0000001523*s)",
            "1-0:32.32.0(00003)", "1-0:52.32.0(00002)", "1-0:72.32.0(00004)",
            "1-0:32.36.0(00000)", "1-0:52.36.0(00001)", "1-0:72.36.0(00000)",
            "0-0:96.13.0()",
        ]
        lines += phaseLines(moment)
        lines += [
            "0-1:24.1.0(003)",
            "0-1:96.1.0(\(hex(Self.gasEquipmentID)))",
            "0-1:24.2.1(\(meterTime(stamp)))(\(fixed(gasAtStamp, 5, 3))*m3)",
        ]
        return lines
    }

    private func belgianLines(_ moment: Moment) -> [String] {
        var lines = [
            "0-0:96.1.4(50217)",
            "0-0:96.1.1(\(hex(Self.equipmentID)))",
            "0-0:1.0.0(\(meterTime(moment.time)))",
        ]
        lines += tariffLines(moment)
        // Belgian meters number their tariffs the other way round: 1 is the day (normal) tariff.
        lines.append("0-0:96.14.0(\(moment.lowTariff ? "0002" : "0001"))")
        let average = quarterEnergy / Double(max(1, moment.time - quarterStart))
        lines.append("1-0:1.4.0(\(fixed(average, 2, 3))*kW)")
        lines.append("1-0:1.6.0(\(meterTime(monthPeak.time - monthPeak.time % 900)))(\(fixed(monthPeak.value, 2, 3))*kW)")
        // Thirteen months of peaks, newest first; the oldest month has no peak yet (the meter's placeholder).
        var history = "0-0:98.1.0(13)(1-0:1.6.0)(1-0:1.6.0)"
        let monthStart = MeterTimestamp.floorDiv(moment.time, 86_400 * 30) * 86_400 * 30
        for month in 1...13 {
            let start = monthStart - Int64(month) * 86_400 * 30
            if month == 13 {
                history += "(\(meterTime(start)))(632525252525W)(00.000*kW)"
            } else {
                history += "(\(meterTime(start)))(\(meterTime(start + 86_400 * 11 + 19 * 3600)))(\(fixed(2.5 + Double(month % 5) * 0.7, 2, 3))*kW)"
            }
        }
        lines.append(history)
        lines += [
            "1-0:1.7.0(\(fixed(moment.importPower, 2, 3))*kW)",
            "1-0:2.7.0(\(fixed(moment.exportPower, 2, 3))*kW)",
        ]
        lines += phaseLines(moment)
        lines += [
            "0-0:96.3.10(1)",
            "0-0:17.0.0(999.9*kW)",
            "1-0:31.4.0(999*A)",
            "0-0:96.13.0()",
            "0-1:24.1.0(003)",
            "0-1:96.1.1(\(hex(Self.gasEquipmentID)))",
            "0-1:24.4.0(1)",
            "0-1:24.2.3(\(meterTime(stamp)))(\(fixed(gasAtStamp, 5, 3))*m3)",
            "0-2:24.1.0(007)",
            "0-2:96.1.1(\(hex(Self.waterEquipmentID)))",
            "0-2:24.2.1(\(meterTime(stamp)))(\(fixed(waterAtStamp, 5, 3))*m3)",
        ]
        return lines
    }

    private func luxembourgLines(_ moment: Moment) -> [String] {
        var lines = [
            "1-3:0.2.8(42)",
            "0-0:1.0.0(\(meterTime(moment.time)))",
            "0-0:42.0.0(\(hex(Self.equipmentID)))",
            "1-0:1.8.0(\(fixed(importTariff1 + importTariff2, 6, 3))*kWh)",
            "1-0:2.8.0(\(fixed(exportTariff1 + exportTariff2, 6, 3))*kWh)",
            "1-0:3.8.0(\(fixed(reactiveImport, 6, 3))*kvarh)",
            "1-0:4.8.0(\(fixed(reactiveExport, 6, 3))*kvarh)",
            "1-0:1.7.0(\(fixed(moment.importPower, 2, 3))*kW)",
            "1-0:2.7.0(\(fixed(moment.exportPower, 2, 3))*kW)",
            "1-0:3.7.0(\(fixed(0.08 * moment.importPower, 2, 3))*kvar)",
            "1-0:4.7.0(\(fixed(0.05 * (moment.importPower + moment.exportPower), 2, 3))*kvar)",
            "0-0:17.0.0(027.6*kVA)",
            "1-1:31.4.0(040*A)(-040*A)",
            "0-0:96.3.10(1)",
            "0-0:96.7.21(\(fixed(Double(shortFailures), 5, 0)))",
            "0-0:96.13.0()",
        ]
        lines += phaseLines(moment)
        lines += [
            "0-1:24.1.0(003)",
            "0-1:96.1.0(\(hex(Self.gasEquipmentID)))",
            "0-1:24.2.1(\(meterTime(stamp)))(\(fixed(gasAtStamp, 5, 3))*m3)",
            "0-1:24.4.0(1)",
        ]
        return lines
    }

    private func dsmr22Lines(_ moment: Moment) -> [String] {
        let gasTime = String(meterTime(stamp).prefix(12))  // DSMR 2.2 writes no S/W letter
        var lines = ["0-0:96.1.1(\(hex(Self.equipmentID)))"]
        lines += tariffLines(moment)
        lines += [
            "0-0:96.14.0(\(moment.lowTariff ? "0001" : "0002"))",
            "1-0:1.7.0(\(fixed(moment.importPower, 4, 2))*kW)",
            "1-0:2.7.0(\(fixed(moment.exportPower, 4, 2))*kW)",
            "0-0:17.0.0(0999.00*kW)",
            "0-0:96.3.10(1)",
            "0-0:96.13.1()",
            "0-0:96.13.0()",
            "0-1:24.1.0(3)",
            "0-1:96.1.0(\(hex(Self.gasEquipmentID)))",
            "0-1:24.3.0(\(gasTime))(00)(60)(1)(0-1:24.2.1)(m3)",
            "(\(fixed(gasAtStamp, 5, 3)))",
            "0-1:24.4.0(1)",
        ]
        return lines
    }

    private func meterTime(_ time: Int64) -> String { MeterTimestamp(secondsSince1970: time).meterText() }

    private func localHour(_ time: Int64) -> Double {
        let text = MeterTimestamp(secondsSince1970: time).meterText()
        let digits = Array(text.utf8).map { Int($0) - 48 }
        return Double(digits[6] * 10 + digits[7]) + Double(digits[8] * 10 + digits[9]) / 60
    }

    private func isWeekend(_ time: Int64) -> Bool {
        let weekday = (MeterTimestamp.floorDiv(time + 3600, 86_400) + 4) % 7  // 0 = Sunday
        return weekday == 0 || weekday == 6
    }

    private func bump(_ hour: Double, at center: Double, width: Double) -> Double {
        let distance = (hour - center) / width
        return distance.magnitude > 3 ? 0 : exp(-distance * distance)
    }

    /// `value` with `integers` digits before and `decimals` after the point, zero-padded like meters do.
    private func fixed(_ value: Double, _ integers: Int, _ decimals: Int) -> String {
        let number = MeterNumber(mantissa: Int64((max(0, value) * pow10(decimals)).rounded()), scale: UInt8(decimals))
        let text = number.description
        let integerPart = text.split(separator: ".").first.map(String.init) ?? text
        let padding = max(0, integers - integerPart.count)
        return String(repeating: "0", count: padding) + text
    }

    private func pow10(_ exponent: Int) -> Double { (0..<exponent).reduce(1.0) { product, _ in product * 10 } }

    private func hex(_ text: String) -> String {
        text.utf8.map { TelegramFramer.hex4(UInt16($0)).suffix(2) }.joined()
    }
}

/// A small, fast, seedable random generator (Vigna's SplitMix64), so simulations repeat exactly.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator from a seed.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
