/// What kind of meter sits on an M-Bus channel, from its device type (`0-n:24.1.0`, EN 13757-3 codes).
public enum MBusDeviceKind: Hashable, Sendable, CustomStringConvertible {
    /// Code 2: an electricity sub-meter.
    case electricity
    /// Code 3: a gas meter.
    case gas
    /// Codes 4 (heat, outlet) and 12 (heat, inlet).
    case heat
    /// Code 6: a warm-water meter.
    case warmWater
    /// Code 7: a (cold) water meter.
    case water
    /// Codes 10 (cooling, outlet) and 11 (cooling, inlet).
    case cooling
    /// Any other code, kept so that nothing the meter reports is dropped.
    case unknown(Int)

    /// Maps an EN 13757-3 device type code to a kind.
    public init(deviceType: Int) {
        switch deviceType {
        case 2: self = .electricity
        case 3: self = .gas
        case 4, 12: self = .heat
        case 6: self = .warmWater
        case 7: self = .water
        case 10, 11: self = .cooling
        default: self = .unknown(deviceType)
        }
    }

    /// A stable lower-case name: `gas`, `water`, `heat`, `cooling`, `warm_water`, `electricity` or `unknown`.
    public var name: String {
        switch self {
        case .electricity: "electricity"
        case .gas: "gas"
        case .heat: "heat"
        case .warmWater: "warm_water"
        case .water: "water"
        case .cooling: "cooling"
        case .unknown: "unknown"
        }
    }

    /// The same as ``name``.
    public var description: String { name }
}
