import Foundation

/// Two connected pseudo-terminals made by socat, with stable names: `ttyA` plays the P1 cable a source reads,
/// bytes written to `ttyB` arrive there. A pty accepts any speed and parity and emulates neither, so these tests
/// prove reading, reassembly and reopening, not 7E1 on a wire.
///
/// socat is stopped with SIGKILL: processes started from Swift Testing inherit a signal mask that can leave a
/// SIGTERM pending forever. SIGKILL leaves the links behind, so ``stop()`` removes them: the device is gone the
/// way an unplugged USB cable's node is, and a later pty reusing the same `/dev/pts` number is not mistaken for it.
final class PTYPair: @unchecked Sendable {
    // @unchecked: `process` is only touched by the test that owns the pair, from one task at a time.

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static let socatPath: String? = ["/usr/bin/socat", "/usr/local/bin/socat", "/bin/socat"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    static var isAvailable: Bool { socatPath != nil }

    /// The temporary directory holding the links.
    let directory: String
    /// The end a source reads.
    let deviceA: String
    /// The end a test writes.
    let deviceB: String
    private var process: Process?

    /// Makes a directory for the links; `start` creates the ptys.
    init(start: Bool = true) throws {
        let template = NSTemporaryDirectory() + "p1mqtt-pty-XXXXXX"
        var buffer = Array(template.utf8CString)
        guard let made = mkdtemp(&buffer) else { throw Failure(description: "cannot make a temporary directory") }
        directory = String(cString: made)
        deviceA = directory + "/ttyA"
        deviceB = directory + "/ttyB"
        if start { try self.start() }
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Starts socat and waits (up to 5 s) until both links exist.
    func start() throws {
        guard let socat = Self.socatPath else { throw Failure(description: "socat is not installed") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: socat)
        process.arguments = ["pty,raw,echo=0,link=\(deviceA)", "pty,raw,echo=0,link=\(deviceB)"]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            if Self.exists(deviceA) && Self.exists(deviceB) { return }
            usleep(10_000)
        }
        stop()
        throw Failure(description: "socat did not create \(deviceA) and \(deviceB) within 5 s")
    }

    /// Kills socat (the ptys disappear) and removes the links.
    func stop() {
        if let process, process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        process = nil
        unlink(deviceA)
        unlink(deviceB)
    }

    /// Whether `path` resolves to an existing node (a dangling link does not).
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// Opens the writing end; close it with `close`.
    func openWriter() throws -> Int32 {
        let fd = open(deviceB, O_WRONLY | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(description: "cannot open \(deviceB): \(String(cString: strerror(errno)))") }
        return fd
    }

    /// Writes `bytes` to `fd` in pieces of 1 to `maximumPiece` bytes with pauses of up to `maximumPause`
    /// microseconds, the way a USB adapter hands a telegram over in bursts.
    static func writeInPieces<G: RandomNumberGenerator>(_ bytes: [UInt8], to fd: Int32, using generator: inout G,
                                                        maximumPiece: Int = 200, maximumPause: UInt32 = 3000) throws {
        var offset = 0
        while offset < bytes.count {
            let size = min(bytes.count - offset, Int.random(in: 1...maximumPiece, using: &generator))
            try writeAll(Array(bytes[offset..<(offset + size)]), to: fd)
            offset += size
            usleep(UInt32.random(in: 0...maximumPause, using: &generator))
        }
    }

    /// Writes all of `bytes`, retrying partial writes.
    static func writeAll(_ bytes: [UInt8], to fd: Int32) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "write failed: \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }
}
