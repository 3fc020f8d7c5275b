import Foundation
import Synchronization
import Testing

/// `p1mqtt probe` run as a program against socat pty pairs and a loopback TCP server fed with telegrams,
/// random bytes or encrypted frames. Each run is bounded by `--seconds`.
@Suite("p1mqtt probe", .timeLimit(.minutes(1)))
struct ProbeCommandTests {
    static func example(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: CommandRunner.example(name))))
    }

    @Test("a pty with DSMR 5 telegrams: exit 0, 115200 8N1, variant dsmr5 and the equipment id",
          .enabled(if: ProbePTY.isAvailable, "needs socat"))
    func dsmr5() throws {
        let pty = try ProbePTY()
        let feeder = Feeder(path: pty.writer, payload: try Self.example("dsmr5.txt"), pause: 200_000)
        defer { feeder.stop(); pty.stop() }
        let result = try CommandRunner.run(["probe", pty.reader, "--seconds", "5"], timeout: 30)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("valid telegrams with: 115200 8N1"))
        #expect(result.stdout.contains("variant: dsmr5 (DSMR 5)"))
        #expect(result.stdout.contains("equipment id: E0051004871239517"))
        #expect(result.stdout.contains("encrypted: no"))
        #expect(result.stdout.contains("next step: p1mqtt run --source serial:\(pty.reader)@115200/8N1"))
        #expect(result.lines.contains { $0.hasPrefix("telegrams: 3 accepted") }, "\(result.stdout)")
        #expect(!result.stdout.contains("diagnosis:"))
    }

    @Test("a pty with DSMR 2.2 telegrams (no CRC): exit 0, variant dsmr3",
          .enabled(if: ProbePTY.isAvailable, "needs socat"))
    func dsmr22() throws {
        let pty = try ProbePTY()
        let feeder = Feeder(path: pty.writer, payload: try Self.example("dsmr22.txt"), pause: 200_000)
        defer { feeder.stop(); pty.stop() }
        let result = try CommandRunner.run(["probe", pty.reader, "--seconds", "5"], timeout: 30)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("variant: dsmr3 (DSMR 2.2/3.0)"))
        #expect(result.stdout.contains("equipment id: KA6U001660297912"))
    }

    @Test("a pty with random bytes: exit 1 after trying all three settings, with the wrong-speed/inverted diagnosis",
          .enabled(if: ProbePTY.isAvailable, "needs socat"))
    func randomBytes() throws {
        let pty = try ProbePTY()
        var random = SystemRandomNumberGenerator()
        let noise = (0..<300).map { _ in UInt8.random(in: 0...255, using: &random) }
        let feeder = Feeder(path: pty.writer, payload: noise, pause: 50_000)
        defer { feeder.stop(); pty.stop() }
        let started = Date()
        let result = try CommandRunner.run(["probe", pty.reader, "--seconds", "1.5"], timeout: 30)
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("bytes arrive but no telegram: wrong speed or an inverted signal — P1 is open-collector and needs an inverting cable or a pull-up"))
        #expect(result.stdout.contains("valid telegrams with: none (tried 115200 8N1, 9600 7E1, 115200 7E1)"))
        #expect(result.stdout.contains("9600 7E1: 0 telegrams accepted"))
        let bytes = result.lines.first { $0.hasPrefix("bytes seen: ") }.flatMap { Int($0.dropFirst("bytes seen: ".count)) }
        #expect((bytes ?? 0) > 1000, "\(result.stdout)")
        // Three settings of 1.5 s each, plus starting the program.
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test("a pty with encrypted frames and no key: exit 1, says to give --key",
          .enabled(if: ProbePTY.isAvailable, "needs socat"))
    func encryptedWithoutKey() throws {
        let pty = try ProbePTY()
        let feeder = Feeder(path: pty.writer, payload: Self.encryptedFrame(), pause: 200_000)
        defer { feeder.stop(); pty.stop() }
        let result = try CommandRunner.run(["probe", pty.reader, "--seconds", "1"], timeout: 30)
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("encrypted: yes"))
        #expect(result.stdout.contains("the meter sends encrypted frames (0xDB 0x08): give --key"))
        // The frames show that 115200 8N1 is right, so the other settings are not tried.
        #expect(result.stdout.contains("next step: p1mqtt probe \(pty.reader)@115200/8N1 --key KEY"))
        #expect(!result.stdout.contains("listening at 9600 7E1"))
    }

    @Test("a device that does not exist: exit 2, not found")
    func missingDevice() throws {
        let result = try CommandRunner.run(["probe", "/dev/ttyP1MQTT-missing", "--seconds", "1"], timeout: 20)
        #expect(result.status == 2)
        #expect(result.stderr.contains("/dev/ttyP1MQTT-missing not found"), "\(result.stderr)")
        #expect(result.stderr.contains("next step:"))
        #expect(result.stdout.isEmpty)
    }

    @Test("a TCP port nobody listens on: exit 2, connection refused")
    func connectionRefused() throws {
        let port = try LoopbackServer.unusedPort()
        let result = try CommandRunner.run(["probe", "127.0.0.1:\(port)", "--seconds", "1"], timeout: 20)
        #expect(result.status == 2)
        #expect(result.stderr.contains("connection refused by 127.0.0.1:\(port)"), "\(result.stderr)")
    }

    @Test("a TCP server sending DSMR 4 telegrams: exit 0 and a tcp:// source to run")
    func tcpServer() throws {
        let server = try LoopbackServer(payload: try Self.example("dsmr4.txt"), pause: 100_000)
        defer { server.stop() }
        let result = try CommandRunner.run(["probe", "tcp://127.0.0.1:\(server.port)", "--seconds", "5"], timeout: 30)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("variant: dsmr4"))
        #expect(result.stdout.contains("next step: p1mqtt run --source tcp://127.0.0.1:\(server.port)"))
        #expect(!result.stdout.contains("valid telegrams with:"), "no line settings over TCP")
    }

    @Test("bad arguments: a zero --seconds or a malformed key is refused with exit 2 or a usage error")
    func badArguments() throws {
        let seconds = try CommandRunner.run(["probe", "/dev/null", "--seconds", "0"], timeout: 20)
        #expect(seconds.status != 0)
        #expect(seconds.stderr.contains("--seconds must be more than 0"))
        let key = try CommandRunner.run(["probe", "/dev/null", "--key", "12"], timeout: 20)
        #expect(key.status == 2)
        #expect(key.stderr.contains("--key must be 32 hexadecimal digits"))
        let notSerial = try CommandRunner.run(["probe", "/dev/null", "--seconds", "1"], timeout: 20)
        #expect(notSerial.status == 2)
        #expect(notSerial.stderr.contains("/dev/null is not a serial device"), "\(notSerial.stderr)")
    }

    /// A DLMS general-global-cipher frame as Smarty meters send it; the ciphertext is random (without a key
    /// the probe never gets as far as decrypting).
    static func encryptedFrame() -> [UInt8] {
        var random = SystemRandomNumberGenerator()
        let ciphertext = (0..<400).map { _ in UInt8.random(in: 0...255, using: &random) }
        let tag = (0..<12).map { _ in UInt8.random(in: 0...255, using: &random) }
        let length = 1 + 4 + ciphertext.count + tag.count
        return [0xDB, 0x08] + Array("SAG12345".utf8) + [0x82, UInt8(length >> 8), UInt8(length & 0xFF), 0x30]
            + [0, 0, 0, 1] + ciphertext + tag
    }
}

/// A socat pty pair: the probe reads `reader`, `Feeder` writes `writer`. Stopped with SIGKILL (a child of the
/// test runner may inherit a mask that blocks SIGTERM).
final class ProbePTY: @unchecked Sendable {
    // @unchecked: used by one test at a time; `process` is set once in init and only read afterwards.
    static let socat: String? = ["/usr/bin/socat", "/usr/local/bin/socat"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static var isAvailable: Bool { socat != nil }

    struct Failure: Error, CustomStringConvertible { var description: String }

    let directory: String
    let reader: String
    let writer: String
    private let process = Process()

    init() throws {
        guard let socat = Self.socat else { throw Failure(description: "socat is not installed") }
        var template = Array((NSTemporaryDirectory() + "p1mqtt-probe-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw Failure(description: "cannot make a temporary directory") }
        directory = String(cString: made)
        reader = directory + "/ttyA"
        writer = directory + "/ttyB"
        process.executableURL = URL(fileURLWithPath: socat)
        process.arguments = ["pty,raw,echo=0,link=\(reader)", "pty,raw,echo=0,link=\(writer)"]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: reader) && FileManager.default.fileExists(atPath: writer) { return }
            usleep(10_000)
        }
        stop()
        throw Failure(description: "socat did not create the ptys within 5 s")
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Writes `payload` to a path again and again, with a pause in microseconds, on a thread of its own, until
/// stopped (or the write fails because the pty is gone).
final class Feeder: Sendable {
    private let stopped = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)

    init(path: String, payload: [UInt8], pause: UInt32) {
        Thread.detachNewThread { [self] in
            defer { done.signal() }
            let fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC)
            guard fd >= 0 else { return }
            defer { close(fd) }
            while !stopped.load(ordering: .relaxed) {
                let written = payload.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if written < 0 && errno != EINTR { return }
                usleep(pause)
            }
        }
    }

    /// Stops writing; waits at most 2 s for the thread (a write blocked on a full pty ends when socat is killed).
    func stop() {
        stopped.store(true, ordering: .relaxed)
        _ = done.wait(timeout: .now() + 2)
    }
}

/// A TCP server on 127.0.0.1 that accepts one connection and sends `payload` again and again.
final class LoopbackServer: Sendable {
    struct Failure: Error, CustomStringConvertible { var description: String }

    let port: Int
    private let listener: Int32
    private let stopped = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)

    init(payload: [UInt8], pause: UInt32) throws {
        (listener, port) = try Self.listen()
        Thread.detachNewThread { [self] in
            defer { done.signal() }
            var request = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            while !stopped.load(ordering: .relaxed) {
                guard poll(&request, 1, 100) == 1 else { continue }
                let connection = accept(listener, nil, nil)
                guard connection >= 0 else { return }
                defer { close(connection) }
                while !stopped.load(ordering: .relaxed) {
                    let sent = payload.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    if sent < 0 { break }
                    usleep(pause)
                }
            }
        }
    }

    func stop() {
        stopped.store(true, ordering: .relaxed)
        _ = done.wait(timeout: .now() + 2)
        close(listener)
    }

    /// A port that was free a moment ago: bound, then closed.
    static func unusedPort() throws -> Int {
        let (fd, port) = try listen()
        close(fd)
        return port
    }

    private static func listen() throws -> (Int32, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, Glibc.listen(fd, 4) == 0 else {
            close(fd)
            throw Failure(description: "cannot listen on 127.0.0.1")
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }
}
