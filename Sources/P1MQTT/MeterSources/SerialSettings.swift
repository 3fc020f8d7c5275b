/// The line settings of a serial port: speed, character size, parity and stop bits, as P1 meters use them
/// (DSMR 4/5 and most others: `115200 8N1`; DSMR 2.2/3: `9600 7E1`; some DSMR 4.0 meters: `115200 7E1`).
public struct SerialSettings: Sendable, Hashable, CustomStringConvertible {
    /// The parity bit sent after the data bits.
    public enum Parity: Sendable, Hashable {
        /// No parity bit.
        case none
        /// Even parity (DSMR 2.2/3).
        case even
        /// Odd parity.
        case odd

        /// `N`, `E` or `O`, as in `8N1`.
        public var letter: Character {
            switch self {
            case .none: "N"
            case .even: "E"
            case .odd: "O"
            }
        }
    }

    /// The speed in baud.
    public var baud: Int
    /// Data bits per character: 7 or 8.
    public var dataBits: Int
    /// The parity.
    public var parity: Parity
    /// Stop bits: 1 or 2.
    public var stopBits: Int

    /// The speeds the port can be set to (the ones termios has a constant for that a meter might use).
    public static let supportedBauds = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400]

    /// Creates settings; the values are checked by ``init(parsing:)``, not here.
    public init(baud: Int, dataBits: Int = 8, parity: Parity = .none, stopBits: Int = 1) {
        self.baud = baud
        self.dataBits = dataBits
        self.parity = parity
        self.stopBits = stopBits
    }

    /// `115200 8N1`: DSMR 4.2, DSMR 5, Belgian, Luxembourg, Swedish, Austrian and most other meters.
    public static let dsmr5 = SerialSettings(baud: 115200, dataBits: 8, parity: .none, stopBits: 1)
    /// `9600 7E1`: DSMR 2.2 and 3.0, and an EasyMeter Q3D read through an optical head.
    public static let dsmr3 = SerialSettings(baud: 9600, dataBits: 7, parity: .even, stopBits: 1)
    /// `115200 7E1`: some DSMR 4.0 meters.
    public static let dsmr4 = SerialSettings(baud: 115200, dataBits: 7, parity: .even, stopBits: 1)

    /// The order automatic detection tries: the most common settings first.
    public static let automaticOrder: [SerialSettings] = [dsmr5, dsmr3, dsmr4]

    /// `115200 8N1`, for people and logs.
    public var description: String { "\(baud) \(characterFormat)" }

    /// `115200/8N1`, as written after `@` in `--source serial:DEVICE@115200/8N1`.
    public var specification: String { "\(baud)/\(characterFormat)" }

    /// `8N1`.
    public var characterFormat: String { "\(dataBits)\(parity.letter)\(stopBits)" }

    /// Whether the characters carry 7 data bits, so the eighth bit read must be cleared.
    public var isSevenBit: Bool { dataBits == 7 }

    /// A setting that cannot be understood, with the accepted forms.
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        /// One line naming what was wrong and what is accepted.
        public let description: String
    }

    /// Parses `115200/8N1` or `9600/7E1` (also with a space or a colon instead of `/`).
    /// A bare speed (`115200`) is not a single setting: use ``Selection/init(parsing:)`` for that and for `auto`.
    public init(parsing text: String) throws(ParseError) {
        let trimmed = text.trimmingSpaces
        let separators: Set<Character> = ["/", " ", ":", ","]
        guard let split = trimmed.firstIndex(where: { separators.contains($0) }) else {
            throw ParseError(description: "serial settings '\(text)' need a speed and a format, e.g. 115200/8N1 or 9600/7E1")
        }
        let baud = try Self.parseBaud(String(trimmed[..<split]), whole: text)
        let format = Array(trimmed[trimmed.index(after: split)...].uppercased())
        guard format.count == 3, let data = format[0].wholeNumberValue, (7...8).contains(data),
              let stop = format[2].wholeNumberValue, (1...2).contains(stop)
        else {
            throw ParseError(description: "serial format in '\(text)' must be data bits (7 or 8), parity (N, E or O) and stop bits (1 or 2), e.g. 8N1 or 7E1")
        }
        let parity: Parity
        switch format[1] {
        case "N": parity = .none
        case "E": parity = .even
        case "O": parity = .odd
        default:
            throw ParseError(description: "serial parity in '\(text)' must be N (none), E (even) or O (odd)")
        }
        self.init(baud: baud, dataBits: data, parity: parity, stopBits: stop)
    }

    /// A speed in ``supportedBauds``; anything else names the speeds that are.
    static func parseBaud(_ text: String, whole: String) throws(ParseError) -> Int {
        guard let baud = Int(text), supportedBauds.contains(baud) else {
            throw ParseError(description: "serial speed '\(text)' in '\(whole)' is not one of \(supportedBauds.map(String.init).joined(separator: ", "))")
        }
        return baud
    }
}

extension SerialSettings {
    /// The settings to use: fixed, or a list to try in turn until one gives valid telegrams.
    public struct Selection: Sendable, Hashable, CustomStringConvertible {
        /// The settings tried, in order; a single entry means fixed settings.
        public let candidates: [SerialSettings]

        /// Detect among ``SerialSettings/automaticOrder``.
        public static let automatic = Selection(candidates: SerialSettings.automaticOrder)

        /// Always these settings.
        public static func fixed(_ settings: SerialSettings) -> Selection { Selection(candidates: [settings]) }

        private init(candidates: [SerialSettings]) { self.candidates = candidates }

        /// Whether the settings are detected rather than fixed.
        public var isAutomatic: Bool { candidates.count > 1 }

        /// Parses `auto` (or nil or empty: automatic), `115200/8N1`, `9600/7E1`, or a bare speed such as `115200`,
        /// which tries the automatic order's settings at that speed (8N1 first), or 8N1 for other speeds.
        public init(parsing text: String?) throws(ParseError) {
            let trimmed = (text ?? "").trimmingSpaces
            if trimmed.isEmpty || trimmed.lowercased() == "auto" {
                self = .automatic
            } else if trimmed.allSatisfy(\.isNumber) {
                let baud = try SerialSettings.parseBaud(trimmed, whole: trimmed)
                let matching = SerialSettings.automaticOrder.filter { $0.baud == baud }
                candidates = matching.isEmpty ? [SerialSettings(baud: baud)] : matching
            } else {
                self = .fixed(try SerialSettings(parsing: trimmed))
            }
        }

        /// `auto`, `115200/8N1`, or the candidates joined with ` or `.
        public var description: String {
            if self == .automatic { return "auto" }
            return candidates.map(\.specification).joined(separator: " or ")
        }
    }
}

extension String {
    /// Without leading and trailing spaces and tabs (no Foundation for `trimmingCharacters`).
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
