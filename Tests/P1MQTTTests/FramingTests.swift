import Testing
@testable import P1MQTT
import Mapping

/// Framing and CRC: what the decoder accepts from a byte stream, and what it rejects and why.
@Suite("Framing and CRC")
struct FramingTests {
    typealias T = TestTelegrams

    // MARK: - Single-byte corruption

    @Test("every single-byte corruption of a CRC-protected telegram is rejected")
    func everySingleByteCorruptionIsRejected() {
        let telegram = T.dsmr5()
        let original = T.body(telegram)
        let digits = T.checksumDigits(telegram)
        let lastDigit = original.count + digits.count - 1
        // The sample's CRC must contain a letter, so that the one harmless corruption (its case) is exercised.
        #expect(digits.contains { (0x41...0x46).contains($0) }, "sample CRC \(String(decoding: digits, as: UTF8.self)) has no letter")
        T.expectBodies(T.decode(telegram).bodies, [original])

        let replacements: [(name: String, replace: (UInt8) -> UInt8)] = [
            ("xor 0x01", { $0 ^ 0x01 }), ("xor 0x20", { $0 ^ 0x20 }), ("0x00", { _ in 0x00 }), ("0xFF", { _ in 0xFF }),
            ("'/'", { _ in 0x2F }), ("'!'", { _ in 0x21 }), ("LF", { _ in 0x0A }),
        ]
        var survivors = 0
        for position in 0...lastDigit {
            for (name, replace) in replacements {
                let value = replace(telegram[position])
                guard value != telegram[position] else { continue }
                var corrupted = telegram
                corrupted[position] = value
                let decoded = T.decode(corrupted)
                // Only the case of a CRC letter may change without consequence: `!6eEE` is the same checksum, and
                // the accepted telegram (which excludes the CRC line) is then byte-identical to the original.
                let isCaseOfCRCLetter = position > original.count - 1 && (0x41...0x46).contains(telegram[position])
                    && value == telegram[position] ^ 0x20
                if isCaseOfCRCLetter {
                    T.expectBodies(decoded.bodies, [original], "CRC letter case changed at \(position)")
                    survivors += 1
                } else {
                    #expect(decoded.acceptedCount == 0,
                            "byte \(position) (0x\(T.hex2(telegram[position]))) replaced by \(name) was accepted")
                }
                for accepted in decoded.telegrams {
                    let identical = accepted.bytes == original
                    #expect(identical, "a corrupted telegram was accepted with different bytes")
                }
            }
        }
        #expect(survivors == digits.filter { (0x41...0x46).contains($0) }.count)
    }

    // MARK: - Chunking

    /// Several different telegrams, with noise, a CRC-less one and a corrupted one in between.
    private static func mixedStream() -> (stream: [UInt8], accepted: [[UInt8]]) {
        var corrupted = T.dsmr5(number: 9)
        corrupted[200] ^= 0x04
        let parts: [(bytes: [UInt8], accepted: Bool)] = [
            (Array("noise before\r\n".utf8), false),
            // CRC-less first: once a source has sent a CRC, a telegram without one counts as damaged.
            (T.dsmr22(), true),
            (T.dsmr5(number: 0), true),
            (T.dsmr5(number: 1, checksum: .lowercase), true),
            ([0x00, 0xFF, 0x13, 0x37], false),
            (corrupted, false),
            (T.dsmr5(number: 2), true),
            (T.dsmr5(number: 61, extraLines: ["0-0:96.13.0(\(T.hexASCII("Hello from the sample meter")))"]), true),
            (T.dsmr5(number: 3), true),
        ]
        return (parts.flatMap(\.bytes), parts.filter(\.accepted).map { T.body($0.bytes) })
    }

    @Test("chunked feeding gives the same telegrams as feeding all at once", arguments: [1, 7, 64, 4096])
    func chunkedFeeding(chunkSize: Int) {
        let (stream, expected) = Self.mixedStream()
        let whole = T.decode(stream)
        T.expectBodies(whole.bodies, expected)
        #expect(whole.reasons == [.crcMismatch: 1])
        let chunked = T.decode(stream, chunkSize: chunkSize)
        T.expectBodies(chunked.bodies, whole.bodies)
        #expect(chunked.reasonList == whole.reasonList)
        #expect(chunked.statistics == whole.statistics)
    }

    @Test("random chunk sizes give the same telegrams as feeding all at once")
    func randomChunkSizes() {
        let (stream, expected) = Self.mixedStream()
        var random = T.SeededGenerator(seed: 0x5EED_C0DE)
        for _ in 0..<20 {
            let sizes = (0..<64).map { _ in Int.random(in: 1...300, using: &random) }
            let chunked = T.decode(stream, chunkSizes: sizes)
            T.expectBodies(chunked.bodies, expected)
            #expect(chunked.reasons == [.crcMismatch: 1])
        }
    }

    // MARK: - Mixed stream

    @Test("garbage, truncated and corrupted telegrams between valid ones: exactly the valid ones come out")
    func mixedGarbage() {
        var random = T.SeededGenerator(seed: 42)
        let valid = [T.dsmr5(number: 10), T.dsmr5(number: 11), T.dsmr5(number: 12)]
        // Cut at a line end: the next telegram's `/` then starts a line, which is how the framer sees a cut.
        let cut = T.dsmr5(number: 13)
        let someLineEnd = cut[..<(cut.count - 50)].lastIndex(of: T.lf)!
        let truncatedAtLine = Array(cut[...someLineEnd])
        var corrupted = T.dsmr5(number: 14)
        corrupted[corrupted.count / 2] ^= 0x01

        let stream = Array("\u{1}\u{2}garbage here\r\n".utf8) + random.bytes(300, excluding: [T.slash, 0xDB])
            + valid[0] + truncatedAtLine + corrupted + valid[1]
            + random.bytes(2000, excluding: [T.slash, 0xDB]) + valid[2]
        for chunkSize in [nil, 1, 13] {
            let decoded = T.decode(stream, chunkSize: chunkSize)
            T.expectBodies(decoded.bodies, valid.map(T.body))
            #expect(decoded.reasons == [.truncated: 1, .crcMismatch: 1])
            #expect(decoded.statistics.accepted == 3)
            #expect(decoded.statistics.rejected == [.truncated: 1, .crcMismatch: 1])
            #expect(decoded.statistics.bytes == stream.count)
        }
    }

    @Test("a '/' at the start of a line inside a telegram starts a new one; the first is rejected as truncated")
    func slashAtLineStart() {
        let first = T.dsmr5(number: 20)
        let second = T.dsmr5(number: 21)
        let lineEnds = first.indices.filter { first[$0] == T.lf }
        let cutAfter = lineEnds[lineEnds.count / 2]
        let stream = Array(first[...cutAfter]) + second
        let decoded = T.decode(stream)
        T.expectBodies(decoded.bodies, [T.body(second)])
        #expect(decoded.reasonList == [.truncated])
    }

    @Test("a telegram cut off mid-line does not swallow the complete telegram that follows it")
    func cutMidLine() {
        // A serial buffer overrun or a reconnect can cut a telegram anywhere, not only at a line end. The next
        // telegram's `/` then arrives mid-line; it must still be found (the framer documents that it
        // "resynchronises on the next `/` after … a cut-off telegram").
        let first = T.dsmr5(number: 22)
        let second = T.dsmr5(number: 23)
        let stream = Array(first[..<(first.count / 2)]) + second
        #expect(first[first.count / 2 - 1] != T.lf)
        let decoded = T.decode(stream)
        T.expectBodies(decoded.bodies, [T.body(second)], "the complete telegram after a mid-line cut was lost")
        #expect(decoded.rejections.count == 1)
    }

    @Test("a stray 0xDB (which could start an encrypted frame) does not hide the telegram after it",
          arguments: [[0xDB], [0xDB, 0xDB], [0x41, 0xDB, 0x0D, 0x0A, 0xDB], [0xDB, 0x08, 0x01, 0x02, 0x03, 0x0D, 0x0A]] as [[UInt8]])
    func strayFrameStart(noise: [UInt8]) {
        let first = T.dsmr5(number: 24)
        let second = T.dsmr5(number: 25)
        let stream = first + noise + second + noise
        for chunkSize in [nil, 1, 2, 7, 64] {
            let decoded = T.decode(stream, chunkSize: chunkSize)
            T.expectBodies(decoded.bodies, [T.body(first), T.body(second)], "chunk size \(chunkSize ?? 0):")
            #expect(decoded.rejections.count <= 1, "chunk size \(chunkSize ?? 0): \(decoded.rejections)")
        }
    }

    // MARK: - Checksum formats

    @Test("CRC in lowercase hex is accepted")
    func lowercaseCRC() {
        let telegram = T.dsmr5(number: 30, checksum: .lowercase)
        let digits = String(decoding: T.checksumDigits(telegram), as: UTF8.self)
        #expect(digits == digits.lowercased() && digits.count == 4)
        let decoded = T.decode(telegram)
        T.expectBodies(decoded.bodies, [T.body(telegram)])
        #expect(decoded.telegrams.first?.crc == .valid)
    }

    @Test("an unpadded 3-digit CRC is accepted")
    func unpaddedCRC() throws {
        // Vary the telegram until its CRC is below 0x1000, so that the unpadded form has 3 digits.
        let number = try #require((100..<2000).first { number in
            CRC16.arc(T.body(T.dsmr5(number: number))) < 0x1000
        })
        let telegram = T.dsmr5(number: number, checksum: .unpadded)
        #expect(T.checksumDigits(telegram).count <= 3)
        let decoded = T.decode(telegram)
        T.expectBodies(decoded.bodies, [T.body(telegram)])
        #expect(decoded.rejections.isEmpty)
    }

    @Test("a CRC with a letter that is not hex is rejected as malformed")
    func nonHexCRC() {
        let good = T.checksumText(for: T.body(T.dsmr5()), .uppercase)
        let bad = String(good.dropLast()) + "Z"
        let decoded = T.decode(T.dsmr5(checksum: .literal(bad)))
        #expect(decoded.acceptedCount == 0)
        #expect(decoded.reasonList == [.malformedCRC])
        let short = T.decode(T.dsmr5(checksum: .literal("6EEZ")))
        #expect(short.acceptedCount == 0)
        #expect(short.reasonList == [.malformedCRC])
    }

    @Test("a CRC with five digits is rejected as malformed")
    func fiveDigitCRC() {
        let good = T.checksumText(for: T.body(T.dsmr5()), .uppercase)
        let decoded = T.decode(T.dsmr5(checksum: .literal("0" + good)))
        #expect(decoded.acceptedCount == 0)
        #expect(decoded.reasonList == [.malformedCRC])
    }

    @Test("a DSMR 5 telegram without CRC is rejected as missing its CRC")
    func missingCRC() {
        let decoded = T.decode(T.dsmr5(checksum: .none))
        #expect(decoded.acceptedCount == 0)
        #expect(decoded.reasonList == [.missingCRC])
    }

    @Test("a DSMR 2.2-style telegram without CRC is accepted with crc absent")
    func dsmr22WithoutCRC() throws {
        let telegram = T.dsmr22()
        #expect(T.checksumDigits(telegram).isEmpty)
        let decoded = T.decode(telegram)
        #expect(decoded.rejections.isEmpty)
        let accepted = try #require(decoded.telegrams.first)
        T.expectBodies([accepted.bytes], [T.body(telegram)])
        #expect(accepted.crc == .absent)
        #expect(accepted.variant == .dsmr3)
    }

    @Test("a DSMR 2.2-style telegram with a correct CRC is accepted with crc valid, with a wrong one rejected")
    func dsmr22WithCRC() {
        let telegram = T.dsmr22(checksum: .uppercase)
        #expect(T.decode(telegram).telegrams.map(\.crc) == [.valid])
        // Another valid hex digit in place of the last CRC digit.
        var wrong = telegram
        wrong[wrong.count - 3] = wrong[wrong.count - 3] == 0x30 ? 0x31 : 0x30
        let decoded = T.decode(wrong)
        #expect(decoded.acceptedCount == 0)
        #expect(decoded.reasonList == [.crcMismatch])
    }

    @Test("the CRC mismatch message names both checksums")
    func crcMismatchMessage() throws {
        var telegram = T.dsmr5()
        telegram[100] ^= 0x02
        let rejection = try #require(T.decode(telegram).rejections.first)
        #expect(rejection.reason == .crcMismatch)
        let sent = String(decoding: T.checksumDigits(telegram), as: UTF8.self)
        let computed = T.hex4(CRC16.arc(T.body(telegram)))
        #expect(rejection.detail.contains(sent))
        #expect(rejection.detail.contains(computed))
    }

    @Test("CRC-16/ARC of the standard check string is 0xBB3D")
    func crcCheckValue() {
        #expect(CRC16.arc(Array("123456789".utf8)) == 0xBB3D)
        #expect(CRC16.arc([UInt8]()) == 0)
    }

    @Test("the 8-bytes-at-a-time CRC equals the byte-at-a-time definition for every length and offset")
    func crcSlicingMatchesBytewise() {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<3000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes.withUnsafeBufferPointer { all in
            for length in 0..<80 {
                for start in 0..<9 {
                    let slice = UnsafeBufferPointer(rebasing: all[start..<(start + length)])
                    #expect(CRC16.arc(slice) == CRC16.arcBytewise(slice), "length \(length), offset \(start)")
                }
            }
            #expect(CRC16.arc(all) == CRC16.arcBytewise(all))
        }
    }

    // MARK: - Size limits

    @Test("1 MB after a '/' without an end is rejected as oversize early; a valid telegram after it is accepted")
    func oversize() {
        let limit = TelegramFramer.defaultMaximumTelegramSize
        var decoder = TelegramDecoder()
        var rejections: [(reason: RejectionReason, fedSoFar: Int)] = []
        var telegrams: [Telegram] = []
        var fed = 0
        let chunk = [UInt8](repeating: 0x41, count: 1024)
        let handle: (TelegramDecoder.Event) -> Void = { event in
            switch event {
            case .telegram(let telegram): telegrams.append(telegram)
            case .rejected(let rejection): rejections.append((rejection.reason, fed))
            }
        }
        fed = 1
        decoder.feed([T.slash], handle)
        for _ in 0..<1024 {
            fed += chunk.count
            decoder.feed(chunk, handle)
        }
        #expect(rejections.map(\.reason) == [.oversize])
        // Reported as soon as the limit was passed, not when the megabyte ended: the framer stopped buffering.
        #expect((rejections.first?.fedSoFar ?? .max) <= 1 + limit + chunk.count)
        // Everything after the limit was skipped rather than kept.
        #expect(decoder.statistics.skippedBytes >= fed - limit - 2)
        #expect(decoder.statistics.bytes == fed)

        let valid = T.dsmr5(number: 40)
        decoder.feed(valid, handle)
        decoder.finish(handle)
        #expect(telegrams.map(\.bytes) == [T.body(valid)])
        #expect(rejections.count == 1)
    }

    @Test("the framer reports oversize by the byte after the limit, so it never holds more than the limit")
    func framerHoldsNoMoreThanTheLimit() {
        let limit = 2048
        var framer = TelegramFramer(maximumTelegramSize: limit)
        var rejectedAt: Int?
        var fed = 0
        framer.feed([T.slash]) { _ in Issue.record("output after one byte") }
        fed = 1
        while rejectedAt == nil && fed < 3 * limit {
            fed += 1
            framer.feed([0x41]) { output in
                if case .rejected(let rejection) = output, rejection.reason == .oversize { rejectedAt = fed }
            }
        }
        #expect(rejectedAt == limit + 1)
    }

    /// A telegram whose `/` … `!` part is exactly `size` bytes.
    private static func telegram(bodySize size: Int) -> [UInt8] {
        let base = T.body(T.dsmr5(number: 50))
        // One extra line `0-0:96.13.1(xxx)` + CRLF costs 15 bytes plus its content.
        let content = String(repeating: "A", count: size - base.count - 15)
        let telegram = T.dsmr5(number: 50, extraLines: ["0-0:96.13.1(\(content))"])
        precondition(T.body(telegram).count == size)
        return telegram
    }

    @Test("a telegram of exactly the size limit is accepted, one byte more is rejected as oversize")
    func sizeLimitBoundary() {
        let limit = 2048
        let options = TelegramDecoder.Options(maximumTelegramSize: limit)
        let exact = Self.telegram(bodySize: limit)
        T.expectBodies(T.decode(exact, options: options).bodies, [T.body(exact)])
        let over = Self.telegram(bodySize: limit + 1)
        let decoded = T.decode(over, options: options)
        #expect(decoded.acceptedCount == 0, "a telegram of limit + 1 bytes was accepted")
        #expect(decoded.reasonList == [.oversize])
        let wayOver = Self.telegram(bodySize: limit + 100)
        #expect(T.decode(wayOver, options: options).reasonList == [.oversize])
    }

    @Test("20 KB of random bytes without '/' yield nothing and are counted as skipped")
    func randomNoise() {
        var random = T.SeededGenerator(seed: 7)
        let noise = random.bytes(20 * 1024, excluding: [T.slash, 0xDB])
        let decoded = T.decode(noise)
        #expect(decoded.acceptedCount == 0)
        #expect(decoded.rejections.isEmpty)
        let lineEnds = noise.filter { $0 == T.cr || $0 == T.lf }.count
        #expect(decoded.statistics.skippedBytes >= noise.count - lineEnds)
        #expect(decoded.statistics.skippedBytes <= noise.count)
        #expect(decoded.statistics.bytes == noise.count)

        // With 0xDB bytes (which could start an encrypted frame) there is still no telegram.
        let withDB = random.bytes(20 * 1024, excluding: [T.slash])
        #expect(T.decode(withDB).acceptedCount == 0)
    }

    // MARK: - Odd bytes

    @Test("0xFF and 0xB3 inside a telegram with a correct CRC are accepted, NUL bytes after the CRC tolerated")
    func nonASCIIBytes() throws {
        let header = Array(T.dsmr5Header.utf8)
        var lines = T.dsmr5Lines(number: 60).map { Array($0.utf8) }
        lines.removeLast()  // the gas reading, replaced by one with `m³` in Latin-1
        lines.append(Array("0-1:24.2.1(240315143000W)(01234.567*m".utf8) + [0xB3] + Array(")".utf8))
        lines.append(Array("0-0:96.13.0(".utf8) + [UInt8](repeating: 0xFF, count: 16) + Array(")".utf8))
        var telegram = T.build(header: header, lines: lines)
        // NUL bytes between the CRC and its line end, and after it.
        telegram.insert(contentsOf: [0x00, 0x00], at: telegram.count - 2)
        telegram += [0x00, 0x00, 0x00]
        let decoded = T.decode(telegram)
        #expect(decoded.rejections.isEmpty)
        let accepted = try #require(decoded.telegrams.first)
        #expect(decoded.telegrams.count == 1)
        T.expectBodies([accepted.bytes], [T.body(telegram)])
        #expect(accepted.mbusDevices.first?.unit == "m³")
        #expect(accepted.mbusDevices.first?.reading == MeterNumber("1234.567"))
        guard case .hexText(let decodedText, let raw)? = accepted.value(ObisCode(0, 0, 96, 13, 0)) else {
            Issue.record("96.13.0 is not a hex text")
            return
        }
        #expect(decodedText == nil)
        #expect(raw == String(repeating: "\u{FF}", count: 16))
    }

    @Test("a NUL right after the CRC digits ends the CRC")
    func nulEndsCRC() {
        let telegram = T.dsmr5(number: 61)
        var withNUL = Array(telegram.dropLast(2))
        withNUL += [0x00] + T.dsmr5(number: 62)
        T.expectBodies(T.decode(withNUL).bodies, [T.body(telegram), T.body(T.dsmr5(number: 62))])
    }

    // MARK: - Parity

    /// Sets bit 7 on every byte with an odd number of 1 bits: even parity, as a 7E1 line read as 8N1 delivers it.
    private static func withEvenParity(_ bytes: [UInt8]) -> [UInt8] {
        bytes.map { $0.nonzeroBitCount % 2 == 1 ? $0 | 0x80 : $0 }
    }

    @Test("a 7E1 stream with parity bits is decoded with stripParity and not without it")
    func parity() {
        let telegrams = [T.dsmr22(), T.dsmr5(number: 70), T.dsmr5(number: 71)]
        let stream = Self.withEvenParity(telegrams.flatMap { $0 })
        #expect(stream.contains { $0 & 0x80 != 0 })
        let stripped = T.decode(stream, options: .init(stripParity: true))
        T.expectBodies(stripped.bodies, telegrams.map(T.body))
        #expect(stripped.rejections.isEmpty)
        let stripped7 = T.decode(stream, options: .init(stripParity: true), chunkSize: 7)
        T.expectBodies(stripped7.bodies, telegrams.map(T.body))
        let raw = T.decode(stream)
        #expect(raw.acceptedCount == 0)
    }
}
