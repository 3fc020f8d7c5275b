import Mapping

/// Builds JSON into a byte buffer: one reusable buffer per output stream, no Foundation encoder, no
/// intermediate strings. Text from the meter is escaped so it can never break the document.
public struct JSONWriter: Sendable {
    /// The JSON written so far.
    public private(set) var bytes: [UInt8] = []
    private var needsComma = false

    /// Creates a writer with room for a typical telegram.
    public init(capacity: Int = 4096) {
        bytes.reserveCapacity(capacity)
    }

    /// Empties the buffer, keeping its memory.
    public mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        needsComma = false
    }

    /// `{`
    public mutating func beginObject() {
        separate()
        bytes.append(0x7B)
        needsComma = false
    }

    /// `}`
    public mutating func endObject() {
        bytes.append(0x7D)
        needsComma = true
    }

    /// `[`
    public mutating func beginArray() {
        separate()
        bytes.append(0x5B)
        needsComma = false
    }

    /// `]`
    public mutating func endArray() {
        bytes.append(0x5D)
        needsComma = true
    }

    /// An object key; the value written next belongs to it.
    public mutating func key(_ key: StaticString) {
        separate()
        bytes.append(0x22)
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(0x22)
        bytes.append(0x3A)
        needsComma = false
    }

    /// An object key given as bytes (escaped).
    public mutating func key(bytes keyBytes: some Collection<UInt8>) {
        separate()
        appendEscaped(keyBytes)
        bytes.append(0x3A)
        needsComma = false
    }

    /// An OBIS code as object key: `"1-0:1.8.1":`.
    public mutating func key(_ code: ObisCode) {
        separate()
        bytes.append(0x22)
        code.write(to: &bytes)
        bytes.append(0x22)
        bytes.append(0x3A)
        needsComma = false
    }

    /// An object key computed at run time (escaped).
    public mutating func key(string name: String) {
        key(bytes: name.utf8)
    }

    /// A string value (escaped).
    public mutating func string(_ value: String) {
        separate()
        appendEscaped(value.utf8)
        needsComma = true
    }

    /// A string value given as raw meter bytes: valid UTF-8 is kept, other bytes are read as Latin-1.
    public mutating func string(bytes value: some Collection<UInt8>) {
        separate()
        appendEscaped(value)
        needsComma = true
    }

    /// A number exactly as the meter sent it, without leading zeros.
    public mutating func number(_ value: MeterNumber) {
        separate()
        value.write(to: &bytes)
        needsComma = true
    }

    /// An integer.
    public mutating func number(_ value: Int) {
        separate()
        bytes.append(contentsOf: String(value).utf8)
        needsComma = true
    }

    /// A timestamp as an ISO 8601 UTC string.
    public mutating func timestamp(_ value: MeterTimestamp) {
        separate()
        bytes.append(0x22)
        value.write(to: &bytes)
        bytes.append(0x22)
        needsComma = true
    }

    /// `true` or `false`.
    public mutating func bool(_ value: Bool) {
        separate()
        bytes.append(contentsOf: value ? Array("true".utf8) : Array("false".utf8))
        needsComma = true
    }

    /// `null`
    public mutating func null() {
        separate()
        bytes.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
        needsComma = true
    }

    /// Appends a raw byte.
    public mutating func raw(_ byte: UInt8) {
        bytes.append(byte)
    }

    /// Ends a JSON Lines record: a newline, after which the next value starts a new document (no comma).
    public mutating func endRecord() {
        bytes.append(0x0A)
        needsComma = false
    }

    /// Appends an already-encoded JSON value (an object built by another writer).
    public mutating func raw(_ value: [UInt8]) {
        separate()
        bytes.append(contentsOf: value)
        needsComma = true
    }

    @inline(__always)
    private mutating func separate() {
        if needsComma { bytes.append(0x2C) }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    private mutating func appendEscaped(_ value: some Collection<UInt8>) {
        bytes.append(0x22)
        // Almost all meter text is plain printable ASCII: copy it in one go.
        if value.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x5C }) {
            bytes.append(contentsOf: value)
            bytes.append(0x22)
            return
        }
        let isUTF8 = value.allSatisfy { $0 < 0x80 } || String(validating: value, as: UTF8.self) != nil
        for byte in value {
            switch byte {
            case 0x22: bytes.append(contentsOf: [0x5C, 0x22])
            case 0x5C: bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: bytes.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: bytes.append(contentsOf: [0x5C, 0x72])
            case 0x09: bytes.append(contentsOf: [0x5C, 0x74])
            case 0..<0x20, 0x7F:
                bytes.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, Self.hexDigits[Int(byte >> 4)], Self.hexDigits[Int(byte & 0xF)]])
            case 0x80...0xFF where !isUTF8:
                // Latin-1 byte: its code point equals the byte, written as two-byte UTF-8.
                bytes.append(0xC0 | byte >> 6)
                bytes.append(0x80 | byte & 0x3F)
            default:
                bytes.append(byte)
            }
        }
        bytes.append(0x22)
    }
}
