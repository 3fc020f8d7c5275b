/// A decimal number exactly as the meter sent it: `001234.567` is 1234567 × 10⁻³. Keeping mantissa and scale
/// (instead of a Double) means output never shows float noise and the meter's precision is kept.
public struct MeterNumber: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The digits as an integer, with sign.
    public let mantissa: Int64
    /// How many of the digits are after the decimal point.
    public let scale: UInt8

    /// Creates a number from mantissa and scale.
    public init(mantissa: Int64, scale: UInt8) {
        self.mantissa = mantissa
        self.scale = scale
    }

    /// Parses `-?digits(.digits)?`; returns nil for anything else or more than 18 digits.
    @inlinable
    public init?(_ bytes: UnsafeBufferPointer<UInt8>) {
        var index = 0
        var negative = false
        if index < bytes.count, bytes[index] == 0x2D || bytes[index] == 0x2B {
            negative = bytes[index] == 0x2D
            index += 1
        }
        var mantissa: Int64 = 0
        var digits = 0
        var sawDigit = false
        var scale = -1
        while index < bytes.count {
            let byte = bytes[index]
            if byte &- 0x30 < 10 {
                guard digits < 18 else { return nil }
                mantissa = mantissa &* 10 &+ Int64(byte &- 0x30)
                sawDigit = true
                // Leading zeros of the integer part are free; every other digit counts, fraction digits
                // always (the scale must stay within what Int64 and the powers table cover).
                if mantissa != 0 || scale >= 0 { digits += 1 }
                if scale >= 0 { scale += 1 }
            } else if byte == 0x2E && scale < 0 {
                scale = 0
            } else {
                return nil
            }
            index += 1
        }
        guard sawDigit, scale != 0 else { return nil }
        self.mantissa = negative ? -mantissa : mantissa
        self.scale = UInt8(max(scale, 0))
    }

    /// Parses a string such as `"0230.0"`.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard let value = bytes.withUnsafeBufferPointer({ MeterNumber($0) }) else { return nil }
        self = value
    }

    /// The value with the decimal point moved `places` to the left (negative: to the right), exactly:
    /// `1.234` kW shifted by -3 is `1234` W. Nil when the result does not fit.
    public func shifted(by places: Int) -> MeterNumber? {
        let scale = Int(self.scale) + places
        if scale >= 0 {
            return scale <= 18 ? MeterNumber(mantissa: mantissa, scale: UInt8(scale)) : nil
        }
        var result = mantissa
        for _ in 0..<(-scale) {
            let (product, overflow) = result.multipliedReportingOverflow(by: 10)
            if overflow { return nil }
            result = product
        }
        return MeterNumber(mantissa: result, scale: 0)
    }

    /// The sum, exact, at the larger of the two scales; nil on overflow.
    public func adding(_ other: MeterNumber) -> MeterNumber? {
        let scale = max(self.scale, other.scale)
        guard let a = aligned(to: scale), let b = other.aligned(to: scale) else { return nil }
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? nil : MeterNumber(mantissa: sum, scale: scale)
    }

    /// The difference, exact, at the larger of the two scales; nil on overflow.
    public func subtracting(_ other: MeterNumber) -> MeterNumber? {
        adding(MeterNumber(mantissa: -other.mantissa, scale: other.scale))
    }

    private func aligned(to scale: UInt8) -> Int64? {
        var value = mantissa
        for _ in 0..<Int(scale - min(scale, self.scale)) {
            let (product, overflow) = value.multipliedReportingOverflow(by: 10)
            if overflow { return nil }
            value = product
        }
        return value
    }

    /// The value as a Double, for arithmetic.
    public var doubleValue: Double {
        Double(mantissa) / Self.powersOfTen[Int(scale)]
    }

    /// True when the value is zero.
    public var isZero: Bool { mantissa == 0 }

    /// The value with the meter's precision and no leading zeros: `1234.567`, `0.48`, `-40`, `230.0`.
    public var description: String {
        var text = String(mantissa.magnitude)
        if scale > 0 {
            let padding = Int(scale) + 1 - text.count
            if padding > 0 { text = String(repeating: "0", count: padding) + text }
            text.insert(".", at: text.index(text.endIndex, offsetBy: -Int(scale)))
        }
        return mantissa < 0 ? "-" + text : text
    }

    /// Appends ``description``'s UTF-8 bytes to `output` without allocating a String.
    @inlinable
    public func write(to output: inout [UInt8]) {
        if mantissa < 0 { output.append(0x2D) }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { digits in
            var count = 0
            var value = mantissa.magnitude
            repeat {
                digits[count] = UInt8(value % 10) + 0x30
                value /= 10
                count += 1
            } while value > 0 || count <= Int(scale)
            for position in stride(from: count - 1, through: 0, by: -1) {
                output.append(digits[position])
                if position == Int(scale) && scale > 0 { output.append(0x2E) }
            }
        }
    }

    public static func < (lhs: MeterNumber, rhs: MeterNumber) -> Bool { lhs.doubleValue < rhs.doubleValue }

    public static func == (lhs: MeterNumber, rhs: MeterNumber) -> Bool {
        lhs.mantissa == rhs.mantissa && lhs.scale == rhs.scale
    }

    @usableFromInline
    static let powersOfTen: [Double] = (0...18).map { exponent in
        (0..<exponent).reduce(1.0) { product, _ in product * 10 }
    }
}
