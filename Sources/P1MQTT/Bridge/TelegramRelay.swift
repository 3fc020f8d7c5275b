import Logging

/// Serves every accepted telegram to TCP clients, the way ser2net serves a P1 port in raw mode, so other
/// programs can read the meter p1mqtt holds: a USB P1 cable can be opened by one program only, and
/// dsmr-reader, Home Assistant's DSMR integration or a second p1mqtt can then connect to `tcp://HOST:PORT`.
///
/// Only telegrams p1mqtt accepted are relayed, each whole (`/` … `!CRC` and its line end), so a client never
/// sees a cut-off or damaged one; an encrypted meter's telegrams are relayed decrypted, with a CRC computed
/// over the plain text (readers that cannot decrypt can then read them). A client that stops reading is
/// dropped (``TelegramServer``): no client can hold up the bridge.
public final class TelegramRelay: TelegramObserver {
    private let server: TelegramServer

    /// Starts listening on `host:port`.
    /// - Throws: ``TelegramServer/Failure`` naming the address when it cannot listen there.
    public init(host: String, port: Int, logger: Logger) throws(TelegramServer.Failure) {
        server = try TelegramServer(host: host, port: port, logger: logger)
        logger.info("relaying every accepted telegram to TCP clients on \(server.address) (like ser2net: tcp://\(server.address))")
    }

    /// The address listened on, with the actual port (`127.0.0.1:2000`).
    public var address: String { server.address }

    /// How many clients are connected.
    public var clientCount: Int { server.clientCount }

    /// Nothing to do: the relay needs no status.
    public func bridgeStarted(status: @escaping @Sendable () -> BridgeStatus) {}

    /// Sends the telegram to every connected client.
    public func accepted(_ update: TelegramUpdate) {
        server.send(Self.wireBytes(of: update.telegram))
    }

    /// Disconnects the clients and closes the port.
    public func bridgeStopping() async {
        server.stop()
    }

    /// The telegram as a meter sends it: its bytes, the CRC when the variant has one (computed again, so a
    /// decrypted telegram gets one that matches its plain text), and CR LF.
    public static func wireBytes(of telegram: Telegram) -> [UInt8] {
        var bytes = telegram.bytes
        bytes.reserveCapacity(bytes.count + 6)
        if telegram.crc == .valid {
            let crc = CRC16.arc(telegram.bytes)
            let digits = Array("0123456789ABCDEF".utf8)
            for shift in [12, 8, 4, 0] { bytes.append(digits[Int(crc >> UInt16(shift)) & 0xF]) }
        }
        bytes.append(contentsOf: [0x0D, 0x0A])
        return bytes
    }
}
