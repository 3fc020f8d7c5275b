/// `HOST[:PORT]` of a broker; IPv6 addresses in brackets (`[::1]:1883`).
public struct BrokerAddress: Sendable, Hashable, CustomStringConvertible {
    /// The host name or address.
    public let host: String
    /// The port (1883 by default, 8883 is usual for TLS).
    public let port: Int

    /// Parses the address, or says what is wrong with it.
    public static func parse(_ text: String, defaultPort: Int = 1883) -> Result<BrokerAddress, BrokerAddressProblem> {
        if text.contains("://") {
            return .failure(BrokerAddressProblem("'\(text)': give HOST[:PORT] without a scheme (mqtt://); TLS is switched on with mqtt.tls"))
        }
        var host = text
        var port = defaultPort
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return .failure(BrokerAddressProblem("'\(text)' has an opening [ without ]")) }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let parsed = Int(rest.dropFirst()) else {
                    return .failure(BrokerAddressProblem("'\(text)' is not [HOST]:PORT"))
                }
                port = parsed
            }
        } else if let colon = text.lastIndex(of: ":"), text.firstIndex(of: ":") == colon {
            host = String(text[..<colon])
            guard let parsed = Int(text[text.index(after: colon)...]) else {
                return .failure(BrokerAddressProblem("'\(text)': the port must be a number"))
            }
            port = parsed
        }
        guard !host.isEmpty else { return .failure(BrokerAddressProblem("'\(text)' has no host name")) }
        guard (1...65535).contains(port) else { return .failure(BrokerAddressProblem("port \(port) is out of range (1…65535)")) }
        return .success(BrokerAddress(host: host, port: port))
    }

    /// `HOST:PORT`, an IPv6 address in brackets (`[::1]:1883`), as it is written in the configuration.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

extension BrokerAddress {
    /// The default port of the web server.
    public static let defaultWebPort = 8080
    /// The default port of the telegram relay (ser2net's usual one for a P1 port).
    public static let defaultRelayPort = 2000

    /// Parses where a server listens: `HOST:PORT`, `[IPv6]:PORT`, `HOST` alone (on `defaultPort`), or `PORT`
    /// alone, which means this machine only (`127.0.0.1:PORT`, the safe choice) — rather than a host named
    /// "8080" on port 8080.
    public static func parseListen(_ text: String, defaultPort: Int = defaultWebPort) -> Result<BrokerAddress, BrokerAddressProblem> {
        if text.contains("://") {
            return .failure(BrokerAddressProblem("'\(text)': give HOST:PORT to listen on, such as 127.0.0.1:\(defaultPort), without a scheme (\(text.prefix { $0 != ":" })://)"))
        }
        if !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }) {
            guard let port = Int(text), (1...65535).contains(port) else {
                return .failure(BrokerAddressProblem("port \(text) is out of range (1…65535)"))
            }
            return .success(BrokerAddress(host: "127.0.0.1", port: port))
        }
        return parse(text, defaultPort: defaultPort)
    }
}

/// Why a broker address could not be used.
public struct BrokerAddressProblem: Error, Sendable, CustomStringConvertible {
    /// One line.
    public let description: String
    init(_ description: String) { self.description = description }
}
