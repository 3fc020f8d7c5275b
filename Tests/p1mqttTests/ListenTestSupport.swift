import P1MQTTTestSupport
import Foundation

/// A `p1mqtt` child that keeps running: `CommandRunner` waits for the exit, this one does not. Standard error
/// goes to a temporary file that the test reads while the child runs.
final class ListeningChild: @unchecked Sendable {
    // @unchecked: `process` is only used from the test that owns the child, one call at a time.
    private let process = Process()
    private let stderrPath: String

    init(_ arguments: [String]) throws {
        stderrPath = NSTemporaryDirectory() + "p1mqtt-listen-\(UUID().uuidString).stderr"
        guard FileManager.default.createFile(atPath: stderrPath, contents: nil) else {
            throw ListenTestSupport.Failure(description: "cannot create \(stderrPath)")
        }
        process.executableURL = CommandRunner.executable
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        try process.run()
    }

    /// Standard error so far.
    var stderr: String {
        (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
    }

    /// Sends SIGTERM and waits up to `timeout` seconds; returns the exit status, or nil when it had to be killed.
    func terminate(timeout: TimeInterval) -> Int32? {
        _ = sendSignal(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        guard !process.isRunning else {
            kill()
            return nil
        }
        return process.terminationReason == .exit ? process.terminationStatus : -process.terminationStatus
    }

    /// Kills the child (SIGKILL always arrives) and removes the output file.
    func kill() {
        if process.isRunning {
            _ = sendSignal(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: stderrPath)
    }
}

/// `kill(2)` and `connect(2)`, reachable from types whose own `kill()` and `connect(port:)` hide them.
func sendSignal(_ pid: pid_t, _ signal: Int32) -> Int32 { kill(pid, signal) }
func connectSocket(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
    connect(fd, address, length)
}

/// Sockets and telegram checks for the listen tests, in a namespace of their own.
enum ListenTestSupport {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// A port nobody listens on: bind port 0 on 127.0.0.1 and let the kernel choose.
    static func freePort() throws -> Int {
        try Loopback.freePort()
    }

    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return address
    }

    /// Connects to 127.0.0.1:`port`, retrying for up to 10 s while the child starts.
    static func connect(port: Int) async throws -> Int32 {
        let deadline = Date().addingTimeInterval(10)
        while true {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw Failure(description: "socket failed") }
            var address = loopback(port: port)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connectSocket(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            if connected == 0 { return fd }
            close(fd)
            guard Date() < deadline else { throw Failure(description: "nothing listens on 127.0.0.1:\(port)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Everything that arrives on `fd` within `seconds` (polled in short slices, so bounded in time).
    /// Reads for `seconds`, or longer (up to `patience` seconds) until `telegrams` complete telegrams arrived:
    /// on a machine busy with the rest of the suite the server may send fewer in the first seconds.
    static func read(_ fd: Int32, for seconds: Double, atLeast telegrams: Int = 0, patience: Double = 15) async -> [UInt8] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        let start = Date()
        while Date() < start.addingTimeInterval(seconds)
            || (Date() < start.addingTimeInterval(patience) && Self.telegrams(in: bytes).count < telegrams)
        {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&entry, 1, 0) > 0 {
                let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if count <= 0 { break }
                bytes += buffer[0..<count]
            } else {
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        return bytes
    }

    /// The complete telegrams in `bytes`: `/` through `!` and the four CRC digits.
    static func telegrams(in bytes: [UInt8]) -> [[UInt8]] {
        var telegrams: [[UInt8]] = []
        var index = bytes.startIndex
        while let start = bytes[index...].firstIndex(of: UInt8(ascii: "/")),
              let bang = bytes[start...].firstIndex(of: UInt8(ascii: "!")), bang + 4 < bytes.endIndex {
            telegrams.append(Array(bytes[start...(bang + 4)]))
            index = bang + 5
        }
        return telegrams
    }

    /// Whether the four hex digits after `!` are the CRC-16/ARC of `/` through `!`.
    static func hasValidCRC(_ telegram: [UInt8]) -> Bool {
        guard telegram.count > 5 else { return false }
        let body = telegram.dropLast(4)
        var crc: UInt16 = 0
        for byte in body {
            crc ^= UInt16(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xA001 : crc >> 1 }
        }
        return String(decoding: telegram.suffix(4), as: UTF8.self) == String(format: "%04X", crc)
    }

    /// Polls `condition` every 20 ms for up to 5 s of time the test had (see `P1MQTTTestSupport.eventually`).
    static func eventually(_ condition: () -> Bool) async -> Bool {
        await P1MQTTTestSupport.eventually(timeout: .seconds(5), interval: .milliseconds(20), condition)
    }
}
