/// Where telegrams come from, as written on the command line (`--source`) and in the configuration.
public enum SourceSpec: Sendable, Hashable, CustomStringConvertible {
    /// The built-in simulated meter.
    case simulator(MeterSimulator.Profile)
    /// A capture file, replayed.
    case file(String)
    /// Standard input (a pipe from another program).
    case standardInput
    /// A serial device, with line settings such as `115200/8N1`, or nil for automatic.
    case serial(device: String, settings: String?)
    /// A TCP server sending the raw P1 stream (ser2net, network P1 dongles).
    case tcp(host: String, port: Int)
    /// An RFXtrx with a P1 cable on a serial device.
    case rfxtrxSerial(device: String)
    /// An RFXtrx reached over TCP.
    case rfxtrxTCP(host: String, port: Int)

    /// A problem with a source specification, with the accepted forms.
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        /// One line naming what was wrong and what is accepted.
        public let description: String
    }

    /// Parses `simulator[:PROFILE]`, `file:PATH`, `-`, `serial:DEVICE[@115200/8N1]`, `tcp://HOST:PORT`,
    /// `rfxtrx+serial:DEVICE` or `rfxtrx+tcp://HOST:PORT`; a bare path to an existing-looking device
    /// (`/dev/…`) is taken as serial.
    public init(parsing text: String) throws(ParseError) {
        let forms = "simulator[:PROFILE], file:PATH, -, serial:DEVICE[@115200/8N1], tcp://HOST:PORT, rfxtrx+serial:DEVICE, rfxtrx+tcp://HOST:PORT"
        if text == "-" {
            self = .standardInput
        } else if text == "simulator" {
            self = .simulator(.dsmr5)
        } else if text.hasPrefix("simulator:") {
            let name = String(text.dropFirst("simulator:".count))
            guard let profile = MeterSimulator.Profile(rawValue: name) else {
                throw ParseError(description: "unknown simulator profile '\(name)'; available: \(MeterSimulator.Profile.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            self = .simulator(profile)
        } else if text.hasPrefix("file:") {
            let path = String(text.dropFirst("file:".count))
            guard !path.isEmpty else { throw ParseError(description: "source 'file:' needs a path, e.g. file:capture.txt") }
            self = .file(path)
        } else if text.hasPrefix("serial:") || text.hasPrefix("/dev/") {
            let rest = text.hasPrefix("serial:") ? String(text.dropFirst("serial:".count)) : text
            let parts = rest.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard let device = parts.first, !device.isEmpty else {
                throw ParseError(description: "source 'serial:' needs a device, e.g. serial:/dev/ttyUSB0")
            }
            self = .serial(device: device, settings: parts.count > 1 ? parts[1] : nil)
        } else if text.hasPrefix("tcp://") {
            let (host, port) = try Self.hostPort(String(text.dropFirst("tcp://".count)), text)
            self = .tcp(host: host, port: port)
        } else if text.hasPrefix("rfxtrx+serial:") {
            let device = String(text.dropFirst("rfxtrx+serial:".count))
            guard !device.isEmpty else {
                throw ParseError(description: "source 'rfxtrx+serial:' needs a device, e.g. rfxtrx+serial:/dev/ttyUSB0")
            }
            self = .rfxtrxSerial(device: device)
        } else if text.hasPrefix("rfxtrx+tcp://") {
            let (host, port) = try Self.hostPort(String(text.dropFirst("rfxtrx+tcp://".count)), text)
            self = .rfxtrxTCP(host: host, port: port)
        } else {
            throw ParseError(description: "unknown source '\(text)'; use one of: \(forms)")
        }
    }

    private static func hostPort(_ text: String, _ whole: String) throws(ParseError) -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (1...65535).contains(port), colon > text.startIndex
        else { throw ParseError(description: "source '\(whole)' needs HOST:PORT with a port from 1 to 65535") }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }

    /// The specification as it would be written.
    public var description: String {
        switch self {
        case .simulator(let profile): "simulator:\(profile.rawValue)"
        case .file(let path): "file:\(path)"
        case .standardInput: "-"
        case .serial(let device, let settings): "serial:\(device)\(settings.map { "@\($0)" } ?? "")"
        case .tcp(let host, let port): "tcp://\(host):\(port)"
        case .rfxtrxSerial(let device): "rfxtrx+serial:\(device)"
        case .rfxtrxTCP(let host, let port): "rfxtrx+tcp://\(host):\(port)"
        }
    }

    /// Whether the source replays recorded data (and so can be paced and can end).
    public var isReplay: Bool {
        if case .file = self { return true }
        return false
    }
}
