import ArgumentParser
import P1MQTT

/// `p1mqtt discovery --print`: the Home Assistant discovery messages a telegram would produce.
struct DiscoveryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "discovery",
        abstract: "Print the Home Assistant discovery messages that would be published for a telegram.",
        discussion: """
            One line per message: the topic, a space, and the JSON payload (empty for a deletion). Uses the \
            configuration file's topics and Home Assistant settings when --config is given.

            Examples:
              p1mqtt discovery --print examples/telegrams/dsmr5.txt
              p1mqtt simulate --stdout --count 1 --interval 0 | p1mqtt discovery --print -
            """
    )

    @Flag(help: "Print the messages (the only action so far).")
    var print = false

    @Option(help: ArgumentHelp("Configuration file (JSON).", valueName: "path"))
    var config: String?

    @Option(help: ArgumentHelp("Decryption key for encrypted telegrams.", valueName: "hex"))
    var key: String?

    @Argument(help: ArgumentHelp("A telegram file, or - for standard input (default: a simulated telegram).", valueName: "file"))
    var file: String?

    func validate() throws {
        guard print else { throw ValidationError("say what to do: --print") }
    }

    func run() throws {
        var settings = Settings()
        if let config {
            do { settings = try ConfigurationFile.load(path: config) } catch {
                for problem in error.problems { Output.error("p1mqtt: \(problem)") }
                throw ExitCode(2)
            }
        }
        if let key { settings.key = key }
        settings.discovery = true
        // The source does not matter here; the simulator needs no file.
        settings.source = "simulator"
        let bridge: Bridge.Configuration
        do { bridge = try BridgeFactory.configuration(from: settings) } catch {
            for problem in error.problems { Output.error("p1mqtt: \(problem)") }
            throw ExitCode(2)
        }
        let bytes: [UInt8]
        if let file {
            let input = try InputFile(path: file)
            defer { input.close() }
            bytes = try input.readAll()
        } else {
            var simulator = MeterSimulator()
            bytes = simulator.telegram(at: 1_763_700_000)
        }
        var decoder = TelegramDecoder(options: bridge.decoder)
        guard let telegram = decoder.decodeAll(bytes).compactMap({ event -> Telegram? in
            if case .telegram(let telegram) = event { return telegram }
            return nil
        }).last else {
            Output.error("p1mqtt discovery: no valid telegram in the input")
            throw ExitCode(1)
        }
        let sink = PrintingSink()
        let publisher = Publisher(options: bridge.publish)
        publisher.publish(telegram, to: sink, now: 0)
        for (topic, payload) in sink.messages where topic.hasPrefix(settings.discoveryPrefix + "/") {
            Output.write(Array(topic.utf8) + [0x20] + payload + [0x0A])
        }
    }
}

/// Collects what the publisher would send.
private final class PrintingSink: MessageSink, @unchecked Sendable {
    // @unchecked: used from one thread only, inside DiscoveryCommand.run.
    var messages: [(String, [UInt8])] = []

    func send(topic: String, payload: [UInt8], qos: Int, retain: Bool) -> Bool {
        messages.append((topic, payload))
        return true
    }
}
