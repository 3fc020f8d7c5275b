import Mapping

/// The JSON form of a telegram, shared by `p1mqtt parse` and the MQTT telegram topic:
///
/// ```json
/// {"variant":"dsmr5","header":"/ISk5\\2MT382-1000","crc":"valid","encrypted":false,"p1_version":"50",
///  "timestamp":"2017-01-02T18:20:02Z","equipment_id":"K8EG004046395507",
///  "objects":{"1-0:1.8.1":{"value":4.426,"unit":"kWh"}, "0-1:24.2.1":{"value":0.107,"unit":"m3","timestamp":"…"}},
///  "mbus":[{"channel":1,"device_type":3,"kind":"gas","equipment_id":"…","value":0.107,"unit":"m3",
///           "timestamp":"…","placeholder":false}]}
/// ```
/// Objects are keyed by their OBIS code; values are JSON numbers with the meter's digits, hex-encoded text is
/// decoded (with `raw` kept), and multi-value objects (failure log, peak history) are arrays of entries.
public enum TelegramJSON {
    /// Writes one telegram as a JSON object.
    public static func write(_ telegram: Telegram, to json: inout JSONWriter) {
        json.beginObject()
        json.key("variant")
        json.string(telegram.variant.rawValue)
        json.key("header")
        json.string(bytes: telegram.bytes[0..<telegram.headerEnd])
        json.key("crc")
        json.string(telegram.crc.rawValue)
        json.key("encrypted")
        json.bool(telegram.encrypted)
        if let version = telegram.p1Version {
            json.key("p1_version")
            json.string(version)
        }
        if let timestamp = telegram.timestamp {
            json.key("timestamp")
            json.timestamp(timestamp)
        }
        if let id = telegram.equipmentID {
            json.key("equipment_id")
            json.string(id)
        }
        json.key("objects")
        json.beginObject()
        for object in telegram.objects {
            json.key(object.code)
            writeValue(telegram.interpret(object), telegram, &json)
        }
        json.endObject()
        json.key("mbus")
        json.beginArray()
        for device in telegram.mbusDevices {
            write(device, to: &json)
        }
        json.endArray()
        if telegram.skippedLines > 0 {
            json.key("skipped_lines")
            json.number(telegram.skippedLines)
        }
        json.endObject()
    }

    /// One telegram as a JSON string.
    public static func string(_ telegram: Telegram) -> String {
        var json = JSONWriter()
        write(telegram, to: &json)
        return String(decoding: json.bytes, as: UTF8.self)
    }

    static func write(_ device: MBusDevice, to json: inout JSONWriter) {
        json.beginObject()
        json.key("channel")
        json.number(device.channel)
        json.key("device_type")
        if let type = device.deviceType { json.number(type) } else { json.null() }
        json.key("kind")
        if let kind = device.kind { json.string(kind.name) } else { json.null() }
        json.key("equipment_id")
        if let id = device.equipmentID { json.string(id) } else { json.null() }
        json.key("value")
        if let reading = device.reading { json.number(reading) } else { json.null() }
        json.key("unit")
        if let unit = device.unit { json.string(unit) } else { json.null() }
        json.key("timestamp")
        if let time = device.timestamp { json.timestamp(time) } else { json.null() }
        json.key("placeholder")
        json.bool(device.isPlaceholder)
        json.endObject()
    }

    private static func writeValue(_ value: InterpretedValue, _ telegram: Telegram, _ json: inout JSONWriter) {
        switch value {
        case .entries(let entries):
            json.beginArray()
            for entry in entries {
                json.beginObject()
                json.key("value")
                if let number = entry.value { json.number(number) } else { json.null() }
                if let unit = entry.unit {
                    json.key("unit")
                    json.string(bytes: telegram.bytes[unit])
                }
                if let start = entry.periodStart {
                    json.key("period_start")
                    json.timestamp(start)
                }
                json.key("timestamp")
                if let time = entry.timestamp { json.timestamp(time) } else { json.null() }
                json.endObject()
            }
            json.endArray()
        case .list(let values):
            json.beginArray()
            for value in values { writeValue(value, telegram, &json) }
            json.endArray()
        default:
            json.beginObject()
            writeFields(value, telegram, &json)
            json.endObject()
        }
    }

    private static func writeFields(_ value: InterpretedValue, _ telegram: Telegram, _ json: inout JSONWriter) {
        json.key("value")
        switch value {
        case .empty:
            json.null()
        case .number(let number, let unit):
            json.number(number)
            if let unit {
                json.key("unit")
                json.string(bytes: telegram.bytes[unit])
            }
        case .text(let range):
            json.string(bytes: telegram.bytes[range])
        case .hexText(let range):
            let decoded = telegram.bytes.withUnsafeBufferPointer { decodeHexText(UnsafeBufferPointer(rebasing: $0[range])) }
            if let decoded {
                json.string(decoded)
                json.key("raw")
            }
            json.string(bytes: telegram.bytes[range])
        case .timestamp(let time):
            if let time { json.timestamp(time) } else { json.null() }
        case .reading(let number, let unit, let time):
            if let number { json.number(number) } else { json.null() }
            if let unit {
                json.key("unit")
                json.string(bytes: telegram.bytes[unit])
            }
            json.key("timestamp")
            if let time { json.timestamp(time) } else { json.null() }
        case .entries, .list:
            json.null()
        }
    }
}
