import Mapping
import NIOHTTP1
import P1MQTT

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What to do with a request.
enum RouteAction: Sendable {
    /// Answer with this response.
    case respond(WebResponse)
    /// Start a server-sent event stream.
    case events
    /// Read the history (off the event loop) and answer with it.
    case history(PeriodKind, from: Int64?, to: Int64?)
}

/// Decides what each request gets: method and token checks, then one handler per path. Everything but the
/// history is answered from memory, so it runs on the event loop.
struct WebRouter: Sendable {
    let configuration: WebConfiguration
    let live: LiveState
    let history: (any HistoryReading)?
    let stream: EventStream?

    /// The most history records one request may span (about 2.3 years of hours).
    static let maximumRecords: Int64 = 20_000

    /// Routes one request. `now` is the wall clock in seconds since 1970.
    func route(method: HTTPMethod, uri: String, headers: HTTPHeaders, now: Double) -> RouteAction {
        guard method == .GET || method == .HEAD else {
            var response = WebResponse.error(.methodNotAllowed, "only GET and HEAD: no endpoint changes anything")
            response.headers.append(("Allow", "GET, HEAD"))
            return .respond(response)
        }
        let (path, query) = Self.split(uri)
        if path == "/healthz" { return .respond(health(now: now)) }
        if let token = configuration.token {
            let queryAllowed = path == "/" || path == "/events"
            let given = Self.bearer(headers) ?? (queryAllowed ? query["token"] : nil)
            guard let given, Self.constantTimeEqual(given, token) else {
                var response = WebResponse.error(.unauthorized, given == nil
                    ? "a token is required: send 'Authorization: Bearer <token>'" + (queryAllowed ? " or add ?token=<token>" : "")
                    : "the token is wrong")
                response.headers.append(("WWW-Authenticate", "Bearer realm=\"p1mqtt\""))
                return .respond(response)
            }
        }
        switch path {
        case "/", "/index.html": return .respond(WebPage.response)
        case "/events": return .events
        case "/api/v1/telegram": return .respond(telegram())
        case "/api/v1/readings": return .respond(readings())
        case "/api/v1/devices": return .respond(devices())
        case "/api/v1/stats": return .respond(stats())
        case "/metrics": return .respond(metrics())
        default: break
        }
        if path.hasPrefix("/api/v1/history/") {
            return historyRoute(String(path.dropFirst("/api/v1/history/".count)), query: query, now: now)
        }
        return .respond(.error(.notFound, "no such page: the API is under /api/v1/ (see docs/openapi.json)"))
    }

    // MARK: - Live values

    private static let noTelegram = "no telegram has arrived yet"

    private func telegram() -> WebResponse {
        guard let latest = live.latest else { return .error(.serviceUnavailable, Self.noTelegram) }
        var response = WebResponse.json(latest.update.json)
        response.headers.append(("Last-Modified", HTTPDate.string(latest.update.receivedAt)))
        return response
    }

    private func readings() -> WebResponse {
        guard let latest = live.latest else { return .error(.serviceUnavailable, Self.noTelegram) }
        var response = WebResponse.json(latest.readingsJSON)
        response.headers.append(("Last-Modified", HTTPDate.string(latest.update.receivedAt)))
        return response
    }

    /// `{"meter":{…},"mbus":[{…}]}`.
    private func devices() -> WebResponse {
        guard let latest = live.latest else { return .error(.serviceUnavailable, Self.noTelegram) }
        let telegram = latest.update.telegram
        var json = JSONWriter(capacity: 1024)
        json.beginObject()
        json.key("meter")
        json.beginObject()
        json.key("equipment_id")
        if let id = telegram.equipmentID { json.string(id) } else { json.null() }
        json.key("variant")
        json.string(telegram.variant.rawValue)
        json.key("variant_name")
        json.string(telegram.variant.displayName)
        json.key("header")
        json.string(telegram.header)
        json.key("manufacturer")
        if let name = telegram.manufacturerFlag.flatMap(ManufacturerFlag.name(for:)) { json.string(name) } else { json.null() }
        json.key("p1_version")
        if let version = telegram.p1Version { json.string(version) } else { json.null() }
        LiveSnapshot.writeTimes(latest.update, to: &json)
        json.endObject()
        json.key("mbus")
        json.beginArray()
        for device in telegram.mbusDevices where !device.isPlaceholder {
            let segment = ReadingMapper.deviceSegment(device)
            let reading = latest.update.readings.first { $0.value.device == segment && $0.value.key == "reading" }
            json.beginObject()
            json.key("channel")
            json.number(device.channel)
            json.key("kind")
            json.string(device.kind?.name ?? "unknown")
            json.key("device_type")
            if let type = device.deviceType { json.number(type) } else { json.null() }
            json.key("path")
            json.string(segment)
            json.key("equipment_id")
            if let id = device.equipmentID { json.string(id) } else { json.null() }
            json.key("value")
            if let number = reading?.payload.number ?? device.reading { json.number(number) } else { json.null() }
            json.key("unit")
            if let unit = reading?.unit ?? device.unit { json.string(unit) } else { json.null() }
            json.key("timestamp")
            if let time = device.timestamp { json.timestamp(time) } else { json.null() }
            json.endObject()
        }
        json.endArray()
        json.endObject()
        var response = WebResponse.json(json.bytes)
        response.headers.append(("Last-Modified", HTTPDate.string(latest.update.receivedAt)))
        return response
    }

    private func stats() -> WebResponse {
        guard let status = live.status() else { return .error(.serviceUnavailable, "the bridge has not started yet") }
        return .json(status.statistics)
    }

    private func metrics() -> WebResponse {
        let body = PrometheusMetrics.render(snapshot: live.latest, status: live.status(), events: stream?.statistics)
        return WebResponse(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8", body: body)
    }

    /// 200 when a telegram arrived within the health window and MQTT is connected or not configured.
    func health(now: Double) -> WebResponse {
        let status = live.status()
        let age = status?.secondsSinceLastTelegram ?? live.latest.map { max(0, now - $0.update.receivedAt) }
        var problem: String?
        if let age {
            if age > configuration.healthWindow {
                problem = "no telegram for \(Int(age)) s (more than \(Int(configuration.healthWindow)) s)"
            }
        } else {
            problem = Self.noTelegram
        }
        if problem == nil, status?.mqtt == .disconnected { problem = "not connected to the MQTT broker" }
        var json = JSONWriter(capacity: 256)
        json.beginObject()
        json.key("status")
        json.string(problem == nil ? "ok" : "unhealthy")
        json.key("reason")
        if let problem { json.string(problem) } else { json.null() }
        json.key("last_telegram_age")
        if let age { json.number(MeterNumber(mantissa: Int64((age * 10).rounded()), scale: 1)) } else { json.null() }
        json.key("mqtt")
        json.string(status?.mqtt.rawValue ?? "unknown")
        json.key("source")
        if let source = status?.sourceState { json.string(source) } else { json.null() }
        json.endObject()
        return .json(json.bytes, status: problem == nil ? .ok : .serviceUnavailable)
    }

    // MARK: - History

    private func historyRoute(_ name: String, query: [String: String], now: Double) -> RouteAction {
        guard let kind = PeriodKind(rawValue: name) else {
            return .respond(.error(.notFound, "no such history: use hours, days or months"))
        }
        guard history != nil else {
            return .respond(.error(.notFound, "the history is off (no history database configured)"))
        }
        let offset = live.latest?.update.telegram.variant.standardUTCOffset ?? 3600
        var from: Int64?, to: Int64?
        do throws(RangeQuery.Invalid) {
            if let text = query["from"] { from = try RangeQuery.seconds(text, standardOffset: offset) }
            if let text = query["to"] { to = try RangeQuery.seconds(text, standardOffset: offset) }
        } catch {
            return .respond(.error(.badRequest, error.reason))
        }
        let length: Int64 = switch kind {
        case .hours: 3600
        case .days: 86_400
        case .months: 31 * 86_400
        }
        let defaultCount: Int64 = switch kind {
        case .hours: 48
        case .days: 14
        case .months: 24
        }
        let start = from ?? ((to ?? Int64(now)) - (kind == .months ? 730 * 86_400 : defaultCount * length))
        if let to, to <= start {
            return .respond(.error(.badRequest, "'to' must be after 'from'"))
        }
        if ((to ?? Int64(now)) - start) / length > Self.maximumRecords {
            return .respond(.error(.badRequest, "the range is too long: at most \(Self.maximumRecords) \(kind.rawValue) per request"))
        }
        return .history(kind, from: start, to: to)
    }

    /// The answer for records read from the history.
    static func historyResponse(_ result: Result<[PeriodRecord], HistoryError>) -> WebResponse {
        switch result {
        case .success(let records):
            var json = JSONWriter(capacity: 256 * (records.count + 1))
            json.beginArray()
            for record in records { record.write(to: &json) }
            json.endArray()
            return .json(json.bytes)
        case .failure(let error):
            return .error(.serviceUnavailable, "the history cannot be read: \(error.description)")
        }
    }

    // MARK: - Request parsing

    /// The path and the decoded query parameters of a request target.
    static func split(_ uri: String) -> (path: String, query: [String: String]) {
        let bytes = Array(uri.utf8)
        guard let mark = bytes.firstIndex(of: UInt8(ascii: "?")) else { return (percentDecoded(bytes[...]), [:]) }
        var query: [String: String] = [:]
        for pair in bytes[(mark + 1)...].split(separator: UInt8(ascii: "&")) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let key = percentDecoded(parts[0])
            if query[key] == nil { query[key] = parts.count > 1 ? percentDecoded(parts[1]) : "" }
        }
        return (percentDecoded(bytes[..<mark]), query)
    }

    private static func percentDecoded(_ bytes: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        func hex(_ byte: UInt8) -> UInt8? {
            switch byte {
            case 48...57: byte - 48
            case 65...70: byte - 55
            case 97...102: byte - 87
            default: nil
            }
        }
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%"), index + 2 < bytes.endIndex, let high = hex(bytes[index + 1]), let low = hex(bytes[index + 2]) {
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The token of an `Authorization: Bearer <token>` header.
    static func bearer(_ headers: HTTPHeaders) -> String? {
        guard let value = headers.first(name: "authorization") else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return String(parts[1]).trimmingSpaces
    }

    /// Compares without stopping at the first difference, so the time taken does not reveal how much of a
    /// guessed token was right.
    static func constantTimeEqual(_ lhs: String, _ rhs: String) -> Bool {
        let a = Array(lhs.utf8), b = Array(rhs.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }

    /// Seconds since 1970 by the wall clock.
    static func wallClock() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

private extension String {
    var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
