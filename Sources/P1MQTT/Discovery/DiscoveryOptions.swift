/// How Home Assistant discovery is published.
public struct DiscoveryOptions: Sendable, Hashable {
    /// One config topic per entity (works with every Home Assistant release), or one per device
    /// (Home Assistant 2024.11 and later).
    public enum Mode: String, Sendable, Hashable, CaseIterable {
        /// `<prefix>/sensor/<node>/<object>/config` per entity.
        case entity
        /// `<prefix>/device/<id>/config` per device.
        case device
    }

    /// The discovery prefix (Home Assistant's default is `homeassistant`).
    public var prefix: String
    /// Per-entity or per-device discovery.
    public var mode: Mode
    /// The electricity meter's name in Home Assistant.
    public var meterName: String
    /// The meter's id when the telegram has none (Swedish, Austrian meters); nil derives one from the host
    /// name and base topic.
    public var meterID: String?
    /// The topic Home Assistant announces itself on (`<prefix>/status`); its `online` triggers a re-publish.
    public var birthTopic: String { "\(prefix)/status" }

    /// Creates options.
    public init(prefix: String = "homeassistant", mode: Mode = .entity, meterName: String = "Electricity meter",
                meterID: String? = nil) {
        self.prefix = prefix
        self.mode = mode
        self.meterName = meterName
        self.meterID = meterID
    }
}
