#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Listens to a meter connection for a bounded time and says what it found: whether telegrams arrive, with
/// which line settings, from which meter, and, when none do, the likely cause and what to try next.
///
/// Blocking, for a command-line tool: ``run(progress:)`` returns after at most the connect timeout plus
/// ``listenTime`` for each line setting tried.
public struct MeterProbe: Sendable {
    /// What to probe.
    public enum Target: Sendable, Hashable, CustomStringConvertible {
        /// A serial device, with the settings to try.
        case serial(device: String, settings: SerialSettings.Selection)
        /// A TCP server sending the raw P1 stream (ser2net, a network P1 dongle).
        case tcp(host: String, port: Int)

        /// Parses `/dev/ttyUSB0`, `serial:/dev/ttyUSB0[@115200/8N1]`, `tcp://HOST:PORT` or `HOST:PORT`; a bare
        /// name without `/` or `:` is taken as a device in `/dev` (`ttyUSB0`).
        public init(parsing text: String) throws(SourceError) {
            if text.hasPrefix("tcp://") || (!text.hasPrefix("serial:") && !text.hasPrefix("/") && text.contains(":")) {
                let address = text.hasPrefix("tcp://") ? String(text.dropFirst("tcp://".count)) : text
                guard let colon = address.lastIndex(of: ":"), colon > address.startIndex,
                      let port = Int(address[address.index(after: colon)...]), (1...65535).contains(port)
                else { throw SourceError("'\(text)' needs HOST:PORT with a port from 1 to 65535, e.g. 192.168.1.20:2000") }
                var host = String(address[..<colon])
                if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
                self = .tcp(host: host, port: port)
                return
            }
            let rest = text.hasPrefix("serial:") ? String(text.dropFirst("serial:".count)) : text
            let parts = rest.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard var device = parts.first, !device.isEmpty else {
                throw SourceError("'\(text)' needs a device, e.g. /dev/ttyUSB0")
            }
            if !device.contains("/") { device = "/dev/" + device }
            do {
                self = .serial(device: device, settings: try SerialSettings.Selection(parsing: parts.count > 1 ? parts[1] : nil))
            } catch {
                throw SourceError(error.description)
            }
        }

        /// `serial /dev/ttyUSB0` or `tcp 192.168.1.20:2000`.
        public var description: String {
            switch self {
            case .serial(let device, _): "serial \(device)"
            case .tcp(let host, let port): "tcp \(host.contains(":") ? "[\(host)]" : host):\(port)"
            }
        }
    }

    /// What one line setting (or the one TCP connection) gave.
    public struct Attempt: Sendable {
        /// The line settings; nil for TCP.
        public var settings: SerialSettings?
        /// How long was listened, in seconds.
        public var seconds: Double = 0
        /// The decoder's counters: bytes, accepted, rejected by reason, bytes outside telegrams.
        public var statistics = TelegramDecoder.Statistics()
        /// The first rejection's explanation, for the report.
        public var firstRejection: String?
        /// Bytes that are printable ASCII, CR or LF (after clearing the parity bit on 7-bit lines): telegrams
        /// are all text, so garbage from a wrong speed or an inverted signal shows up as a low share of these.
        public var textBytes = 0

        /// Encrypted frames seen (decrypted or not): evidence that these settings are right even without telegrams.
        public var encryptedFrames: Int {
            (statistics.rejected[.noKey] ?? 0) + (statistics.rejected[.decryption] ?? 0)
        }

        /// Whether most of what was rejected were encrypted frames that could not be decrypted.
        public var looksEncrypted: Bool {
            encryptedFrames > 0 && encryptedFrames * 2 >= statistics.rejectedTotal
        }

        /// The share of bytes that were text, 0 when nothing arrived.
        public var textShare: Double {
            statistics.bytes == 0 ? 0 : Double(textBytes) / Double(statistics.bytes)
        }
    }

    /// The outcome.
    public struct Report: Sendable {
        /// The overall result.
        public enum Outcome: Sendable, Hashable {
            /// Valid telegrams arrived.
            case telegrams
            /// The connection worked but no valid telegram arrived.
            case noTelegrams
            /// The device or address could not be opened.
            case cannotOpen
        }

        /// The overall result.
        public var outcome: Outcome
        /// What each setting gave, in the order tried.
        public var attempts: [Attempt] = []
        /// The first accepted telegram's variant.
        public var variant: MeterVariant?
        /// The first accepted telegram's equipment id.
        public var equipmentID: String?
        /// The first accepted telegram's header line.
        public var header: String?
        /// Whether the meter sends encrypted frames.
        public var encrypted = false
        /// Why the target could not be opened, or why listening stopped early.
        public var problem: String?
        /// The likely cause when no telegram arrived.
        public var diagnosis: String?
        /// What to do next: a command to run, or what to check.
        public var nextStep = ""

        /// 0 with telegrams, 1 without, 2 when the target cannot be opened.
        public var exitStatus: Int32 {
            switch outcome {
            case .telegrams: 0
            case .noTelegrams: 1
            case .cannotOpen: 2
            }
        }

        /// All bytes received.
        public var bytes: Int { attempts.reduce(0) { $0 + $1.statistics.bytes } }
        /// All telegrams accepted.
        public var accepted: Int { attempts.reduce(0) { $0 + $1.statistics.accepted } }
        /// Rejections by reason, over every attempt.
        public var rejected: [RejectionReason: Int] {
            attempts.reduce(into: [:]) { total, attempt in total.merge(attempt.statistics.rejected, uniquingKeysWith: +) }
        }
        /// The settings that gave valid telegrams.
        public var workingSettings: [SerialSettings] {
            attempts.filter { $0.statistics.accepted > 0 }.compactMap(\.settings)
        }
    }

    /// The target.
    public let target: Target
    /// How long to listen with each line setting (a DSMR 4 meter sends every 10 s, DSMR 5 every second).
    public let listenTime: Duration
    /// The decryption for encrypted meters, or nil.
    public let cipher: GCMCipher?
    /// How long a TCP connection may take.
    public let connectTimeout: Duration
    /// Listening with a setting stops early after this many valid telegrams.
    public static let enoughTelegrams = 3

    /// Creates a probe.
    public init(target: Target, listenTime: Duration = .seconds(12), cipher: GCMCipher? = nil,
                connectTimeout: Duration = .seconds(5)) {
        self.target = target
        self.listenTime = listenTime
        self.cipher = cipher
        self.connectTimeout = connectTimeout
    }

    /// Probes; `progress` receives a line when listening starts and when each setting is done.
    public func run(progress: (String) -> Void = { _ in }) -> Report {
        var report: Report
        switch target {
        case .serial(let device, let selection):
            report = probeSerial(device, selection.candidates, progress)
        case .tcp(let host, let port):
            report = probeTCP(host, port, progress)
        }
        if report.outcome != .cannotOpen {
            report.outcome = report.accepted > 0 ? .telegrams : .noTelegrams
        }
        conclude(&report)
        return report
    }

    // MARK: - Listening

    private func probeSerial(_ device: String, _ candidates: [SerialSettings], _ progress: (String) -> Void) -> Report {
        let port: SerialPort
        do {
            port = try SerialPort.open(device)
        } catch {
            return Report(outcome: .cannotOpen, problem: error.description)
        }
        defer { port.close() }
        var report = Report(outcome: .noTelegrams)
        let seconds = ReconnectBackoff.describe(listenTime)
        progress("probing \(target) with \(candidates.map(\.description).joined(separator: ", ")), up to \(seconds) each")
        for settings in candidates {
            do {
                try port.configure(settings)
            } catch {
                if report.attempts.isEmpty { return Report(outcome: .cannotOpen, problem: error.description) }
                report.problem = error.description
                break
            }
            progress("  listening at \(settings) …")
            var attempt = Attempt(settings: settings)
            let problem = listen(&attempt, &report, stripParity: settings.isSevenBit) { buffer in
                port.read(into: buffer, timeoutMilliseconds: 250)
            }
            report.attempts.append(attempt)
            progress("  \(settings): \(Self.describe(attempt))")
            if let problem {
                report.problem = problem
                break
            }
            // Telegrams, or encrypted frames that only lack the key: these settings are right.
            if attempt.statistics.accepted > 0 || attempt.looksEncrypted { break }
        }
        return report
    }

    private func probeTCP(_ host: String, _ port: Int, _ progress: (String) -> Void) -> Report {
        let connection: Connection
        do {
            connection = try Connection(host: host, port: port, timeout: connectTimeout)
        } catch {
            return Report(outcome: .cannotOpen, problem: error.description)
        }
        defer { connection.close() }
        var report = Report(outcome: .noTelegrams)
        progress("probing \(target) for \(ReconnectBackoff.describe(listenTime))")
        var attempt = Attempt()
        report.problem = listen(&attempt, &report, stripParity: false) { buffer in
            connection.read(into: buffer, timeoutMilliseconds: 250)
        }
        report.attempts.append(attempt)
        progress("  \(Self.describe(attempt))")
        return report
    }

    /// Reads until the listen time is up, enough telegrams arrived, or the connection fails (returned).
    private func listen(_ attempt: inout Attempt, _ report: inout Report, stripParity: Bool,
                        read: (UnsafeMutableRawBufferPointer) -> SerialPort.ReadResult) -> String? {
        var decoder = TelegramDecoder(options: .init(cipher: cipher, stripParity: stripParity))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)
        defer { buffer.deallocate() }
        let start = monotonicSeconds()
        let end = start + ReconnectBackoff.seconds(listenTime)
        var problem: String?
        let handle: (TelegramDecoder.Event) -> Void = { event in
            switch event {
            case .telegram(let telegram):
                if telegram.encrypted { report.encrypted = true }
                if report.variant == nil {
                    report.variant = telegram.variant
                    report.equipmentID = telegram.equipmentID
                    report.header = telegram.header
                }
            case .rejected(let rejection):
                if rejection.reason == .noKey || rejection.reason == .decryption { report.encrypted = true }
                if attempt.firstRejection == nil { attempt.firstRejection = rejection.detail }
            }
        }
        while monotonicSeconds() < end && decoder.statistics.accepted < Self.enoughTelegrams {
            switch read(buffer) {
            case .bytes(let count):
                let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
                for byte in chunk {
                    let character = stripParity ? byte & 0x7F : byte
                    if (0x20...0x7E).contains(character) || character == 0x0D || character == 0x0A { attempt.textBytes += 1 }
                }
                decoder.feed(chunk, handle)
            case .timeout:
                continue
            case .gone(let reason):
                problem = reason
            }
            if problem != nil { break }
        }
        attempt.seconds = monotonicSeconds() - start
        attempt.statistics = decoder.statistics
        return problem
    }

    // MARK: - Conclusions

    /// `3 telegrams accepted, 1 rejected (crc 1), 2412 bytes in 3.1 s`.
    static func describe(_ attempt: Attempt) -> String {
        let stats = attempt.statistics
        var text = "\(stats.accepted) telegram\(stats.accepted == 1 ? "" : "s") accepted, \(stats.rejectedTotal) rejected"
        if stats.rejectedTotal > 0 { text += " (\(stats.rejectedSummary))" }
        text += ", \(stats.bytes) bytes in \((attempt.seconds * 10).rounded() / 10) s"
        return text
    }

    private func conclude(_ report: inout Report) {
        let rerun: String
        let runSource: String
        let key = cipher == nil ? "" : " --key KEY"
        switch target {
        case .serial(let device, _):
            rerun = "p1mqtt probe \(device)"
            runSource = "serial:\(device)@\(report.workingSettings.first?.specification ?? "")"
        case .tcp(let host, let port):
            let shown = host.contains(":") ? "[\(host)]" : host
            rerun = "p1mqtt probe \(shown):\(port)"
            runSource = "tcp://\(shown):\(port)"
        }
        switch report.outcome {
        case .cannotOpen:
            report.nextStep = nextStepWhenClosed(report.problem ?? "", rerun)
        case .telegrams:
            report.nextStep = "p1mqtt run --source \(runSource)\(key)"
        case .noTelegrams:
            diagnose(&report, rerun)
        }
    }

    /// Names the likely cause when no telegram arrived, from the attempt that came closest: the one with
    /// encrypted frames, else the one with the most text (at a wrong speed almost nothing is text).
    private func diagnose(_ report: inout Report, _ rerun: String) {
        let seconds = ReconnectBackoff.describe(listenTime)
        let encrypted = report.attempts.first { $0.looksEncrypted }
        let best = encrypted ?? report.attempts.max { $0.textShare < $1.textShare }
        let rejected = best?.statistics.rejected ?? [:]
        let structured = (best?.textShare ?? 0) >= 0.9
        let settingsHint = best?.settings.map { "@\($0.specification)" } ?? ""
        if report.bytes == 0 {
            report.diagnosis = "no bytes arrived in \(seconds)\(report.attempts.count > 1 ? " at any setting" : ""): the meter is not sending. Check that the cable is in the meter's P1 port (RJ12) and that the P1 port is enabled (some grid operators switch it off on request); the cable must put 5 V on the data-request line"
            report.nextStep = "check the cable and the P1 port, then run \(rerun) again"
        } else if let encrypted, (encrypted.statistics.rejected[.noKey] ?? 0) > 0 {
            report.diagnosis = "the meter sends encrypted frames (0xDB 0x08): give --key with the 32-digit key from your grid operator"
            report.nextStep = "\(rerun)\(settingsHint) --key KEY"
        } else if encrypted != nil {
            report.diagnosis = "encrypted frames arrive but do not decrypt with this key: check --key (and --auth-key if your grid operator gave one)"
            report.nextStep = "\(rerun)\(settingsHint) --key KEY with the right key"
        } else if structured && (rejected[.crcMismatch] ?? 0) > 0 {
            report.diagnosis = "telegrams arrive but fail their CRC check: a noisy line, a loose plug or a cable that is too long"
            report.nextStep = "reseat or replace the cable, then run \(rerun) again"
        } else if structured && !rejected.isEmpty {
            report.diagnosis = "telegram-like text arrives but every telegram was rejected (\(best?.firstRejection ?? "damaged"))"
            report.nextStep = "capture the stream and run p1mqtt parse on it to see each rejection"
        } else {
            report.diagnosis = "bytes arrive but no telegram: wrong speed or an inverted signal — P1 is open-collector and needs an inverting cable or a pull-up"
            report.nextStep = "use a P1 cable with an inverter (most ready-made P1 USB cables have one)\(target.triesOneSetting ? ", or let the probe try every setting: \(rerun)" : ""), then probe again"
        }
    }

    private func nextStepWhenClosed(_ problem: String, _ rerun: String) -> String {
        switch target {
        case .serial:
            if problem.contains("not found") { return "plug in the P1 cable or give its device (ls /dev/serial/by-id/), then run p1mqtt probe DEVICE" }
            if problem.contains("permission denied") { return "sudo usermod -aG dialout $USER, log in again, then run \(rerun)" }
            return "give the P1 cable's serial device, e.g. p1mqtt probe /dev/ttyUSB0"
        case .tcp:
            return "check the address and that ser2net or the P1 dongle is listening, then run \(rerun) again"
        }
    }
}

extension MeterProbe.Target {
    /// A serial target with fixed settings.
    var triesOneSetting: Bool {
        if case .serial(_, let selection) = self { return !selection.isAutomatic }
        return false
    }
}

extension MeterProbe.Report {
    /// The summary for people, one line per fact.
    public var lines: [String] {
        var lines: [String] = []
        if outcome == .cannotOpen {
            lines.append("cannot open: \(problem ?? "unknown problem")")
            lines.append("next step: \(nextStep)")
            return lines
        }
        lines.append("bytes seen: \(bytes)")
        if attempts.contains(where: { $0.settings != nil }) {
            let working = workingSettings
            let tried = attempts.compactMap(\.settings).map(\.description).joined(separator: ", ")
            lines.append("valid telegrams with: \(working.isEmpty ? "none (tried \(tried))" : working.map(\.description).joined(separator: ", "))")
        }
        let rejectedTotal = rejected.values.reduce(0, +)
        var telegrams = "telegrams: \(accepted) accepted, \(rejectedTotal) rejected"
        if rejectedTotal > 0 {
            telegrams += " (" + rejected.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", ") + ")"
        }
        lines.append(telegrams)
        if let variant { lines.append("variant: \(variant.rawValue) (\(variant.displayName))") }
        if let header { lines.append("header: \(header)") }
        if accepted > 0 { lines.append("equipment id: \(equipmentID ?? "none sent")") }
        lines.append("encrypted: \(encrypted ? "yes" : "no")")
        if let problem { lines.append("stopped early: \(problem)") }
        if let diagnosis { lines.append("diagnosis: \(diagnosis)") }
        lines.append("next step: \(nextStep)")
        return lines
    }
}

extension MeterProbe {
    /// A blocking TCP connection for the probe: connect with a timeout, then reads through `poll`.
    private struct Connection {
        let descriptor: Int32

        init(host: String, port: Int, timeout: Duration) throws(SourceError) {
            let shown = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            var hints = addrinfo()
            hints.ai_family = AF_UNSPEC
            #if canImport(Glibc)
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            #else
            hints.ai_socktype = SOCK_STREAM
            #endif
            var list: UnsafeMutablePointer<addrinfo>?
            let code = getaddrinfo(host, String(port), &hints, &list)
            guard code == 0, let first = list else {
                throw SourceError("cannot resolve \(host): \(String(cString: gai_strerror(code))); check the host name")
            }
            defer { freeaddrinfo(first) }
            let deadline = monotonicSeconds() + ReconnectBackoff.seconds(timeout)
            var lastError = ETIMEDOUT
            var entry: UnsafeMutablePointer<addrinfo>? = first
            while let current = entry {
                entry = current.pointee.ai_next
                let fd = socket(current.pointee.ai_family, current.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue),
                                current.pointee.ai_protocol)
                if fd < 0 { lastError = errno; continue }
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                if connect(fd, current.pointee.ai_addr, current.pointee.ai_addrlen) == 0 {
                    descriptor = fd
                    return
                }
                lastError = errno
                if lastError == EINPROGRESS {
                    let left = Int32(max(0, (deadline - monotonicSeconds()) * 1000))
                    var request = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    if poll(&request, 1, left) == 1 {
                        var result: Int32 = 0
                        var length = socklen_t(MemoryLayout<Int32>.size)
                        getsockopt(fd, SOL_SOCKET, SO_ERROR, &result, &length)
                        if result == 0 {
                            descriptor = fd
                            return
                        }
                        lastError = result
                    } else {
                        lastError = ETIMEDOUT
                    }
                }
                Glibc.close(fd)
            }
            switch lastError {
            case ECONNREFUSED:
                throw SourceError("connection refused by \(shown): nothing listens on that port (is ser2net or the P1 dongle running, and is the port right?)")
            case ETIMEDOUT:
                throw SourceError("no answer from \(shown) within \(ReconnectBackoff.describe(timeout)): check the address and that the device is on the network")
            case EHOSTUNREACH, ENETUNREACH:
                throw SourceError("\(shown) is unreachable: check the address and the network")
            default:
                throw SourceError("cannot connect to \(shown): \(String(cString: strerror(lastError)))")
            }
        }

        func read(into buffer: UnsafeMutableRawBufferPointer, timeoutMilliseconds: Int32) -> SerialPort.ReadResult {
            var request = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&request, 1, timeoutMilliseconds)
            if ready < 0 { return errno == EINTR ? .timeout : .gone("poll failed: \(String(cString: strerror(errno)))") }
            if ready == 0 { return .timeout }
            let count = recv(descriptor, buffer.baseAddress, buffer.count, 0)
            if count > 0 { return .bytes(count) }
            if count == 0 { return .gone("the other end closed the connection") }
            if errno == EAGAIN || errno == EINTR { return .timeout }
            return .gone("the connection failed: \(String(cString: strerror(errno)))")
        }

        func close() { _ = Glibc.close(descriptor) }
    }
}
