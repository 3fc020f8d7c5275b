#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One resolved socket address (IPv4 or IPv6) with its port, as `getaddrinfo` returns it.
struct NetworkAddress: Sendable, CustomStringConvertible {
    /// The raw address; large enough for any family.
    private(set) var storage = sockaddr_storage()
    /// How many bytes of `storage` are used.
    private(set) var length: socklen_t = 0

    /// `AF_INET` or `AF_INET6`.
    var family: Int32 { Int32(storage.ss_family) }

    /// Copies an address the kernel or the resolver filled in.
    init(_ address: UnsafePointer<sockaddr>, length: socklen_t) {
        let size = min(Int(length), MemoryLayout<sockaddr_storage>.size)
        withUnsafeMutableBytes(of: &storage) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(start: address, count: size))
        }
        self.length = socklen_t(size)
    }

    /// Calls `body` with the address as the socket functions take it.
    func withSockaddr<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        withUnsafePointer(to: storage) { pointer in
            // sockaddr_storage is defined to be accessible as any sockaddr type.
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }

    /// The numeric host, `192.168.1.5` or `fe80::1`.
    var host: String {
        numeric().host
    }

    /// The port.
    var port: Int {
        Int(numeric().port) ?? 0
    }

    /// `192.168.1.5:2000`, `[::1]:2000`.
    var description: String {
        let (host, port) = numeric()
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    private func numeric() -> (host: String, port: String) {
        var host = [CChar](repeating: 0, count: 1025)  // NI_MAXHOST
        var service = [CChar](repeating: 0, count: 32)
        let code = withSockaddr { address, length in
            getnameinfo(address, length, &host, socklen_t(host.count), &service, socklen_t(service.count),
                        NI_NUMERICHOST | NI_NUMERICSERV)
        }
        guard code == 0 else { return ("?", "?") }
        return (Self.string(host), Self.string(service))
    }

    /// A NUL-terminated C buffer as a String.
    static func string(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The message of an errno value, such as `Connection refused`.
    static func errorText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    /// Resolves `host` (a name or a numeric address) for a TCP connection, or for a listening socket when
    /// `passive` is set. Asks the resolver every time: a dongle that got a new address from DHCP is found
    /// again on the next attempt. The error message says what to check.
    static func resolve(host: String, port: Int, passive: Bool) -> Result<[NetworkAddress], ResolutionFailure> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_protocol = Int32(IPPROTO_TCP)
        // No AI_ADDRCONFIG: it drops every address on a machine whose only configured interface is loopback,
        // so `localhost` would not resolve inside a container without a network.
        hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0)
        var list: UnsafeMutablePointer<addrinfo>?
        let code = getaddrinfo(host, String(port), &hints, &list)
        guard code == 0 else {
            let reason = code == EAI_SYSTEM ? errorText(errno) : String(cString: gai_strerror(code))
            return .failure(ResolutionFailure(message: "cannot resolve '\(host)': \(reason); check the host name and the DNS settings"))
        }
        defer { freeaddrinfo(list) }
        var addresses: [NetworkAddress] = []
        var entry = list
        while let current = entry {
            if let address = current.pointee.ai_addr {
                addresses.append(NetworkAddress(address, length: current.pointee.ai_addrlen))
            }
            entry = current.pointee.ai_next
        }
        guard !addresses.isEmpty else {
            return .failure(ResolutionFailure(message: "'\(host)' has no address; check the host name"))
        }
        return .success(addresses)
    }

    /// Why a name could not be resolved.
    struct ResolutionFailure: Error, Sendable {
        /// The message, naming the host.
        let message: String
    }
}
