import Mapping

/// One accepted telegram: its bytes, and an index of every data line over them.
///
/// Parsing records where each object and value group lies instead of building strings, so a telegram costs a
/// few small arrays; typed values are produced on request by ``value(of:)`` and friends.
public struct Telegram: Sendable {
    /// The telegram from `/` through `!` (for an encrypted meter: the decrypted telegram).
    public let bytes: [UInt8]
    /// Whether a CRC was present (it always matched: a mismatch is rejected before parsing).
    public let crc: CRCStatus
    /// True when the telegram arrived inside an encrypted DLMS frame.
    public let encrypted: Bool
    /// The detected (or configured) variant.
    public let variant: MeterVariant
    /// Every data line, in telegram order; a code sent twice keeps its last line.
    public let objects: [DataObject]
    /// The M-Bus sub-devices by channel, in channel order.
    public let mbusDevices: [MBusDevice]
    /// The telegram's own timestamp (`0-0:1.0.0`), when it has a valid one.
    public let timestamp: MeterTimestamp?
    /// The meter's identifier, decoded from hex where printable: `0-0:96.1.1`, else `42.0.0`, `96.1.0`,
    /// `96.1.255` or `0.0.0`, whichever the variant sends. Nil for meters that send none (Swedish, Austrian).
    public let equipmentID: String?
    /// Lines between header and `!` that are not data lines (kept for diagnostics).
    public let skippedLines: Int

    let groups: [ValueGroup]
    let headerEnd: Int

    /// The header line without the leading `/`'s line end, e.g. `/ISk5\2MT382-1000`.
    public var header: String { decodeText(bytes[0..<headerEnd]) }
    /// The header line's bytes, for comparing without building a string.
    var headerBytes: ArraySlice<UInt8> { bytes[0..<headerEnd] }

    /// The three-letter manufacturer flag from the header (`ISk`, `KFM`, `FLU`, …), when present.
    public var manufacturerFlag: String? {
        guard headerEnd >= 4 else { return nil }
        return decodeText(bytes[1..<4])
    }

    /// The P1 version from `1-3:0.2.8` (e.g. `50`), when sent.
    public var p1Version: String? {
        guard let object = object(ObisCode(1, 3, 0, 2, 8)) ?? objects.first(where: {
            $0.code.c == 0 && $0.code.d == 2 && $0.code.e == 8
        }), case .text(let version) = value(of: object) else { return nil }
        return version
    }

    /// The object with this exact code, if the telegram has it.
    public func object(_ code: ObisCode) -> DataObject? {
        objects.first { $0.code == code }
    }

    /// The typed value of the object with this code, if the telegram has it.
    public func value(_ code: ObisCode) -> ObjectValue? {
        object(code).map { value(of: $0) }
    }

    /// The number of the object with this code, if it has one (`1-0:1.8.1` → 1234.567).
    public func number(_ code: ObisCode) -> MeterNumber? {
        switch value(code) {
        case .number(let number, _): number
        case .reading(let number, _, _): number
        default: nil
        }
    }

    /// The raw text of each value group of an object, exactly as sent.
    public func rawGroups(of object: DataObject) -> [String] {
        (0..<Int(object.groupCount)).map { text(groups[Int(object.firstGroup) + $0].range) }
    }

    /// The typed value of an object, interpreted by the catalogue's layout for its code (or, for codes the
    /// catalogue does not know, by the shape of its value groups).
    public func value(of object: DataObject) -> ObjectValue {
        ObjectValue(interpret(object), in: self)
    }

    func text(_ range: Range<Int>) -> String { decodeText(bytes[range]) }
}

/// One data line: its OBIS code and where its value groups are.
public struct DataObject: Sendable, Hashable {
    /// The line's OBIS code.
    public let code: ObisCode
    let firstGroup: Int32
    var groupCount: Int32
    let catalogueIndex: Int16

    /// What the catalogue knows about this code, if anything.
    public var definition: ObisDefinition? {
        catalogueIndex >= 0 ? ObisCatalogue.definitions[Int(catalogueIndex)] : nil
    }

    /// How many value groups `(…)` the line has.
    public var valueCount: Int { Int(groupCount) }
}

/// Where the content of one `(…)` value group lies in the telegram's bytes.
struct ValueGroup: Sendable, Hashable {
    let start: Int32
    let end: Int32

    var range: Range<Int> { Int(start)..<Int(end) }
    var isEmpty: Bool { start == end }
}

/// Meter text is ASCII by the standard, but real meters send 0xFF fillers and Latin-1 `³`: valid UTF-8 is
/// taken as such, anything else byte by byte as Latin-1, so no text is ever lost to a decoding error.
func decodeText(_ bytes: ArraySlice<UInt8>) -> String {
    if bytes.allSatisfy({ $0 < 0x80 }) || String(validating: bytes, as: UTF8.self) != nil {
        return String(decoding: bytes, as: UTF8.self)
    }
    var text = ""
    text.unicodeScalars.append(contentsOf: bytes.map { Unicode.Scalar($0) })
    return text
}
