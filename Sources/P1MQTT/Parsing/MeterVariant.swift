import Mapping

/// The family of meter a telegram comes from, detected from the telegram itself (header, version line,
/// objects present) or set in the configuration when detection cannot tell.
public enum MeterVariant: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// DSMR 2.2 and 3.0 (NTA 8130): 9600 7E1, no CRC, no timestamp line, legacy two-line gas reading.
    case dsmr3
    /// DSMR 4.x: version line `1-3:0.2.8(4x)`.
    case dsmr4
    /// DSMR 5.x: version line `1-3:0.2.8(5x)`.
    case dsmr5
    /// Belgian e-MUCS (Fluvius): `0-0:96.1.4`, capacity-tariff values, gas on `24.2.3`.
    case belgium
    /// Luxembourg Smarty (plain, or decrypted from a DLMS frame).
    case luxembourg
    /// Swedish P1 ("lokalt gränssnitt"): totals only, no equipment id.
    case sweden
    /// EasyMeter Q3D through a COM-1 gateway: `*255` suffixes, no CRC.
    case q3d
    /// E.ON Hungary (Sagemcom): four tariffs, reactive quadrants, power factor.
    case eonHungary = "eon_hungary"
    /// Austrian Sagemcom T210-D-r (Energienetze Steiermark): encrypted, values in Wh/W.
    case austria
    /// Iskra IE.x (Ireland).
    case iskraIE = "iskra_ie"
    /// A telegram that fits none of the above; every object is still parsed.
    case unknown

    /// A name for people: "DSMR 5", "Belgian e-MUCS (Fluvius)", …
    public var displayName: String {
        switch self {
        case .dsmr3: "DSMR 2.2/3.0"
        case .dsmr4: "DSMR 4"
        case .dsmr5: "DSMR 5"
        case .belgium: "Belgian e-MUCS (Fluvius)"
        case .luxembourg: "Luxembourg Smarty"
        case .sweden: "Swedish P1"
        case .q3d: "EasyMeter Q3D"
        case .eonHungary: "E.ON Hungary"
        case .austria: "Austrian Sagemcom T210-D-r"
        case .iskraIE: "Iskra IE"
        case .unknown: "unknown"
        }
    }

    /// The stable identifier used in JSON, topics and configuration.
    public var description: String { rawValue }

    /// The meter's winter offset from UTC in seconds: Irish meters keep GMT/IST, all others Central European
    /// time.
    public var standardUTCOffset: Int64 {
        self == .iskraIE ? 0 : 3600
    }

    /// Whether the catalogue gives some codes another meaning in this variant's telegrams (E.ON's `98.1.0`).
    var hasOwnDefinitions: Bool { Self.withOwnDefinitions.contains(self) }

    private static let withOwnDefinitions = Set(allCases.filter { ObisCatalogue.hasOwnDefinitions(variant: $0.rawValue) })

    /// Whether telegrams of this variant legitimately end without a CRC.
    public var sendsCRC: Bool {
        switch self {
        case .dsmr3, .q3d: false
        default: true
        }
    }

    /// Accepts the identifier and the names users commonly write (`5`, `5B`, `2.2`, `smarty`, `MSn`, …).
    public init?(name: String) {
        let folded = String(name.lowercased().map { $0 == "-" ? "_" : $0 })
        if let exact = MeterVariant(rawValue: folded) {
            self = exact
            return
        }
        switch folded {
        case "2.2", "2", "3", "3.0", "dsmr2", "dsmr2.2", "dsmr22", "dsmr_2.2", "v2_2", "v3", "nta8130": self = .dsmr3
        case "4", "4+", "4.0", "4.2", "v4", "dsmr_4": self = .dsmr4
        case "5", "5.0", "v5", "dsmr_5": self = .dsmr5
        case "5b", "fluvius", "emucs", "e_mucs", "be", "belgian": self = .belgium
        case "5l", "msn", "smarty", "lu", "luxembourg_smarty": self = .luxembourg
        case "5s", "se", "swedish": self = .sweden
        case "easymeter", "q3d_com1": self = .q3d
        case "5eonhu", "eon_hu", "hungary", "hu": self = .eonHungary
        case "sagemcom_t210_d_r", "sagemcom", "t210", "at", "austria_energienetze_steiermark": self = .austria
        case "iskra", "ie": self = .iskraIE
        default: return nil
        }
    }
}
