import ArgumentParser
import FoundationEssentials
import Logging
import Mapping
import P1MQTT
import P1MQTTWeb
import ServiceLifecycle

/// `p1mqtt run`: the daemon.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Read telegrams from a meter (or the simulator) and publish every reading to MQTT.",
        discussion: """
            Flags override the configuration file; without a file and without flags p1mqtt publishes the \
            built-in simulated meter to localhost:1883 under p1mqtt/.

            Sources (--source):
              simulator[:PROFILE]        the built-in simulated meter: dsmr5 (default, with gas), belgium, luxembourg, dsmr22
              file:PATH                  replay a capture (paced by --rate)
              -                          read standard input
              serial:DEVICE[@SETTINGS]   a USB P1 cable; settings auto (default), 115200/8N1, 9600/7E1, 115200/7E1
              tcp://HOST:PORT            ser2net or a network P1 dongle
              rfxtrx+serial:DEVICE, rfxtrx+tcp://HOST:PORT

            Secrets: the MQTT password comes from --password-file, the file's mqtt.password(_file|_env), or the \
            environment variable P1MQTT_MQTT_PASSWORD; the decryption key from --key, meter.key(_file|_env) or \
            P1MQTT_METER_KEY.

            Examples:
              p1mqtt run
              p1mqtt run --broker mqtt.local --username p1 --password-file /etc/p1mqtt/password
              p1mqtt run --source file:capture.txt --rate max --exit-at-end
              p1mqtt run --config /etc/p1mqtt/p1mqtt.json
              p1mqtt run --http 127.0.0.1:8080 --data-dir /var/lib/p1mqtt
              p1mqtt run --broker none --http 127.0.0.1:8080 --data-dir ~/p1mqtt   (page and history only)
            """
    )

    @Option(help: ArgumentHelp("Configuration file (JSON).", valueName: "path"))
    var config: String?

    @Option(help: ArgumentHelp("The broker, HOST[:PORT] (default localhost:1883), or none to run without MQTT.", valueName: "host[:port]"))
    var broker: String?

    @Option(help: "MQTT user name.")
    var username: String?

    @Option(help: ArgumentHelp("File holding the MQTT password (keeps it out of ps output).", valueName: "path"))
    var passwordFile: String?

    @Option(help: ArgumentHelp("Base topic (default p1mqtt).", valueName: "topic"))
    var baseTopic: String?

    @Option(help: ArgumentHelp("Home Assistant discovery prefix (default homeassistant).", valueName: "prefix"))
    var discoveryPrefix: String?

    @Flag(help: "Do not publish Home Assistant discovery messages.")
    var noDiscovery = false

    @Option(help: ArgumentHelp("Where telegrams come from (see above; default: the configuration's, else the simulator).", valueName: "spec"))
    var source: String?

    @Option(help: ArgumentHelp("Decryption key (32 hex digits) for encrypted meters.", valueName: "hex"))
    var key: String?

    @Option(help: ArgumentHelp("Meter variant instead of detecting it.", valueName: "variant"))
    var variant: String?

    @Option(help: ArgumentHelp("Replay pace for files: max, meter (the telegrams' own pace) or seconds.", valueName: "rate"))
    var rate: String?

    @Option(help: ArgumentHelp("Minimum seconds between publications of each value (power is averaged).", valueName: "seconds"))
    var minInterval: Double?

    @Option(help: ArgumentHelp("Reconnect a network source after this many seconds without data (default 60).", valueName: "seconds"))
    var watchdog: Int?

    @Flag(help: "Exit when a replayed file ends instead of staying connected.")
    var exitAtEnd = false

    @Flag(help: "Replay the file again from the start whenever it ends (the register guard withholds the jump back to the first values until it has seen them ten times).")
    var loop = false

    @Option(help: ArgumentHelp("Serve the local web page and API on HOST:PORT, e.g. 127.0.0.1:8080 (a PORT alone: this machine only).", valueName: "host:port"))
    var http: String?

    @Option(help: ArgumentHelp("Serve every accepted telegram to TCP clients on HOST:PORT, like ser2net, for other P1 readers (a PORT alone: this machine only).", valueName: "host:port"))
    var relay: String?

    @Option(help: ArgumentHelp("Keep the local history (hours, days, months) in this directory.", valueName: "path"))
    var dataDir: String?

    @Option(help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error, critical.", valueName: "level"))
    var logLevel: String?

    func run() async throws {
        // Argument parsing has touched pages all over the program by now (the loader's were handed back in
        // `main`): handing them back here keeps them from adding up with the bridge's start-up.
        StartupMemory.release()
        let settings: Settings
        do {
            settings = try effectiveSettings()
        } catch {
            for problem in error.problems { Output.error("p1mqtt: \(problem)") }
            throw ExitCode(2)
        }
        let level = Logger.Level(rawValue: settings.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "p1mqtt")
        var configuration: Bridge.Configuration
        do {
            configuration = try BridgeFactory.configuration(from: settings, logger: logger)
        } catch {
            for problem in error.problems { Output.error("p1mqtt: \(problem)") }
            throw ExitCode(2)
        }
        let local: LocalOutputs
        do {
            local = try LocalOutputs(settings: settings, logger: logger)
        } catch {
            for problem in error.problems { Output.error("p1mqtt: \(problem)") }
            throw ExitCode(2)
        }
        configuration.observers += local.observers
        let bridge = Bridge(configuration: configuration, logger: logger)
        // The bridge ends by itself only when a replay ends with --exit-at-end: that is a normal exit.
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: bridge, successTerminationBehavior: .gracefullyShutdownGroup)]
                + local.services.map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger))
        // The program pages only start-up used go back to the kernel, so the resident size settles at what the
        // bridge really uses (StartupMemory): now (configuration read, services built), after the first second
        // (connected, first telegram), after 5 s, and after the first minute (discovery, the first stats, Home
        // Assistant's answer to the birth message). What start-up freed on the heap goes back with them
        // (HeapMemory).
        let trim = Task {
            StartupMemory.release()
            for delay in [1, 4, 55] {
                try? await Task.sleep(for: .seconds(delay))
                if Task.isCancelled { return }
                StartupMemory.release()
                HeapMemory.trim()
            }
        }
        defer { trim.cancel() }
        do {
            try await group.run()
        } catch {
            // The bridge logs why its source failed, at error level; the same line again after it would only
            // repeat it (under systemd both go to the journal). Shown here when the log level hides it.
            if !(error is SourceError) || level > .error { Output.error("p1mqtt: \(error)") }
            throw ExitCode(1)
        }
    }

    /// The configuration file (if any) with the flags applied over it.
    private func effectiveSettings() throws(ConfigurationError) -> Settings {
        var settings = Settings()
        if let config {
            // A flag's secret replaces the file's, so the file's password_file or key_file is not even read.
            var givenElsewhere: Set<ConfigurationFile.Secret> = []
            if passwordFile != nil { givenElsewhere.insert(.mqttPassword) }
            if key != nil { givenElsewhere.insert(.meterKey) }
            settings = try ConfigurationFile.load(path: config, givenElsewhere: givenElsewhere)
        }
        try settings.applyEnvironment(ProcessInfo.processInfo.environment)
        var problems: [String] = []
        if let broker {
            if broker.lowercased() != "none", case .failure(let problem) = BrokerAddress.parse(broker) {
                problems.append("--broker: \(problem)")
            }
            settings.broker = broker
        }
        if let http {
            if case .failure(let problem) = BrokerAddress.parseListen(http) { problems.append("--http: \(problem)") }
            settings.httpListen = http
        }
        if let relay {
            if case .failure(let problem) = BrokerAddress.parseListen(relay, defaultPort: BrokerAddress.defaultRelayPort) {
                problems.append("--relay: \(problem)")
            }
            settings.relayListen = relay
        }
        if let dataDir {
            if dataDir.isEmpty { problems.append("--data-dir: give a directory") }
            settings.dataDirectory = dataDir
        }
        if let username { settings.username = username }
        if let passwordFile {
            switch SecretFile.text(passwordFile) {
            case .success(let password): settings.password = password
            case .failure(let problem): problems.append("--password-file: cannot read \(passwordFile): \(problem)")
            }
        }
        if let baseTopic {
            if let problem = TopicMap.problem(with: baseTopic) { problems.append("--base-topic: \(problem)") }
            settings.baseTopic = baseTopic
        }
        if let discoveryPrefix {
            if let problem = TopicMap.problem(with: discoveryPrefix) { problems.append("--discovery-prefix: \(problem)") }
            settings.discoveryPrefix = discoveryPrefix
        }
        if noDiscovery { settings.discovery = false }
        if let source {
            do { _ = try SourceSpec(parsing: source) } catch { problems.append("--source: \(error.description)") }
            settings.source = source
        }
        if let key {
            do { _ = try GCMCipher.readKey(key) } catch { problems.append("--key: the decryption key \(error.description)") }
            settings.key = key
        }
        if let variant {
            if let parsed = MeterVariant(name: variant) { settings.variant = parsed } else {
                problems.append("--variant: unknown variant '\(variant)'; use one of \(MeterVariant.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        if let rate {
            if let parsed = ReplayRate(rate) { settings.rate = parsed } else {
                problems.append("--rate: expected max, meter or a number of seconds, got '\(rate)'")
            }
        }
        if let minInterval {
            if minInterval >= 0 { settings.minimumInterval = minInterval } else {
                problems.append("--min-interval: must be 0 or more seconds")
            }
        }
        if exitAtEnd { settings.exitAtEnd = true }
        if loop { settings.loop = true }
        if let watchdog {
            if (5...86_400).contains(watchdog) { settings.watchdog = watchdog } else {
                problems.append("--watchdog: must be between 5 and 86400 seconds")
            }
        }
        if let logLevel {
            if Logger.Level(rawValue: logLevel) != nil { settings.logLevel = logLevel } else {
                problems.append("--log-level: expected trace, debug, info, notice, warning, error or critical")
            }
        }
        if !problems.isEmpty { throw ConfigurationError(problems) }
        return settings
    }
}
