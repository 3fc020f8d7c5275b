import ArgumentParser
import P1MQTT

@main
struct P1MQTTCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "p1mqtt",
        abstract: "Reads the P1 port of a smart meter and publishes every reading to MQTT.",
        discussion: """
            Supports DSMR 2.2 to 5, Belgian e-MUCS, Luxembourg Smarty (plain and encrypted), Swedish, \
            EasyMeter Q3D, E.ON Hungary, Austrian Sagemcom T210-D-r and Iskra IE meters.

            Examples:
              p1mqtt run --broker localhost:1883
              p1mqtt parse examples/telegrams/dsmr5.txt
              cat capture.bin | p1mqtt parse - --key 000102030405060708090A0B0C0D0E0F
              p1mqtt bench
            """,
        version: P1MQTTVersion.current,
        subcommands: [RunCommand.self, CheckConfigCommand.self, ParseCommand.self, ProbeCommand.self, DiscoveryCommand.self, SimulateCommand.self, TopicsCommand.self, HistoryCommand.self, BenchCommand.self],
        defaultSubcommand: nil
    )

    /// Keeps the heap in one arena (HeapMemory). For `p1mqtt run`, also hands back the pages the dynamic loader
    /// touched (StartupMemory) before argument parsing starts, so the loader's pages and argument parsing's do
    /// not add up to the bridge's peak resident size; short commands skip that, for them it would only add the
    /// 0.7 ms of reading `/proc/self/smaps`.
    static func main() async {
        HeapMemory.useOneArena()
        if CommandLine.arguments.dropFirst().first == "run" { StartupMemory.release() }
        await main(nil)
    }
}
