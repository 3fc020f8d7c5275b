/// An OBIS (IEC 62056-61) object identifier such as `1-0:1.8.1`, as used on every P1 data line.
///
/// Value groups A to E identify the quantity; group F (the historical value or `*255` suffix that EasyMeter
/// Q3D gateways append) is kept but does not change the identity: `1-0:1.8.0*255` and `1-0:1.8.0` are the
/// same register, so equality and hashing ignore it.
public struct ObisCode: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Group A: the medium (0 abstract, 1 electricity, 7 gas, …).
    public let a: UInt8
    /// Group B: the channel; on P1 lines with A = 0 and B ≥ 1 it is the M-Bus channel of a sub-device.
    public let b: UInt8
    /// Group C: the physical quantity.
    public let c: UInt8
    /// Group D: the processing (instantaneous, cumulative, …).
    public let d: UInt8
    /// Group E: the tariff or further classification.
    public let e: UInt8

    /// Creates a code from its five groups.
    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, _ e: UInt8) {
        self.a = a
        self.b = b
        self.c = c
        self.d = d
        self.e = e
    }

    /// Parses `A-B:C.D.E`, optionally followed by `*F` (ignored); returns nil for anything else.
    public init?(_ text: String) {
        let utf8 = Array(text.utf8)
        guard let (code, end) = utf8.withUnsafeBufferPointer({ ObisCode.parse($0, from: 0) }), end == utf8.count
        else { return nil }
        self = code
    }

    /// Parses an OBIS code at `start` in `bytes`: `A-B:C.D.E` with an optional `*F` suffix.
    /// - Returns: the code and the index just past it, or nil when the bytes there are not an OBIS code.
    @inlinable
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> (ObisCode, Int)? {
        var index = start
        @inline(__always)
        func group(endingWith separator: UInt8?) -> UInt8? {
            var value = 0
            var digits = 0
            while index < bytes.count, bytes[index] &- 0x30 < 10, digits < 3 {
                value = value * 10 + Int(bytes[index] &- 0x30)
                index += 1
                digits += 1
            }
            guard digits > 0, value <= 255 else { return nil }
            if let separator {
                guard index < bytes.count, bytes[index] == separator else { return nil }
                index += 1
            }
            return UInt8(value)
        }
        guard let a = group(endingWith: 0x2D), let b = group(endingWith: 0x3A), let c = group(endingWith: 0x2E),
            let d = group(endingWith: 0x2E), let e = group(endingWith: nil)
        else { return nil }
        // Optional group F, written `*255` by EasyMeter gateways (some meters write `.255`).
        if index < bytes.count, bytes[index] == 0x2A || bytes[index] == 0x2E {
            var probe = index + 1
            while probe < bytes.count, bytes[probe] &- 0x30 < 10, probe - index <= 3 { probe += 1 }
            if probe > index + 1 { index = probe }
        }
        return (ObisCode(a, b, c, d, e), index)
    }

    /// The code packed into one integer, handy as a dictionary key.
    @inlinable
    public var packed: UInt64 {
        UInt64(a) << 32 | UInt64(b) << 24 | UInt64(c) << 16 | UInt64(d) << 8 | UInt64(e)
    }

    /// True for objects of an M-Bus sub-device (gas, water, heat meter): A = 0 and B = channel 1…9.
    @inlinable
    public var isMBus: Bool { a == 0 && b >= 1 && b <= 9 }

    /// The code as written on a P1 line without the F group, e.g. `0-1:24.2.1`.
    public var description: String { "\(a)-\(b):\(c).\(d).\(e)" }

    /// Appends ``description``'s UTF-8 bytes to `output` without building a String.
    @inlinable
    public func write(to output: inout [UInt8]) {
        @inline(__always)
        func number(_ value: UInt8) {
            if value >= 100 { output.append(value / 100 + 0x30) }
            if value >= 10 { output.append(value / 10 % 10 + 0x30) }
            output.append(value % 10 + 0x30)
        }
        number(a)
        output.append(0x2D)
        number(b)
        output.append(0x3A)
        number(c)
        output.append(0x2E)
        number(d)
        output.append(0x2E)
        number(e)
    }

    /// The C.D.E part, e.g. `24.2.1`: the same quantity on any channel.
    public var quantity: String { "\(c).\(d).\(e)" }

    public static func < (lhs: ObisCode, rhs: ObisCode) -> Bool { lhs.packed < rhs.packed }
}
