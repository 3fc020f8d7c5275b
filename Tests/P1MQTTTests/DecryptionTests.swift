import Foundation
import Testing
@testable import P1MQTT
import Mapping

/// Encrypted DLMS frames (Luxembourg Smarty, Austrian Sagemcom): framing, decryption, key handling.
@Suite("DLMS decryption")
struct DecryptionTests {
    typealias T = TestTelegrams

    static let key: [UInt8] = [
        0x4F, 0x3E, 0x2D, 0x1C, 0x0B, 0xFA, 0xE9, 0xD8, 0xC7, 0xB6, 0xA5, 0x94, 0x83, 0x72, 0x61, 0x50,
    ]
    static let wrongKey: [UInt8] = key.map { $0 ^ 0x01 }
    /// `XMX` + five id bytes.
    static let systemTitle: [UInt8] = Array("XMX".utf8) + [0x00, 0x12, 0x34, 0x56, 0x78]

    static func frame(_ plaintext: [UInt8], key: [UInt8] = key, counter: UInt32 = 0x0000_1234) throws -> [UInt8] {
        try GCMCipher(key: key).seal(plaintext, systemTitle: systemTitle, frameCounter: counter).bytes
    }

    static func options(key: [UInt8]? = key, verifiesTag: Bool = true) throws -> TelegramDecoder.Options {
        TelegramDecoder.Options(cipher: try key.map { try GCMCipher(key: $0, verifiesTag: verifiesTag) })
    }

    // MARK: - Frames

    @Test("a sealed frame has the DLMS general-global-cipher layout")
    func frameLayout() throws {
        let plaintext = T.dsmr5(number: 1)
        let bytes = try Self.frame(plaintext, counter: 0x0102_0304)
        #expect(bytes.count == 13 + 1 + 4 + plaintext.count + 12)
        #expect(Array(bytes.prefix(2)) == [0xDB, 0x08])
        #expect(Array(bytes[2..<10]) == Self.systemTitle)
        #expect(bytes[10] == 0x82)
        #expect(Int(bytes[11]) << 8 | Int(bytes[12]) == bytes.count - 13)
        #expect(bytes[13] == 0x30)
        #expect(Array(bytes[14..<18]) == [0x01, 0x02, 0x03, 0x04])
        let parsed = try bytes.withUnsafeBufferPointer { try DLMSFrame($0) }
        #expect(parsed.systemTitle == Self.systemTitle)
        #expect(parsed.frameCounter == [0x01, 0x02, 0x03, 0x04])
        #expect(parsed.tag.count == 12)
        #expect(parsed.bytes == bytes)
        #expect(parsed.systemTitleDescription == "XMX0012345678")
    }

    @Test("the right key gives the telegram, marked encrypted, with the plaintext's bytes")
    func rightKey() throws {
        let plaintext = T.dsmr5(number: 2)
        let decoded = T.decode(try Self.frame(plaintext), options: try Self.options())
        #expect(decoded.rejections.isEmpty)
        let telegram = try #require(decoded.telegrams.first)
        #expect(decoded.acceptedCount == 1)
        #expect(telegram.encrypted)
        #expect(telegram.crc == .valid)
        T.expectBodies([telegram.bytes], [T.body(plaintext)])
        #expect(telegram.equipmentID == T.dsmr5EquipmentID)
        #expect(decoded.statistics.accepted == 1)
    }

    @Test("a wrong key gives exactly one decryption rejection that mentions the key, and no telegram")
    func wrongKey() throws {
        let decoded = T.decode(try Self.frame(T.dsmr5(number: 3)), options: try Self.options(key: Self.wrongKey))
        #expect(decoded.acceptedCount == 0)
        #expect(decoded.reasonList == [.decryption])
        #expect(decoded.rejections.first?.detail.contains("key") == true)
        #expect(decoded.statistics.rejected == [.decryption: 1])
    }

    @Test("an encrypted frame without a configured key is rejected as noKey")
    func noKey() throws {
        let decoded = T.decode(try Self.frame(T.dsmr5(number: 4)), options: try Self.options(key: nil))
        #expect(decoded.acceptedCount == 0)
        #expect(decoded.reasonList == [.noKey])
        #expect(decoded.rejections.first?.detail.contains("key") == true)
    }

    @Test("a tampered tag is rejected")
    func tamperedTag() throws {
        var bytes = try Self.frame(T.dsmr5(number: 5))
        bytes[bytes.count - 1] ^= 0x01
        let decoded = T.decode(bytes, options: try Self.options())
        #expect(decoded.acceptedCount == 0)
        #expect(decoded.reasonList == [.decryption])
    }

    @Test("tampered ciphertext is rejected", arguments: [18, 100, 500])
    func tamperedCiphertext(offset: Int) throws {
        var bytes = try Self.frame(T.dsmr5(number: 6))
        bytes[offset] ^= 0x40
        let decoded = T.decode(bytes, options: try Self.options())
        #expect(decoded.acceptedCount == 0)
        #expect(decoded.reasonList == [.decryption])
        // Without the tag check the telegram's own CRC still catches it.
        let unchecked = T.decode(bytes, options: try Self.options(verifiesTag: false))
        #expect(unchecked.acceptedCount == 0)
        #expect(unchecked.rejections.count == 1)
    }

    @Test("a frame whose security control byte is not 0x30 is rejected as a malformed frame")
    func securityControl() throws {
        var bytes = try Self.frame(T.dsmr5(number: 7))
        bytes[13] = 0x20
        let decoded = T.decode(bytes, options: try Self.options())
        #expect(decoded.acceptedCount == 0)
        #expect(decoded.reasonList == [.malformedFrame])
    }

    @Test("verifiesTag false decrypts correctly with the right key")
    func withoutTagCheck() throws {
        let plaintext = T.dsmr5(number: 8)
        let decoded = T.decode(try Self.frame(plaintext), options: try Self.options(verifiesTag: false))
        #expect(decoded.rejections.isEmpty)
        T.expectBodies(decoded.bodies, [T.body(plaintext)])
        #expect(decoded.telegrams.first?.encrypted == true)
    }

    @Test("verifiesTag false with a wrong key gives exactly one decryption rejection and no telegram")
    func withoutTagCheckWrongKey() throws {
        // Decrypting with the wrong key yields random bytes; that is a key problem and must be reported as one,
        // not as whatever a telegram framer makes of the noise (a `/` in it looks like a cut-off telegram).
        for counter: UInt32 in [1, 2, 3, 0xABCD] {
            let bytes = try Self.frame(T.dsmr5(number: 9), counter: counter)
            let decoded = T.decode(bytes, options: try Self.options(key: Self.wrongKey, verifiesTag: false))
            #expect(decoded.acceptedCount == 0)
            #expect(decoded.reasonList == [.decryption], "frame counter \(counter)")
            #expect(decoded.rejections.first?.detail.contains("key") == true)
        }
    }

    // MARK: - Streams

    @Test("frames split into small chunks are decrypted", arguments: [1, 5])
    func chunked(chunkSize: Int) throws {
        let plaintexts = [T.dsmr5(number: 10), T.dsmr5(number: 11), T.dsmr5(number: 12)]
        let stream = try plaintexts.enumerated().flatMap { try Self.frame($1, counter: UInt32($0 + 1)) }
        let decoded = T.decode(stream, options: try Self.options(), chunkSize: chunkSize)
        #expect(decoded.rejections.isEmpty)
        T.expectBodies(decoded.bodies, plaintexts.map(T.body))
        #expect(decoded.telegrams.allSatisfy { $0.encrypted })
    }

    @Test("a frame after garbage with 0xDB bytes, followed by a plain telegram: both are accepted")
    func garbageFramePlain() throws {
        let secret = T.dsmr5(number: 13)
        let plain = T.dsmr5(number: 14)
        // Lone 0xDB, 0xDB 0xDB, and a fake header `DB 08` whose length byte is not 0x82.
        let garbage: [UInt8] = [0x41, 0xDB, 0x42, 0xDB, 0xDB, 0x00, 0xDB, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x99, 0x0D, 0x0A, 0xDB]
        let stream = garbage + (try Self.frame(secret)) + plain
        for chunkSize in [nil, 1, 5] {
            let decoded = T.decode(stream, options: try Self.options(), chunkSize: chunkSize)
            #expect(decoded.rejections.isEmpty, "chunk size \(String(describing: chunkSize))")
            T.expectBodies(decoded.bodies, [T.body(secret), T.body(plain)])
            #expect(decoded.telegrams.map(\.encrypted) == [true, false])
        }
    }

    @Test("plain and encrypted telegrams interleaved keep their order")
    func interleaved() throws {
        let telegrams = (20..<26).map { T.dsmr5(number: $0) }
        var stream: [UInt8] = []
        for (index, telegram) in telegrams.enumerated() {
            stream += index % 2 == 0 ? try Self.frame(telegram, counter: UInt32(index)) : telegram
        }
        let decoded = T.decode(stream, options: try Self.options(), chunkSize: 7)
        T.expectBodies(decoded.bodies, telegrams.map(T.body))
        #expect(decoded.telegrams.map(\.encrypted) == [true, false, true, false, true, false])
    }

    // MARK: - The published Smarty vector

    static let smartyFrame = "/work/shared/telegrams/luxembourg_smarty_encrypted_SYNTHETIC.bin"
    static let smartyPlain = "/work/shared/telegrams/luxembourg_smarty_plain.txt"

    @Test("the synthetic Smarty frame decrypts to the published plaintext",
          .enabled(if: FileManager.default.fileExists(atPath: smartyFrame)
              && FileManager.default.fileExists(atPath: smartyPlain)))
    func smartyVector() throws {
        let frame = try #require(FileManager.default.contents(atPath: Self.smartyFrame)).map { $0 }
        let plain = try #require(FileManager.default.contents(atPath: Self.smartyPlain)).map { $0 }
        let key = try #require(GCMCipher.parseKey("000102030405060708090A0B0C0D0E0F"))
        let expected = T.body(plain)
        for verifiesTag in [true, false] {
            let options = TelegramDecoder.Options(cipher: try GCMCipher(key: key, verifiesTag: verifiesTag))
            let decoded = T.decode(frame, options: options)
            #expect(decoded.rejections.isEmpty)
            T.expectBodies(decoded.bodies, [expected], "verifiesTag \(verifiesTag)")
            #expect(decoded.telegrams.first?.encrypted == true)
        }
        let parsed = try frame.withUnsafeBufferPointer { try DLMSFrame($0) }
        #expect(parsed.systemTitle == [0x53, 0x41, 0x47, 0x67, 0x70, 0x00, 0x12, 0x34])
        #expect(parsed.frameCounter == [0x00, 0x01, 0xAB, 0xCD])
        #expect(parsed.systemTitleDescription.hasPrefix("SAG"))
    }

    // MARK: - Keys

    @Test("parseKey accepts 32 hex digits, with spaces, colons, a 0x prefix, in any case")
    func parseKeyAccepts() {
        let expected: [UInt8] = Array(0...15)
        #expect(GCMCipher.parseKey("000102030405060708090A0B0C0D0E0F") == expected)
        #expect(GCMCipher.parseKey("000102030405060708090a0b0c0d0e0f") == expected)
        #expect(GCMCipher.parseKey("0x000102030405060708090A0B0C0D0E0F") == expected)
        #expect(GCMCipher.parseKey("0X000102030405060708090a0B0c0D0e0F") == expected)
        #expect(GCMCipher.parseKey("00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F") == expected)
        #expect(GCMCipher.parseKey("00:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f") == expected)
        #expect(GCMCipher.parseKey("0001 0203 0405 0607 0809 0A0B 0C0D 0E0F") == expected)
        #expect(GCMCipher.parseKey("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF") == [UInt8](repeating: 0xFF, count: 16))
    }

    @Test("parseKey rejects 31 or 33 digits and anything that is not hex",
          arguments: [
              "000102030405060708090A0B0C0D0E0",  // 31
              "000102030405060708090A0B0C0D0E0F0",  // 33
              "000102030405060708090A0B0C0D0E0G",  // G
              "000102030405060708090A0B0C0D0E-F",  // dash
              "0x000102030405060708090A0B0C0D0E",  // 30 after the prefix
              "",
              "00010203040506070809Ä0B0C0D0E0F",  // 32 bytes, one of them not hex
          ])
    func parseKeyRejects(text: String) {
        #expect(GCMCipher.parseKey(text) == nil)
    }

    @Test("readKey names the first character that is not a hex digit and its position in the text as written",
          arguments: [
              ("zz0102030405060708090A0B0C0D0E0F", "'z' at position 1 is not a hexadecimal digit"),
              ("000102030405060708090A0B0C0D0E0G", "'G' at position 32 is not a hexadecimal digit"),
              // Separators and the 0x prefix are skipped but still counted: the position is where the user looks.
              ("0x00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0g", "'g' at position 49 is not a hexadecimal digit"),
              ("\"000102030405060708090A0B0C0D0E0F\"", "'\"' at position 1 is not a hexadecimal digit"),
              // A no-break space from a PDF looks like a space: named by its code point, not shown as a blank.
              ("0001\u{00A0}02030405060708090A0B0C0D0E0F", "U+00A0 at position 5 is not a hexadecimal digit"),
              ("00010203040506070809Ä0B0C0D0E0F", "U+00C4 at position 21 is not a hexadecimal digit"),
          ])
    func readKeyNamesTheOffendingCharacter(text: String, problem: String) {
        #expect(throws: GCMCipher.Failure(description: "must be 32 hexadecimal digits (16 bytes): \(problem)")) {
            try GCMCipher.readKey(text)
        }
    }

    @Test("readKey counts the digits of a key of the wrong length, and never repeats them")
    func readKeyCountsDigits() {
        #expect(throws: GCMCipher.Failure(description: "must be 32 hexadecimal digits (16 bytes), got 31 digits")) {
            try GCMCipher.readKey("00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0")
        }
        #expect(throws: GCMCipher.Failure(description: "must be 32 hexadecimal digits (16 bytes), got 1 digit")) {
            try GCMCipher.readKey("0x7")
        }
        #expect(throws: GCMCipher.Failure(description: "must be 32 hexadecimal digits (16 bytes), got 0 digits")) {
            try GCMCipher.readKey("")
        }
        #expect(throws: Never.self) { try GCMCipher.readKey("000102030405060708090A0B0C0D0E0F") }
    }

    @Test("a cipher refuses keys that are not 16 bytes")
    func keyLength() {
        #expect(throws: GCMCipher.Failure.self) { try GCMCipher(key: Array(Self.key.prefix(15))) }
        #expect(throws: GCMCipher.Failure.self) { try GCMCipher(key: Self.key + [0]) }
        #expect(throws: GCMCipher.Failure.self) { try GCMCipher(key: Self.key, authenticationKey: [1, 2, 3]) }
    }

    @Test("a different authentication key makes the tag check fail")
    func authenticationKey() throws {
        let bytes = try Self.frame(T.dsmr5(number: 30))
        let other = try GCMCipher(key: Self.key, authenticationKey: [UInt8](repeating: 0x42, count: 16))
        let decoded = T.decode(bytes, options: .init(cipher: other))
        #expect(decoded.acceptedCount == 0)
        #expect(decoded.reasonList == [.decryption])
    }
}
