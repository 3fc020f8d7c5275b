import ArgumentParser
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Logging
import P1MQTT
import Synchronization

/// `p1mqtt simulate`: the built-in simulated meter, for testing other tools and for benchmarks.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Write telegrams of the built-in simulated meter to standard output, or serve them over TCP.",
        discussion: """
            The telegrams are consistent (registers rise with the simulated load, valid CRCs) and repeat \
            exactly for a given seed and start time.

            Examples:
              p1mqtt simulate --stdout --count 10
              p1mqtt simulate --stdout --count 5000 --interval 0 --step 1 > capture.txt
              p1mqtt simulate --listen 127.0.0.1:2000     (then: p1mqtt run --source tcp://127.0.0.1:2000)

            With --listen the telegrams are served like ser2net serves a P1 port: any number of clients, each \
            telegram to every connected client, until SIGTERM or Ctrl-C.
            """
    )

    @Flag(help: "Write the telegrams to standard output.")
    var stdout = false

    @Option(help: ArgumentHelp("Serve the telegrams over TCP on PORT or HOST:PORT (host 127.0.0.1 unless given; 0.0.0.0 for every interface).", valueName: "host:port"))
    var listen: String?

    @Option(help: "How many telegrams (default: no end).")
    var count: Int?

    @Option(help: "Seconds to wait between telegrams (0: as fast as possible).")
    var interval: Double = 1

    @Option(help: "Seconds the meter clock advances per telegram (default: the interval, or 1 when it is 0).")
    var step: Int?

    @Option(help: "Meter clock of the first telegram, Unix seconds (default: now).")
    var start: Int64?

    @Option(help: "Random seed.")
    var seed: UInt64 = 1

    @Option(help: ArgumentHelp("Encrypt every telegram with this key (32 hex digits), as Luxembourg and Austrian meters do.", valueName: "hex"))
    var key: String?

    @Option(help: ArgumentHelp("Profile: \(MeterSimulator.Profile.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "profile"))
    var profile: String = "dsmr5"

    func validate() throws {
        guard !(stdout && listen != nil) else {
            throw ValidationError("--stdout and --listen exclude each other: choose where the telegrams go")
        }
        guard stdout || listen != nil else {
            throw ValidationError("say where the telegrams go: --stdout or --listen HOST:PORT")
        }
        if let listen {
            guard Self.endpoint(listen) != nil else {
                throw ValidationError("--listen expects PORT or HOST:PORT with a port from 0 to 65535, e.g. 127.0.0.1:2000; got '\(listen)'")
            }
            guard interval > 0 else { throw ValidationError("--listen needs an --interval above 0 seconds") }
        }
        guard MeterSimulator.Profile(rawValue: profile) != nil else {
            throw ValidationError("unknown profile '\(profile)'; available: \(MeterSimulator.Profile.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard interval >= 0 else { throw ValidationError("--interval must be 0 or more seconds") }
    }

    /// The next telegram, encrypted when a key was given.
    private func telegram(_ simulator: inout MeterSimulator, at time: Int64) throws -> [UInt8] {
        guard let key else { return simulator.telegram(at: time) }
        let bytes: [UInt8]
        do { bytes = try GCMCipher.readKey(key) } catch { throw ValidationError("--key \(error.description)") }
        do {
            return try simulator.encryptedTelegram(at: time, cipher: GCMCipher(key: bytes))
        } catch {
            throw ValidationError("cannot encrypt: \(error.description)")
        }
    }

    func run() throws {
        if let listen, let (host, port) = Self.endpoint(listen) {
            try serve(host: host, port: port)
            return
        }
        var simulator = MeterSimulator(profile: MeterSimulator.Profile(rawValue: profile) ?? .dsmr5, seed: seed)
        let advance = Int64(step ?? max(1, Int(interval.rounded())))
        var time = start ?? Int64(Date().timeIntervalSince1970)
        var produced = 0
        var buffer: [UInt8] = []
        while count.map({ produced < $0 }) ?? true {
            buffer += try telegram(&simulator, at: time)
            produced += 1
            time += advance
            if interval > 0 || buffer.count > 256 * 1024 {
                Output.write(buffer)
                buffer.removeAll(keepingCapacity: true)
            }
            if interval > 0 { usleep(UInt32(min(interval, 3600) * 1_000_000)) }
        }
        Output.write(buffer)
    }

    // MARK: - --listen

    /// Set by the SIGTERM/SIGINT handler. A static atomic: the handler is a C function and cannot capture.
    private static let stopRequested = Atomic<Bool>(false)

    /// Serves telegrams to TCP clients until a signal (or `--count`) ends it.
    private func serve(host: String, port: Int) throws {
        LoggingSystem.bootstrap { label in StreamLogHandler.standardError(label: label) }
        let logger = Logger(label: "p1mqtt")
        Self.handleStopSignals()
        let server: TelegramServer
        do {
            server = try TelegramServer(host: host, port: port, logger: logger)
        } catch {
            Output.error("p1mqtt: \(error)")
            throw ExitCode(1)
        }
        logger.info("serving simulated \(profile) telegrams on \(server.address) every \(interval) s; stop with Ctrl-C")
        var simulator = MeterSimulator(profile: MeterSimulator.Profile(rawValue: profile) ?? .dsmr5, seed: seed)
        let advance = Int64(step ?? max(1, Int(interval.rounded())))
        var time = start ?? Int64(Date().timeIntervalSince1970)
        var produced = 0
        let clock = ContinuousClock()
        var next = clock.now
        while !Self.stopRequested.load(ordering: .relaxed), count.map({ produced < $0 }) ?? true {
            server.send(try telegram(&simulator, at: time))
            produced += 1
            time += advance
            next += .milliseconds(Int64(interval * 1000))
            // Short naps, so a signal is acted on within 50 ms even with a long interval.
            while !Self.stopRequested.load(ordering: .relaxed), clock.now < next {
                usleep(UInt32(max(0, min((next - clock.now) / .milliseconds(1), 50)) * 1000))
            }
        }
        server.stop()
        logger.info("stopped after \(produced) telegrams")
    }

    /// Makes SIGTERM and SIGINT end the loop (a normal exit, status 0), and unblocks them: a parent may have
    /// started us with them blocked (test runners do), and then they would never arrive.
    private static func handleStopSignals() {
        signal(SIGTERM) { _ in SimulateCommand.stopRequested.store(true, ordering: .relaxed) }
        signal(SIGINT) { _ in SimulateCommand.stopRequested.store(true, ordering: .relaxed) }
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
    }

    /// `2000`, `HOST:2000` or `[IPv6]:2000`; the host defaults to 127.0.0.1 so nothing is exposed by accident.
    static func endpoint(_ text: String) -> (host: String, port: Int)? {
        var host = "127.0.0.1"
        var portText = Substring(text)
        if let colon = text.lastIndex(of: ":") {
            host = String(text[..<colon])
            portText = text[text.index(after: colon)...]
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty else { return nil }
        }
        guard let port = Int(portText), (0...65535).contains(port) else { return nil }
        return (host, port)
    }
}
