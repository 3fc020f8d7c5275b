import Mapping
import P1MQTT

/// `GET /metrics`: the meter's values and the bridge's counters in the Prometheus text exposition format
/// (version 0.0.4).
///
/// Registers are counters in the meter's own unit (`p1mqtt_energy_import_kwh_total{tariff="1"}`,
/// `p1mqtt_gas_m3_total{channel="1"}`), instantaneous values are gauges in base units (watts, volts,
/// amperes). A total that is the sum of labelled series gets its own name (`…_all_tariffs_…`), so `sum()`
/// over a metric never counts twice.
struct PrometheusMetrics {
    /// One metric family: HELP and TYPE once, then its samples.
    private struct Family {
        var help: String
        var type: String
        var samples: [(labels: [(String, String)], value: String)] = []
    }

    private var order: [String] = []
    private var families: [String: Family] = [:]

    /// The exposition text for the latest telegram, the bridge's status and the event stream's counters.
    static func render(snapshot: LiveSnapshot?, status: BridgeStatus?, events: EventStream.Counters?) -> [UInt8] {
        var metrics = PrometheusMetrics()
        if let snapshot { metrics.addMeter(snapshot) }
        if let status { metrics.addBridge(status) }
        if let events {
            metrics.add("p1mqtt_web_event_clients", "gauge", "Clients connected to /events.", value: "\(events.clients)")
            metrics.add("p1mqtt_web_events_sent_total", "counter", "Events written to /events clients.",
                        value: "\(events.delivered)")
            metrics.add("p1mqtt_web_events_dropped_total", "counter",
                        "Events a /events client missed because it did not read fast enough.", value: "\(events.dropped)")
        }
        return metrics.text()
    }

    private mutating func add(_ name: String, _ type: String, _ help: String, _ labels: [(String, String)] = [],
                              value: String) {
        if families[name] == nil {
            order.append(name)
            families[name] = Family(help: help, type: type)
        }
        families[name]?.samples.append((labels, value))
    }

    private func text() -> [UInt8] {
        var out = ""
        out.reserveCapacity(8192)
        for name in order {
            guard let family = families[name] else { continue }
            out += "# HELP \(name) \(family.help)\n# TYPE \(name) \(family.type)\n"
            for sample in family.samples {
                out += name
                if !sample.labels.isEmpty {
                    out += "{" + sample.labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
                }
                out += " \(sample.value)\n"
            }
        }
        return Array(out.utf8)
    }

    /// Label values escape backslash, double quote and line feed.
    static func escape(_ value: String) -> String {
        var escaped = ""
        for character in value {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    // MARK: - The meter

    private mutating func addMeter(_ snapshot: LiveSnapshot) {
        let telegram = snapshot.update.telegram
        var info: [(String, String)] = [("variant", telegram.variant.rawValue)]
        if let id = telegram.equipmentID { info.append(("equipment_id", id)) }
        if let version = telegram.p1Version { info.append(("p1_version", version)) }
        add("p1mqtt_meter_info", "gauge", "The meter: variant, equipment id and P1 version as labels.", info, value: "1")
        for reading in snapshot.update.readings {
            guard let number = reading.payload.number else {
                if reading.value.device == nil, reading.value.key == "tariff_indicator", case .text(let tariff) = reading.payload {
                    add("p1mqtt_active_tariff", "gauge", "The tariff the meter applies now (label), always 1.",
                        [("tariff", tariff)], value: "1")
                }
                continue
            }
            if let device = reading.value.device {
                addDevice(reading, device: device, number: number)
            } else {
                addMeterValue(reading.value.key, number: number, unit: reading.unit)
            }
        }
    }

    private mutating func addMeterValue(_ key: String, number: MeterNumber, unit: String?) {
        let value = number.description
        // Power to watts: the meter sends kW (or W with --power-watts); the decimal point moves, no rounding.
        var watts: String? {
            switch unit {
            case "W": value
            case "kW": number.shifted(by: -3)?.description
            default: nil
            }
        }
        let parts = key.split(separator: "_").map(String.init)
        let phase = parts.last.flatMap { $0.count == 2 && $0.hasPrefix("l") ? String($0.dropFirst()) : nil }
        let tariff = key.hasPrefix("energy_") && parts.count == 4 && parts[2] == "tariff" ? parts[3] : nil
        switch key {
        case "energy_import_total", "energy_export_total":
            let direction = parts[1]
            add("p1mqtt_energy_\(direction)_all_tariffs_kwh_total", "counter",
                "Energy \(direction)ed, all tariffs together, in kWh.", value: value)
        case _ where tariff != nil && unit == "kWh":
            let direction = parts[1]
            add("p1mqtt_energy_\(direction)_kwh_total", "counter", "Energy \(direction)ed per tariff, in kWh.",
                [("tariff", tariff ?? "")], value: value)
        case "power_import", "power_export", "power_net":
            if let watts {
                add("p1mqtt_\(key)_watts", "gauge", "\(Self.powerHelp(parts[1])), all phases, in W.", value: watts)
            }
        case _ where (key.hasPrefix("power_import_l") || key.hasPrefix("power_export_l") || key.hasPrefix("power_net_l")) && phase != nil:
            if let watts {
                add("p1mqtt_phase_\(parts[0])_\(parts[1])_watts", "gauge", "\(Self.powerHelp(parts[1])) per phase, in W.",
                    [("phase", phase ?? "")], value: watts)
            }
        case _ where key.hasPrefix("voltage_l") && phase != nil:
            add("p1mqtt_voltage_volts", "gauge", "Voltage per phase, in V.", [("phase", phase ?? "")], value: value)
        case _ where key.hasPrefix("current_l") && phase != nil:
            add("p1mqtt_current_amperes", "gauge", "Current per phase, in A.", [("phase", phase ?? "")], value: value)
        case _ where key.hasPrefix("voltage_sags_l") || key.hasPrefix("voltage_swells_l"):
            add("p1mqtt_\(parts[0])_\(parts[1])_total", "counter", "Voltage \(parts[1]) per phase since installation.",
                [("phase", phase ?? "")], value: value)
        case "short_power_failures", "long_power_failures":
            add("p1mqtt_power_failures_total", "counter", "Power failures in any phase, by kind.",
                [("kind", parts[0])], value: value)
        case "frequency":
            add("p1mqtt_frequency_hertz", "gauge", "Grid frequency, in Hz.", value: value)
        case "power_factor":
            add("p1mqtt_power_factor", "gauge", "Power factor, all phases.", value: value)
        case _ where key.hasPrefix("power_factor_l") && phase != nil:
            add("p1mqtt_phase_power_factor", "gauge", "Power factor per phase.", [("phase", phase ?? "")], value: value)
        case "average_demand", "peak_demand_month":
            if let watts {
                add("p1mqtt_\(key)_watts", "gauge",
                    key == "average_demand" ? "Average demand of the current quarter hour, in W." : "Highest quarter-hour demand this month, in W.",
                    value: watts)
            }
        default:
            break
        }
    }

    private static func powerHelp(_ direction: String) -> String {
        switch direction {
        case "import": "Power drawn from the grid"
        case "export": "Power delivered to the grid"
        default: "Net power (import minus export)"
        }
    }

    /// M-Bus readings: `p1mqtt_gas_m3_total{channel="1",equipment_id="…"}`.
    private mutating func addDevice(_ reading: Reading, device: String, number: MeterNumber) {
        guard reading.value.key == "reading", let separator = device.lastIndex(of: "_") else { return }
        let kind = String(device[..<separator])
        let channel = String(device[device.index(after: separator)...])
        let unit: String = switch reading.unit {
        case "m³", "m3": "m3"
        case let other?: Self.metricSafe(other.lowercased())
        case nil: ""
        }
        let name = "p1mqtt_\(Self.metricSafe(kind))\(unit.isEmpty ? "" : "_" + unit)_total"
        add(name, "counter", "The \(kind.replacingUnderscores) meter's register on an M-Bus channel\(unit.isEmpty ? "" : ", in \(reading.unit ?? unit)").",
            [("channel", channel)], value: number.description)
    }

    /// Letters, digits and underscores only.
    private static func metricSafe(_ text: String) -> String {
        String(text.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
    }

    // MARK: - The bridge

    private mutating func addBridge(_ status: BridgeStatus) {
        add("p1mqtt_telegrams_accepted_total", "counter", "Telegrams accepted since start.", value: "\(status.telegramsAccepted)")
        let reasons = status.telegramsRejected.sorted { $0.key < $1.key }
        if reasons.isEmpty {
            add("p1mqtt_telegrams_rejected_total", "counter", "Telegrams rejected since start, by reason.", [("reason", "crc")], value: "0")
        }
        for (reason, count) in reasons {
            add("p1mqtt_telegrams_rejected_total", "counter", "Telegrams rejected since start, by reason.",
                [("reason", reason)], value: "\(count)")
        }
        add("p1mqtt_mqtt_configured", "gauge", "1 when an MQTT broker is configured.",
            value: status.mqtt == .notConfigured ? "0" : "1")
        add("p1mqtt_mqtt_connected", "gauge", "1 while connected to the MQTT broker.", value: status.mqtt == .connected ? "1" : "0")
        add("p1mqtt_mqtt_reconnects_total", "counter", "Connections to the broker after the first.", value: "\(status.mqttReconnects)")
        add("p1mqtt_mqtt_messages_published_total", "counter", "Messages handed to the broker.", value: "\(status.messagesPublished)")
        if let age = status.secondsSinceLastTelegram {
            add("p1mqtt_last_telegram_age_seconds", "gauge", "Seconds since the last accepted telegram.", value: Self.decimal(age))
        }
        add("p1mqtt_uptime_seconds", "gauge", "Seconds since the bridge started.", value: Self.decimal(status.uptime))
    }

    /// A double with three decimals, without Foundation's formatter.
    static func decimal(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "+Inf" : "-Inf") }
        return MeterNumber(mantissa: Int64((value * 1000).rounded()), scale: 3).description
    }
}

private extension String {
    var replacingUnderscores: String { String(map { $0 == "_" ? " " : $0 }) }
}
