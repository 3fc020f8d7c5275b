import Foundation
import Logging
import Synchronization
import Testing

@testable import P1MQTT
import P1MQTTTestSupport

/// The serial source against socat pty pairs: reassembly of telegrams written in pieces, automatic detection,
/// a device that disappears and comes back, a device that is missing at start, and the termios flags.
@Suite("Serial source", .serialized, .timeLimit(.minutes(1)), .enabled(if: PTYPair.isAvailable, "needs socat"))
struct SerialByteSourceTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// Example telegrams that all carry a CRC (a meter never mixes telegrams with and without one).
    static let examples: [[UInt8]] = ["dsmr5", "dsmr4", "belgium", "luxembourg", "iskra_ie", "dsmr5_two_gas",
                                      "eon_hungary", "austria", "sweden"].map { name in
        (try? [UInt8](Data(contentsOf: repository.appendingPathComponent("examples/telegrams/\(name).txt")))) ?? []
    }

    /// A telegram as ``Telegram/bytes`` holds it: from `/` through `!`.
    static func body(_ telegram: [UInt8]) -> [UInt8] {
        guard let bang = telegram.lastIndex(of: UInt8(ascii: "!")) else { return [] }
        return Array(telegram[...bang])
    }

    // MARK: - Streaming

    @Test("telegrams written in random pieces arrive whole and in order; cancelling stops the reader")
    func piecesArriveWhole() async throws {
        #expect(Self.examples.allSatisfy { $0.count > 100 }, "the example telegrams should be readable")
        let pty = try PTYPair()
        let (logger, _) = CapturingLogHandler.logger()
        let source = SerialByteSource(device: pty.deviceA, settings: .fixed(.dsmr5), logger: logger)
        #expect(source.name == "serial \(pty.deviceA)")
        let collector = SourceCollector(source)
        defer { collector.cancel() }
        #expect(await Self.eventually { source.status.state == .reading(.dsmr5) })
        #expect(source.currentSettings == .dsmr5)

        let telegrams = Self.examples + Self.examples
        try await Self.offPool {
            let fd = try pty.openWriter()
            defer { close(fd) }
            var random = TestTelegrams.SeededGenerator(seed: 0x5E71A1)
            for telegram in telegrams {
                try PTYPair.writeInPieces(telegram, to: fd, using: &random)
                usleep(UInt32.random(in: 0...5000, using: &random))
            }
        }
        #expect(await Self.eventually(.seconds(10)) { collector.telegrams.count >= telegrams.count })
        #expect(collector.telegrams == telegrams.map(Self.body))
        #expect(collector.rejections.isEmpty, "rejected: \(collector.rejections)")
        #expect(source.status.bytes == telegrams.reduce(0) { $0 + $1.count })

        collector.cancel()
        // The reader polls at most 250 ms at a time, so it notices the cancellation well within a second.
        #expect(await Self.eventually(.seconds(3)) { source.status.state == .idle })
        #expect(await Self.eventually(.seconds(3)) { collector.ended })
    }

    @Test("9600 7E1: characters that arrive with their parity bit in bit 7 come out as the 7-bit telegram")
    func sevenBitLine() async throws {
        let pty = try PTYPair()
        let source = SerialByteSource(device: pty.deviceA, settings: try .init(parsing: "9600/7E1"))
        let collector = SourceCollector(source)
        defer { collector.cancel() }
        #expect(await Self.eventually { source.status.state == .reading(.dsmr3) })
        let telegram = Self.examples[0]
        // Even parity: bit 7 set when the 7 data bits hold an odd number of ones, as an adapter that ignores
        // CS7 would deliver it.
        let withParity = telegram.map { $0.nonzeroBitCount % 2 == 1 ? $0 | 0x80 : $0 }
        #expect(withParity != telegram)
        try await Self.offPool {
            let fd = try pty.openWriter()
            defer { close(fd) }
            try PTYPair.writeAll(withParity, to: fd)
        }
        #expect(await Self.eventually(.seconds(15)) { collector.telegrams == [Self.body(telegram)] })
        #expect(collector.rejections.isEmpty)
    }

    @Test("automatic settings: each is tried in turn, the first with a valid telegram is kept, silence restarts detection")
    func automaticDetection() async throws {
        let pty = try PTYPair()
        let (logger, log) = CapturingLogHandler.logger()
        let source = SerialByteSource(device: pty.deviceA, logger: logger, detectionTimeout: .seconds(1),
                                      quietTimeout: .milliseconds(1500))
        #expect(source.settings == .automatic)
        let collector = SourceCollector(source)
        defer { collector.cancel() }
        #expect(await Self.eventually { source.status.state == .detecting(.dsmr5) })
        #expect(source.currentSettings == nil)
        // Nothing arrives: after the detection timeout the next setting is tried.
        #expect(await Self.eventually(.seconds(12)) { source.status.state == .detecting(.dsmr3) })

        let telegram = Self.examples[0]
        try await Self.offPool {
            let fd = try pty.openWriter()
            defer { close(fd) }
            let deadline = Date().addingTimeInterval(5)
            while source.currentSettings == nil && Date() < deadline {
                try PTYPair.writeAll(telegram, to: fd)
                usleep(50_000)
            }
        }
        // A pty takes any setting, so the one being tried when the telegram arrived is kept.
        #expect(source.currentSettings == .dsmr3)
        #expect(source.status.state == .reading(.dsmr3))
        #expect(source.status.validTelegrams >= 1)
        #expect(log.all.contains("serial \(pty.deviceA): 9600 7E1 gives valid telegrams"), "log: \(log.all)")
        // The bytes read while detecting were passed on, so the telegram that decided it reached the consumer.
        #expect(await Self.eventually { collector.telegrams.first == Self.body(telegram) })

        // Silence for longer than the quiet timeout: detection starts again from the first setting.
        #expect(await Self.eventually(.seconds(15)) { source.currentSettings == nil })
        #expect(await Self.eventually(.seconds(6)) {
            if case .detecting = source.status.state { true } else { false }
        })
        #expect(log.all.contains { $0.contains("no valid telegram for 1.5 s at 9600 7E1; detecting the line settings again") },
                "log: \(log.all)")
    }

    /// An EasyMeter Q3D read through an optical head: 9600 7E1 and no CRC. Automatic detection must find it by
    /// the telegram's structure alone, with the gateway's trailer (a counter and 0xFF bytes) after the `!`.
    @Test("automatic settings find an EasyMeter Q3D at 9600 7E1: no CRC, parity bits in bit 7, trailer after '!'")
    func automaticDetectionOfQ3D() async throws {
        let telegram = try [UInt8](Data(contentsOf: Self.repository.appendingPathComponent("examples/telegrams/q3d.txt")))
        #expect(telegram.contains(0xFF), "the example should carry the gateway's 0xFF trailer")
        let withParity = telegram.map { ($0 & 0x7F).nonzeroBitCount % 2 == 1 ? $0 | 0x80 : $0 }
        let pty = try PTYPair()
        let (logger, log) = CapturingLogHandler.logger()
        let source = SerialByteSource(device: pty.deviceA, logger: logger, detectionTimeout: .seconds(1))
        let collector = SourceCollector(source)
        defer { collector.cancel() }
        #expect(await Self.eventually { source.status.state == .detecting(.dsmr5) })
        try await Self.offPool {
            let fd = try pty.openWriter()
            defer { close(fd) }
            let deadline = Date().addingTimeInterval(10)
            while source.currentSettings == nil && Date() < deadline {
                try PTYPair.writeAll(withParity, to: fd)
                usleep(100_000)
            }
        }
        // At 8N1 the parity bits stay and no '/' is ever seen; at 9600 7E1 they are cleared and the telegram is valid.
        #expect(source.currentSettings == .dsmr3)
        #expect(log.all.contains("serial \(pty.deviceA): 9600 7E1 gives valid telegrams"), "log: \(log.all)")
        #expect(await Self.eventually { collector.telegrams.first == Self.body(telegram) })
        #expect(collector.rejections.isEmpty, "rejected: \(collector.rejections)")
    }

    // MARK: - Device gone and back

    @Test("the pty disappears mid-stream and comes back: reading resumes by itself and no later telegram is lost")
    func reopensAfterTheDeviceDisappears() async throws {
        let pty = try PTYPair()
        let (logger, log) = CapturingLogHandler.logger()
        let source = SerialByteSource(device: pty.deviceA, logger: logger, detectionTimeout: .seconds(5))
        let collector = SourceCollector(source)
        defer { collector.cancel() }
        #expect(await Self.eventually { source.status.state == .detecting(.dsmr5) })

        let before = Array(Self.examples.prefix(3))
        try await Self.offPool {
            let fd = try pty.openWriter()
            defer { close(fd) }
            var random = TestTelegrams.SeededGenerator(seed: 1)
            for telegram in before { try PTYPair.writeInPieces(telegram, to: fd, using: &random) }
        }
        #expect(await Self.eventually(.seconds(15)) { collector.telegrams.count == before.count })
        #expect(source.currentSettings == .dsmr5)

        // Unplugged: the ptys and their links disappear.
        pty.stop()
        #expect(await Self.eventually(.seconds(9)) {
            if case .waitingForDevice = source.status.state { true } else { false }
        })
        #expect(log.messages(atLeast: .warning).contains { $0.contains("reopening") }, "log: \(log.all)")
        #expect(!collector.ended, "the stream must not end when the device disappears")

        // Plugged in again under the same name.
        try pty.start()
        #expect(await Self.eventually(.seconds(10)) { source.status.opens == 2 && source.status.state == .reading(.dsmr5) },
                "status: \(source.status)")
        #expect(log.all.contains("serial \(pty.deviceA): device is back"), "log: \(log.all)")

        let after = Array(Self.examples.suffix(5))
        try await Self.offPool {
            let fd = try pty.openWriter()
            defer { close(fd) }
            var random = TestTelegrams.SeededGenerator(seed: 2)
            for telegram in after { try PTYPair.writeInPieces(telegram, to: fd, using: &random) }
        }
        #expect(await Self.eventually(.seconds(15)) { collector.telegrams.count == before.count + after.count })
        #expect(collector.telegrams == (before + after).map(Self.body))
        #expect(!collector.ended)
    }

    @Test("a missing device is logged once as waiting for it, the stream stays open, and it is read once it appears")
    func missingDeviceWaits() async throws {
        let pty = try PTYPair(start: false)
        let (logger, log) = CapturingLogHandler.logger()
        let source = SerialByteSource(device: pty.deviceA, settings: .fixed(.dsmr5), logger: logger)
        let collector = SourceCollector(source)
        defer { collector.cancel() }
        #expect(await Self.eventually {
            if case .waitingForDevice(let reason) = source.status.state { reason.contains("not found") } else { false }
        })
        // Several attempts fail the same way (1 s, then 1–2 s apart) but the state is logged once.
        try await Task.sleep(for: .milliseconds(2500))
        let waiting = log.all.filter { $0.contains("waiting for device") }
        #expect(waiting.count == 1, "log: \(log.all)")
        #expect(waiting.first?.hasPrefix("serial \(pty.deviceA): waiting for device: \(pty.deviceA) not found") == true)
        #expect(!collector.ended)
        #expect(collector.error == nil)

        try pty.start()
        #expect(await Self.eventually(.seconds(10)) { source.status.state == .reading(.dsmr5) }, "status: \(source.status)")
        let telegram = Self.examples[1]
        try await Self.offPool {
            let fd = try pty.openWriter()
            defer { close(fd) }
            try PTYPair.writeAll(telegram, to: fd)
        }
        #expect(await Self.eventually(.seconds(15)) { collector.telegrams == [Self.body(telegram)] })
    }

    @Test("a path that is not a serial device ends the stream with an error the user can act on")
    func notASerialDevice() async throws {
        let pty = try PTYPair(start: false)
        let path = pty.directory + "/capture.txt"
        #expect(FileManager.default.createFile(atPath: path, contents: Data("not a tty".utf8)))
        let source = SerialByteSource(device: path, settings: .fixed(.dsmr5))
        let collector = SourceCollector(source)
        defer { collector.cancel() }
        #expect(await Self.eventually(.seconds(9)) { collector.ended })
        #expect(collector.error?.contains("\(path) is not a serial device") == true, "error: \(collector.error ?? "none")")
        // validate() says the same before anything starts, and lets a missing device or a pty through.
        #expect(throws: SourceError.self) { try source.validate() }
        #expect(throws: Never.self) { try SerialByteSource(device: pty.deviceA).validate() }
        try pty.start()
        #expect(throws: Never.self) { try SerialByteSource(device: pty.deviceA).validate() }
        #expect(throws: SourceError.self) { try SerialByteSource(device: "/dev/null").validate() }
    }

    // MARK: - termios

    @Test("7E1 sets CS7, PARENB, INPCK and ISTRIP; 8N1 clears them; both are raw with no flow control")
    func termiosFlags() throws {
        // The flags as computed, starting from attributes full of everything that must be cleared.
        var start = termios()
        start.c_cflag = tcflag_t(CS8) | tcflag_t(PARODD) | tcflag_t(CSTOPB) | tcflag_t(CRTSCTS)
        start.c_iflag = tcflag_t(IXON) | tcflag_t(IXOFF) | tcflag_t(ICRNL)
        start.c_lflag = tcflag_t(ICANON) | tcflag_t(ECHO)
        var seven = start
        SerialPort.apply(.dsmr3, to: &seven)
        #expect(seven.c_cflag & tcflag_t(CSIZE) == tcflag_t(CS7))
        #expect(seven.c_cflag & tcflag_t(PARENB) != 0)
        #expect(seven.c_cflag & tcflag_t(PARODD) == 0)
        #expect(seven.c_iflag & tcflag_t(ISTRIP) != 0)
        #expect(seven.c_iflag & tcflag_t(INPCK) != 0)
        #expect(seven.c_iflag & tcflag_t(ICRNL) == 0)
        #expect(Self.inputSpeed(seven) == speed_t(B9600))
        Self.expectRawWithoutFlowControl(seven)

        var eight = seven
        SerialPort.apply(.dsmr5, to: &eight)
        #expect(eight.c_cflag & tcflag_t(CSIZE) == tcflag_t(CS8))
        #expect(eight.c_cflag & tcflag_t(PARENB) == 0)
        #expect(eight.c_iflag & tcflag_t(ISTRIP) == 0)
        #expect(eight.c_iflag & tcflag_t(INPCK) == 0)
        #expect(Self.inputSpeed(eight) == speed_t(B115200))
        Self.expectRawWithoutFlowControl(eight)

        var sevenFast = eight
        SerialPort.apply(.dsmr4, to: &sevenFast)
        #expect(sevenFast.c_cflag & tcflag_t(CSIZE) == tcflag_t(CS7))
        #expect(sevenFast.c_cflag & tcflag_t(PARENB) != 0)
        #expect(sevenFast.c_iflag & tcflag_t(ISTRIP) != 0)
        #expect(Self.inputSpeed(sevenFast) == speed_t(B115200))
    }

    @Test("configured on a pty, 7E1 reads back with INPCK, ISTRIP and 9600 baud, 8N1 without")
    func termiosOnAPTY() throws {
        let pty = try PTYPair()
        let port = try SerialPort.open(pty.deviceA)
        defer { port.close() }
        // Linux's pty driver forces CS8 and clears PARENB on its own (a pty has no wire to put parity on), so
        // only the input flags and the speed can be read back here; the character size is checked above.
        try port.configure(.dsmr3)
        let seven = try #require(port.attributes())
        #expect(seven.c_iflag & tcflag_t(ISTRIP) != 0)
        #expect(seven.c_iflag & tcflag_t(INPCK) != 0)
        #expect(Self.inputSpeed(seven) == speed_t(B9600))
        #expect(seven.c_cflag & tcflag_t(CLOCAL) != 0)
        #expect(seven.c_lflag & (tcflag_t(ICANON) | tcflag_t(ECHO)) == 0)

        try port.configure(.dsmr5)
        let eight = try #require(port.attributes())
        #expect(eight.c_iflag & tcflag_t(ISTRIP) == 0)
        #expect(eight.c_iflag & tcflag_t(INPCK) == 0)
        #expect(Self.inputSpeed(eight) == speed_t(B115200))
        #expect(eight.c_cflag & tcflag_t(CSIZE) == tcflag_t(CS8))
        Self.expectRawWithoutFlowControl(eight)
    }

    static func inputSpeed(_ attributes: termios) -> speed_t {
        var copy = attributes
        return cfgetispeed(&copy)
    }

    static func expectRawWithoutFlowControl(_ attributes: termios) {
        var copy = attributes
        #expect(attributes.c_cflag & tcflag_t(CLOCAL) != 0)
        #expect(attributes.c_cflag & tcflag_t(CREAD) != 0)
        #expect(attributes.c_cflag & tcflag_t(CRTSCTS) == 0)
        #expect(attributes.c_cflag & tcflag_t(CSTOPB) == 0)
        #expect(attributes.c_iflag & (tcflag_t(IXON) | tcflag_t(IXOFF)) == 0)
        #expect(attributes.c_lflag & (tcflag_t(ICANON) | tcflag_t(ECHO)) == 0)
        withUnsafeBytes(of: &copy.c_cc) { cc in
            #expect(cc[Int(VMIN)] == 0)
            #expect(cc[Int(VTIME)] == 0)
        }
    }

    @Test("opening a missing device or a directory names the problem")
    func openFailures() throws {
        let pty = try PTYPair(start: false)
        #expect(throws: SerialPort.Failure.self) { try SerialPort.open(pty.deviceA) }
        do {
            _ = try SerialPort.open(pty.deviceA)
        } catch {
            #expect(error.kind == .notFound)
            #expect(error.description.hasPrefix("\(pty.deviceA) not found"))
        }
        do {
            _ = try SerialPort.open(pty.directory)
            Issue.record("a directory should not open as a serial device")
        } catch {
            #expect(error.kind == .notASerialDevice)
        }
        #expect(SerialPort.failure(opening: "/dev/ttyUSB0", errno: EACCES).description.contains("add your user to the dialout group"))
    }
}

// MARK: - Settings

@Suite("Serial settings")
struct SerialSettingsTests {
    @Test("line settings parse and print the way they are written")
    func parsing() throws {
        #expect(try SerialSettings(parsing: "115200/8N1") == .dsmr5)
        #expect(try SerialSettings(parsing: "9600/7E1") == .dsmr3)
        #expect(try SerialSettings(parsing: "115200 7e1") == .dsmr4)
        #expect(try SerialSettings(parsing: "19200/8O2") == SerialSettings(baud: 19200, dataBits: 8, parity: .odd, stopBits: 2))
        #expect(SerialSettings.dsmr3.description == "9600 7E1")
        #expect(SerialSettings.dsmr5.specification == "115200/8N1")
        #expect(SerialSettings.automaticOrder == [.dsmr5, .dsmr3, .dsmr4])
        #expect(SerialSettings.dsmr3.isSevenBit && !SerialSettings.dsmr5.isSevenBit)
        for bad in ["115200", "12345/8N1", "115200/9N1", "115200/8X1", "115200/8N3", "fast/8N1", "115200/8N"] {
            #expect(throws: SerialSettings.ParseError.self, "\(bad)") { try SerialSettings(parsing: bad) }
        }
    }

    /// README's variant table tells users which line settings their meter uses; `auto` and `p1mqtt probe` must
    /// try every one of them, or a meter the README promises is never found.
    @Test("every line setting in README's variant table is one that automatic detection and probe try")
    func readmeSettingsAreDetected() throws {
        let readme = try String(contentsOf: SerialByteSourceTests.repository.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.components(separatedBy: "## Meters and variants").dropFirst().first)
        let rows = section.components(separatedBy: "\n").prefix { !$0.hasPrefix("#") }.filter { $0.hasPrefix("| `") }
        #expect(rows.count == MeterVariant.allCases.count - 1, "one row per variant but unknown")
        for row in rows {
            let columns = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            try #require(columns.count >= 3, "\(row)")
            // "115200 8N1 (some cables 7E1)", "9600 7E1 / 8N1": a format takes the speed written before it.
            var baud: Int?
            var settings: [SerialSettings] = []
            for token in columns[2].split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init) {
                if let number = Int(token), SerialSettings.supportedBauds.contains(number) {
                    baud = number
                } else if token.count == 3, "78".contains(token.first ?? " "), let baud {
                    settings.append(try SerialSettings(parsing: "\(baud)/\(token)"))
                }
            }
            #expect(!settings.isEmpty, "\(columns[0]): no line settings in '\(columns[2])'")
            for setting in settings {
                #expect(SerialSettings.automaticOrder.contains(setting),
                        "\(columns[0]): README says \(setting), which auto-detection and probe never try")
            }
        }
        #expect(SerialSettings.Selection.automatic.candidates == SerialSettings.automaticOrder)
        #expect(try MeterProbe.Target(parsing: "/dev/ttyUSB0") == .serial(device: "/dev/ttyUSB0", settings: .automatic))
    }

    @Test("a selection is auto, fixed, or the automatic order at one speed")
    func selection() throws {
        #expect(try SerialSettings.Selection(parsing: nil) == .automatic)
        #expect(try SerialSettings.Selection(parsing: "auto") == .automatic)
        #expect(try SerialSettings.Selection(parsing: "AUTO").isAutomatic)
        #expect(try SerialSettings.Selection(parsing: "9600/7E1") == .fixed(.dsmr3))
        #expect(try SerialSettings.Selection(parsing: "115200").candidates == [.dsmr5, .dsmr4])
        #expect(try SerialSettings.Selection(parsing: "9600").candidates == [.dsmr3])
        #expect(try SerialSettings.Selection(parsing: "38400").candidates == [SerialSettings(baud: 38400)])
        #expect(try !SerialSettings.Selection(parsing: "9600/7E1").isAutomatic)
        #expect(SerialSettings.Selection.automatic.description == "auto")
        do {
            _ = try SerialSettings.Selection(parsing: "115200/8Q1")
            Issue.record("8Q1 should be refused")
        } catch {
            #expect(error.description.contains("must be N (none), E (even) or O (odd)"))
        }
    }

    @Test("probe targets: devices, serial: with settings, HOST:PORT and tcp://")
    func probeTargets() throws {
        #expect(try MeterProbe.Target(parsing: "/dev/ttyUSB0") == .serial(device: "/dev/ttyUSB0", settings: .automatic))
        #expect(try MeterProbe.Target(parsing: "ttyACM0") == .serial(device: "/dev/ttyACM0", settings: .automatic))
        #expect(try MeterProbe.Target(parsing: "serial:/dev/ttyUSB1@9600/7E1")
                == .serial(device: "/dev/ttyUSB1", settings: .fixed(.dsmr3)))
        #expect(try MeterProbe.Target(parsing: "192.168.1.20:2000") == .tcp(host: "192.168.1.20", port: 2000))
        #expect(try MeterProbe.Target(parsing: "tcp://[::1]:23") == .tcp(host: "::1", port: 23))
        #expect(throws: SourceError.self) { try MeterProbe.Target(parsing: "dongle.local:99999") }
        #expect(throws: SourceError.self) { try MeterProbe.Target(parsing: "/dev/ttyUSB0@9600/7Z1") }
    }
}

// MARK: - Helpers

/// Consumes a source's stream in the background, decoding it, so tests can wait for what arrived.
private final class SourceCollector: Sendable {
    private struct State {
        var telegrams: [[UInt8]] = []
        var rejections: [String] = []
        var ended = false
        var error: String?
    }

    private final class Store: Sendable {
        let state = Mutex(State())
    }

    private let store = Store()
    private let task: Task<Void, Never>

    init(_ source: some ByteSource) {
        let store = self.store
        task = Task {
            var decoder = TelegramDecoder()
            do {
                for try await chunk in source.chunks() {
                    decoder.feed(chunk) { event in
                        switch event {
                        case .telegram(let telegram): store.state.withLock { $0.telegrams.append(telegram.bytes) }
                        case .rejected(let rejection): store.state.withLock { $0.rejections.append(rejection.detail) }
                        }
                    }
                }
            } catch {
                store.state.withLock { $0.error = "\(error)" }
            }
            store.state.withLock { $0.ended = true }
        }
    }

    deinit { task.cancel() }

    /// Stops consuming (the stream's termination stops the source's thread).
    func cancel() { task.cancel() }

    /// The accepted telegrams so far (`/` through `!`).
    var telegrams: [[UInt8]] { store.state.withLock { $0.telegrams } }
    /// The rejections so far.
    var rejections: [String] { store.state.withLock { $0.rejections } }
    /// Whether the stream ended.
    var ended: Bool { store.state.withLock { $0.ended } }
    /// The error the stream ended with.
    var error: String? { store.state.withLock { $0.error } }
}

extension SerialByteSourceTests {
    /// Polls `condition` every 20 ms until it holds or `timeout` passes; returns whether it held.
    static func eventually(_ timeout: Duration = .seconds(15), _ condition: () -> Bool) async -> Bool {
        await P1MQTTTestSupport.eventually(timeout: timeout, interval: .milliseconds(20), condition)
    }

    /// Runs blocking writes on a thread of their own, so they never hold one of the few cooperative threads that
    /// the source's consumer needs.
    static func offPool(_ body: @escaping @Sendable () throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            Thread.detachNewThread {
                do {
                    try body()
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}
