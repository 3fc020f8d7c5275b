import Mapping

extension Telegram {
    /// Interprets a line by the catalogue's layout for its code; lines of unknown codes by their shape.
    func interpret(_ object: DataObject) -> InterpretedValue {
        bytes.withUnsafeBufferPointer { buffer in
            let start = Int(object.firstGroup)
            let lineGroups = groups[start..<(start + Int(object.groupCount))]
            guard let first = lineGroups.first else { return .empty }
            guard let layout = object.definition?.layout else { return interpretByShape(lineGroups, buffer) }
            switch layout {
            case .number:
                return lineGroups.count == 1 ? single(first, buffer, preferNumber: true)
                    : interpretByShape(lineGroups, buffer)
            case .text:
                return first.isEmpty ? .empty : .text(first.range)
            case .hexText:
                return first.isEmpty ? .empty : .hexText(first.range)
            case .timestamp:
                return first.isEmpty ? .empty : .timestamp(timestamp(first, buffer))
            case .timestampedNumber:
                guard lineGroups.count >= 2 else { return single(first, buffer, preferNumber: true) }
                let valueGroup = lineGroups[start + 1]
                let (number, unit) = numberWithUnit(valueGroup, buffer)
                return .reading(number, unit: unit, timestamp: timestamp(first, buffer))
            case .profile:
                return profile(lineGroups, buffer) ?? interpretByShape(lineGroups, buffer)
            case .legacyReading:
                // (YYMMDDhhmmss)(00)(60)(1)(0-1:24.2.1)(m3) and, on the next line, (00001.001)
                guard lineGroups.count >= 7 else { return interpretByShape(lineGroups, buffer) }
                let unitGroup = lineGroups[start + 5]
                let (number, _) = numberWithUnit(lineGroups[start + 6], buffer)
                return .reading(number, unit: unitGroup.isEmpty ? nil : unitGroup.range,
                                timestamp: timestamp(first, buffer))
            case .numbers:
                return .list(lineGroups.map { single($0, buffer, preferNumber: true) })
            case .registerSnapshot:
                // (ts)(value*unit)…: entries of that time. A value that is not a number stays in its place as
                // an empty entry, so the positions of the others keep their meaning.
                guard case .timestamp(let time) = single(first, buffer, preferNumber: false) else {
                    return interpretByShape(lineGroups, buffer)
                }
                return .entries(lineGroups.dropFirst().map {
                    let (number, unit) = numberWithUnit($0, buffer)
                    return InterpretedEntry(timestamp: time, value: number, unit: number == nil ? nil : unit)
                })
            }
        }
    }

    /// Unknown codes: one group by its content; a timestamp and a number as a reading; a profile buffer;
    /// a timestamp followed by several numbers (E.ON's month-end registers) as entries of that time.
    private func interpretByShape(_ lineGroups: ArraySlice<ValueGroup>, _ buffer: UnsafeBufferPointer<UInt8>)
        -> InterpretedValue
    {
        guard let first = lineGroups.first else { return .empty }
        if lineGroups.count == 1 { return single(first, buffer, preferNumber: true) }
        if let entries = profile(lineGroups, buffer) { return entries }
        if case .timestamp(let time) = single(first, buffer, preferNumber: false) {
            let rest = lineGroups.dropFirst()
            if rest.count == 1 {
                let (number, unit) = numberWithUnit(rest[rest.startIndex], buffer)
                if number != nil { return .reading(number, unit: unit, timestamp: time) }
            } else if rest.allSatisfy({ numberWithUnit($0, buffer).0 != nil }) {
                return .entries(rest.map {
                    let (number, unit) = numberWithUnit($0, buffer)
                    return InterpretedEntry(timestamp: time, value: number, unit: unit)
                })
            }
        }
        return .list(lineGroups.map { single($0, buffer, preferNumber: true) })
    }

    private func single(_ group: ValueGroup, _ buffer: UnsafeBufferPointer<UInt8>, preferNumber: Bool)
        -> InterpretedValue
    {
        if group.isEmpty { return .empty }
        let content = UnsafeBufferPointer(rebasing: buffer[group.range])
        if content.count == 13, content[12] == 0x53 || content[12] == 0x57,
            content.prefix(12).allSatisfy({ $0 &- 0x30 < 10 })
        {
            return .timestamp(MeterTimestamp(content, standardOffset: variant.standardUTCOffset))
        }
        let (number, unit) = numberWithUnit(group, buffer)
        if let number, preferNumber { return .number(number, unit: unit) }
        return .text(group.range)
    }

    private func numberWithUnit(_ group: ValueGroup, _ buffer: UnsafeBufferPointer<UInt8>)
        -> (MeterNumber?, Range<Int>?)
    {
        let range = group.range
        var star = range.lowerBound
        while star < range.upperBound, buffer[star] != 0x2A { star += 1 }
        let number = MeterNumber(UnsafeBufferPointer(rebasing: buffer[range.lowerBound..<star]))
        let unit = star + 1 < range.upperBound ? (star + 1)..<range.upperBound : nil
        return (number, unit)
    }

    private func timestamp(_ group: ValueGroup, _ buffer: UnsafeBufferPointer<UInt8>) -> MeterTimestamp? {
        MeterTimestamp(UnsafeBufferPointer(rebasing: buffer[group.range]), standardOffset: variant.standardUTCOffset)
    }

    /// `(n)(obis)…(obis)` then n entries of (number of obis) timestamps and one value.
    private func profile(_ lineGroups: ArraySlice<ValueGroup>, _ buffer: UnsafeBufferPointer<UInt8>)
        -> InterpretedValue?
    {
        guard let countGroup = lineGroups.first,
            let count = MeterNumber(UnsafeBufferPointer(rebasing: buffer[countGroup.range])),
            count.scale == 0, count.mantissa >= 0
        else { return nil }
        var index = lineGroups.startIndex + 1
        var references = 0
        while index < lineGroups.endIndex,
            let (_, end) = ObisCode.parse(UnsafeBufferPointer(rebasing: buffer[lineGroups[index].range]), from: 0),
            end == lineGroups[index].range.count
        {
            references += 1
            index += 1
        }
        guard references > 0 || (count.mantissa == 0 && lineGroups.count <= 2) else { return nil }
        let perEntry = references + 1
        var entries: [InterpretedEntry] = []
        var remaining = Int(min(count.mantissa, 100))
        while remaining > 0, index + perEntry <= lineGroups.endIndex {
            let (number, unit) = numberWithUnit(lineGroups[index + perEntry - 1], buffer)
            entries.append(InterpretedEntry(
                periodStart: perEntry > 2 ? timestamp(lineGroups[index], buffer) : nil,
                timestamp: timestamp(lineGroups[index + perEntry - 2], buffer),
                value: number, unit: unit))
            index += perEntry
            remaining -= 1
        }
        return .entries(entries)
    }
}
