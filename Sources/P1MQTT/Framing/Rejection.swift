/// Why a candidate telegram or frame was not accepted. Each reason is counted separately.
public enum RejectionReason: String, Sendable, Hashable, CaseIterable, Comparable {
    /// The CRC after `!` does not match the bytes: line noise, a bad cable or a dropped byte.
    case crcMismatch = "crc"
    /// The CRC after `!` is not 1–4 hexadecimal digits.
    case malformedCRC = "malformed_crc"
    /// A variant that always sends a CRC sent none.
    case missingCRC = "missing_crc"
    /// A telegram was cut off: a new one started before its `!`.
    case truncated
    /// A telegram grew past the size limit without an end.
    case oversize
    /// The lines between `/` and `!` do not have the structure of a telegram.
    case malformed
    /// An encrypted frame could not be decrypted or its authentication tag did not match (wrong key?).
    case decryption
    /// An encrypted frame arrived but no decryption key is configured.
    case noKey = "no_key"
    /// A binary DLMS frame whose header is not the general-global-cipher layout p1mqtt understands.
    case malformedFrame = "malformed_frame"

    public static func < (lhs: RejectionReason, rhs: RejectionReason) -> Bool {
        allCases.firstIndex(of: lhs) ?? 0 < allCases.firstIndex(of: rhs) ?? 0
    }
}

/// A rejected telegram or frame: the reason, and a one-line explanation a user can act on.
public struct Rejection: Sendable, Hashable, Error, CustomStringConvertible {
    /// The counted reason.
    public let reason: RejectionReason
    /// What exactly was wrong, e.g. `CRC mismatch: telegram says 6EEF, bytes give 6EEE`.
    public let detail: String

    /// Creates a rejection.
    public init(_ reason: RejectionReason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    /// The detail line.
    public var description: String { detail }
}

/// Whether a telegram carried a checksum.
public enum CRCStatus: String, Sendable, Hashable {
    /// A CRC was sent and matches.
    case valid
    /// No CRC was sent (DSMR 2.2/3, EasyMeter Q3D).
    case absent
}
