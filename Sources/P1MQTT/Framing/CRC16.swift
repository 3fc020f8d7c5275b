/// CRC-16/ARC (polynomial 0x8005 reflected, initial value 0, no final XOR), the checksum DSMR 4+ meters
/// append after `!`, computed over every byte from `/` through `!` inclusive.
public enum CRC16 {
    /// The checksum of `bytes`.
    @inlinable
    public static func arc(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        table.withUnsafeBufferPointer { table in
            for byte in bytes {
                crc = (crc >> 8) ^ table[Int(UInt8(truncatingIfNeeded: crc) ^ byte)]
            }
        }
        return crc
    }

    /// The checksum of `bytes`.
    public static func arc(_ bytes: some Sequence<UInt8>) -> UInt16 {
        let array = Array(bytes)
        return array.withUnsafeBufferPointer { arc($0) }
    }

    @usableFromInline
    static let table: [UInt16] = (0..<256).map { index in
        var value = UInt16(index)
        for _ in 0..<8 {
            value = value & 1 == 1 ? (value >> 1) ^ 0xA001 : value >> 1
        }
        return value
    }
}
