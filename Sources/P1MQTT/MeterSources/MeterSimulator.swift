#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Mapping

/// A simulated meter that writes consistent telegrams: a DSMR 5 electricity meter with a gas meter on M-Bus
/// channel 1. Household load follows the time of day, solar panels export around noon, the registers integrate
/// the power (so they only rise), the tariff switches at 07:00 and 23:00 on weekdays, and the gas reading
/// advances and is stamped every five minutes, as real meters do. Every telegram carries a valid CRC.
///
/// Deterministic for a given seed and sequence of times, so tests can predict it.
public struct MeterSimulator: Sendable {
    /// The telegram layout to produce.
    public enum Profile: String, Sendable, CaseIterable {
        /// Dutch DSMR 5 with a gas meter.
        case dsmr5
    }

    /// The profile.
    public let profile: Profile
    private var random: SplitMix64
    private var importTariff1 = 4_211.406
    private var importTariff2 = 3_897.113
    private var exportTariff1 = 1_204.552
    private var exportTariff2 = 2_771.090
    private var gas = 3_412.078
    private var gasStamp: Int64 = 0
    private var gasAtStamp = 3_412.078
    private var lastTime: Int64?
    private var shortFailures = 7
    private var sequence = 0

    /// The simulated equipment ids.
    public static let equipmentID = "P1M0000000000001"
    /// The simulated gas meter's id.
    public static let gasEquipmentID = "P1G0000000000001"

    /// Creates a simulator.
    public init(profile: Profile = .dsmr5, seed: UInt64 = 1) {
        self.profile = profile
        random = SplitMix64(seed: seed)
    }

    /// The next telegram, for a meter whose clock reads `time` (Unix seconds).
    public mutating func telegram(at time: Int64) -> [UInt8] {
        let elapsed = Double(max(0, min(time - (lastTime ?? time), 3600)))
        lastTime = time
        sequence += 1
        let stamp = MeterTimestamp(secondsSince1970: time)
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
        // Gas: heating in the morning and evening, hot water otherwise (m³/h).
        let gasFlow = 0.05 + 0.5 * bump(local, at: 7, width: 1) + 0.4 * bump(local, at: 20, width: 2)
        gas += gasFlow * elapsed / 3600
        if time - gasStamp >= 300 || gasStamp == 0 {
            gasStamp = time - time % 300
            gasAtStamp = gas
        }
        if random.unit() < 0.0005 { shortFailures += 1 }

        // Spread the load over three phases.
        let shares = [0.45, 0.3, 0.25]
        var lines = [
            "1-3:0.2.8(50)",
            "0-0:1.0.0(\(stamp.meterText()))",
            "0-0:96.1.1(\(hex(Self.equipmentID)))",
            "1-0:1.8.1(\(fixed(importTariff1, 6, 3))*kWh)",
            "1-0:1.8.2(\(fixed(importTariff2, 6, 3))*kWh)",
            "1-0:2.8.1(\(fixed(exportTariff1, 6, 3))*kWh)",
            "1-0:2.8.2(\(fixed(exportTariff2, 6, 3))*kWh)",
            "0-0:96.14.0(\(lowTariff ? "0001" : "0002"))",
            "1-0:1.7.0(\(fixed(importPower, 2, 3))*kW)",
            "1-0:2.7.0(\(fixed(exportPower, 2, 3))*kW)",
            "0-0:96.7.21(\(fixed(Double(shortFailures), 5, 0)))",
            "0-0:96.7.9(00002)",
            "1-0:99.97.0(1)(0-0:96.7.19)(230415103012S)(0000001523*s)",
            "1-0:32.32.0(00003)", "1-0:52.32.0(00002)", "1-0:72.32.0(00004)",
            "1-0:32.36.0(00000)", "1-0:52.36.0(00001)", "1-0:72.36.0(00000)",
            "0-0:96.13.0()",
        ]
        var voltages: [Double] = []
        for phase in 0..<3 {
            voltages.append(229.0 + 3.0 * random.unit() - (importPower * shares[phase]) * 0.8)
        }
        for (phase, code) in [32, 52, 72].enumerated() {
            lines.append("1-0:\(code).7.0(\(fixed(voltages[phase], 3, 1))*V)")
        }
        for (phase, code) in [31, 51, 71].enumerated() {
            let amps = abs(net * shares[phase]) * 1000 / voltages[phase]
            lines.append("1-0:\(code).7.0(\(fixed(amps.rounded(), 3, 0))*A)")
        }
        for (phase, code) in [21, 41, 61].enumerated() {
            lines.append("1-0:\(code).7.0(\(fixed(importPower * shares[phase], 2, 3))*kW)")
        }
        for (phase, code) in [22, 42, 62].enumerated() {
            lines.append("1-0:\(code).7.0(\(fixed(exportPower * shares[phase], 2, 3))*kW)")
        }
        lines += [
            "0-1:24.1.0(003)",
            "0-1:96.1.0(\(hex(Self.gasEquipmentID)))",
            "0-1:24.2.1(\(MeterTimestamp(secondsSince1970: gasStamp).meterText()))(\(fixed(gasAtStamp, 5, 3))*m3)",
        ]
        var text = "/P1M5\\2SIMULATOR-5\r\n\r\n"
        for line in lines { text += line + "\r\n" }
        text += "!"
        var bytes = Array(text.utf8)
        let crc = CRC16.arc(bytes)
        bytes += Array(TelegramFramer.hex4(crc).utf8) + [0x0D, 0x0A]
        return bytes
    }

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
