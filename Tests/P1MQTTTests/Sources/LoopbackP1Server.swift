#if canImport(Glibc)
import P1MQTTTestSupport
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization
@testable import P1MQTT

/// A scriptable TCP server on 127.0.0.1 standing in for ser2net or a network P1 dongle: tests make it send
/// bytes, reset its connections, stop listening (so connects are refused) and listen again on the same port.
///
/// A thread of its own accepts connections (so no test blocks a thread of the cooperative pool); only that
/// thread opens and closes the listening socket. Accepted connections are blocking sockets written by the test.
final class LoopbackP1Server: Sendable {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private struct State {
        var listener: Int32 = -1
        var wantListening = true
        var connections: [Int32] = []
        var accepted = 0
        var acceptTimes: [Double] = []
        var shuttingDown = false
        var threadEnded = false
        var bindError: String?
    }

    /// The port, chosen by the system on creation and kept across stop/start.
    let port: Int
    private let state = Mutex(State())

    /// Binds a free port on 127.0.0.1 and starts accepting.
    init() throws {
        let fd = try Self.openListener(port: 0)
        port = try Self.boundPort(fd)
        state.withLock { $0.listener = fd }
        guard DetachedThread.start({ [self] in acceptLoop() }) else {
            close(fd)
            throw Failure(description: "cannot start the test server's thread")
        }
    }

    /// How many connections were accepted so far.
    var acceptedCount: Int { state.withLock { $0.accepted } }

    /// The seconds between one accepted connection and the next (measured here, so the test's own scheduling
    /// delays do not enter).
    var acceptIntervals: [Double] {
        let times = state.withLock { $0.acceptTimes }
        return zip(times.dropFirst(), times).map { $0 - $1 }
    }

    /// Polls until at least `count` connections were accepted; returns whether that happened in time.
    func waitForAccepts(_ count: Int, timeout: Duration = .seconds(10)) async -> Bool {
        await TCPTestSupport.eventually(timeout: timeout) { self.acceptedCount >= count }
    }

    /// Writes `bytes` to the newest connection; false if there is none or the write failed.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        guard let fd = state.withLock({ $0.connections.last }) else { return false }
        return Self.write(bytes, to: fd)
    }

    /// Writes `bytes` to the newest connection in pieces of random length (1…`maximumPiece`), pausing briefly
    /// after each so the pieces leave as separate segments.
    func sendInPieces(_ bytes: [UInt8], seed: UInt64, maximumPiece: Int) async -> Bool {
        guard let fd = state.withLock({ $0.connections.last }) else { return false }
        var noDelay: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
        var random = SplitMix64(seed: seed)
        var offset = 0
        while offset < bytes.count {
            let length = min(Int.random(in: 1...maximumPiece, using: &random), bytes.count - offset)
            guard Self.write(Array(bytes[offset..<offset + length]), to: fd) else { return false }
            offset += length
            try? await Task.sleep(for: .milliseconds(Int.random(in: 0...3, using: &random)))
        }
        return true
    }

    /// Closes every accepted connection with a reset (SO_LINGER 0), as a crashing bridge or a cut cable would.
    func resetConnections() {
        let connections = state.withLock { state in
            defer { state.connections.removeAll() }
            return state.connections
        }
        for fd in connections {
            var linger = linger(l_onoff: 1, l_linger: 0)
            _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
            close(fd)
        }
    }

    /// Whether the newest connection was closed by the client (a read would return end of file).
    var newestClosedByPeer: Bool {
        guard let fd = state.withLock({ $0.connections.last }) else { return false }
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT)) == 0
    }

    /// Closes the listening socket, so connection attempts are refused; returns once it is closed.
    func stopListening() async throws {
        state.withLock { $0.wantListening = false }
        guard await TCPTestSupport.eventually(timeout: .seconds(5), { self.state.withLock { $0.listener < 0 } }) else {
            throw Failure(description: "the test server did not stop listening")
        }
    }

    /// Listens again on the same port; returns once it listens.
    func startListening() async throws {
        state.withLock { $0.wantListening = true }
        guard await TCPTestSupport.eventually(timeout: .seconds(5), { self.state.withLock { $0.listener >= 0 } }) else {
            throw Failure(description: "the test server cannot listen again: \(state.withLock { $0.bindError ?? "?" })")
        }
    }

    /// Stops the thread and closes every socket.
    func shutDown() {
        resetConnections()
        state.withLock { $0.shuttingDown = true }
        for _ in 0..<200 where !state.withLock({ $0.threadEnded }) { usleep(10_000) }
    }

    // MARK: - The accepting thread

    private func acceptLoop() {
        while true {
            let (listener, shuttingDown) = state.withLock { state -> (Int32, Bool) in
                if (state.shuttingDown || !state.wantListening) && state.listener >= 0 {
                    close(state.listener)
                    state.listener = -1
                } else if state.wantListening && !state.shuttingDown && state.listener < 0 {
                    do throws(Failure) {
                        state.listener = try Self.openListener(port: port)
                    } catch {
                        state.bindError = error.description
                    }
                }
                return (state.listener, state.shuttingDown)
            }
            if shuttingDown { break }
            guard listener >= 0 else {
                usleep(10_000)
                continue
            }
            var entry = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 10) > 0 else { continue }
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { continue }
            state.withLock { state in
                state.connections.append(fd)
                state.accepted += 1
                state.acceptTimes.append(monotonicSeconds())
            }
        }
        state.withLock { $0.threadEnded = true }
    }

    // MARK: - Sockets

    private static func openListener(port: Int) throws(Failure) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var on: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 8) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw Failure(description: "bind/listen on 127.0.0.1:\(port): \(message)")
        }
        return fd
    }

    private static func boundPort(_ fd: Int32) throws(Failure) -> Int {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else {
            close(fd)
            throw Failure(description: "getsockname: \(String(cString: strerror(errno)))")
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private static func write(_ bytes: [UInt8], to fd: Int32) -> Bool {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = sendWithoutSignal(fd, raw.baseAddress.map { $0 + offset }, raw.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return false }
                offset += written
            }
            return true
        }
    }
}

/// `send(2)` without SIGPIPE; outside the class, whose own `send(_:)` would hide it.
private func sendWithoutSignal(_ fd: Int32, _ bytes: UnsafeRawPointer?, _ count: Int) -> Int {
    send(fd, bytes, count, Int32(MSG_NOSIGNAL))
}

/// What a consumer of a byte source received, collected from the consuming task and read by the test.
final class ReceivedBytes: Sendable {
    private let bytes = Mutex<[UInt8]>([])

    func append(_ chunk: [UInt8]) {
        bytes.withLock { $0 += chunk }
    }

    /// Everything received so far.
    var all: [UInt8] { bytes.withLock { $0 } }

    /// The telegrams (`/` through `!`) the decoder accepts in everything received so far, and how many
    /// telegrams it rejected.
    var decoded: (telegrams: [[UInt8]], rejected: Int) {
        var decoder = TelegramDecoder()
        var telegrams: [[UInt8]] = []
        var rejected = 0
        decoder.feed(all) { event in
            switch event {
            case .telegram(let telegram): telegrams.append(telegram.bytes)
            case .rejected: rejected += 1
            }
        }
        return (telegrams, rejected)
    }

    /// The accepted telegrams so far.
    var telegrams: [[UInt8]] { decoded.telegrams }
}

/// Helpers for the TCP source and server tests, in a namespace of their own.
enum TCPTestSupport {
    /// Polls `condition` every 10 ms until it holds or `timeout` passes; returns whether it held.
    static func eventually(timeout: Duration = .seconds(10), _ condition: () -> Bool) async -> Bool {
        await P1MQTTTestSupport.eventually(timeout: timeout, condition)
    }

    /// Consumes `source` in a task, collecting the bytes; cancel the task to stop the source.
    static func consume(_ source: any ByteSource) -> (Task<Void, Never>, ReceivedBytes) {
        let received = ReceivedBytes()
        let task = Task {
            do {
                for try await chunk in source.chunks() { received.append(chunk) }
            } catch {
                // A live source only ends by cancellation; the tests check what arrived.
            }
        }
        return (task, received)
    }

    /// `count` consecutive telegrams of the simulated meter, one second apart, each with a valid CRC and CRLF.
    static func telegrams(_ count: Int, seed: UInt64 = 7) -> [[UInt8]] {
        var simulator = MeterSimulator(seed: seed)
        return (0..<Int64(count)).map { simulator.telegram(at: 1_790_000_000 + $0) }
    }

    /// A telegram from `/` through `!`, as the decoder reports it.
    static func body(_ telegram: [UInt8]) -> [UInt8] {
        guard let bang = telegram.lastIndex(of: UInt8(ascii: "!")) else { return telegram }
        return Array(telegram[...bang])
    }
}
