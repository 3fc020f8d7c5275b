/// Takes the P1 bytes out of an RFXtrx's packet stream.
///
/// An RFXtrx with RFXCOM's P1 cable re-emits the meter's data as packets: a length byte N (the bytes that
/// follow), packet type, subtype, sequence number, then N − 3 bytes of P1 data. Type 0x62 subtype 0x01 is
/// P1; other packet types (the RFXtrx's own status messages, radio reception) are skipped. A packet split
/// across reads is kept until it is complete.
public struct RFXtrxUnwrapper: Sendable {
    /// The packet type of P1 data ("async receive").
    public static let packetType: UInt8 = 0x62
    /// The subtype of P1 data.
    public static let subtype: UInt8 = 0x01

    private var pending: [UInt8] = []
    /// Packets of other types skipped so far.
    public private(set) var skippedPackets = 0
    /// Bytes held for an incomplete packet (at most one packet, 256 bytes).
    public var pendingCount: Int { pending.count }

    /// Creates an unwrapper.
    public init() {}

    /// The P1 bytes carried by the packets completed with `chunk`.
    public mutating func unwrap(_ chunk: [UInt8]) -> [UInt8] {
        pending += chunk
        var output: [UInt8] = []
        var index = 0
        while index < pending.count {
            let length = Int(pending[index])
            // A zero length carries nothing: skip the byte, as a resync.
            if length == 0 {
                index += 1
                continue
            }
            guard index + length < pending.count else { break }
            if length >= 3, pending[index + 1] == Self.packetType, pending[index + 2] == Self.subtype {
                output += pending[(index + 4)..<(index + 1 + length)]
            } else {
                skippedPackets += 1
            }
            index += length + 1
        }
        pending.removeFirst(index)
        return output
    }
}

/// An RFXtrx on another byte source (a serial device or a TCP connection): passes on only the P1 data.
public struct RFXtrxByteSource: ByteSource {
    /// The connection to the RFXtrx.
    public let transport: any ByteSource

    /// Wraps a connection to an RFXtrx.
    public init(transport: any ByteSource) {
        self.transport = transport
    }

    /// `rfxtrx on serial /dev/ttyUSB0`.
    public var name: String { "rfxtrx on \(transport.name)" }

    /// The transport's state.
    public var state: String { transport.state }

    /// The P1 data inside the RFXtrx packets.
    public func chunks() -> AsyncThrowingStream<[UInt8], any Error> {
        let transport = transport
        return AsyncThrowingStream { continuation in
            let task = Task {
                var unwrapper = RFXtrxUnwrapper()
                do {
                    for try await chunk in transport.chunks() {
                        let data = unwrapper.unwrap(chunk)
                        if !data.isEmpty { continuation.yield(data) }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
