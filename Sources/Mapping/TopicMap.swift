/// Where each value is published: `<base>/<key>` for the meter's values, `<base>/<kind>_<channel>/<key>` for
/// an M-Bus device's, unless the configuration renames or switches it off.
///
/// Renames and switches match a value by its key (`energy_import_tariff_1`, `gas_1/reading`), by its OBIS code
/// (`1-0:1.8.1`, `0-1:24.2.1`), or, for switching off, by a group (a quantity such as `reactive_power`, or `phases`, `mbus`, `derived`,
/// `gas`).
public struct TopicMap: Sendable, Hashable {
    /// The base topic, e.g. `p1mqtt` or `home/meter`.
    public var base: String
    /// Renames: key or OBIS code → topic. A topic without a leading `/` is relative to the base; with one it
    /// is absolute (the `/` is dropped).
    public var renames: [String: String]
    /// Keys, OBIS codes and groups not to publish.
    public var disabled: Set<String>

    /// Creates a map.
    public init(base: String = "p1mqtt", renames: [String: String] = [:], disabled: Set<String> = []) {
        self.base = base
        self.renames = renames
        self.disabled = disabled
    }

    /// One published value's identity.
    public struct Value: Sendable, Hashable {
        /// The device segment for M-Bus values (`gas_1`), nil for the electricity meter.
        public var device: String?
        /// The key within the device (`reading`, `energy_import_tariff_1`).
        public var key: String
        /// The OBIS code the value comes from, if it comes from one line.
        public var code: ObisCode?
        /// The groups the value belongs to.
        public var groups: [String]

        /// Creates a value identity.
        public init(device: String? = nil, key: String, code: ObisCode? = nil, groups: [String] = []) {
            self.device = device
            self.key = key
            self.code = code
            self.groups = groups
        }

        /// `gas_1/reading` or `energy_import_tariff_1`: the name used in renames and topics.
        public var path: String { device.map { "\($0)/\(key)" } ?? key }
    }

    /// The topic for a value, or nil when it is switched off.
    public func topic(for value: Value) -> String? {
        if isDisabled(value) { return nil }
        // Checked per value per telegram: skip building lookup strings when nothing is renamed.
        if !renames.isEmpty,
            let renamed = renames[value.path] ?? value.code.flatMap({ renames[$0.description] }) ?? renames[value.key]
        {
            return renamed.hasPrefix("/") ? String(renamed.dropFirst()) : join(base, renamed)
        }
        if let device = value.device { return "\(base.isEmpty ? "" : base + "/")\(device)/\(value.key)" }
        return join(base, value.key)
    }

    /// The default topic (no renames), used to clear a value's old retained message after a rename.
    public func defaultTopic(for value: Value) -> String { join(base, value.path) }

    /// Whether a value is switched off by key, OBIS code or group.
    public func isDisabled(_ value: Value) -> Bool {
        if disabled.isEmpty { return false }
        if disabled.contains(value.path) || disabled.contains(value.key) { return true }
        if let code = value.code, disabled.contains(code.description) { return true }
        if let device = value.device, disabled.contains(device) { return true }
        return value.groups.contains { disabled.contains($0) }
    }

    /// A topic under the base for p1mqtt's own topics (`status`, `telegram`).
    public func own(_ name: String) -> String { join(base, name) }

    private func join(_ base: String, _ path: String) -> String {
        base.isEmpty ? path : "\(base)/\(path)"
    }

    /// Makes meter-provided text safe as one topic segment: only `[a-z0-9_-]`, everything else becomes `_`,
    /// so an equipment id can never add levels, wildcards (`+`, `#`) or a `$` system prefix.
    public static func segment(_ text: String) -> String {
        var result = ""
        for scalar in text.lowercased().unicodeScalars.prefix(64) {
            switch scalar {
            case "a"..."z", "0"..."9", "_", "-": result.unicodeScalars.append(scalar)
            default: result.append("_")
            }
        }
        return result.isEmpty ? "_" : result
    }

    /// Checks a topic given in the configuration: no wildcards, no empty levels, no leading `$`.
    /// - Returns: a one-line problem description, or nil when the topic is usable.
    public static func problem(with topic: String) -> String? {
        if topic.isEmpty { return "topic is empty" }
        if topic.contains("+") || topic.contains("#") { return "topic '\(topic)' contains a wildcard (+ or #)" }
        if topic.drop(while: { $0 == "/" }).hasPrefix("$") { return "topic '\(topic)' starts with '$', which brokers reserve" }
        if topic.split(separator: "/", omittingEmptySubsequences: false).dropFirst(topic.hasPrefix("/") ? 1 : 0)
            .contains(where: \.isEmpty)
        {
            return "topic '\(topic)' has an empty level (//)"
        }
        if topic.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return "topic '\(topic)' contains a control character"
        }
        return nil
    }
}
