import Mapping
import P1MQTT

/// The latest accepted telegram with the documents built from it once, when it arrived: the readings
/// document (answer of `GET /api/v1/readings`) and the same document framed as one server-sent event.
/// Immutable, so requests and event clients share it without copying.
final class LiveSnapshot: Sendable {
    /// The telegram as the bridge handed it over.
    let update: TelegramUpdate
    /// `{"received_at":…,"meter_time":…,"readings":[…]}`.
    let readingsJSON: [UInt8]
    /// `data: <readingsJSON>\n\n`, written as is to every `/events` client.
    let event: [UInt8]
    /// 1 for the first telegram since start, then counting up.
    let sequence: Int

    init(update: TelegramUpdate, sequence: Int) {
        self.update = update
        self.sequence = sequence
        readingsJSON = Self.readingsDocument(update, sequence: sequence)
        var event: [UInt8] = []
        event.reserveCapacity(readingsJSON.count + 32)
        event.append(contentsOf: "id: \(sequence)\ndata: ".utf8)
        // A line feed would end the `data:` field early; JSONWriter escapes them inside strings, and between
        // tokens a space means the same.
        let start = event.count
        event.append(contentsOf: readingsJSON)
        if readingsJSON.contains(where: { $0 == 0x0A || $0 == 0x0D }) {
            for index in start..<event.count where event[index] == 0x0A || event[index] == 0x0D { event[index] = 0x20 }
        }
        event.append(contentsOf: [0x0A, 0x0A])
        self.event = event
    }

    /// The readings document: every mapped value with its name and unit.
    static func readingsDocument(_ update: TelegramUpdate, sequence: Int) -> [UInt8] {
        var json = JSONWriter(capacity: 8192)
        json.beginObject()
        json.key("sequence")
        json.number(sequence)
        writeTimes(update, to: &json)
        json.key("readings")
        json.beginArray()
        for reading in update.readings {
            write(reading, to: &json)
        }
        json.endArray()
        json.endObject()
        return json.bytes
    }

    /// `received_at` (ISO 8601 UTC), `received_at_unix` (seconds) and `meter_time` (the telegram's clock).
    static func writeTimes(_ update: TelegramUpdate, to json: inout JSONWriter) {
        json.key("received_at")
        json.timestamp(MeterTimestamp(secondsSince1970: Int64(update.receivedAt.rounded(.down))))
        json.key("received_at_unix")
        json.number(MeterNumber(mantissa: Int64((update.receivedAt * 1000).rounded(.down)), scale: 3))
        json.key("meter_time")
        if let time = update.telegram.timestamp { json.timestamp(time) } else { json.null() }
    }

    /// One reading: `{"key":…,"device":…,"path":…,"name":…,"value":…,"unit":…,"kind":…}`.
    static func write(_ reading: Reading, to json: inout JSONWriter) {
        json.beginObject()
        json.key("key")
        json.string(reading.value.key)
        json.key("device")
        if let device = reading.value.device { json.string(device) } else { json.null() }
        json.key("path")
        json.string(reading.value.path)
        json.key("name")
        json.string(name(of: reading))
        json.key("value")
        switch reading.payload {
        case .number(let number): json.number(number)
        case .text(let text): json.string(text)
        case .json(let document): json.raw(document)
        }
        json.key("unit")
        if let unit = reading.unit { json.string(unit) } else { json.null() }
        json.key("kind")
        switch reading.kind {
        case .register: json.string("register")
        case .measurement: json.string("measurement")
        case .state: json.string("state")
        }
        json.endObject()
    }

    /// The catalogue's name (`Energy import tariff 1`), the key for values the catalogue does not know.
    static func name(of reading: Reading) -> String {
        let scope: ObisDefinition.Scope = reading.value.device == nil ? .meter : .mbus
        return ObisCatalogue.definition(forKey: reading.value.key, scope: scope)?.name ?? reading.value.key
    }
}
