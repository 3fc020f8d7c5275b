import Testing
@testable import P1MQTT
import Mapping

/// Values inside telegrams: timestamps, numbers, OBIS codes, hex text, profiles, duplicates, unknown codes.
@Suite("Value parsing")
struct ValueParsingTests {
    typealias T = TestTelegrams

    // MARK: - Timestamps

    @Test("timestamps convert to UTC by their S/W letter", arguments: [
        ("201025023000S", "2020-10-25T00:30:00Z"),  // the October hour that occurs twice: first, summer time
        ("201025023000W", "2020-10-25T01:30:00Z"),  // … and second, winter time
        ("170102192002W", "2017-01-02T18:20:02Z"),
        ("240229120000W", "2024-02-29T11:00:00Z"),  // leap day
        ("000101000001W", "1999-12-31T23:00:01Z"),  // year 2000, a meter's default clock
        ("700101010000W", "1970-01-01T00:00:00Z"),  // the dead-channel placeholder
        ("230612101500S", "2023-06-12T08:15:00Z"),
        ("991231235959W", "1999-12-31T22:59:59Z"),
        ("231231235959w", "2023-12-31T22:59:59Z"),  // lowercase letter
    ])
    func timestamps(text: String, expected: String) {
        #expect(MeterTimestamp(text)?.description == expected)
    }

    @Test("12-digit timestamps without a letter follow the EU daylight-saving rule", arguments: [
        ("161107190000", "2016-11-07T18:00:00Z"),  // winter
        ("160707190000", "2016-07-07T17:00:00Z"),  // summer
        ("240331030000", "2024-03-31T01:00:00Z"),  // first summer-time hour of 2024
        ("241027030000", "2024-10-27T02:00:00Z"),  // first winter-time hour of 2024
    ])
    func timestampsWithoutLetter(text: String, expected: String) {
        #expect(MeterTimestamp(text)?.description == expected)
    }

    @Test("impossible timestamps are nil, not errors", arguments: [
        "632525252525W",  // Fluvius' empty history month
        "200230120000W",  // 30 February
        "230229120000W",  // 29 February in a year that is not a leap year
        "20010112000X",  // a letter among the digits
        "200101120000X",  // a letter that is not S or W
        "201301120000W",  // month 13
        "200100120000W",  // day 0
        "200101240000W",  // hour 24
        "200101126000W",  // minute 60
        "200101120060W",  // second 60
        "2001011200W",  // too short
        "20010112000000W",  // too long
        "",
        "-00101120000W",
    ])
    func impossibleTimestamps(text: String) {
        #expect(MeterTimestamp(text) == nil)
    }

    @Test("timestamps order by instant, whatever the letter")
    func timestampOrder() throws {
        let summer = try #require(MeterTimestamp("201025023000S"))
        let winter = try #require(MeterTimestamp("201025023000W"))
        #expect(summer < winter)
        #expect(winter.secondsSince1970 - summer.secondsSince1970 == 3600)
        // 02:30 winter time is the same instant as 03:30 summer time would be.
        #expect(MeterTimestamp("201025023000W") == MeterTimestamp("201025033000S"))
    }

    // MARK: - Numbers

    @Test("numbers keep the meter's precision and drop leading zeros", arguments: [
        ("001234.567", "1234.567"),
        ("0230.0", "230.0"),
        ("-040", "-40"),
        ("0.48", "0.48"),
        ("000.00", "0.00"),
        ("00000000", "0"),
        ("+12.50", "12.50"),
        ("-0.001", "-0.001"),
        ("123456789012345678", "123456789012345678"),  // 18 digits
        ("0000000000000000000001", "1"),  // leading zeros do not count as digits
    ])
    func numbers(text: String, expected: String) throws {
        let number = try #require(MeterNumber(text))
        #expect(number.description == expected)
        var bytes: [UInt8] = []
        number.write(to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == expected)
    }

    @Test("things that are not numbers are nil", arguments: [
        "1234567890123456789",  // 19 digits
        "1.234567890123456789",  // 19 digits
        "12a", "", ".", "-", "+", "1.2.3", "1,5", " 1", "1 ", "--1", "0x10", "1e3", "*kWh", "12.",
    ])
    func notNumbers(text: String) {
        #expect(MeterNumber(text) == nil)
    }

    @Test("a number with more than 18 digits after the point is nil, even when they are leading zeros")
    func tooManyFractionDigits() {
        // `0.0000000000000000001` has 19 digits. If it were accepted, its scale (19) would exceed what
        // `doubleValue` (powers of ten up to 10^18) and `write(to:)` (a 24-byte buffer) can handle.
        #expect(MeterNumber("0." + String(repeating: "0", count: 18) + "1") == nil)
        #expect(MeterNumber("0." + String(repeating: "0", count: 30)) == nil)
        #expect(MeterNumber("0." + String(repeating: "0", count: 17) + "1")?.description == "0.000000000000000001")
    }

    @Test("hundreds of zeros after the point do not crash the parser")
    func hugeScaleDoesNotCrash() async {
        // The scale is stored in a UInt8: 300 fractional digits must be refused, not trap on the conversion.
        await #expect(processExitsWith: .success) {
            let text = "0." + String(repeating: "0", count: 300) + "1"
            if let number = MeterNumber(text) {
                var bytes: [UInt8] = []
                number.write(to: &bytes)
                _ = number.doubleValue
            }
        }
    }

    @Test("a number with 30 digits after the point can be written and converted, if it is accepted at all")
    func scaleThirtyDoesNotCrash() async {
        // Accepted today with scale 30: write(to:) then writes past its 24-byte scratch buffer and doubleValue
        // reads past its table of powers of ten (0…18).
        await #expect(processExitsWith: .success) {
            if let number = MeterNumber("0." + String(repeating: "0", count: 29) + "1") {
                var bytes: [UInt8] = []
                number.write(to: &bytes)
                _ = number.doubleValue
            }
        }
    }

    @Test("write(to:) gives the same bytes as description")
    func writeMatchesDescription() {
        var random = T.SeededGenerator(seed: 0xD5_3A)
        for round in 0..<5000 {
            let scale = UInt8.random(in: 0...18, using: &random)
            let digits = Int.random(in: 1...18, using: &random)
            var mantissa = Int64.random(in: 0..<Int64(pow10(digits)), using: &random)
            if round % 3 == 0 { mantissa = -mantissa }
            if round % 17 == 0 { mantissa = 0 }
            let number = MeterNumber(mantissa: mantissa, scale: scale)
            var bytes: [UInt8] = []
            number.write(to: &bytes)
            let written = String(decoding: bytes, as: UTF8.self)
            #expect(written == number.description, "mantissa \(mantissa) scale \(scale)")
            // And the text parses back to the same number.
            #expect(MeterNumber(written) == number, "round trip of \(written)")
        }
    }

    private func pow10(_ exponent: Int) -> Int64 {
        (0..<exponent).reduce(Int64(1)) { product, _ in product * 10 }
    }

    @Test("doubleValue and comparison")
    func doubleValue() throws {
        let number = try #require(MeterNumber("001234.567"))
        #expect(number.doubleValue == 1234.567)
        #expect(try #require(MeterNumber("-040")).doubleValue == -40)
        #expect(try #require(MeterNumber("0.48")) < number)
        #expect(MeterNumber("0230.0") == MeterNumber(mantissa: 2300, scale: 1))
        #expect(MeterNumber("230.0") != MeterNumber("230.00"))
        #expect(try #require(MeterNumber("000.00")).isZero)
    }

    // MARK: - OBIS codes

    @Test("an OBIS code has its five groups")
    func obisFields() throws {
        let code = try #require(ObisCode("1-0:1.8.1"))
        #expect(code.a == 1 && code.b == 0 && code.c == 1 && code.d == 8 && code.e == 1)
        #expect(code == ObisCode(1, 0, 1, 8, 1))
        #expect(code.description == "1-0:1.8.1")
        #expect(code.quantity == "1.8.1")
        #expect(!code.isMBus)
        let big = try #require(ObisCode("255-255:255.255.255"))
        #expect(big.a == 255 && big.e == 255)
    }

    @Test("group F is ignored: *255 is the same register")
    func obisF() throws {
        let withF = try #require(ObisCode("1-0:1.8.0*255"))
        #expect(withF == ObisCode("1-0:1.8.0"))
        #expect(withF.hashValue == ObisCode(1, 0, 1, 8, 0).hashValue)
        #expect(withF.description == "1-0:1.8.0")
        #expect(ObisCode("1-0:1.8.0.255") == ObisCode("1-0:1.8.0"))
    }

    @Test("M-Bus codes are A = 0, B = 1…9")
    func obisMBus() {
        #expect(ObisCode("0-1:24.2.1")?.isMBus == true)
        #expect(ObisCode("0-9:24.2.1")?.isMBus == true)
        #expect(ObisCode("0-0:24.2.1")?.isMBus == false)
        #expect(ObisCode("0-10:24.2.1")?.isMBus == false)
        #expect(ObisCode("1-1:31.4.0")?.isMBus == false)
    }

    @Test("invalid OBIS codes are nil", arguments: [
        "1-0:1.8", "256-0:1.8.0", "a-0:1.8.0", "", "1-0:1.8.1x", "1:0-1.8.1", "1-0:1.8.1*", "1-0:1.8.1(",
        "1-0:1..1", "1000-0:1.8.0", " 1-0:1.8.0",
    ])
    func obisInvalid(text: String) {
        #expect(ObisCode(text) == nil)
    }

    // MARK: - Values inside telegrams

    private func parse(_ lines: [String], header: String = T.dsmr5Header) throws -> Telegram {
        let telegram = T.build(header: header, lines: lines)
        return try TelegramParser().parse(T.body(telegram), crc: .valid)
    }

    @Test("a hex text of printable ASCII is decoded; one that decodes to control characters stays raw")
    func hexText() throws {
        let telegram = try parse([
            "1-3:0.2.8(50)",
            "0-0:96.13.0(\(T.hexASCII("Meter says: hello!")))",
            "0-0:96.1.1(0102030405)",
        ])
        #expect(telegram.value(ObisCode(0, 0, 96, 13, 0))
            == .hexText(decoded: "Meter says: hello!", raw: T.hexASCII("Meter says: hello!")))
        #expect(telegram.value(ObisCode(0, 0, 96, 13, 0))?.displayText == "Meter says: hello!")
        // Odd length and control characters: kept raw, never turned into garbage.
        #expect(telegram.value(ObisCode(0, 0, 96, 1, 1)) == .hexText(decoded: nil, raw: "0102030405"))
        let control = try parse(["1-3:0.2.8(50)", "0-0:96.13.0(48650A6C6F)"])
        #expect(control.value(ObisCode(0, 0, 96, 13, 0)) == .hexText(decoded: nil, raw: "48650A6C6F"))
        let empty = try parse(["1-3:0.2.8(50)", "0-0:96.13.0()"])
        #expect(empty.value(ObisCode(0, 0, 96, 13, 0)) == .empty)
    }

    @Test("the equipment id is decoded from hex")
    func equipmentID() throws {
        let telegram = try TelegramParser().parse(T.body(T.dsmr5()), crc: .valid)
        #expect(telegram.equipmentID == T.dsmr5EquipmentID)
        #expect(telegram.mbusDevices.first?.equipmentID == T.gasEquipmentID)
        #expect(telegram.header == T.dsmr5Header)
        #expect(telegram.manufacturerFlag == "XMX")
        #expect(telegram.p1Version == "50")
        #expect(telegram.variant == .dsmr5)
        #expect(telegram.timestamp?.description == "2024-03-15T13:30:00Z")
    }

    @Test("when an OBIS code appears twice, the last line wins")
    func duplicates() throws {
        let telegram = try parse([
            "1-3:0.2.8(50)",
            "1-0:1.8.1(000001.000*kWh)",
            "1-0:1.7.0(00.100*kW)",
            "1-0:1.8.1(000002.000*kWh)",
        ])
        #expect(telegram.number(ObisCode(1, 0, 1, 8, 1)) == MeterNumber("2.000"))
        #expect(telegram.objects.filter { $0.code == ObisCode(1, 0, 1, 8, 1) }.count == 1)
        #expect(telegram.objects.map(\.code.description) == ["1-3:0.2.8", "1-0:1.7.0", "1-0:1.8.1"])
    }

    @Test("unknown OBIS lines are kept as objects")
    func unknownCodes() throws {
        let telegram = try parse([
            "1-3:0.2.8(50)",
            "1-0:99.99.9(12.5*kW)",
            "0-0:199.1.2(ABC)",
            "1-0:98.98.8(240315143000W)(0042.1*kWh)",
        ])
        let object = try #require(telegram.object(ObisCode(1, 0, 99, 99, 9)))
        #expect(object.definition == nil)
        #expect(telegram.value(of: object) == .number(MeterNumber(mantissa: 125, scale: 1), unit: "kW"))
        #expect(telegram.number(ObisCode(1, 0, 99, 99, 9))?.description == "12.5")
        #expect(telegram.value(ObisCode(0, 0, 199, 1, 2)) == .text("ABC"))
        #expect(telegram.value(ObisCode(1, 0, 98, 98, 8))
            == .reading(MeterNumber("42.1"), unit: "kWh", timestamp: MeterTimestamp("240315143000W")))
    }

    @Test("the DSMR 2.2 gas reading on a continuation line is parsed")
    func legacyGas() throws {
        let telegram = try TelegramParser().parse(T.body(T.dsmr22()), crc: .absent)
        #expect(telegram.variant == .dsmr3)
        let code = ObisCode(0, 1, 24, 3, 0)
        #expect(telegram.object(code)?.valueCount == 7)
        #expect(telegram.value(code)
            == .reading(MeterNumber("00001.001"), unit: "m3", timestamp: MeterTimestamp("161107190000")))
        let device = try #require(telegram.mbusDevices.first)
        #expect(device.channel == 1)
        #expect(device.reading?.description == "1.001")
        #expect(device.unit == "m3")
        #expect(device.timestamp?.description == "2016-11-07T18:00:00Z")
        #expect(device.readingCode == code)
        #expect(!device.isPlaceholder)
        #expect(device.deviceType == 3)
        #expect(device.valvePosition == 1)
        // The continuation line is not counted as a skipped line; the line after it is parsed normally.
        #expect(telegram.skippedLines == 0)
        #expect(telegram.equipmentID == "I22000000123456")
    }

    @Test("the power failure log gives one entry per failure")
    func profile() throws {
        let telegram = try parse([
            "1-3:0.2.8(50)",
            "1-0:99.97.0(2)(0-0:96.7.19)(101208152415W)(0000000240*s)(101208151004W)(0000000301*s)",
        ])
        guard case .entries(let entries)? = telegram.value(ObisCode(1, 0, 99, 97, 0)) else {
            Issue.record("99.97.0 is not a list of entries")
            return
        }
        #expect(entries.count == 2)
        #expect(entries.map { $0.timestamp?.description } == ["2010-12-08T14:24:15Z", "2010-12-08T14:10:04Z"])
        #expect(entries.map { $0.value?.description } == ["240", "301"])
        #expect(entries.map(\.unit) == ["s", "s"])
        #expect(entries.allSatisfy { $0.periodStart == nil })
    }

    @Test("an empty power failure log gives no entries")
    func emptyProfile() throws {
        let telegram = try parse(["1-3:0.2.8(50)", "1-0:99.97.0(0)(0-0:96.7.19)"])
        #expect(telegram.value(ObisCode(1, 0, 99, 97, 0)) == .entries([]))
    }

    @Test("a power failure log with year-2000 timestamps")
    func profileYear2000() throws {
        let telegram = try parse([
            "1-3:0.2.8(42)",
            "1-0:99.97.0(1)(0-0:96.7.19)(000101000001W)(2147483647*s)",
        ])
        #expect(telegram.value(ObisCode(1, 0, 99, 97, 0)) == .entries([
            ProfileEntry(timestamp: MeterTimestamp("000101000001W"), value: MeterNumber("2147483647"), unit: "s"),
        ]))
    }

    @Test("a dead M-Bus channel is a placeholder, never a reading of 0")
    func deadChannel() throws {
        let telegram = try parse([
            "1-3:0.2.8(50)",
            "0-1:24.1.0(003)",
            "0-1:24.2.1(700101010000W)(00000000)",
            "0-2:24.1.0(003)",
            "0-2:24.2.1(240315143000W)(00042.123*m3)",
        ])
        #expect(telegram.mbusDevices.map(\.channel) == [1, 2])
        #expect(telegram.mbusDevices[0].isPlaceholder)
        #expect(telegram.mbusDevices[0].reading == nil)
        #expect(telegram.mbusDevices[1].reading?.description == "42.123")
    }

    @Test("signed values and several numbers on one line")
    func numbersLine() throws {
        let telegram = try parse(["1-3:0.2.8(42)", "1-1:31.4.0(040*A)(-040*A)"])
        #expect(telegram.value(ObisCode(1, 1, 31, 4, 0)) == .list([
            .number(MeterNumber(mantissa: 40, scale: 0), unit: "A"),
            .number(MeterNumber(mantissa: -40, scale: 0), unit: "A"),
        ]))
    }
}
