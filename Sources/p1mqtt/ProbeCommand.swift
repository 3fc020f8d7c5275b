import ArgumentParser
import P1MQTT

/// `p1mqtt probe`: listens to a meter connection and says whether telegrams arrive, and if not, why.
struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Check a P1 cable or network dongle: which line settings work, which meter it is, what is wrong.",
        discussion: """
            Listens with each serial line setting in turn (115200 8N1, 9600 7E1, 115200 7E1) until one gives \
            valid telegrams, then prints the bytes seen, the meter variant and equipment id, the telegrams \
            accepted and rejected, and the command to run. When nothing valid arrives it names the likely \
            cause (no data, encrypted data, wrong speed or an inverted signal).

            Exit status: 0 when valid telegrams arrived, 1 when none did, 2 when the device or address cannot \
            be opened.

            Examples:
              p1mqtt probe
              p1mqtt probe /dev/ttyUSB0 --seconds 5
              p1mqtt probe /dev/ttyUSB0@9600/7E1
              p1mqtt probe 192.168.1.20:2000 --key 000102030405060708090A0B0C0D0E0F
            """
    )

    @Argument(help: ArgumentHelp("A serial device (optionally @SETTINGS) or HOST:PORT; default: the first USB serial device found.", valueName: "device|host:port"))
    var target: String?

    @Option(help: ArgumentHelp("Seconds to listen with each line setting (a DSMR 4 meter sends every 10 s).", valueName: "n"))
    var seconds: Double = 12

    @Option(help: ArgumentHelp("Decryption key (32 hex digits) for encrypted meters (Luxembourg, Austria).", valueName: "hex"))
    var key: String?

    func validate() throws {
        guard seconds > 0 && seconds <= 600 else {
            throw ValidationError("--seconds must be more than 0 and at most 600")
        }
    }

    func run() throws {
        let probe: MeterProbe
        do {
            probe = try makeProbe()
        } catch {
            Output.error("p1mqtt probe: \(error)")
            throw ExitCode(2)
        }
        let report = probe.run { Output.write(Array(($0 + "\n").utf8)) }
        let text = report.lines.joined(separator: "\n") + "\n"
        if report.outcome == .cannotOpen {
            Output.error("p1mqtt probe: " + text.dropLast())
        } else {
            Output.write(Array(text.utf8))
        }
        if report.exitStatus != 0 { throw ExitCode(report.exitStatus) }
    }

    private func makeProbe() throws -> MeterProbe {
        var cipher: GCMCipher?
        if let key {
            let bytes: [UInt8]
            do { bytes = try GCMCipher.readKey(key) } catch { throw CommandError("--key \(error.description)") }
            cipher = try GCMCipher(key: bytes)
        }
        let text = try target ?? Self.firstSerialDevice()
        return MeterProbe(target: try MeterProbe.Target(parsing: text),
                          listenTime: .milliseconds(Int64((seconds * 1000).rounded())), cipher: cipher)
    }

    /// The first P1 cable candidate: a stable `/dev/serial/by-id` name, else `ttyUSB*` or `ttyACM*`.
    private static func firstSerialDevice() throws(CommandError) -> String {
        if let names = try? listDirectory("/dev/serial/by-id"), let first = names.sorted().first {
            return "/dev/serial/by-id/\(first)"
        }
        let names = (try? listDirectory("/dev")) ?? []
        let candidates = names.filter { $0.hasPrefix("ttyUSB") || $0.hasPrefix("ttyACM") }.sorted()
        guard let first = candidates.first else {
            throw CommandError("no serial device found (looked in /dev/serial/by-id and for /dev/ttyUSB*, /dev/ttyACM*): plug in the P1 cable, or name the device or HOST:PORT")
        }
        return "/dev/\(first)"
    }
}
