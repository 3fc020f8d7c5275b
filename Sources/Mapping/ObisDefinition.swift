/// What one known OBIS object means: the single description that parsing, MQTT topics and Home Assistant
/// discovery all read, so that a value is named and typed the same way everywhere.
public struct ObisDefinition: Sendable, Hashable {
    /// Where a definition applies.
    public enum Scope: UInt8, Sendable, Hashable {
        /// The electricity meter itself: A = 0 or 1 and B = 0 (or the P1 version's `1-3`).
        case meter
        /// An M-Bus sub-device: A = 0, B = channel 1…9. The definition applies on every channel.
        case mbus
        /// Exactly this code and no other (e.g. the Luxembourg CT ratio `1-1:31.4.0`).
        case exact
        /// Not on the telegram: computed by p1mqtt from other values (net power, totals, flow). The code is
        /// the one the value is mainly derived from.
        case derived
    }

    /// How the value groups of a line are laid out.
    public enum Layout: Sendable, Hashable {
        /// One number, optionally with `*unit`: `(001234.567*kWh)`, `(00013)`.
        case number
        /// One string kept exactly as sent: `(50)`, `(0002)`.
        case text
        /// One string the meter hex-encodes (equipment ids, text messages): decoded when printable.
        case hexText
        /// One timestamp `YYMMDDhhmmssX`.
        case timestamp
        /// A timestamp followed by a number: M-Bus readings `(ts)(00112.384*m3)`, Belgian month peak `1.6.0`.
        case timestampedNumber
        /// A profile buffer `(n)(obis)…` followed by n entries of timestamps and a value: the power-failure
        /// log `99.97.0` and the Belgian peak history `98.1.0`.
        case profile
        /// The DSMR 2.2/3 gas reading `24.3.0`: `(ts)(00)(60)(1)(0-1:24.2.1)(m3)` and the value on the next line.
        case legacyReading
        /// Several numbers: `1-1:31.4.0(040*A)(-040*A)`.
        case numbers
        /// A timestamp followed by several numbers, each with its own unit, all read at that moment and not
        /// saying which register each one is: E.ON Hungary's registers at the end of the last billing month
        /// `0-0:98.1.0(ts)(…*kWh)…(…*kvarh)…(…*kW)`.
        case registerSnapshot
    }

    /// What is being measured; later stages derive Home Assistant classes and units from it.
    public enum Quantity: String, Sendable, Hashable, CaseIterable {
        case energy, reactiveEnergy = "reactive_energy", power, reactivePower = "reactive_power"
        case apparentPower = "apparent_power", voltage, current, powerFactor = "power_factor", frequency
        case volume, count, duration, timestamp, text, identifier, version, tariff, state, deviceType = "device_type"
        case events, flow
        /// Several registers copied at one moment (a billing period's end), in mixed units.
        case registerSnapshot = "register_snapshot"
    }

    /// The C.D.E part of the code this definition describes (A and B come from ``scope``).
    public let code: ObisCode
    /// Which lines the definition applies to.
    public let scope: Scope
    /// Stable snake_case key: the default MQTT topic name and the base of unique ids. Never change one.
    public let key: String
    /// Human-readable name, without the device name (Home Assistant prefixes that itself).
    public let name: String
    /// The unit the value is normally sent in, in Home Assistant's spelling (`kWh`, `m³`, `kvar`), if any.
    public let unit: String?
    /// What is measured.
    public let quantity: Quantity
    /// How the line's value groups are laid out.
    public let layout: Layout
    /// The variant (its identifier, e.g. `eon_hungary`) whose meters give the code this meaning; nil for
    /// every variant. Meters reuse codes for different things (E.ON's `98.1.0` is not Belgium's peak history),
    /// so a variant's own definition wins over the general one for its telegrams.
    public let variant: String?
    /// Units some meters send instead of ``unit`` (DSMR 3's power limit in A, Smarty's in kVA). The value keeps
    /// the meter's unit then, and Home Assistant's device class follows it.
    public let otherUnits: [String]

    /// Creates a definition.
    public init(
        _ code: ObisCode, _ scope: Scope = .meter, key: String, name: String, unit: String? = nil,
        otherUnits: [String] = [], quantity: Quantity, layout: Layout = .number, variant: String? = nil
    ) {
        self.code = code
        self.scope = scope
        self.key = key
        self.name = name
        self.unit = unit
        self.quantity = quantity
        self.layout = layout
        self.variant = variant
        self.otherUnits = otherUnits
    }
}
