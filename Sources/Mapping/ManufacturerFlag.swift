/// Meter manufacturers by the three-letter flag that starts a telegram's header (`/ISk5…`), as registered
/// with the FLAG association; for Home Assistant's device information.
public enum ManufacturerFlag {
    /// The manufacturer's name for a flag, if known (case-insensitive).
    public static func name(for flag: String) -> String? {
        names[flag.uppercased()]
    }

    private static let names: [String: String] = [
        "ISK": "Iskraemeco", "KFM": "Kaifa", "KMP": "Kamstrup", "XMX": "Landis+Gyr", "LGB": "Landis+Gyr",
        "LGF": "Landis+Gyr", "SAG": "Sagemcom", "SAT": "Sagemcom", "ESY": "EasyMeter", "ADN": "Aidon",
        "ELL": "Elster", "ENE": "Enexis", "EST": "Energienetze Steiermark", "FLU": "Fluvius", "LUX": "Luxmetering",
        "NWA": "Aurum (Warmtelink)", "ZIV": "ZIV", "EMH": "EMH metering", "EBZ": "eBZ", "ITF": "Itron",
        "ITR": "Itron", "HLY": "Holley", "ABB": "ABB", "NES": "Networked Energy Services", "P1M": "p1mqtt simulator",
    ]
}
