import Foundation
import Testing
@testable import P1MQTT

/// What the telegram relay sends for each accepted telegram: the meter's own bytes, line end included.
@Suite("Telegram relay")
struct TelegramRelayTests {
    typealias T = TestTelegrams

    @Test("a telegram goes out exactly as the meter sent it, with and without a CRC", arguments: VariantTelegramFixtures.files)
    func sameBytesAsTheMeter(name: String) throws {
        let file = try VariantTelegramFixtures.load(name)
        let telegram = try VariantTelegramFixtures.decode(name)
        let wire = TelegramRelay.wireBytes(of: telegram)
        // The example files hold the telegram and its CRC line; some add a gateway's trailer after it.
        let start = try #require(file.firstIndex(of: UInt8(ascii: "/")))
        let bang = try #require(file[start...].firstIndex(of: UInt8(ascii: "!")))
        let lineEnd = try #require(file[bang...].firstIndex(of: 0x0A))
        var crc = Array(file[(bang + 1)..<lineEnd]).filter { $0 != 0x0D }
        // A meter that drops the CRC's leading zeros (dsmr5_heat.txt: "!57E") is relayed with all four digits,
        // as the other readers expect.
        if !crc.isEmpty { crc = Array(repeating: UInt8(ascii: "0"), count: max(0, 4 - crc.count)) + crc }
        #expect(wire == Array(file[start...bang]) + crc + [0x0D, 0x0A], "\(name)")
    }

    @Test("a decrypted telegram gets a CRC of its plain text, so a reader without the key accepts it")
    func decryptedTelegram() throws {
        let plaintext = T.dsmr5(number: 3)
        let decoded = T.decode(try DecryptionTests.frame(plaintext), options: try DecryptionTests.options())
        let telegram = try #require(decoded.telegrams.first)
        #expect(telegram.encrypted)
        let wire = TelegramRelay.wireBytes(of: telegram)
        let again = T.decode(wire)
        #expect(again.rejections.isEmpty)
        #expect(again.telegrams.first?.crc == .valid)
        #expect(again.telegrams.first?.bytes == telegram.bytes)
        #expect(wire.suffix(2) == [0x0D, 0x0A])
    }
}
