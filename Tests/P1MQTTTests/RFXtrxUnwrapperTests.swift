import Testing
@testable import P1MQTT

@Suite("RFXtrx unwrapping")
struct RFXtrxUnwrapperTests {
    /// An RFXtrx packet: length, type, subtype, sequence, data.
    private func packet(_ data: [UInt8], type: UInt8 = 0x62, subtype: UInt8 = 0x01, sequence: UInt8 = 0) -> [UInt8] {
        [UInt8(data.count + 3), type, subtype, sequence] + data
    }

    private func telegram() -> [UInt8] {
        var simulator = MeterSimulator(seed: 7)
        return simulator.telegram(at: 1_763_700_000)
    }

    @Test func p1PacketsSplitAcrossReadsAndMixedWithOtherTypesGiveTheTelegram() {
        let p1 = telegram()
        var stream: [UInt8] = []
        var sequence: UInt8 = 0
        var offset = 0
        while offset < p1.count {
            // The RFXtrx forwards the meter's data in pieces of varying size; status packets come in between.
            let size = min(1 + Int(sequence % 40), p1.count - offset)
            stream += packet(Array(p1[offset..<(offset + size)]), sequence: sequence)
            if sequence % 5 == 0 { stream += packet([0x01, 0x02], type: 0x01, subtype: 0x00) }
            offset += size
            sequence &+= 1
        }
        for chunkSize in [1, 3, 17, 4096] {
            var unwrapper = RFXtrxUnwrapper()
            var output: [UInt8] = []
            var index = 0
            while index < stream.count {
                let end = min(stream.count, index + chunkSize)
                output += unwrapper.unwrap(Array(stream[index..<end]))
                index = end
            }
            #expect(output == p1, "chunk size \(chunkSize)")
            #expect(unwrapper.skippedPackets > 0)
            var decoder = TelegramDecoder()
            let events = decoder.decodeAll(output)
            #expect(events.count == 1)
            if case .telegram(let decoded)? = events.first { #expect(decoded.crc == .valid) } else {
                Issue.record("no telegram decoded")
            }
        }
    }

    @Test func aPacketOfAnotherSubtypeIsSkipped() {
        var unwrapper = RFXtrxUnwrapper()
        let output = unwrapper.unwrap(packet(Array("/XYZ".utf8), subtype: 0x02) + packet(Array("abc".utf8)))
        #expect(output == Array("abc".utf8))
        #expect(unwrapper.skippedPackets == 1)
    }

    @Test func anIncompletePacketIsHeldUntilItsRestArrives() {
        var unwrapper = RFXtrxUnwrapper()
        let whole = packet(Array("1-0:1.8.1(000001.000*kWh)\r\n".utf8))
        #expect(unwrapper.unwrap(Array(whole.prefix(10))).isEmpty)
        #expect(unwrapper.unwrap(Array(whole.dropFirst(10))) == Array("1-0:1.8.1(000001.000*kWh)\r\n".utf8))
    }

    @Test func garbageNeverGrowsTheBufferBeyondOnePacket() {
        var unwrapper = RFXtrxUnwrapper()
        var random = SplitMix64(seed: 42)
        for _ in 0..<2000 {
            _ = unwrapper.unwrap((0..<64).map { _ in UInt8(truncatingIfNeeded: random.next()) })
        }
        // Whatever arrived, at most one incomplete packet (≤ 255 bytes) is held.
        #expect(unwrapper.pendingCount <= 256)
    }

    @Test func rfxtrxSourceUnwrapsAnotherSource() async throws {
        let p1 = telegram()
        // Packets carry at most 252 bytes of data (the length byte counts type, subtype and sequence too).
        var wrapped: [UInt8] = []
        var offset = 0
        while offset < p1.count {
            let end = min(p1.count, offset + 200)
            wrapped += packet(Array(p1[offset..<end]))
            offset = end
        }
        let source = RFXtrxByteSource(transport: FixedSource(chunks: [Array(wrapped.prefix(7)), Array(wrapped.dropFirst(7))]))
        var received: [UInt8] = []
        for try await chunk in source.chunks() { received += chunk }
        #expect(received == p1)
        #expect(source.name == "rfxtrx on fixed")
    }
}

/// A source that yields given chunks and ends.
private struct FixedSource: ByteSource {
    let pieces: [[UInt8]]
    var name: String { "fixed" }

    init(chunks: [[UInt8]]) { pieces = chunks }

    func chunks() -> AsyncThrowingStream<[UInt8], any Error> {
        let chunks = pieces
        return AsyncThrowingStream { continuation in
            for chunk in chunks { continuation.yield(chunk) }
            continuation.finish()
        }
    }
}
