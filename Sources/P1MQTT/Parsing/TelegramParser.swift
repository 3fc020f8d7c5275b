import Mapping

/// Turns the bytes of one framed telegram into a ``Telegram``, in a single pass over its lines.
///
/// Every line `A-B:C.D.E(…)(…)` becomes an object, known to the catalogue or not; a line that starts with `(`
/// continues the previous one (the DSMR 2.2 gas reading puts its value on the next line). Lines that are not
/// data lines are counted and skipped in a CRC-checked telegram; in a telegram without CRC they make it
/// rejected, because nothing else vouches for its content.
public struct TelegramParser: Sendable {
    /// The variant to report instead of detecting one.
    public var variantOverride: MeterVariant?

    /// Creates a parser.
    public init(variantOverride: MeterVariant? = nil) {
        self.variantOverride = variantOverride
    }

    /// Parses a framed telegram (`/` through `!`).
    /// - Throws: ``Rejection`` when the telegram's structure is wrong, or a variant that always sends a CRC
    ///   arrived without one.
    public func parse(_ frame: UnsafeBufferPointer<UInt8>, crc: CRCStatus, encrypted: Bool = false)
        throws(Rejection) -> Telegram
    {
        let bytes = [UInt8](unsafeUninitializedCapacity: frame.count) { storage, count in
            if let source = frame.baseAddress, let target = storage.baseAddress {
                target.update(from: source, count: frame.count)
            }
            count = frame.count
        }
        var scan = Scan()
        bytes.withUnsafeBufferPointer { buffer in scan.run(buffer) }
        guard scan.headerEnd >= 2 else { throw Rejection(.malformed, "telegram has no header line after '/'") }
        guard !scan.objects.isEmpty else { throw Rejection(.malformed, "telegram has no data lines") }
        let variant = variantOverride ?? scan.detectVariant(bytes)
        if variant.hasOwnDefinitions { scan.useDefinitions(of: variant) }
        if crc == .absent {
            guard !variant.sendsCRC else {
                throw Rejection(.missingCRC, "telegram of a \(variant.displayName) meter arrived without its CRC")
            }
            guard scan.skippedLines == 0 else {
                throw Rejection(.malformed, "telegram without CRC has \(scan.skippedLines) line(s) that are not data lines")
            }
            // Without a CRC only the structure vouches for the bytes: a real header (`/` and a three-letter
            // manufacturer flag) and line ends that are all CR LF.
            guard scan.headerEnd >= 5, bytes[1...3].allSatisfy({ ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A }) else {
                throw Rejection(.malformed, "telegram without CRC does not start with a meter header (/XXXn…)")
            }
            guard !zip(bytes, bytes.dropFirst()).contains(where: { $0 == 0x0D && $1 != 0x0A }) else {
                throw Rejection(.malformed, "telegram without CRC contains a carriage return that does not end a line")
            }
        }
        var telegram = Telegram(
            bytes: bytes, crc: crc, encrypted: encrypted, variant: variant, objects: scan.objects,
            mbusDevices: [], timestamp: nil, equipmentID: nil, skippedLines: scan.skippedLines,
            groups: scan.groups, headerEnd: scan.headerEnd)
        telegram = telegram.completed()
        return telegram
    }

    /// Parses a telegram given as bytes.
    public func parse(_ frame: [UInt8], crc: CRCStatus, encrypted: Bool = false) throws(Rejection) -> Telegram {
        do {
            return try frame.withUnsafeBufferPointer { buffer in try parse(buffer, crc: crc, encrypted: encrypted) }
        } catch let rejection as Rejection {
            throw rejection
        } catch {
            throw Rejection(.malformed, "\(error)")
        }
    }
}

/// The single pass over the lines.
private struct Scan {
    var objects: [DataObject] = []
    var groups: [ValueGroup] = []
    var headerEnd = 0
    var skippedLines = 0
    var hasF255 = false
    /// One bit per hash of the codes seen, so the duplicate search runs only when a code may repeat.
    private var seen: UInt64 = 0

    init() {
        objects.reserveCapacity(64)
        groups.reserveCapacity(96)
    }

    mutating func run(_ buffer: UnsafeBufferPointer<UInt8>) {
        var lineStart = 0
        var first = true
        let count = buffer.count
        while lineStart < count {
            var lineEnd = lineStart
            if let base = buffer.baseAddress {
                // Sixteen bytes per comparison while no line end is among them.
                let newline = SIMD16<UInt8>(repeating: 0x0A)
                while lineEnd &+ 16 <= count,
                    !any(UnsafeRawPointer(base + lineEnd).loadUnaligned(as: SIMD16<UInt8>.self) .== newline)
                {
                    lineEnd &+= 16
                }
            }
            while lineEnd < count, buffer[lineEnd] != 0x0A { lineEnd += 1 }
            var contentEnd = lineEnd
            while contentEnd > lineStart, buffer[contentEnd - 1] == 0x0D { contentEnd -= 1 }
            if first {
                headerEnd = contentEnd
                first = false
            } else if contentEnd > lineStart {
                line(buffer, lineStart, contentEnd)
            }
            lineStart = lineEnd + 1
        }
    }

    private mutating func line(_ buffer: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) {
        let firstByte = buffer[start]
        if firstByte == 0x21 { return }  // the closing '!'
        if firstByte == 0x28 {
            // A continuation line: more value groups of the previous object.
            guard !objects.isEmpty else { return skip() }
            let before = groups.count
            guard valueGroups(buffer, start, end) else {
                groups.removeSubrange(before...)
                return skip()
            }
            objects[objects.count - 1].groupCount += Int32(groups.count - before)
            return
        }
        guard let (code, codeEnd) = ObisCode.parse(buffer, from: start), codeEnd < end, buffer[codeEnd] == 0x28
        else { return skip() }
        if !hasF255, buffer[codeEnd - 1] &- 0x30 < 10, codeEnd - start > 10 {
            hasF255 = UnsafeBufferPointer(rebasing: buffer[start..<codeEnd]).contains(0x2A)
        }
        let before = groups.count
        guard valueGroups(buffer, codeEnd, end) else {
            groups.removeSubrange(before...)
            return skip()
        }
        let object = DataObject(
            code: code, firstGroup: Int32(before), groupCount: Int32(groups.count - before),
            catalogueIndex: Int16(ObisCatalogue.index(for: code) ?? -1))
        let bit = UInt64(1) << ((code.packed &* 0x9E37_79B9_7F4A_7C15) >> 58)
        if seen & bit != 0, let existing = objects.firstIndex(where: { $0.code == code }) {
            objects.remove(at: existing)
        }
        seen |= bit
        objects.append(object)
    }

    /// `(…)(…)…` up to the end of the line; false when the line does not have that shape.
    private mutating func valueGroups(_ buffer: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
        var index = start
        while index < end {
            guard buffer[index] == 0x28 else { return false }
            var close = index + 1
            while close < end, buffer[close] != 0x29 { close += 1 }
            guard close < end else { return false }
            groups.append(ValueGroup(start: Int32(index + 1), end: Int32(close)))
            index = close + 1
        }
        return true
    }

    private mutating func skip() { skippedLines += 1 }

    /// Looks the lines up again now that the variant is known, for the codes its meters use differently.
    /// Lines are first looked up while scanning because detection needs the whole telegram and most
    /// variants have no definitions of their own.
    mutating func useDefinitions(of variant: MeterVariant) {
        for index in objects.indices {
            let object = objects[index]
            let own = Int16(ObisCatalogue.index(for: object.code, variant: variant.rawValue) ?? -1)
            guard own != object.catalogueIndex else { continue }
            objects[index] = DataObject(code: object.code, firstGroup: object.firstGroup, groupCount: object.groupCount,
                                        catalogueIndex: own)
        }
    }

    func detectVariant(_ bytes: [UInt8]) -> MeterVariant {
        let header = bytes[0..<headerEnd]
        if hasF255 || header.count >= 4 && header[1] == 0x45 && header[2] == 0x53 && header[3] == 0x59 { return .q3d }  // /ESY
        // One pass over the objects for every line the decision looks at (the first of each, on the meter's
        // own channels 0 and 3).
        var versionObject: DataObject?, importTotal: DataObject?, importTariff1: DataObject?
        var belgian = false, luxembourgOrHungary = false, hasTimestamp = false, hasID0 = false, hasID1 = false
        for object in objects where object.code.b == 0 || object.code.b == 3 {
            switch (object.code.c, object.code.d, object.code.e) {
            case (96, 1, 4): belgian = true
            case (0, 2, 8): if versionObject == nil { versionObject = object }
            case (42, 0, 0): luxembourgOrHungary = true
            case (1, 8, 0): if importTotal == nil { importTotal = object }
            case (1, 8, 1): if importTariff1 == nil { importTariff1 = object }
            case (1, 0, 0): hasTimestamp = true
            case (96, 1, 0): hasID0 = true
            case (96, 1, 1): hasID1 = true
            default: break
            }
        }
        if belgian { return .belgium }
        let version = versionObject.flatMap { object -> Int? in
            guard object.groupCount > 0 else { return nil }
            let group = groups[Int(object.firstGroup)]
            var value = 0
            for digit in bytes[group.range] {
                guard digit &- 0x30 < 10, value < 1_000_000 else { return nil }
                value = value * 10 + Int(digit &- 0x30)
            }
            return group.range.isEmpty ? nil : value
        }
        if luxembourgOrHungary { return version != nil ? .luxembourg : .eonHungary }
        if let total = importTotal ?? importTariff1, total.groupCount > 0 {
            let group = groups[Int(total.firstGroup)]
            let value = bytes[group.range]
            if value.count > 3, value.suffix(3).elementsEqual([0x2A, 0x57, 0x68]) { return .austria }  // *Wh
        }
        if let version {
            switch version {
            case 40..<50: return .dsmr4
            case 50..<60: return .dsmr5
            default: return .unknown
            }
        }
        guard hasTimestamp else { return .dsmr3 }
        if hasID0 && !hasID1 { return .iskraIE }
        if !hasID1 && importTotal != nil { return .sweden }
        return .unknown
    }
}

extension Telegram {
    /// Fills in what is derived from the objects: timestamp, equipment id, M-Bus devices.
    func completed() -> Telegram {
        var timestamp: MeterTimestamp?
        // Candidate id lines by preference; only the chosen one is decoded.
        var identifiers = InlineArray<5, Int>(repeating: -1)
        var devices: [MBusDevice] = []
        for (position, object) in objects.enumerated() {
            let code = object.code
            if code.isMBus {
                let channel = Int(code.b)
                let index: Int
                if let existing = devices.firstIndex(where: { $0.channel == channel }) {
                    index = existing
                } else {
                    devices.append(MBusDevice(channel: channel))
                    index = devices.count - 1
                }
                gather(object, into: &devices[index])
                continue
            }
            switch (code.c, code.d, code.e) {
            case (1, 0, 0):
                if case .timestamp(let time) = interpret(object) { timestamp = time }
            case (96, 1, 1) where code.b == 0: identifiers[0] = position
            case (42, 0, 0): identifiers[1] = position
            case (96, 1, 0) where code.b == 0: identifiers[2] = position
            case (96, 1, 255): identifiers[3] = position
            case (0, 0, 0): identifiers[4] = position
            default: break
            }
        }
        var equipmentID: String?
        for preference in 0..<5 where equipmentID == nil && identifiers[preference] >= 0 {
            equipmentID = identifier(objects[identifiers[preference]])
        }
        devices.sort { $0.channel < $1.channel }
        return Telegram(
            bytes: bytes, crc: crc, encrypted: encrypted, variant: variant, objects: objects, mbusDevices: devices,
            timestamp: timestamp, equipmentID: equipmentID, skippedLines: skippedLines, groups: groups,
            headerEnd: headerEnd)
    }

    /// An identifier's text: decoded when it is hex of printable text, else as sent; nil when empty or all
    /// zeros (meters without an id send `00000000`).
    private func identifier(_ object: DataObject) -> String? {
        let text: String?
        switch interpret(object) {
        case .hexText(let range):
            // The usual case, decoded without building the raw text as well.
            text = bytes.withUnsafeBufferPointer { all in decodeHexText(UnsafeBufferPointer(rebasing: all[range])) }
                ?? self.text(range)
        case .text(let range):
            text = self.text(range)
        default:
            text = value(of: object).displayText
        }
        guard let text, text.utf8.contains(where: { $0 != 0x30 }) else { return nil }
        return text
    }

    private func gather(_ object: DataObject, into device: inout MBusDevice) {
        let code = object.code
        switch (code.c, code.d, code.e) {
        case (24, 1, 0):
            if case .number(let number, _) = interpret(object), number.scale == 0 {
                device.deviceType = Int(number.mantissa)
            }
        case (96, 1, 0), (96, 1, 1):
            if device.equipmentID == nil || code.e == 0 { device.equipmentID = identifier(object) ?? device.equipmentID }
        case (24, 2, 1), (24, 2, 3), (24, 3, 0):
            // A channel may carry both 24.2.1 and 24.2.3; keep the first real reading.
            guard device.isPlaceholder else { return }
            guard case .reading(let number, let unitRange, let time) = interpret(object), let number else { return }
            let unit = unitRange.map { text($0) }
            let deadChannel = (unit == nil && number.isZero) || time.map { $0.secondsSince1970 < 86_400 * 366 } == true
            device.readingCode = code
            device.reading = deadChannel ? nil : number
            device.unit = deadChannel ? nil : unit
            device.timestamp = deadChannel ? nil : time
            device.isPlaceholder = deadChannel
        case (24, 4, 0):
            if case .number(let number, _) = interpret(object), number.scale == 0 { device.valvePosition = Int(number.mantissa) }
        case (96, 3, 10):
            if case .number(let number, _) = interpret(object), number.scale == 0 { device.breakerState = Int(number.mantissa) }
        default:
            break
        }
    }
}
