import Mapping

/// One sub-device on the meter's M-Bus (gas, water, heat meter …), gathered from the `0-n:…` lines of its
/// channel.
public struct MBusDevice: Sendable, Hashable {
    /// The channel, 1…9 (B in `0-B:24.2.1`).
    public let channel: Int
    /// The EN 13757-3 device type from `0-n:24.1.0`, when sent.
    public var deviceType: Int?
    /// The equipment identifier (decoded from hex when printable), when sent and not empty.
    public var equipmentID: String?
    /// The latest reading, when the channel has a real one.
    public var reading: MeterNumber?
    /// The reading's unit as the meter wrote it (`m3`, `GJ`, `m³`).
    public var unit: String?
    /// When the meter took the reading.
    public var timestamp: MeterTimestamp?
    /// Which object carried the reading (`24.2.1`, `24.2.3`, or the DSMR 2.2 `24.3.0`).
    public var readingCode: ObisCode?
    /// Valve position (`24.4.0`), when sent.
    public var valvePosition: Int?
    /// Breaker state (`96.3.10`), when sent.
    public var breakerState: Int?
    /// True when the channel carries no real reading: no reading line, or a dead-channel placeholder such as
    /// `(700101010000W)(00000000)`. A placeholder is never reported as a reading of 0.
    public var isPlaceholder: Bool

    /// Creates an empty device on a channel.
    public init(channel: Int) {
        self.channel = channel
        self.isPlaceholder = true
    }

    /// The kind from the device type; nil when no type line was sent.
    public var kind: MBusDeviceKind? { deviceType.map { MBusDeviceKind(deviceType: $0) } }
}
