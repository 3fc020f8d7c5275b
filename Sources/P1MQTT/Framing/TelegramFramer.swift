/// Finds telegrams (`/` … `!CRC`) and encrypted DLMS frames (`DB 08 …`) in a byte stream that arrives in
/// chunks of any size, and checks the CRC.
///
/// It never grows without bound (a telegram larger than ``maximumTelegramSize`` is dropped and reported),
/// resynchronises on the next `/` after garbage or a cut-off telegram, and lets any byte value through inside
/// a telegram (0xFF fillers, `³`): whether those bytes are right is the CRC's job, not the framer's.
public struct TelegramFramer: Sendable {
    /// What the framer found in the stream.
    public enum Output {
        /// A complete telegram from `/` through `!` inclusive (the CRC line is not included), valid to use
        /// only during the callback.
        case telegram(UnsafeBufferPointer<UInt8>, crc: CRCStatus)
        /// A complete general-global-cipher frame, header to tag, valid only during the callback.
        case encryptedFrame(UnsafeBufferPointer<UInt8>)
        /// Something that started like a telegram or frame and was discarded.
        case rejected(Rejection)
    }

    /// The default limit: Belgian telegrams exceed 3 KB and grow every month with their peak history.
    public static let defaultMaximumTelegramSize = 16 * 1024

    /// The largest telegram or frame kept; anything longer is rejected as ``RejectionReason/oversize``.
    public let maximumTelegramSize: Int
    /// Clear the top bit of every byte, for lines read as 8 bits from a 7E1 meter.
    public let stripParity: Bool
    /// Bytes skipped outside telegrams (line ends not counted): gateway trailers, line noise, the tail of a
    /// cut-off telegram.
    public private(set) var skippedBytes = 0

    private enum State {
        case hunting
        case body(lineStart: Bool, afterDB: Bool)
        case checksum(digits: Int, value: UInt16, text: UInt32)
        case frameHeader
        case framePayload(remaining: Int)
    }

    private var state = State.hunting
    private var buffer: FrameBuffer
    private var pending: Event?
    /// Bytes to look at again before the next chunk: what followed a 0xDB that turned out not to start a frame.
    private var replay: [UInt8] = []

    /// DLMS general-global-ciphering: tag 0xDB, system title length 8, then the long-form length 0x82.
    static let frameHeaderLength = 13

    /// Creates a framer.
    /// - Parameters:
    ///   - maximumTelegramSize: the size limit in bytes (at least 1 KB).
    ///   - stripParity: clear bit 7 of every byte (7E1 lines).
    public init(maximumTelegramSize: Int = defaultMaximumTelegramSize, stripParity: Bool = false) {
        self.maximumTelegramSize = max(1024, maximumTelegramSize)
        self.stripParity = stripParity
        buffer = FrameBuffer(capacity: self.maximumTelegramSize + 1)  // + the closing "!"
    }

    /// What ``next(in:at:)`` found; for a telegram or frame, ``withFrame(_:)`` gives its bytes.
    public enum Event: Sendable {
        /// A complete telegram (read it with ``withFrame(_:)`` before calling ``next(in:at:)`` again).
        case telegram(crc: CRCStatus)
        /// A complete encrypted frame (read it with ``withFrame(_:)``).
        case encryptedFrame
        /// Something that started like a telegram or frame and was discarded.
        case rejected(Rejection)
    }

    /// Consumes `chunk` from `offset` until something completes, and returns it; nil when the chunk is used up.
    /// `offset` is advanced past what was consumed, so call again with the same chunk until it returns nil.
    public mutating func next(in chunk: UnsafeRawBufferPointer, at offset: inout Int) -> Event? {
        pending = nil
        if !isKnownUniquelyReferenced(&buffer) { buffer = buffer.copy() }
        if let event = drainReplay() { return event }
        let bytes = chunk.bindMemory(to: UInt8.self)
        while offset < bytes.count {
            if !stripParity, case .body(let lineStart, let afterDB) = state, !lineStart, !afterDB {
                // Fast path: copy ordinary text up to the next line end, `/` or possible frame start in one go.
                var end = offset
                let limit = min(bytes.count, offset + (maximumTelegramSize - buffer.count))
                // Sixteen bytes per comparison first; a DSMR line is 20–60 bytes.
                if let base = bytes.baseAddress {
                    while end &+ 16 <= limit {
                        let block = UnsafeRawPointer(base + end).loadUnaligned(as: SIMD16<UInt8>.self)
                        let stops = (block .== Self.lfBlock) .| (block .== Self.slashBlock) .| (block .== Self.dbBlock)
                        if any(stops) { break }
                        end &+= 16
                    }
                }
                while end < limit {
                    let byte = bytes[end]
                    if byte == Self.lf || byte == Self.slash || byte == 0xDB { break }
                    end += 1
                }
                if end > offset {
                    buffer.append(UnsafeBufferPointer(rebasing: bytes[offset..<end]))
                    offset = end
                    if offset == bytes.count { break }
                }
            }
            var byte = bytes[offset]
            offset += 1
            if stripParity { byte &= 0x7F }
            step(byte)
            if let event = pending { return event }
            // Bytes after a 0xDB that did not start a frame come before the rest of the chunk.
            if !replay.isEmpty, let event = drainReplay() { return event }
        }
        return nil
    }

    private mutating func drainReplay() -> Event? {
        while !replay.isEmpty {
            step(replay.removeFirst())
            if let event = pending { return event }
        }
        return nil
    }

    /// The bytes of the telegram or frame ``next(in:at:)`` just returned; valid only inside `body`.
    public func withFrame<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        try body(buffer.bytes)
    }

    /// Feeds the next chunk; `handle` is called for every telegram, frame or rejection completed by it.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer, _ handle: (Output) -> Void) {
        var offset = 0
        while let event = next(in: chunk, at: &offset) { deliver(event, handle) }
    }

    /// Feeds the next chunk; `handle` is called for every telegram, frame or rejection completed by it.
    public mutating func feed(_ chunk: some Sequence<UInt8>, _ handle: (Output) -> Void) {
        let bytes = Array(chunk)
        bytes.withUnsafeBytes { feed($0, handle) }
    }

    private func deliver(_ event: Event, _ handle: (Output) -> Void) {
        switch event {
        case .telegram(let crc): withFrame { handle(.telegram($0, crc: crc)) }
        case .encryptedFrame: withFrame { handle(.encryptedFrame($0)) }
        case .rejected(let rejection): handle(.rejected(rejection))
        }
    }

    /// Ends the stream: a telegram whose CRC digits arrived without the final line end is completed, and a
    /// telegram or frame still open is reported as truncated. Read a telegram with ``withFrame(_:)``.
    public mutating func finish() -> Event? {
        pending = nil
        if let event = drainReplay() { return event }
        if !isKnownUniquelyReferenced(&buffer) { buffer = buffer.copy() }
        switch state {
        case .hunting:
            break
        case .checksum(let digits, let value, let text):
            completeTelegram(digits: digits, value: value, text: text)
        case .body, .frameHeader, .framePayload:
            reject(.truncated, "telegram cut off: the stream ended after \(buffer.count) bytes without its end")
        }
        state = .hunting
        return pending
    }

    /// Ends the stream, handing what completes to `handle`.
    public mutating func finish(_ handle: (Output) -> Void) {
        while let event = finish() { deliver(event, handle) }
    }

    @inline(__always)
    private mutating func step(_ byte: UInt8) {
        switch state {
        case .hunting:
            if byte == Self.slash {
                startTelegram()
            } else if byte == 0xDB {
                buffer.removeAll()
                buffer.append(byte)
                state = .frameHeader
            } else if byte != Self.cr && byte != Self.lf {
                skippedBytes += 1
            }

        case .body(let lineStart, let afterDB):
            if byte == Self.bang && lineStart {
                guard buffer.count < maximumTelegramSize else {
                    reject(.oversize, "telegram longer than \(maximumTelegramSize) bytes; discarded")
                    state = .hunting
                    return
                }
                buffer.append(byte)
                state = .checksum(digits: 0, value: 0, text: 0)
                return
            }
            if byte == Self.slash {
                // No meter writes '/' inside a telegram: this is the start of the next one, and the current
                // one was cut off (possibly mid-line).
                reject(.truncated, "telegram cut off after \(buffer.count) bytes: a new one started before its end")
                startTelegram()
                return
            }
            if afterDB && byte == 0x08 {
                // An encrypted frame starts here; whatever plain text came before was cut off.
                buffer.removeLast()
                reject(.truncated, "telegram cut off after \(buffer.count) bytes: an encrypted frame started")
                buffer.removeAll()
                buffer.append(0xDB)
                buffer.append(0x08)
                state = .frameHeader
                return
            }
            guard buffer.count < maximumTelegramSize else {
                reject(.oversize, "telegram longer than \(maximumTelegramSize) bytes without an end; discarded")
                state = .hunting
                return
            }
            buffer.append(byte)
            state = .body(lineStart: byte == Self.lf, afterDB: byte == 0xDB)

        case .checksum(let digits, let value, let text):
            if let nibble = Self.hexValue(byte) {
                guard digits < 4 else {
                    reject(.malformedCRC, "CRC after '!' has more than 4 hex digits")
                    state = .hunting
                    return
                }
                state = .checksum(digits: digits + 1, value: value << 4 | UInt16(nibble),
                                  text: text << 8 | UInt32(byte))
            } else if byte == Self.cr || byte == Self.lf || byte == 0 {
                completeTelegram(digits: digits, value: value, text: text)
            } else {
                let shown = Self.printable(byte)
                reject(.malformedCRC, "CRC after '!' contains \(shown), not a hex digit")
                state = .hunting
                if byte == Self.slash { startTelegram() }
            }

        case .frameHeader:
            buffer.append(byte)
            let count = buffer.count
            if count == 2 && byte != 0x08 || count == 11 && byte != 0x82 {
                abandonFrameHeader()
            } else if count == Self.frameHeaderLength {
                let length = Int(buffer[11]) << 8 | Int(buffer[12])
                if length < 18 || length + Self.frameHeaderLength > maximumTelegramSize {
                    reject(.malformedFrame, "encrypted frame announces \(length) bytes, which cannot be right")
                    state = .hunting
                } else {
                    state = .framePayload(remaining: length)
                }
            }

        case .framePayload(let remaining):
            buffer.append(byte)
            if remaining == 1 {
                state = .hunting
                pending = .encryptedFrame
            } else {
                state = .framePayload(remaining: remaining - 1)
            }
        }
    }

    private mutating func startTelegram() {
        buffer.removeAll()
        buffer.append(Self.slash)
        state = .body(lineStart: false, afterDB: false)
    }

    /// 0xDB was only noise: replay what followed it as ordinary stream bytes.
    private mutating func abandonFrameHeader() {
        replay.append(contentsOf: buffer.bytes.dropFirst())
        skippedBytes += 1
        state = .hunting
        buffer.removeAll()
    }

    private mutating func completeTelegram(digits: Int, value: UInt16, text: UInt32) {
        state = .hunting
        if digits == 0 {
            pending = .telegram(crc: .absent)
            return
        }
        let computed = CRC16.arc(buffer.bytes)
        if computed == value {
            pending = .telegram(crc: .valid)
        } else {
            var sent = ""
            for shift in stride(from: (digits - 1) * 8, through: 0, by: -8) {
                sent.append(Character(Unicode.Scalar(UInt8(truncatingIfNeeded: text >> UInt32(shift)))))
            }
            reject(.crcMismatch, "CRC mismatch: telegram says \(sent), its bytes give \(Self.hex4(computed))")
        }
    }

    private mutating func reject(_ reason: RejectionReason, _ detail: String) {
        pending = .rejected(Rejection(reason, detail))
    }

    static let lfBlock = SIMD16<UInt8>(repeating: 0x0A)
    static let slashBlock = SIMD16<UInt8>(repeating: 0x2F)
    static let dbBlock = SIMD16<UInt8>(repeating: 0xDB)
    static let slash: UInt8 = 0x2F
    static let bang: UInt8 = 0x21
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A

    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }

    static func hex4(_ value: UInt16) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        return String(decoding: [12, 8, 4, 0].map { digits[Int(value >> UInt16($0)) & 0xF] }, as: UTF8.self)
    }

    static func printable(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
    }
}
