import Foundation
import Logging
import P1MQTT
@testable import P1MQTTWeb
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The history in memory, for the web tests (the real store is tested on its own).
final class MemoryHistory: HistoryReading, @unchecked Sendable {
    // @unchecked: `records` and `failure` are only touched under `lock`.
    private let lock = NSLock()
    private var stored: [PeriodRecord]
    private var failure: String?
    /// The ranges asked for, for checking how from/to were read.
    private(set) var queries: [(PeriodKind, Int64?, Int64?)] = []

    init(_ records: [PeriodRecord] = []) {
        stored = records
    }

    func fail(with message: String?) {
        lock.withLock { failure = message }
    }

    var lastQuery: (PeriodKind, Int64?, Int64?)? { lock.withLock { queries.last } }

    func records(_ kind: PeriodKind, from: Int64?, to: Int64?) throws(HistoryError) -> [PeriodRecord] {
        let (records, failure) = lock.withLock { () -> ([PeriodRecord], String?) in
            queries.append((kind, from, to))
            return (stored, self.failure)
        }
        if let failure { throw HistoryError(failure) }
        return records.filter { record in
            record.kind == kind && record.start >= (from ?? .min) && record.start < (to ?? .max)
        }
    }

    /// 48 hours, 14 days and 24 months ending with the period in progress at `now`, with some energy.
    static func sample(now: Int64) -> MemoryHistory {
        var records: [PeriodRecord] = []
        let hour = now - now % 3600
        for index in 0..<48 {
            let start = hour - Int64(47 - index) * 3600
            records.append(PeriodRecord(kind: .hours, start: start, end: start + 3600, utcOffset: 3600,
                                        importWh: [Int64(200 + index * 10), 0, 0, 0], exportWh: [Int64(index % 5) * 50, 0, 0, 0],
                                        gasLitres: Int64(index * 7), peakPowerW: 2500, telegrams: 360, complete: index < 47))
        }
        let day = now - now % 86_400 - 3600
        for index in 0..<14 {
            let start = day - Int64(13 - index) * 86_400
            records.append(PeriodRecord(kind: .days, start: start, end: start + 86_400, utcOffset: 3600,
                                        importWh: [Int64(4000 + index * 300), 3000, 0, 0], exportWh: [1000, Int64(index * 100), 0, 0],
                                        gasLitres: 2500, peakPowerW: 4000, telegrams: 8640, complete: index < 13))
        }
        for index in 0..<24 {
            let start = now - Int64(23 - index) * 30 * 86_400
            records.append(PeriodRecord(kind: .months, start: start, end: start + 30 * 86_400, utcOffset: 3600,
                                        importWh: [Int64(150_000 + index * 1000), 100_000, 0, 0], exportWh: [50_000, 20_000, 0, 0],
                                        gasLitres: Int64(60_000 + index * 500), telegrams: 259_200, complete: index < 23))
        }
        return MemoryHistory(records)
    }
}

/// Telegrams from `examples/telegrams`, and updates built the way the bridge builds them.
enum WebFixtures {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static func telegram(_ name: String) throws -> Telegram {
        let bytes = try [UInt8](Data(contentsOf: repository.appendingPathComponent("examples/telegrams/\(name).txt")))
        return try decode(bytes)
    }

    static func decode(_ bytes: [UInt8]) throws -> Telegram {
        var decoder = TelegramDecoder()
        var events = decoder.decodeAll(bytes)
        decoder.finish { events.append($0) }
        for event in events {
            if case .telegram(let telegram) = event { return telegram }
        }
        throw Failure("no telegram decoded from \(bytes.count) bytes: \(events)")
    }

    static func update(_ telegram: Telegram, receivedAt: Double = Date().timeIntervalSince1970) -> TelegramUpdate {
        var json = JSONWriter()
        TelegramJSON.write(telegram, to: &json)
        return TelegramUpdate(telegram: telegram, readings: ReadingMapper.readings(of: telegram), json: json.bytes,
                              receivedAt: receivedAt)
    }

    static func status(age: Double? = 1, mqtt: BridgeStatus.MQTTState = .connected, rejected: [String: Int] = ["crc": 2]) -> BridgeStatus {
        let statistics = #"{"version":"0.1.0","uptime":12,"source":{"name":"test","state":"connected"},"telegrams":{"accepted":3,"rejected":2,"rejected_by_reason":{"crc":2},"bytes":100,"skipped_bytes":0},"last_telegram":"2025-11-21T04:40:00Z","last_telegram_age":1,"anomalies_withheld":0,"register_resets":0,"mqtt":null}"#
        return BridgeStatus(statistics: Array(statistics.utf8), telegramsAccepted: 3, telegramsRejected: rejected,
                            secondsSinceLastTelegram: age, sourceState: "connected", mqtt: mqtt, mqttReconnects: 1,
                            messagesPublished: 42, uptime: 12.5)
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}

/// A WebServer running on a free port of 127.0.0.1 for one test.
final class RunningServer: Sendable {
    let server: WebServer
    let live: LiveState
    let port: Int
    private let task: Task<Void, any Error>

    init(configuration: WebConfiguration = WebConfiguration(port: 0), live: LiveState = LiveState(),
         history: (any HistoryReading)? = nil) async throws {
        var configuration = configuration
        configuration.port = 0
        var logger = Logger(label: "p1mqtt.web.test")
        logger.logLevel = .warning
        let server = WebServer(configuration: configuration, live: live, history: history, logger: logger)
        self.server = server
        self.live = live
        task = Task { try await server.run() }
        guard let port = await server.listeningPort(timeout: 60) else {
            task.cancel()
            _ = await task.result
            throw WebFixtures.Failure("the web server did not start")
        }
        self.port = port
    }

    /// Stops the server and waits until it has.
    func stop() async {
        task.cancel()
        _ = await task.result
    }

    func get(_ path: String, method: String = "GET", headers: [String: String] = [:]) async throws -> HTTPTestResponse {
        try await HTTPTestClient.request(port: port, method: method, path: path, headers: headers)
    }
}

/// One parsed HTTP response.
struct HTTPTestResponse {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]

    func header(_ name: String) -> String? { headers[name.lowercased()] }
    var text: String { String(decoding: body, as: UTF8.self) }
    func json() throws -> Any { try JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]) }
}

/// A blocking HTTP/1.1 client on a raw socket: exact control over what is sent, and nothing hidden (no
/// redirects, caches or retries).
enum HTTPTestClient {
    static func connect(port: Int, receiveBuffer: Int32? = nil) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw WebFixtures.Failure("socket: \(errno)") }
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(fd)
            throw WebFixtures.Failure("connect to port \(port): \(String(cString: strerror(errno)))")
        }
        return fd
    }

    static func send(_ fd: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw WebFixtures.Failure("send: \(String(cString: strerror(errno)))") }
            offset += sent
        }
    }

    /// Reads whatever arrives within `timeout` seconds (until the peer closes, `done` says so, or time is up),
    /// on a thread of its own: blocking a thread of Swift's small cooperative pool could starve the server
    /// under test when the whole suite runs in parallel.
    static func receive(_ fd: Int32, timeout: Double, until done: @escaping @Sendable ([UInt8]) -> Bool = { _ in false }) async -> [UInt8] {
        (try? await offPool { receiveBlocking(fd, timeout: timeout, until: done) }) ?? []
    }

    static func receiveBlocking(_ fd: Int32, timeout: Double, until done: ([UInt8]) -> Bool) -> [UInt8] {
        var received: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while Date() < deadline, !done(received) {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, Int32(max(1, deadline.timeIntervalSinceNow * 1000)))
            if ready <= 0 { continue }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            received += buffer[0..<count]
        }
        return received
    }

    static func request(port: Int, method: String = "GET", path: String, headers: [String: String] = [:],
                        body: [UInt8] = []) async throws -> HTTPTestResponse {
        try await offPool { try requestBlocking(port: port, method: method, path: path, headers: headers, body: body) }
    }

    static func requestBlocking(port: Int, method: String, path: String, headers: [String: String],
                                body: [UInt8]) throws -> HTTPTestResponse {
        let fd = try connect(port: port)
        defer { close(fd) }
        var text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if !body.isEmpty { text += "Content-Length: \(body.count)\r\n" }
        text += "\r\n"
        try send(fd, Array(text.utf8) + body)
        let raw = receiveBlocking(fd, timeout: 10) { _ in false }
        return try parse(raw, method: method)
    }

    static func parse(_ raw: [UInt8], method: String = "GET") throws -> HTTPTestResponse {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = raw.indices.first(where: { raw[$0...].starts(with: separator) }) else {
            throw WebFixtures.Failure("no complete response head in \(raw.count) bytes: \(String(decoding: raw, as: UTF8.self))")
        }
        let lines = String(decoding: raw[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw WebFixtures.Failure("bad status line \(lines[0])") }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers[name] = headers[name].map { $0 + ", " + value } ?? value
        }
        var body = Array(raw[(end + 4)...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" { body = dechunk(body) }
        if method == "HEAD" { body = [] }
        return HTTPTestResponse(status: status, headers: headers, body: body)
    }

    /// The payload of a chunked body (as far as it arrived).
    static func dechunk(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            guard let lineEnd = bytes[index...].firstIndex(of: 10) else { break }
            let sizeText = String(decoding: bytes[index..<lineEnd], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let size = Int(sizeText.split(separator: ";").first ?? "", radix: 16), size > 0 else { break }
            let start = lineEnd + 1
            let end = min(bytes.count, start + size)
            out += bytes[start..<end]
            index = end + 2
        }
        return out
    }
}

/// Runs blocking work (sockets, long loops) on a Dispatch thread instead of the cooperative pool.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}
