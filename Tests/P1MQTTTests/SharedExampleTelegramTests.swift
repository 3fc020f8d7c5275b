import Foundation
import Mapping
import Testing

@testable import P1MQTT

/// The example telegrams published by other projects, kept outside the repository in `<repo>/../shared/telegrams`
/// (see the README there). They are never copied into the repository, so on a machine without that folder
/// these tests are reported as skipped, with the reason, instead of failing.
@Suite(
    "Shared example telegrams (../shared/telegrams)",
    .enabled(
        if: SharedTelegramFixtures.isAvailable,
        "the shared example telegrams are not in the repository; skipped because <repo>/../shared/telegrams does not exist"))
struct SharedExampleTelegramTests {
    @Test("Every .txt file decodes to one telegram of the variant the README gives")
    func everyFile() throws {
        let names = try SharedTelegramFixtures.textFiles()
        #expect(!names.isEmpty)
        for name in names {
            let telegram = try SharedTelegramFixtures.decode(name)
            guard let expected = SharedTelegramFixtures.expectedVariant(name) else {
                Issue.record("\(name): not in the README's list; add its variant to SharedTelegramFixtures")
                continue
            }
            #expect(telegram.variant == expected, "\(name)")
            #expect((telegram.crc == .valid) == expected.sendsCRC, "\(name): CRC \(telegram.crc)")
        }
    }

    @Test("Spot checks of values from the README", arguments: SharedTelegramFixtures.readmeFiles)
    func spotCheck(_ name: String) throws {
        let telegram = try SharedTelegramFixtures.decode(name)
        #expect(telegram.variant == SharedTelegramFixtures.expectedVariant(name))
        let check = VariantTelegramFixtures.self
        switch name {
        case "v2_2.txt":
            #expect(telegram.crc == .absent)
            #expect(telegram.header == "/ISk5\\2MT382-1004")
            #expect(telegram.timestamp == nil)
            // `0-0:96.1.1(00000000000000)`: no id.
            #expect(telegram.equipmentID == nil)
            check.expectNumber(telegram, "0-0:17.0.0", "999.00", "kW")
            check.expectNumber(telegram, "1-0:1.7.0", "1.01", "kW")
            let gas = try #require(telegram.mbusDevices.first)
            check.expectDevice(gas, channel: 1, deviceType: 3, kind: .gas, equipmentID: nil, reading: "1.001",
                               unit: "m3", timestamp: "2016-11-07T18:00:00Z", isPlaceholder: false)
            #expect(gas.readingCode == ObisCode(0, 1, 24, 3, 0))
        case "v3.txt":
            #expect(telegram.crc == .absent)
            #expect(telegram.equipmentID == "K8EG004046395507")
            check.expectNumber(telegram, "0-0:17.0.0", "16", "A")
            check.expectNumber(telegram, "1-0:1.8.1", "12345.678", "kWh")
            #expect(telegram.value(ObisCode(0, 0, 96, 13, 1)) == .hexText(decoded: "012345678", raw: "303132333435363738"))
            let gas = try #require(telegram.mbusDevices.first)
            check.expectDevice(gas, channel: 1, deviceType: 3, kind: .gas, equipmentID: "2222ABCD123456789",
                               reading: "1.001", unit: "m3", timestamp: "2009-02-12T15:00:00Z", isPlaceholder: false)
        case "v4_2.txt":
            #expect(telegram.header == "/KFM5KAIFA-METER")
            #expect(telegram.p1Version == "42")
            #expect(telegram.timestamp?.description == "2016-11-13T19:57:57Z")
            check.expectNumber(telegram, "1-0:1.8.1", "1581.123", "kWh")
            check.expectNumber(telegram, "1-0:51.7.0", "6", "A")
            guard case .entries(let failures)? = telegram.value(ObisCode(1, 0, 99, 97, 0)) else {
                Issue.record("99.97.0 is not a list of entries")
                return
            }
            #expect(failures.count == 3)
            #expect(failures.first?.timestamp?.description == "2000-01-04T17:03:20Z")
            #expect(failures.first?.value?.description == "237126")
            #expect(failures.first?.unit == "s")
            #expect(failures.dropFirst().first?.timestamp?.description == "1999-12-31T23:00:01Z")
            let gas = try #require(telegram.mbusDevices.first)
            #expect(gas.reading?.description == "981.443")
            #expect(gas.unit == "m3")
            #expect(gas.timestamp?.description == "2016-11-29T19:00:00Z")
            #expect(gas.kind == .gas)
        case "v5.txt":
            #expect(telegram.timestamp?.description == "2017-01-02T18:20:02Z")
            #expect(telegram.equipmentID == "K8EG004046395507")
            check.expectNumber(telegram, "1-0:32.7.0", "230.0", "V")
            check.expectNumber(telegram, "1-0:31.7.0", "0.48", "A")
            check.expectNumber(telegram, "1-0:1.8.1", "4.426", "kWh")
            #expect(telegram.value(ObisCode(1, 0, 99, 97, 0)) == .entries([]))
            #expect(telegram.mbusDevices.map(\.channel) == [1, 2])
            guard telegram.mbusDevices.count == 2 else { return }
            check.expectDevice(telegram.mbusDevices[0], channel: 1, deviceType: 3, kind: .gas,
                               equipmentID: "2222ABCD123456789", reading: "0.107", unit: "m3",
                               timestamp: "2017-01-02T15:10:05Z", isPlaceholder: false)
            check.expectDevice(telegram.mbusDevices[1], channel: 2, deviceType: 3, kind: .gas, equipmentID: nil,
                               reading: nil, unit: nil, timestamp: nil, isPlaceholder: true)
        case "v5_two_mbus.txt":
            #expect(telegram.equipmentID == "E0044007382246019")
            #expect(telegram.value(ObisCode(1, 0, 99, 97, 0)) == .entries([
                ProfileEntry(timestamp: MeterTimestamp("190326095015W"), value: MeterNumber("2014"), unit: "s"),
            ]))
            #expect(telegram.mbusDevices.map(\.channel) == [1, 2])
            guard telegram.mbusDevices.count == 2 else { return }
            check.expectDevice(telegram.mbusDevices[0], channel: 1, deviceType: 3, kind: .gas, equipmentID: nil,
                               reading: nil, unit: nil, timestamp: nil, isPlaceholder: true)
            check.expectDevice(telegram.mbusDevices[1], channel: 2, deviceType: 3, kind: .gas,
                               equipmentID: "G0039001936990619", reading: "246.138", unit: "m3",
                               timestamp: "2020-04-26T20:30:01Z", isPlaceholder: false)
        case "unpadded_crc.txt":
            #expect(telegram.crc == .valid)
            #expect(telegram.equipmentID == "ADC3100000158491")
            let heat = try #require(telegram.mbusDevices.first)
            check.expectDevice(heat, channel: 1, deviceType: 4, kind: .heat, equipmentID: "621848012D2C0B0C",
                               reading: "240.860", unit: "GJ", timestamp: "2026-02-15T19:05:23Z", isPlaceholder: false)
        case "fluvius_v171.txt":
            #expect(telegram.value(ObisCode(0, 0, 96, 1, 4)) == .text("50217"))
            #expect(telegram.equipmentID == "1SAG3101021605")
            check.expectNumber(telegram, "1-0:1.4.0", "2.351", "kW")
            #expect(telegram.value(ObisCode(1, 0, 1, 6, 0))
                == .reading(MeterNumber("2.589"), unit: "kW", timestamp: MeterTimestamp("200509134558S")))
            if case .entries(let history)? = telegram.value(ObisCode(0, 0, 98, 1, 0)) {
                #expect(history.count == 3)
                #expect(history.first?.value?.description == "3.695")
            } else {
                Issue.record("98.1.0 is not a list of entries")
            }
            #expect(telegram.mbusDevices.map(\.channel) == [1, 2])
            guard telegram.mbusDevices.count == 2 else { return }
            check.expectDevice(telegram.mbusDevices[0], channel: 1, deviceType: 3, kind: .gas,
                               equipmentID: "7FLO2119033733", reading: "112.384", unit: "m3",
                               timestamp: "2020-05-12T11:45:58Z", isPlaceholder: false)
            #expect(telegram.mbusDevices[0].readingCode == ObisCode(0, 1, 24, 2, 3))
            check.expectDevice(telegram.mbusDevices[1], channel: 2, deviceType: 7, kind: .water,
                               equipmentID: "8SAG1234567890", reading: "872.234", unit: "m3",
                               timestamp: "2020-05-12T11:45:58Z", isPlaceholder: false)
        case "fluvius_v171_alt.txt":
            #expect(telegram.timestamp?.description == "2023-11-02T11:15:48Z")
            #expect(telegram.number(ObisCode(1, 0, 1, 6, 0))?.description == "3.064")
            if case .entries(let history)? = telegram.value(ObisCode(0, 0, 98, 1, 0)) {
                #expect(history.count == 4)
                #expect(history.first.map { $0.timestamp == nil } == true)  // `632525252525W`
                #expect(history.last?.timestamp?.description == "2023-10-16T11:00:00Z")
                #expect(history.last?.value?.description == "4.927")
            } else {
                Issue.record("98.1.0 is not a list of entries")
            }
            #expect(telegram.mbusDevices.last?.reading?.description == "8.579")
            #expect(telegram.mbusDevices.last?.kind == .water)
        case "esy5q3db1024_v304.txt":
            #expect(telegram.crc == .absent)
            #expect(telegram.equipmentID == "1ESY1313002565")
            check.expectNumber(telegram, "1-0:2.8.0", "19949.3221493", "kWh")
            check.expectNumber(telegram, "1-0:1.7.0", "2124.86", "W")
            #expect(!telegram.bytes.contains(0xFF))
        case "esy5q3da1004_v304.txt":
            #expect(telegram.crc == .absent)
            #expect(telegram.equipmentID == "1ESY1336001560")
            check.expectNumber(telegram, "1-0:1.8.0", "32549.5061662", "kWh")
            check.expectNumber(telegram, "1-0:1.7.0", "1688.21", "W")
        case "sagemcom_t210_d_r.txt":
            #expect(telegram.p1Version == "50")
            #expect(telegram.timestamp?.description == "2022-10-06T13:50:14Z")
            #expect(telegram.equipmentID == nil)
            check.expectNumber(telegram, "1-0:1.8.0", "6545766", "Wh")
            check.expectNumber(telegram, "1-0:4.7.0", "166", "var")
        case "iskra_ie.txt":
            // The header carries a 0x02 byte (see the README's caveat); the CRC covers it.
            #expect(telegram.header == "/ISk5\u{02}MIE5T-200")
            #expect(telegram.crc == .valid)
            // `0-0:96.1.0(09610)`: not hex text, kept as sent; `1-0:0.0.0(00000000)` is no id.
            #expect(telegram.equipmentID == "09610")
            #expect(telegram.timestamp != nil)
            check.expectNumber(telegram, "1-0:1.8.1", "10.181", "kWh")
            check.expectNumber(telegram, "1-0:32.7.0", "242.5", "V")
        case "v5_eon_hu.txt":
            #expect(telegram.timestamp?.description == "2023-07-24T13:07:30Z")
            #expect(telegram.equipmentID == "SAG3082200002160")
            check.expectNumber(telegram, "1-0:1.8.0", "173.640", "kWh")
            check.expectNumber(telegram, "1-0:13.7.0", "4.556", nil)
            check.expectNumber(telegram, "1-0:14.7.0", "50.00", "Hz")
            check.expectNumber(telegram, "1-0:31.4.0", "200.00", "A")
        case "luxembourg_smarty_plain.txt":
            #expect(telegram.p1Version == "42")
            #expect(telegram.timestamp?.description == "2026-04-03T15:54:31Z")
            #expect(telegram.equipmentID == "SAG1030700012701")
            check.expectNumber(telegram, "1-0:2.8.0", "112743.030", "kWh")
            #expect(telegram.value(ObisCode(1, 1, 31, 4, 0))
                == .list([.number(MeterNumber("40")!, unit: "A"), .number(MeterNumber("-40")!, unit: "A")]))
            let gas = try #require(telegram.mbusDevices.first)
            check.expectDevice(gas, channel: 1, deviceType: 3, kind: .gas, equipmentID: "FLO182370120350",
                               reading: "14239.771", unit: "m3", timestamp: "2026-04-03T15:45:42Z",
                               isPlaceholder: false)
        case "sweden_aidon_6534.txt":
            #expect(telegram.header == "/ADN9 6534")
            #expect(telegram.equipmentID == nil)
            #expect(telegram.timestamp?.description == "2023-03-02T08:38:10Z")
            check.expectNumber(telegram, "1-0:1.8.0", "31157.405", "kWh")
            check.expectNumber(telegram, "1-0:3.8.0", "857.557", "kVArh")
        default:
            Issue.record("no spot checks for \(name)")
        }
    }

    @Test("The encrypted Smarty frame decrypts, with the test key, to the plain Luxembourg telegram")
    func encryptedFrame() throws {
        let key = try #require(GCMCipher.parseKey("000102030405060708090A0B0C0D0E0F"))
        var decoder = TelegramDecoder(options: .init(variant: nil, cipher: try GCMCipher(key: key)))
        let events = decoder.decodeAll(try SharedTelegramFixtures.load(SharedTelegramFixtures.encryptedFile))
        let telegram = try VariantTelegramFixtures.single(events)
        #expect(telegram.encrypted)
        #expect(telegram.crc == .valid)
        #expect(telegram.variant == .luxembourg)

        let plainBytes = try SharedTelegramFixtures.load("luxembourg_smarty_plain.txt")
        let plain = try SharedTelegramFixtures.decode("luxembourg_smarty_plain.txt")
        #expect(plain.encrypted == false)
        #expect(telegram.bytes == plain.bytes)
        // The telegram runs from '/' through '!', the plain file goes on with `80F6` CR LF.
        #expect(telegram.bytes + Array("80F6\r\n".utf8) == plainBytes)
        #expect(telegram.equipmentID == plain.equipmentID)
        #expect(telegram.timestamp == plain.timestamp)
        #expect(telegram.objects == plain.objects)
    }

    @Test("The encrypted Smarty frame with a wrong key is one decryption rejection and no telegram")
    func encryptedFrameWrongKey() throws {
        let key = try #require(GCMCipher.parseKey("0F0E0D0C0B0A09080706050403020100"))
        var decoder = TelegramDecoder(options: .init(variant: nil, cipher: try GCMCipher(key: key)))
        let events = decoder.decodeAll(try SharedTelegramFixtures.load(SharedTelegramFixtures.encryptedFile))
        #expect(events.count == 1)
        let reasons = events.compactMap { event -> RejectionReason? in
            if case .rejected(let rejection) = event { return rejection.reason }
            return nil
        }
        #expect(reasons == [.decryption])
        #expect(decoder.statistics.accepted == 0)
        #expect(decoder.statistics.rejected[.decryption] == 1)
    }

    @Test("The encrypted Smarty frame without a key is one no-key rejection")
    func encryptedFrameNoKey() throws {
        var decoder = TelegramDecoder(options: .init(variant: nil, cipher: nil))
        let events = decoder.decodeAll(try SharedTelegramFixtures.load(SharedTelegramFixtures.encryptedFile))
        let reasons = events.compactMap { event -> RejectionReason? in
            if case .rejected(let rejection) = event { return rejection.reason }
            return nil
        }
        #expect(events.count == 1)
        #expect(reasons == [.noKey])
    }
}

/// Finding and decoding the shared example telegrams.
enum SharedTelegramFixtures {
    /// `<repo>/../shared/telegrams`, found from this source file's path.
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // P1MQTTTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // repository root
        .appendingPathComponent("../shared/telegrams", isDirectory: true)
        .standardizedFileURL

    /// Whether the folder exists on this machine.
    static var isAvailable: Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory)
            && isDirectory.boolValue
    }

    static let encryptedFile = "luxembourg_smarty_encrypted_SYNTHETIC.bin"

    /// The telegram files the README lists.
    static let readmeFiles = [
        "v2_2.txt", "v3.txt", "v4_2.txt", "v5.txt", "v5_two_mbus.txt", "unpadded_crc.txt", "fluvius_v171.txt",
        "fluvius_v171_alt.txt", "esy5q3db1024_v304.txt", "esy5q3da1004_v304.txt", "sagemcom_t210_d_r.txt",
        "iskra_ie.txt", "v5_eon_hu.txt", "luxembourg_smarty_plain.txt", "sweden_aidon_6534.txt",
    ]

    /// The variant the README gives for a file.
    static func expectedVariant(_ name: String) -> MeterVariant? {
        switch name {
        case "v2_2.txt", "v3.txt": .dsmr3
        case "v4_2.txt": .dsmr4
        case "v5.txt", "v5_two_mbus.txt", "unpadded_crc.txt": .dsmr5
        case "v5_eon_hu.txt": .eonHungary
        case "luxembourg_smarty_plain.txt": .luxembourg
        case "iskra_ie.txt": .iskraIE
        case _ where name.hasPrefix("fluvius"): .belgium
        case _ where name.hasPrefix("esy5q3d"): .q3d
        case _ where name.hasPrefix("sagemcom"): .austria
        case _ where name.hasPrefix("sweden"): .sweden
        default: nil
        }
    }

    /// Every `.txt` file in the folder, sorted.
    static func textFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".txt") }.sorted()
    }

    static func load(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    /// Decodes a file and requires exactly one telegram and no rejection.
    static func decode(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Telegram {
        try VariantTelegramFixtures.decode(load(name), sourceLocation: sourceLocation)
    }
}
