import Foundation
import Testing
@testable import P1MQTT
import Mapping

/// Deterministic fuzzing: thousands of damaged telegrams through one long-lived decoder. It must never crash,
/// must only ever accept telegrams that were really sent, and its counters must add up.
@Suite("Hostile input")
struct HostileInputTests {
    typealias T = TestTelegrams

    static let key: [UInt8] = Array("p1mqtt-test-key!".utf8)
    static let systemTitle: [UInt8] = Array("XMX".utf8) + [0x00, 0x99, 0x88, 0x77, 0x66]

    /// The telegrams that are "really sent": all CRC-protected, of variants that always send a CRC, so that
    /// no damaged copy can pass as genuine without a checksum.
    static func originals() -> [[UInt8]] {
        var telegrams = (0..<6).map { T.dsmr5(number: $0 * 13) }
        telegrams.append(T.dsmr5(number: 7, checksum: .lowercase))
        if let small = (200..<2000).first(where: { CRC16.arc(T.body(T.dsmr5(number: $0))) < 0x1000 }) {
            telegrams.append(T.dsmr5(number: small, checksum: .unpadded))
        }
        // A long one (about 3 KB) and a short one.
        telegrams.append(T.dsmr5(number: 99, extraLines: (0..<40).map { "0-0:96.13.\($0 % 5 + 1)(\(T.hexASCII("line \($0) of a long text message")))" }))
        telegrams.append(T.build(header: "/XMX5SHORT", lines: ["1-3:0.2.8(50)", "0-0:1.0.0(240315143000W)", "1-0:1.7.0(00.001*kW)"]))
        return telegrams
    }

    enum Mutation: CaseIterable {
        case bitFlips, insertBytes, deleteRange, splice, nulBytes, hugeLine, extraSlash, duplicateRange, truncate
        case fakeFrameHeader, replaceByte, insertLineEnd, crcNotHex
    }

    /// Applies one mutation to `bytes`.
    static func mutate(_ bytes: inout [UInt8], _ mutation: Mutation, originals: [[UInt8]],
                       _ random: inout T.SeededGenerator) {
        func position(_ extra: Int = 0) -> Int { Int.random(in: 0...max(0, bytes.count - 1 + extra), using: &random) }
        switch mutation {
        case .bitFlips:
            for _ in 0..<Int.random(in: 1...4, using: &random) where !bytes.isEmpty {
                bytes[position()] ^= 1 << UInt8.random(in: 0...7, using: &random)
            }
        case .insertBytes:
            let count = Int.random(in: 1...8, using: &random)
            bytes.insert(contentsOf: random.bytes(count), at: position(1))
        case .deleteRange:
            guard !bytes.isEmpty else { return }
            let start = position()
            let count = min(bytes.count - start, Int.random(in: 1...64, using: &random))
            bytes.removeSubrange(start..<(start + count))
        case .splice:
            let other = originals[Int.random(in: 0..<originals.count, using: &random)]
            let cut = position(1)
            let from = Int.random(in: 0..<other.count, using: &random)
            bytes = Array(bytes[..<cut]) + other[from...]
        case .nulBytes:
            bytes.insert(contentsOf: [UInt8](repeating: 0, count: Int.random(in: 1...16, using: &random)), at: position(1))
        case .hugeLine:
            let fillers: [UInt8] = [0x41, 0x30, 0xFF, 0x00, 0x28, 0x2A]
            let filler = fillers[Int.random(in: 0..<fillers.count, using: &random)]
            let count = Int.random(in: 1000...40_000, using: &random)
            bytes.insert(contentsOf: [UInt8](repeating: filler, count: count), at: position(1))
        case .extraSlash:
            // Often right after a line end, where it really starts a new telegram.
            let lineEnds = bytes.indices.filter { bytes[$0] == T.lf }
            let at = Bool.random(using: &random) && !lineEnds.isEmpty
                ? lineEnds[Int.random(in: 0..<lineEnds.count, using: &random)] + 1 : position(1)
            bytes.insert(T.slash, at: min(at, bytes.count))
        case .duplicateRange:
            guard !bytes.isEmpty else { return }
            let start = position()
            let count = min(bytes.count - start, Int.random(in: 1...200, using: &random))
            bytes.insert(contentsOf: bytes[start..<(start + count)], at: position(1))
        case .truncate:
            bytes.removeSubrange(position(1)...)
        case .fakeFrameHeader:
            // DB 08, a system title, 82 and a length: swallows what follows as an encrypted frame.
            let length = Int.random(in: 0...3000, using: &random)
            let header: [UInt8] = [0xDB, 0x08] + random.bytes(8) + [0x82, UInt8(length >> 8), UInt8(length & 0xFF), 0x30]
            bytes.insert(contentsOf: header, at: position(1))
        case .replaceByte:
            let specials: [UInt8] = [0x2F, 0x21, 0x0A, 0x0D, 0x00, 0xFF, 0xDB, 0x28, 0x29]
            if !bytes.isEmpty { bytes[position()] = specials[Int.random(in: 0..<specials.count, using: &random)] }
        case .insertLineEnd:
            bytes.insert(contentsOf: T.crlf, at: position(1))
        case .crcNotHex:
            // A letter beyond F (or punctuation) among the CRC digits after the last '!'.
            guard let bang = bytes.lastIndex(of: 0x21), bang + 1 < bytes.count else { return }
            let letters = Array("GHXZgxz-+ ".utf8)
            let at = min(bytes.count - 1, bang + Int.random(in: 1...4, using: &random))
            bytes[at] = letters[Int.random(in: 0..<letters.count, using: &random)]
        }
    }

    /// True when `body` followed by hex digits equal to its CRC occurs verbatim in `stream`: a genuine CRC-16
    /// collision that no framer could tell from a real telegram (probability 2⁻¹⁶ per damaged telegram).
    static func isGenuineCollision(_ body: [UInt8], in stream: [UInt8]) -> Bool {
        guard body.count <= stream.count else { return false }
        let crc = CRC16.arc(body)
        var start = 0
        while start + body.count <= stream.count {
            guard let first = stream[start...].firstIndex(of: T.slash), first + body.count <= stream.count else { return false }
            if stream[first..<(first + body.count)].elementsEqual(body) {
                var value: UInt16 = 0
                var digits = 0
                var index = first + body.count
                while index < stream.count, digits < 4, let nibble = TelegramFramer.hexValue(stream[index]) {
                    value = value << 4 | UInt16(nibble)
                    digits += 1
                    index += 1
                }
                if digits > 0 && value == crc { return true }
            }
            start = first + 1
        }
        return false
    }

    /// Five independent streams of 20,000 damaged telegrams each: 100,000 in all, run in parallel.
    static let seeds: [UInt64] = [0x0DD_BA11, 0xC0FFEE, 0x5EED_0003, 0xBADC_0DE4, 0x0F00_D005]
    static let rounds = 20_000

    @Test("100,000 damaged telegrams (5 × 20,000) through long-lived decoders: no crash, only genuine telegrams, counters add up",
          arguments: seeds)
    func fuzz(seed: UInt64) throws {
        let originals = Self.originals()
        let genuine = Set(originals.map(T.body))
        let cipher = try GCMCipher(key: Self.key)
        var decoder = TelegramDecoder(options: .init(cipher: cipher))
        var random = T.SeededGenerator(seed: seed)

        // Only the telegrams accepted in the current round are kept, so the test itself does not grow.
        var accepted: [Telegram] = []
        var acceptedBytes = 0
        var rejections: [RejectionReason: Int] = [:]
        var fed = 0
        var recent: [UInt8] = []  // the last bytes fed, to recognise a genuine CRC collision
        var impostors = 0
        var collisions = 0
        var intactSent = 0
        var intactAccepted = 0
        // Where the last `DB 08` (the start of an encrypted frame, real or fake) was fed: a frame may swallow up
        // to the size limit of whatever follows it, including an intact telegram.
        var lastFrameStart = Int.min / 2
        var previousByte: UInt8 = 0
        var acceptedCount = 0

        let handle: (TelegramDecoder.Event) -> Void = { event in
            switch event {
            case .telegram(let telegram):
                acceptedCount += 1
                if genuine.contains(telegram.bytes) {
                    accepted.append(telegram)
                    acceptedBytes += telegram.bytes.count
                } else if Self.isGenuineCollision(telegram.bytes, in: recent) {
                    collisions += 1
                } else {
                    impostors += 1
                    Issue.record("accepted a telegram that was never sent: \(T.summary(telegram.bytes))")
                }
            case .rejected(let rejection):
                rejections[rejection.reason, default: 0] += 1
            }
        }
        func feed(_ bytes: [UInt8]) {
            var start = 0
            while start < bytes.count {
                let size = Int.random(in: 1...(Bool.random(using: &random) ? 16 : 1500), using: &random)
                let end = min(bytes.count, start + size)
                let chunk = Array(bytes[start..<end])
                chunk.withUnsafeBufferPointer { chunk in
                    var previous = previousByte
                    for offset in 0..<chunk.count {
                        let byte = chunk[offset]
                        if byte == 0x08 && previous == 0xDB { lastFrameStart = fed + offset - 1 }
                        previous = byte
                    }
                    previousByte = previous
                }
                recent += chunk
                if recent.count > 160_000 { recent.removeFirst(recent.count - 80_000) }
                decoder.feed(chunk, handle)
                fed += chunk.count
                start = end
            }
        }

        let mutations = Mutation.allCases
        for round in 0..<Self.rounds {
            accepted.removeAll(keepingCapacity: true)
            if round == Self.rounds / 2 {
                // Once per stream: a megabyte without a single line end, inside a telegram and outside one.
                feed([T.slash] + [UInt8](repeating: 0x41, count: 1 << 20))
                feed([UInt8](repeating: 0x37, count: 1 << 20))
            }
            let index = Int.random(in: 0..<originals.count, using: &random)
            var bytes = originals[index]
            let encrypted = round % 20 == 0
            if encrypted {
                bytes = try cipher.seal(bytes, systemTitle: Self.systemTitle, frameCounter: UInt32(round)).bytes
            }
            let count = Int.random(in: 1...3, using: &random)
            for _ in 0..<count {
                var mutation = mutations[Int.random(in: 0..<mutations.count, using: &random)]
                // Huge lines are slow in a debug build: keep them to about one round in a hundred. Fake frame
                // headers swallow what follows: keep them rare enough for intact telegrams to get through.
                if mutation == .hugeLine && Int.random(in: 0..<8, using: &random) != 0 { mutation = .bitFlips }
                if mutation == .fakeFrameHeader && Int.random(in: 0..<4, using: &random) != 0 { mutation = .replaceByte }
                Self.mutate(&bytes, mutation, originals: originals, &random)
            }
            feed(bytes)
            // Now and then an intact telegram after a line end, which must come through whatever came before,
            // unless an encrypted frame (real or fake) started recently enough to be still swallowing bytes.
            // Sometimes a second one follows right after a stray 0xDB, which must not hide it.
            if round % 4 == 0 {
                let before = accepted.count
                let insideFrame = fed - lastFrameStart <= TelegramFramer.defaultMaximumTelegramSize + 16
                let first = originals[Int.random(in: 0..<originals.count, using: &random)]
                var section = T.crlf + first
                var expected = [T.body(first)]
                if Bool.random(using: &random) {
                    let second = originals[Int.random(in: 0..<originals.count, using: &random)]
                    section += [0xDB] + second
                    expected.append(T.body(second))
                }
                feed(section)
                if !insideFrame {
                    var got = accepted[before...].map(\.bytes)
                    intactSent += expected.count
                    for body in expected {
                        if let match = got.firstIndex(of: body) {
                            got.remove(at: match)
                            intactAccepted += 1
                        }
                    }
                }
            }
        }
        decoder.finish(handle)

        #expect(impostors == 0)
        // A damaged telegram matches its CRC by chance with probability 2⁻¹⁶; over this run that is expected
        // well under once. More than a few would mean the CRC is not being checked.
        #expect(collisions <= 2, "\(collisions) genuine CRC collisions")
        let statistics = decoder.statistics
        #expect(statistics.bytes == fed)
        #expect(statistics.accepted == acceptedCount)
        #expect(statistics.rejected == rejections)
        #expect(statistics.skippedBytes >= 0 && statistics.skippedBytes <= fed)
        #expect(statistics.skippedBytes + acceptedBytes <= fed)
        // Every round either sends a damaged telegram that is rejected, or one that survives intact.
        #expect(statistics.accepted + statistics.rejectedTotal >= Self.rounds / 2)
        // Every intact telegram after a line end comes through, whatever damage came before it (outside frames).
        #expect(intactAccepted == intactSent, "\(intactAccepted) of \(intactSent) intact telegrams accepted")
        #expect(intactSent > 1000)
        #expect(rejections[.crcMismatch, default: 0] > 1000)
        #expect(rejections[.truncated, default: 0] > 100)
        #expect(rejections[.oversize, default: 0] > 10)
        #expect(rejections[.decryption, default: 0] > 100)
    }

    @Test("the decoder survives every prefix of a damaged stream being cut off by finish")
    func finishAnywhere() throws {
        var random = T.SeededGenerator(seed: 99)
        let originals = Self.originals()
        var stream = originals[0] + originals[1]
        Self.mutate(&stream, .extraSlash, originals: originals, &random)
        for cut in stride(from: 0, through: stream.count, by: 3) {
            var decoder = TelegramDecoder()
            let events = decoder.decodeAll(Array(stream[..<cut]))
            let telegrams = events.compactMap { event -> [UInt8]? in
                if case .telegram(let telegram) = event { return telegram.bytes }
                return nil
            }
            #expect(telegrams.allSatisfy { originals.map(T.body).contains($0) }, "cut at \(cut)")
            #expect(decoder.statistics.accepted + decoder.statistics.rejectedTotal == events.count)
        }
    }

    // MARK: - Damaged telegrams that lost their CRC (found by the fuzzer above)

    /// A DSMR 5 telegram cut at a line end, a stray `/` starting a new "telegram" on the next line, and the
    /// checksum lost: what is left has no version and no timestamp line, so it looks like a CRC-less DSMR 2.2
    /// telegram whose "header" is a data line.
    static func fragmentWithoutCRC() -> (before: [UInt8], fragment: [UInt8]) {
        let telegram = T.dsmr5(number: 80)
        let lineEnds = telegram.indices.filter { telegram[$0] == T.lf }
        let cut = lineEnds[lineEnds.count / 2]
        let fragment = [T.slash] + telegram[(cut + 1)...telegram.lastIndex(of: T.bang)!] + T.crlf
        return (Array(telegram[...cut]), fragment)
    }

    @Test("a fragment of a DSMR 5 telegram that lost its CRC is not accepted as a DSMR 2.2 telegram")
    func fragmentAfterCRCTelegrams() {
        let valid = T.dsmr5(number: 81)
        let (before, fragment) = Self.fragmentWithoutCRC()
        let decoded = T.decode(valid + before + fragment)
        T.expectBodies(decoded.bodies, [T.body(valid)], "the fragment was accepted:")
    }

    @Test("a telegram whose header line is a data line is not accepted")
    func dataLineAsHeader() {
        // IEC 62056-21: the identification line is `/` + three-letter manufacturer flag + baud-rate character +
        // identification. `/1-0:32.32.0(00002)` is not one, whatever follows it.
        let (_, fragment) = Self.fragmentWithoutCRC()
        let decoded = T.decode(fragment)
        #expect(decoded.acceptedCount == 0, "accepted a telegram whose header is `/1-0:…`")
    }

    @Test("a damaged CRC-less telegram after CRC-protected ones from the same meter is not accepted")
    func crcLessAfterCRC() {
        // The short sample with its version line and half its timestamp line deleted, a bare CR left in the
        // header line, and the CRC lost.
        let valid = T.build(header: "/XMX5SHORT", lines: ["1-3:0.2.8(50)", "0-0:1.0.0(240315143000W)", "1-0:1.7.0(00.001*kW)"])
        let damaged = Array("/XMX5SHORT\r24031=143000W)\r\n1-0:1.7.0(00.001*kW)\r\n!\r\n".utf8)
        let decoded = T.decode(valid + damaged)
        T.expectBodies(decoded.bodies, [T.body(valid)], "the damaged telegram was accepted:")
    }

    @Test("a genuine DSMR 2.2 meter without CRC is still accepted, telegram after telegram")
    func genuineDSMR22Stream() {
        let telegram = T.dsmr22()
        let decoded = T.decode(telegram + telegram + telegram, chunkSize: 5)
        T.expectBodies(decoded.bodies, [T.body(telegram), T.body(telegram), T.body(telegram)])
    }

    @Test("a valid telegram with hundreds of zeros after a decimal point does not crash the decoder")
    func hugeScaleInTelegram() async {
        // A meter (or a crafted stream) that sends `(0.000…0001*m3)` with a valid CRC: the number is too long
        // to keep, but the telegram must be handled (accepted without that reading, or rejected), not crash.
        await #expect(processExitsWith: .success) {
            let telegram = TestTelegrams.dsmr5(extraLines: [
                "0-2:24.1.0(003)",
                "0-2:24.2.1(240315143000W)(0." + String(repeating: "0", count: 300) + "1*m3)",
            ])
            var decoder = TelegramDecoder()
            let events = decoder.decodeAll(telegram)
            if events.count != 1 { exit(2) }
        }
    }
}
