#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One TCP connection to a P1 server (ser2net, a network dongle): a non-blocking socket with TCP keep-alive,
/// opened with a timeout and read with `poll`, so the owning thread never blocks for longer than a poll slice
/// and notices cancellation promptly. Not shared between threads; the owner closes it.
struct TCPConnection {
    /// The socket.
    let descriptor: Int32
    /// The address actually connected to.
    let peer: NetworkAddress

    /// How long a single `poll` may wait, so a cancellation is noticed within this time.
    static let pollSlice: Int32 = 250

    /// Why a connection could not be opened or ended.
    struct Failure: Error, Sendable, Hashable {
        /// The cause, worded for a log line.
        let message: String
        /// The attempt was abandoned because the source was cancelled.
        var cancelled = false

        static let cancellation = Failure(message: "cancelled", cancelled: true)
    }

    /// What one read produced.
    enum ReadResult {
        /// This many bytes were placed in the buffer.
        case data(Int)
        /// Nothing arrived within a poll slice.
        case idle
        /// The connection ended, for this reason.
        case closed(String)
    }

    /// Resolves `host` (again, on every call) and connects to the first of its addresses that answers, each
    /// given `timeout`.
    static func open(host: String, port: Int, timeout: Duration, cancelled: AtomicFlag) throws(Failure) -> TCPConnection {
        let addresses: [NetworkAddress]
        switch NetworkAddress.resolve(host: host, port: port, passive: false) {
        case .success(let resolved): addresses = resolved
        case .failure(let failure): throw Failure(message: failure.message)
        }
        var failure = Failure(message: "no address to connect to")
        for address in addresses {
            if cancelled.isSet { throw .cancellation }
            do {
                return try open(address, timeout: timeout, cancelled: cancelled)
            } catch {
                if error.cancelled { throw error }
                failure = error
            }
        }
        throw failure
    }

    /// Connects to one address: a non-blocking connect, then poll for completion until the timeout.
    private static func open(_ address: NetworkAddress, timeout: Duration, cancelled: AtomicFlag) throws(Failure) -> TCPConnection {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = socket(address.family, type, Int32(IPPROTO_TCP))
        guard fd >= 0 else { throw Failure(message: "cannot create a socket: \(NetworkAddress.errorText(errno))") }
        var keep = false
        defer { if !keep { close(fd) } }
        enableKeepAlive(fd)

        let started = address.withSockaddr { connect(fd, $0, $1) }
        if started != 0 {
            guard errno == EINPROGRESS || errno == EINTR else { throw Failure(message: describeConnectError(errno, address)) }
            let deadline = monotonicSeconds() + ReconnectBackoff.seconds(timeout)
            while true {
                if cancelled.isSet { throw .cancellation }
                let remaining = deadline - monotonicSeconds()
                guard remaining > 0 else {
                    throw Failure(message: "no answer from \(address) within \(ReconnectBackoff.describe(timeout)); check that the device is powered and on the network")
                }
                var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let ready = poll(&entry, 1, min(pollSlice, Int32(remaining * 1000) + 1))
                if ready > 0 { break }
                if ready < 0 && errno != EINTR { throw Failure(message: "cannot wait for the connection: \(NetworkAddress.errorText(errno))") }
            }
            var code: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &size) == 0 else {
                throw Failure(message: "cannot check the connection: \(NetworkAddress.errorText(errno))")
            }
            if code != 0 { throw Failure(message: describeConnectError(code, address)) }
        }
        // Linux can connect a socket to itself when the target port is a free port in the ephemeral range and
        // the kernel happens to pick it as the local port: that is nobody listening, not a server.
        if isConnectedToItself(fd) { throw Failure(message: describeConnectError(ECONNREFUSED, address)) }
        keep = true
        return TCPConnection(descriptor: fd, peer: address)
    }

    /// Turns on TCP keep-alive with short timers: the meter only sends, so without probes a peer that vanished
    /// (a dongle losing power, a Wi-Fi drop) would go unnoticed until the silence watchdog. First probe after
    /// 30 s idle, then every 10 s, given up after 3 unanswered: a dead peer is detected within about a minute.
    private static func enableKeepAlive(_ fd: Int32) {
        var on: Int32 = 1
        var idle: Int32 = 30
        var interval: Int32 = 10
        var count: Int32 = 3
        let size = socklen_t(MemoryLayout<Int32>.size)
        // Failures are harmless: the watchdog still catches a dead peer.
        _ = setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, size)
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPIDLE, &idle, size)
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPINTVL, &interval, size)
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPCNT, &count, size)
    }

    private static func isConnectedToItself(_ fd: Int32) -> Bool {
        var local = sockaddr_storage()
        var remote = sockaddr_storage()
        var localLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        var remoteLength = localLength
        let named = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &localLength) }
        }
        let peered = withUnsafeMutablePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &remoteLength) }
        }
        guard named == 0, peered == 0, localLength == remoteLength else { return false }
        return withUnsafeBytes(of: &local) { a in
            withUnsafeBytes(of: &remote) { b in a.prefix(Int(localLength)).elementsEqual(b.prefix(Int(localLength))) }
        }
    }

    /// The reason a connect failed, with what to check.
    private static func describeConnectError(_ code: Int32, _ address: NetworkAddress) -> String {
        switch code {
        case ECONNREFUSED:
            "connection refused by \(address); is the P1 server (ser2net, the dongle) running and listening on port \(address.port)?"
        case ETIMEDOUT:
            "no answer from \(address); check that the device is powered and on the network"
        case EHOSTUNREACH, ENETUNREACH, EHOSTDOWN:
            "\(address) is unreachable (\(NetworkAddress.errorText(code))); check the address and the network"
        default:
            "\(address): \(NetworkAddress.errorText(code))"
        }
    }

    /// Waits up to one poll slice for data and reads what is there into `buffer`.
    func receive(into buffer: UnsafeMutableRawBufferPointer) -> ReadResult {
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let ready = poll(&entry, 1, Self.pollSlice)
        if ready == 0 || (ready < 0 && errno == EINTR) { return .idle }
        if ready < 0 { return .closed("cannot wait for data: \(NetworkAddress.errorText(errno))") }
        let count = read(descriptor, buffer.baseAddress, buffer.count)
        if count > 0 { return .data(count) }
        if count == 0 { return .closed("closed by the server") }
        switch errno {
        case EAGAIN, EWOULDBLOCK, EINTR: return .idle
        case ECONNRESET: return .closed("reset by the server")
        case ETIMEDOUT: return .closed("no answer to TCP keep-alive probes; the device or the network is down")
        case let code: return .closed(NetworkAddress.errorText(code))
        }
    }

    /// Closes the socket.
    func disconnect() {
        close(descriptor)
    }
}
