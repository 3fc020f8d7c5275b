import Logging
import P1MQTT
import P1MQTTWeb
import ServiceLifecycle

/// The optional outputs besides MQTT, built from the settings: the history (with a data directory), the
/// telegram relay (with its listen address) and the web page and API (with a listen address).
struct LocalOutputs {
    /// Observers the bridge feeds with every telegram.
    var observers: [any TelegramObserver] = []
    /// Services to run next to the bridge (the web server).
    var services: [any Service] = []

    init(settings: Settings, logger: Logger) throws(ConfigurationError) {
        var history: HistoryRecorder?
        if let directory = settings.dataDirectory {
            let retention = HistoryRetention(hours: settings.keepHours, days: settings.keepDays, months: settings.keepMonths)
            let recorder = HistoryRecorder(directory: directory, retention: retention, logger: logger)
            history = recorder
            observers.append(recorder)
        }
        if let listen = settings.relayListen {
            let address: BrokerAddress
            switch BrokerAddress.parseListen(listen, defaultPort: BrokerAddress.defaultRelayPort) {
            case .success(let parsed): address = parsed
            case .failure(let problem): throw ConfigurationError(["relay.listen: \(problem)"])
            }
            do {
                observers.append(try TelegramRelay(host: address.host, port: address.port, logger: logger))
            } catch {
                throw ConfigurationError(["relay: \(error)"])
            }
        }
        if let listen = settings.httpListen {
            let address: BrokerAddress
            switch BrokerAddress.parseListen(listen) {
            case .success(let parsed): address = parsed
            case .failure(let problem): throw ConfigurationError(["http.listen: \(problem)"])
            }
            let live = LiveState()
            observers.append(live)
            let configuration = WebConfiguration(host: address.host, port: address.port, token: settings.httpToken,
                                                 healthWindow: settings.healthWindow)
            services.append(WebServer(configuration: configuration, live: live, history: history, logger: logger))
        }
    }
}
