/// The parts of a DLMS general-global-ciphering frame as Luxembourg Smarty and Austrian Sagemcom meters send
/// it: `DB 08 <system title> 82 <length> 30 <frame counter> <ciphertext> <12-byte GCM tag>`.
public struct DLMSFrame: Sendable, Hashable {
    /// The 8-byte system title (manufacturer flag and meter id): the first part of the IV.
    public let systemTitle: [UInt8]
    /// The security control byte; 0x30 means authenticated and encrypted, security suite 0.
    public let securityControl: UInt8
    /// The 4-byte frame counter: the second part of the IV.
    public let frameCounter: [UInt8]
    /// The encrypted telegram.
    public let ciphertext: [UInt8]
    /// The GCM authentication tag, truncated to 12 bytes.
    public let tag: [UInt8]

    /// The GCM tag length DLMS security suite 0 uses.
    public static let tagLength = 12

    /// Splits a complete frame.
    /// - Throws: ``Rejection`` with ``RejectionReason/malformedFrame`` when the bytes are not such a frame.
    public init(_ bytes: UnsafeBufferPointer<UInt8>) throws(Rejection) {
        guard bytes.count >= 13 + 5 + Self.tagLength + 1, bytes[0] == 0xDB, bytes[1] == 0x08, bytes[10] == 0x82
        else { throw Rejection(.malformedFrame, "not a DLMS general-global-cipher frame (expected DB 08 … 82)") }
        let length = Int(bytes[11]) << 8 | Int(bytes[12])
        guard length == bytes.count - 13 else {
            throw Rejection(.malformedFrame, "encrypted frame length \(length) does not match its \(bytes.count - 13) bytes")
        }
        securityControl = bytes[13]
        guard securityControl == 0x30 else {
            throw Rejection(.malformedFrame, "encrypted frame uses security control 0x\(String(securityControl, radix: 16)); only 0x30 (authenticated and encrypted) is supported")
        }
        systemTitle = Array(bytes[2..<10])
        frameCounter = Array(bytes[14..<18])
        ciphertext = Array(bytes[18..<(bytes.count - Self.tagLength)])
        tag = Array(bytes[(bytes.count - Self.tagLength)...])
    }

    /// Assembles a frame from its parts (used by the simulator and tests).
    public init(systemTitle: [UInt8], frameCounter: [UInt8], ciphertext: [UInt8], tag: [UInt8]) {
        self.systemTitle = systemTitle
        self.securityControl = 0x30
        self.frameCounter = frameCounter
        self.ciphertext = ciphertext
        self.tag = tag
    }

    /// The 12-byte GCM IV: system title followed by the frame counter.
    public var iv: [UInt8] { systemTitle + frameCounter }

    /// The frame as sent on the wire.
    public var bytes: [UInt8] {
        let length = 1 + frameCounter.count + ciphertext.count + tag.count
        return [0xDB, 0x08] + systemTitle + [0x82, UInt8(length >> 8), UInt8(length & 0xFF), securityControl]
            + frameCounter + ciphertext + tag
    }

    /// The system title as text where it is printable (`SAGgp…`), else hex.
    public var systemTitleDescription: String {
        let printable = systemTitle.prefix(3).allSatisfy { (0x20...0x7E).contains($0) }
        let manufacturer = printable ? String(decoding: systemTitle.prefix(3), as: UTF8.self) : ""
        return manufacturer + systemTitle.dropFirst(printable ? 3 : 0).map { hexByte($0) }.joined()
    }
}

func hexByte(_ byte: UInt8) -> String {
    let digits = Array("0123456789ABCDEF".utf8)
    return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]], as: UTF8.self)
}
