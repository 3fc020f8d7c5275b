#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging
import Synchronization

/// A tiny TCP server that serves a stream of telegrams the way ser2net serves a P1 port in raw mode: any number
/// of clients may connect, each telegram goes to every client connected at the time, and a client that fails
/// (or stops reading) is dropped. Used by `p1mqtt simulate --listen` to stand in for a network P1 dongle.
///
/// A thread of its own accepts clients and notices them leaving; ``send(_:)`` may be called from any thread.
/// That thread keeps the server alive until ``stop()``: call it to close the port.
public final class TelegramServer: Sendable {
    /// Why the server could not start, stated so the user can fix it.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        /// One line naming the address and the problem.
        public let description: String
    }

    /// The address listened on, with the actual port: `127.0.0.1:2000`.
    public let address: String
    /// The port listened on (the one the system chose when 0 was asked for).
    public let port: Int

    private struct Client {
        let descriptor: Int32
        let name: String
        /// Set when a send failed; the server thread then closes the client and logs this.
        var failure: SendFailure?
    }

    /// Why a send to a client failed: the client stopped reading (we drop it) or went away (its socket failed).
    private enum SendFailure {
        case notReading
        case gone(String)

        /// The end of the log line: "dropped: …" only when the server chose to end the connection.
        var logText: String {
            switch self {
            case .notReading: "dropped: not reading, its buffer is full"
            case .gone(let reason): "disconnected: \(reason)"
            }
        }
    }

    private struct State {
        var clients: [Client] = []
    }

    private let listener: Int32
    private let logger: Logger
    private let state = Mutex(State())
    private let stopping = AtomicFlag()
    private let stopped = AtomicFlag()

    /// Binds `host:port` (a numeric address or a name) and starts accepting clients.
    /// - Throws: ``Failure`` when the address is in use, not an address of this machine, or not permitted.
    public init(host: String = "127.0.0.1", port: Int, logger: Logger) throws(Failure) {
        let shown = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        let addresses: [NetworkAddress]
        switch NetworkAddress.resolve(host: host, port: port, passive: true) {
        case .success(let resolved): addresses = resolved
        case .failure(let failure): throw Failure(description: failure.message)
        }
        var failure: Failure?
        var bound: (Int32, NetworkAddress)?
        for candidate in addresses {
            switch Self.openListener(on: candidate, shown: shown) {
            case .success(let fd):
                bound = (fd, Self.localAddress(fd) ?? candidate)
            case .failure(let error):
                failure = failure ?? error
            }
            if bound != nil { break }
        }
        guard let (fd, local) = bound else {
            throw failure ?? Failure(description: "cannot listen on \(shown): no usable address")
        }
        listener = fd
        address = local.description
        self.port = local.port
        self.logger = logger
        guard DetachedThread.start({ [self] in serve() }) else {
            close(fd)
            throw Failure(description: "cannot start a thread to serve \(address)")
        }
    }

    /// How many clients are connected.
    public var clientCount: Int {
        state.withLock { $0.clients.count { $0.failure == nil } }
    }

    /// Sends `bytes` (normally one telegram) to every connected client, without waiting: a client whose
    /// socket buffer is full is not reading and is dropped, so one stuck client cannot hold up the others.
    public func send(_ bytes: [UInt8]) {
        guard !bytes.isEmpty, !stopping.isSet else { return }
        state.withLock { state in
            for index in state.clients.indices where state.clients[index].failure == nil {
                if let failure = Self.write(bytes, to: state.clients[index].descriptor) {
                    state.clients[index].failure = failure
                    // Only the server thread closes descriptors (it may be polling this one); shutting the
                    // socket down wakes it up, and it closes and logs the client.
                    shutdown(state.clients[index].descriptor, Int32(SHUT_RDWR))
                }
            }
        }
    }

    /// Disconnects every client and stops listening; waits (briefly) until that is done.
    public func stop() {
        stopping.set()
        let deadline = monotonicSeconds() + 2
        while !stopped.isSet && monotonicSeconds() < deadline { usleep(10_000) }
    }

    // MARK: - The server thread

    private func serve() {
        var scratch = [UInt8](repeating: 0, count: 4096)
        while !stopping.isSet {
            let watched = state.withLock { $0.clients.map(\.descriptor) }
            var entries = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
                + watched.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&entries, nfds_t(entries.count), TCPConnection.pollSlice)
            guard ready > 0 else { continue }
            if entries[0].revents != 0 { acceptClients() }
            for entry in entries.dropFirst() where entry.revents != 0 {
                // Clients are not expected to send anything: read and discard, and notice the end.
                let count = scratch.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress, $0.count) }
                if count > 0 || (count < 0 && (errno == EAGAIN || errno == EINTR)) { continue }
                drop(entry.fd, reason: count == 0 ? nil : NetworkAddress.errorText(errno))
            }
        }
        let clients = state.withLock { state in
            defer { state.clients.removeAll() }
            return state.clients
        }
        for client in clients { close(client.descriptor) }
        close(listener)
        stopped.set()
    }

    private func acceptClients() {
        while true {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    accept(listener, $0, &length)
                }
            }
            guard fd >= 0 else {
                if errno == EINTR || errno == ECONNABORTED { continue }
                if errno != EAGAIN && errno != EWOULDBLOCK {
                    logger.warning("cannot accept a client on \(address): \(NetworkAddress.errorText(errno))")
                }
                return
            }
            // accept4 is not visible to Swift (it needs _GNU_SOURCE): set the flags afterwards.
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            let name = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { NetworkAddress($0, length: length).description }
            }
            let count = state.withLock { state in
                state.clients.append(Client(descriptor: fd, name: name))
                return state.clients.count
            }
            logger.info("client \(name) connected (\(count) connected)")
        }
    }

    private func drop(_ fd: Int32, reason: String?) {
        let removed = state.withLock { state -> (Client, Int)? in
            guard let index = state.clients.firstIndex(where: { $0.descriptor == fd }) else { return nil }
            let client = state.clients.remove(at: index)
            return (client, state.clients.count)
        }
        guard let (client, remaining) = removed else { return }
        close(fd)
        let how = client.failure?.logText ?? reason.map { "disconnected: \($0)" } ?? "disconnected"
        logger.info("client \(client.name) \(how) (\(remaining) connected)")
    }

    // MARK: - Helpers

    /// Writes all of `bytes` without blocking; returns why it failed, or nil.
    private static func write(_ bytes: [UInt8], to fd: Int32) -> SendFailure? {
        bytes.withUnsafeBytes { raw -> SendFailure? in
            var offset = 0
            while offset < raw.count {
                let written = sendWithoutWaiting(fd, raw.baseAddress.map { $0 + offset }, raw.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else if written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                    return .notReading
                } else {
                    return .gone(written < 0 ? NetworkAddress.errorText(errno) : "cannot send")
                }
            }
            return nil
        }
    }

    private static func openListener(on candidate: NetworkAddress, shown: String) -> Result<Int32, Failure> {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = socket(candidate.family, type, Int32(IPPROTO_TCP))
        guard fd >= 0 else {
            return .failure(Failure(description: "cannot create a socket for \(shown): \(NetworkAddress.errorText(errno))"))
        }
        // Lets a restarted server bind while old connections linger in TIME_WAIT; on Linux it does not let
        // two servers listen on the same port, so "in use" is still reported.
        var on: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        let bound = candidate.withSockaddr { bind(fd, $0, $1) }
        guard bound == 0, listen(fd, 16) == 0 else {
            let code = errno
            close(fd)
            return .failure(Failure(description: describeBindError(code, shown)))
        }
        return .success(fd)
    }

    private static func describeBindError(_ code: Int32, _ shown: String) -> String {
        switch code {
        case EADDRINUSE:
            "address \(shown) is in use; stop the program listening there or choose another port"
        case EACCES:
            "no permission to listen on \(shown); ports below 1024 need root, choose a higher one"
        case EADDRNOTAVAIL:
            "cannot listen on \(shown): not an address of this machine; use 127.0.0.1, 0.0.0.0 or one of its addresses"
        default:
            "cannot listen on \(shown): \(NetworkAddress.errorText(code))"
        }
    }

    private static func localAddress(_ fd: Int32) -> NetworkAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { return nil }
        return withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { NetworkAddress($0, length: length) }
        }
    }
}

/// `send(2)` that neither blocks nor raises SIGPIPE; outside the class, whose own `send(_:)` would hide it.
private func sendWithoutWaiting(_ fd: Int32, _ bytes: UnsafeRawPointer?, _ count: Int) -> Int {
    send(fd, bytes, count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
}
