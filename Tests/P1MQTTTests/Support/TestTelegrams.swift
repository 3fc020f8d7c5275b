import Testing
@testable import P1MQTT
import Mapping

/// Builds DSMR telegrams in code, so tests never depend on sample files: header and data lines are joined with
/// CRLF, `!` is appended and the CRC-16/ARC over `/` … `!` is written after it (uppercase, lowercase, unpadded
/// or left out), followed by CRLF.
///
/// Everything lives in this namespace so that helpers in other test files cannot collide with it.
enum TestTelegrams {
    /// How the checksum after `!` is written.
    enum Checksum: Sendable, Hashable {
        /// Four uppercase hex digits (`!6EEE`), as every DSMR 4/5 meter sends it.
        case uppercase
        /// Four lowercase hex digits (`!6eee`).
        case lowercase
        /// Uppercase without leading zeros (`!B9F` for 0x0B9F), as the Warmtelink heat meter sends it.
        case unpadded
        /// No checksum at all: a bare `!` (DSMR 2.2/3, EasyMeter Q3D).
        case none
        /// Exactly this text after `!`, e.g. a malformed `6EEZ`.
        case literal(String)
    }

    // MARK: - Building

    /// Builds a telegram from a header (with or without the leading `/`) and data lines.
    /// - Parameters:
    ///   - blankLineAfterHeader: DSMR puts an empty line after the header; set false to leave it out.
    static func build(header: String, lines: [String], checksum: Checksum = .uppercase,
                      blankLineAfterHeader: Bool = true) -> [UInt8] {
        build(header: Array(header.utf8), lines: lines.map { Array($0.utf8) }, checksum: checksum,
              blankLineAfterHeader: blankLineAfterHeader)
    }

    /// Builds a telegram from raw bytes, for lines that carry bytes which are not UTF-8 (0xFF fillers, `³`).
    static func build(header: [UInt8], lines: [[UInt8]], checksum: Checksum = .uppercase,
                      blankLineAfterHeader: Bool = true) -> [UInt8] {
        var body: [UInt8] = header.first == slash ? header : [slash] + header
        body += crlf
        if blankLineAfterHeader { body += crlf }
        for line in lines { body += line + crlf }
        body.append(bang)
        return body + Array(checksumText(for: body, checksum).utf8) + crlf
    }

    /// The text written after `!` for a body that runs from `/` through `!`.
    static func checksumText(for body: [UInt8], _ checksum: Checksum) -> String {
        let crc = CRC16.arc(body)
        switch checksum {
        case .uppercase: return hex4(crc)
        case .lowercase: return hex4(crc).lowercased()
        case .unpadded: return String(crc, radix: 16, uppercase: true)
        case .none: return ""
        case .literal(let text): return text
        }
    }

    /// `0B9F` for 0x0B9F.
    static func hex4(_ value: UInt16) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - digits.count) + digits
    }

    /// The part of a built telegram an accepted ``Telegram`` carries in `bytes`: `/` through `!` inclusive.
    static func body(_ telegram: [UInt8]) -> [UInt8] {
        guard let end = telegram.lastIndex(of: bang) else { return telegram }
        return Array(telegram[...end])
    }

    /// The checksum digits of a built telegram (what follows `!` up to the line end).
    static func checksumDigits(_ telegram: [UInt8]) -> [UInt8] {
        guard let end = telegram.lastIndex(of: bang) else { return [] }
        return Array(telegram[(end + 1)...].prefix { $0 != cr && $0 != lf })
    }

    /// `XMX123` → `584D58313233`: how meters write equipment ids and text messages.
    static func hexASCII(_ text: String) -> String {
        text.utf8.map { hex2($0) }.joined()
    }

    static func hex2(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]], as: UTF8.self)
    }

    // MARK: - Sample telegrams (invented serials and values)

    /// The header of the DSMR 5 sample meter.
    static let dsmr5Header = "/XMX5LGBBFG1009999999"
    /// The sample meter's equipment id (sent hex-encoded on `0-0:96.1.1`).
    static let dsmr5EquipmentID = "XMX0000009999999"
    /// The sample gas meter's equipment id (sent hex-encoded on `0-1:96.1.0`).
    static let gasEquipmentID = "G0077000012345624"

    /// The data lines of a DSMR 5 telegram; `number` varies timestamp and values so that every number gives a
    /// different telegram (and a different CRC).
    static func dsmr5Lines(number: Int = 0) -> [String] {
        let second = number % 60
        let minute = 30 + (number / 60) % 30
        let stamp = "24031514\(two(minute))\(two(second))W"
        let power = 1234 + number * 7
        return [
            "1-3:0.2.8(50)",
            "0-0:1.0.0(\(stamp))",
            "0-0:96.1.1(\(hexASCII(dsmr5EquipmentID)))",
            "1-0:1.8.1(\(padded(4_321_123 + number, 6, 3))*kWh)",
            "1-0:1.8.2(\(padded(3_210_987 + number * 3, 6, 3))*kWh)",
            "1-0:2.8.1(000123.456*kWh)",
            "1-0:2.8.2(000234.567*kWh)",
            "0-0:96.14.0(000\(number % 2 + 1))",
            "1-0:1.7.0(\(padded(power, 2, 3))*kW)",
            "1-0:2.7.0(00.000*kW)",
            "0-0:96.7.21(00007)",
            "0-0:96.7.9(00003)",
            "1-0:99.97.0(1)(0-0:96.7.19)(230612101500S)(0000000360*s)",
            "1-0:32.32.0(00002)",
            "1-0:52.32.0(00001)",
            "1-0:72.32.0(00000)",
            "1-0:32.36.0(00000)",
            "1-0:52.36.0(00000)",
            "1-0:72.36.0(00000)",
            "0-0:96.13.0()",
            "1-0:32.7.0(231.\(number % 10)*V)",
            "1-0:52.7.0(229.8*V)",
            "1-0:72.7.0(232.0*V)",
            "1-0:31.7.0(003*A)",
            "1-0:51.7.0(001*A)",
            "1-0:71.7.0(002*A)",
            "1-0:21.7.0(00.612*kW)",
            "1-0:41.7.0(00.231*kW)",
            "1-0:61.7.0(\(padded(power - 843, 2, 3))*kW)",
            "1-0:22.7.0(00.000*kW)",
            "1-0:42.7.0(00.000*kW)",
            "1-0:62.7.0(00.000*kW)",
            "0-1:24.1.0(003)",
            "0-1:96.1.0(\(hexASCII(gasEquipmentID)))",
            "0-1:24.2.1(24031514\(two(minute))00W)(\(padded(1_234_567 + number, 5, 3))*m3)",
        ]
    }

    /// A complete DSMR 5 telegram (about 900 bytes).
    static func dsmr5(number: Int = 0, checksum: Checksum = .uppercase, extraLines: [String] = []) -> [UInt8] {
        build(header: dsmr5Header, lines: dsmr5Lines(number: number) + extraLines, checksum: checksum)
    }

    /// A DSMR 2.2-style telegram: no version line, no timestamp line, legacy two-line gas reading, no CRC.
    static func dsmr22(checksum: Checksum = .none, gasValue: String = "00001.001") -> [UInt8] {
        build(header: "/ISk5\\2MT382-1004", lines: [
            "0-0:96.1.1(\(hexASCII("I22000000123456")))",
            "1-0:1.8.1(00123.456*kWh)",
            "1-0:1.8.2(00234.567*kWh)",
            "1-0:2.8.1(00000.000*kWh)",
            "1-0:2.8.2(00000.000*kWh)",
            "0-0:96.14.0(0002)",
            "1-0:1.7.0(0000.48*kW)",
            "1-0:2.7.0(0000.00*kW)",
            "0-0:17.0.0(0999.00*kW)",
            "0-0:96.3.10(1)",
            "0-0:96.13.1()",
            "0-0:96.13.0()",
            "0-1:24.1.0(3)",
            "0-1:96.1.0(\(hexASCII("G22000000654321")))",
            "0-1:24.3.0(161107190000)(00)(60)(1)(0-1:24.2.1)(m3)",
            "(\(gasValue))",
            "0-1:24.4.0(1)",
        ], checksum: checksum)
    }

    private static func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

    /// `padded(1234, 2, 3)` → `01.234`: a fixed-point number with `integer` and `fraction` digits.
    static func padded(_ value: Int, _ integer: Int, _ fraction: Int) -> String {
        var digits = String(value)
        let width = integer + fraction
        if digits.count < width { digits = String(repeating: "0", count: width - digits.count) + digits }
        digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -fraction))
        return digits
    }

    // MARK: - Expectations that print short

    /// `923 bytes, CRC 6EEE`: enough to tell telegrams apart in a failure message without dumping their bytes.
    static func summary(_ body: [UInt8]) -> String {
        "\(body.count) bytes, CRC \(hex4(CRC16.arc(body)))"
    }

    /// Expects the accepted telegrams' bytes to be exactly `expected`, in order (a failure lists sizes and CRCs
    /// instead of every byte).
    static func expectBodies(_ actual: [[UInt8]], _ expected: [[UInt8]], _ comment: String = "",
                             sourceLocation: SourceLocation = #_sourceLocation) {
        let same = actual == expected
        #expect(same, "\(comment) accepted \(actual.map(summary)), expected \(expected.map(summary))",
                sourceLocation: sourceLocation)
    }

    // MARK: - Decoding

    /// What a decoder produced for some input.
    struct Decoded {
        var telegrams: [Telegram] = []
        var rejections: [Rejection] = []
        var statistics = TelegramDecoder.Statistics()

        /// The rejections by reason.
        var reasons: [RejectionReason: Int] {
            rejections.reduce(into: [:]) { $0[$1.reason, default: 0] += 1 }
        }

        /// The accepted telegrams' bytes, in order.
        var bodies: [[UInt8]] { telegrams.map(\.bytes) }

        /// How many telegrams were accepted.
        var acceptedCount: Int { telegrams.count }

        /// The rejection reasons, in order.
        var reasonList: [RejectionReason] { rejections.map(\.reason) }
    }

    /// Decodes `bytes` with a fresh decoder, fed in chunks of `chunkSize` bytes (all at once when nil), then
    /// finished.
    static func decode(_ bytes: [UInt8], options: TelegramDecoder.Options = .init(), chunkSize: Int? = nil) -> Decoded {
        var decoder = TelegramDecoder(options: options)
        var result = Decoded()
        let handle: (TelegramDecoder.Event) -> Void = { event in
            switch event {
            case .telegram(let telegram): result.telegrams.append(telegram)
            case .rejected(let rejection): result.rejections.append(rejection)
            }
        }
        let size = max(1, chunkSize ?? bytes.count)
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + size)
            decoder.feed(Array(bytes[start..<end]), handle)
            start = end
        }
        decoder.finish(handle)
        result.statistics = decoder.statistics
        return result
    }

    /// Decodes `bytes` fed in chunks whose sizes come from `sizes` (cycled).
    static func decode(_ bytes: [UInt8], options: TelegramDecoder.Options = .init(), chunkSizes sizes: [Int]) -> Decoded {
        var decoder = TelegramDecoder(options: options)
        var result = Decoded()
        let handle: (TelegramDecoder.Event) -> Void = { event in
            switch event {
            case .telegram(let telegram): result.telegrams.append(telegram)
            case .rejected(let rejection): result.rejections.append(rejection)
            }
        }
        var start = 0
        var index = 0
        while start < bytes.count {
            let end = min(bytes.count, start + max(1, sizes[index % sizes.count]))
            decoder.feed(Array(bytes[start..<end]), handle)
            start = end
            index += 1
        }
        decoder.finish(handle)
        result.statistics = decoder.statistics
        return result
    }

    // MARK: - Deterministic randomness

    /// SplitMix64: a tiny, fast, seeded generator, so every "random" test is the same on every run.
    struct SeededGenerator: RandomNumberGenerator {
        private var state: UInt64

        init(seed: UInt64) { state = seed }

        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }

        /// `count` random bytes, none of them in `excluding`.
        mutating func bytes(_ count: Int, excluding: Set<UInt8> = []) -> [UInt8] {
            var result: [UInt8] = []
            result.reserveCapacity(count)
            while result.count < count {
                let byte = UInt8.random(in: 0...255, using: &self)
                if !excluding.contains(byte) { result.append(byte) }
            }
            return result
        }
    }

    static let slash: UInt8 = 0x2F
    static let bang: UInt8 = 0x21
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let crlf: [UInt8] = [0x0D, 0x0A]
}
