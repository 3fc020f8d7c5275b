import ArgumentParser
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import P1MQTT

/// `p1mqtt simulate`: the built-in simulated meter, for testing other tools and for benchmarks.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Write telegrams of the built-in simulated meter to standard output.",
        discussion: """
            The telegrams are consistent (registers rise with the simulated load, valid CRCs) and repeat \
            exactly for a given seed and start time.

            Examples:
              p1mqtt simulate --stdout --count 10
              p1mqtt simulate --stdout --count 5000 --interval 0 --step 1 > capture.txt
            """
    )

    @Flag(help: "Write the telegrams to standard output.")
    var stdout = false

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

    @Option(help: ArgumentHelp("Profile: \(MeterSimulator.Profile.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "profile"))
    var profile: String = "dsmr5"

    func validate() throws {
        guard stdout else { throw ValidationError("say where the telegrams go: --stdout") }
        guard MeterSimulator.Profile(rawValue: profile) != nil else {
            throw ValidationError("unknown profile '\(profile)'; available: \(MeterSimulator.Profile.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard interval >= 0 else { throw ValidationError("--interval must be 0 or more seconds") }
    }

    func run() throws {
        var simulator = MeterSimulator(profile: MeterSimulator.Profile(rawValue: profile) ?? .dsmr5, seed: seed)
        let advance = Int64(step ?? max(1, Int(interval.rounded())))
        var time = start ?? Int64(Date().timeIntervalSince1970)
        var produced = 0
        var buffer: [UInt8] = []
        while count.map({ produced < $0 }) ?? true {
            buffer += simulator.telegram(at: time)
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
}
