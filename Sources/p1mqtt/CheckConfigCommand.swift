import ArgumentParser
import FoundationEssentials
import P1MQTT

/// `p1mqtt check-config`: validates a configuration file without connecting anywhere.
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check a configuration file and print the effective settings (secrets masked).",
        discussion: """
            Every problem is reported at once, one line each, naming the field (`mqtt.tls.ca_file: file not \
            found: …`); the exit status is then 2. Nothing is connected or published.

            Examples:
              p1mqtt check-config --config /etc/p1mqtt/p1mqtt.json
              p1mqtt check-config --config config/p1mqtt.json
            """
    )

    @Option(help: ArgumentHelp("Configuration file (JSON); without it the defaults are shown.", valueName: "path"))
    var config: String?

    func run() throws {
        var settings = Settings()
        do {
            if let config { settings = try ConfigurationFile.load(path: config) }
            try settings.applyEnvironment(ProcessInfo.processInfo.environment)
            _ = try BridgeFactory.configuration(from: settings)
        } catch {
            for problem in error.problems { Output.error("p1mqtt: \(problem)") }
            throw ExitCode(2)
        }
        print(Self.summary(settings, file: config))
    }

    static func summary(_ settings: Settings, file: String?) -> String {
        func onOff(_ flag: Bool) -> String { flag ? "on" : "off" }
        var lines = ["\(file ?? "defaults (no configuration file)"): valid"]
        lines.append("source: \(settings.source)\(settings.source.contains("tcp://") ? ", watchdog \(settings.watchdog) s" : "")")
        lines.append("meter: variant \(settings.variant?.rawValue ?? "detected"), decryption key \(settings.key == nil ? "none" : "***")"
            + (settings.key == nil ? "" : ", tag check \(onOff(settings.verifyTag))"))
        var mqtt = "mqtt: \(settings.broker), MQTT \(settings.protocolVersion.rawValue), keepalive \(settings.keepalive) s, "
            + "connect timeout \(settings.connectTimeout) s, reconnect after \(settings.reconnectDelayMinimum)–\(settings.reconnectDelayMaximum) s"
        if let clientID = settings.clientID { mqtt += ", client id \(clientID)" }
        if let username = settings.username { mqtt += ", user \(username)" }
        if settings.password != nil { mqtt += ", password ***" }
        if let tls = settings.tls {
            mqtt += ", TLS (CA \(tls.caFile ?? tls.caDirectory ?? "system")\(tls.certificateFile.map { ", client certificate \($0)" } ?? "")\(tls.insecure ? ", INSECURE" : ""))"
        } else {
            mqtt += ", no TLS"
        }
        lines.append(mqtt)
        var topics = "topics: base \(settings.baseTopic), telegram \(settings.telegramTopic.map { "\(settings.baseTopic)/\($0)" } ?? "off")"
        if let raw = settings.rawTopic { topics += ", raw \(settings.baseTopic)/\(raw)" }
        topics += ", QoS \(settings.qos), retain \(onOff(settings.retain)), \(settings.renames.count) renamed, "
            + "\(settings.disabled.count) switched off, min interval \(settings.minimumInterval) s"
        if !settings.intervals.isEmpty { topics += " (\(settings.intervals.count) own intervals)" }
        if settings.onlyOnChange { topics += ", only on change" }
        topics += ", power in \(settings.powerInWatts ? "W" : "kW"), register guard \(onOff(settings.guardRegisters))"
        if !settings.derivedValues { topics += ", derived values off" }
        lines.append(topics)
        lines.append("home assistant: discovery \(onOff(settings.discovery)), prefix \(settings.discoveryPrefix), mode \(settings.discoveryMode.rawValue), device name \"\(settings.meterName)\"")
        let stats = settings.statsInterval > 0 ? "stats every \(settings.statsInterval) s" : "stats off"
        lines.append("replay: rate \(settings.rate), exit at end \(onOff(settings.exitAtEnd)), loop \(onOff(settings.loop)); \(stats); log level \(settings.logLevel)")
        if let listen = settings.httpListen {
            let address = (try? BrokerAddress.parseListen(listen).get())?.description ?? listen
            lines.append("web: http://\(address)/, token \(settings.httpToken == nil ? "none" : "***"), healthy within \(settings.healthWindow) s")
        } else {
            lines.append("web: off")
        }
        if let listen = settings.relayListen {
            let address = (try? BrokerAddress.parseListen(listen, defaultPort: BrokerAddress.defaultRelayPort).get())?.description ?? listen
            lines.append("relay: telegrams to TCP clients on \(address)")
        } else {
            lines.append("relay: off")
        }
        if let directory = settings.dataDirectory {
            lines.append("history: \(directory), keep \(settings.keepHours) hours, \(settings.keepDays) days, \(settings.keepMonths) months")
        } else {
            lines.append("history: off (nothing is written to disk)")
        }
        return lines.joined(separator: "\n")
    }
}
