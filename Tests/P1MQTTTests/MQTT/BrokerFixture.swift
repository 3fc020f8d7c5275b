import Foundation
import P1MQTTTestSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A private mosquitto broker on 127.0.0.1 for one test, with optional users, ACL and TLS listener, plus
/// helpers that talk to it with the real `mosquitto_sub` / `mosquitto_pub`.
///
/// - Important: The broker is stopped with SIGKILL. Processes started from Swift Testing inherit a signal
///   mask that blocks SIGTERM, so mosquitto would never see a SIGTERM and waiting for it would hang the run.
///   With `persistence false` nothing is lost by killing it.
final class BrokerFixture {
    /// How the broker is set up.
    struct Options {
        /// Users for the password file (username → password). Empty: no password file.
        var users: [String: String] = [:]
        /// Whether clients without a username are accepted. Default: only when there are no users.
        var allowAnonymous: Bool?
        /// The contents of an ACL file (mosquitto `acl_file` syntax), or nil for none.
        var acl: String?
        /// Also open a TLS listener (``BrokerFixture/tlsPort``) with a certificate for `localhost` only (not
        /// for 127.0.0.1, so connecting by address tests host name verification) signed by a test CA
        /// (``BrokerFixture/caFile``).
        var tls = false
        /// The server certificate's subjectAltName (TLS only). The default names `localhost` only.
        var subjectAltName = "DNS:localhost"
        /// A fixed validity period for the server certificate (TLS only), in `openssl ca` date format
        /// (`YYYYMMDDHHMMSSZ`): a period in the past makes an expired certificate. Nil: from now for 2 days.
        var certificateValidity: (notBefore: String, notAfter: String)?

        init(users: [String: String] = [:], allowAnonymous: Bool? = nil, acl: String? = nil, tls: Bool = false) {
            self.users = users
            self.allowAnonymous = allowAnonymous
            self.acl = acl
            self.tls = tls
        }
    }

    /// A message as printed by `mosquitto_sub`.
    struct ReceivedMessage: Hashable, CustomStringConvertible {
        var topic: String
        var retained: Bool
        var payload: String
        var description: String { "\(topic) \(retained ? "(retained) " : "")\(payload)" }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static let mosquittoPath = "/usr/sbin/mosquitto"
    static let clientTools = ["/usr/bin/mosquitto_sub", "/usr/bin/mosquitto_pub", "/usr/bin/mosquitto_passwd"]

    /// Whether the broker and its command-line clients are installed (tests are skipped otherwise).
    static var isAvailable: Bool {
        ([mosquittoPath] + clientTools).allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Whether `openssl` is available for the TLS tests.
    static var opensslPath: String? {
        ["/usr/bin/openssl", "/usr/local/bin/openssl"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The plain MQTT port on 127.0.0.1.
    let port: Int
    /// The TLS port on 127.0.0.1, when ``Options/tls`` is set.
    let tlsPort: Int?
    /// The temporary directory with the configuration, log, password, ACL and certificate files.
    let directory: String
    /// The CA that signed the broker's certificate (TLS only).
    var caFile: String { directory + "/ca.crt" }
    /// A CA that did not sign anything the broker uses: a client trusting only it must fail the handshake.
    var untrustedCAFile: String { directory + "/untrusted-ca.crt" }

    private(set) var options: Options
    private var process: Process?

    /// Starts a broker.
    init(_ options: Options = Options()) throws {
        self.options = options
        directory = try Self.makeTemporaryDirectory()
        port = try Self.freePort()
        var tlsPort: Int?
        if options.tls {
            var candidate = try Self.freePort()
            while candidate == port { candidate = try Self.freePort() }
            tlsPort = candidate
        }
        self.tlsPort = tlsPort
        if options.tls { try makeCertificates() }
        try launch()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Kills the broker (SIGKILL, see the type's note) and waits for it to exit.
    func stop() {
        guard let process else { return }
        self.process = nil
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
    }

    /// Restarts the broker on the same port(s), optionally with new options (e.g. to allow anonymous clients).
    /// Retained messages are gone afterwards (`persistence false`).
    func restart(with newOptions: Options? = nil) throws {
        stop()
        if let newOptions {
            precondition(newOptions.tls == options.tls, "restart cannot add or remove the TLS listener")
            let certificateChanged = newOptions.subjectAltName != options.subjectAltName
                || newOptions.certificateValidity?.notBefore != options.certificateValidity?.notBefore
                || newOptions.certificateValidity?.notAfter != options.certificateValidity?.notAfter
            options = newOptions
            // A new server certificate from the same CA, so clients trusting ``caFile`` see only the change.
            if options.tls && certificateChanged { try makeServerCertificate() }
        }
        try launch()
    }

    /// The broker's log so far, for failure messages.
    var log: String {
        (try? String(contentsOfFile: directory + "/mosquitto.log", encoding: .utf8)) ?? "(no log)"
    }

    // MARK: - Talking to the broker with the mosquitto clients

    /// Runs `mosquitto_sub` until `count` messages arrived or `timeout` passed, and returns what it printed.
    func subscribe(topic: String, count: Int, timeout: Duration = .seconds(5), username: String? = nil,
                   password: String? = nil) async throws -> [ReceivedMessage] {
        let subscriber = try startSubscriber(topic: topic, count: count, username: username, password: password)
        return await subscriber.waitForExit(timeout: timeout)
    }

    /// Starts `mosquitto_sub` in the background, for tests that act while it listens. It exits after `count`
    /// messages; ``Subscriber/waitForExit(timeout:)`` kills it otherwise. (Its own `-W` timeout relies on
    /// SIGALRM, which the signal mask inherited from Swift Testing blocks, so it is not used.)
    func startSubscriber(topic: String, count: Int, username: String? = nil,
                         password: String? = nil) throws -> Subscriber {
        var arguments = ["-h", "127.0.0.1", "-p", String(port), "-t", topic, "-C", String(count),
                         "-F", "%t|%r|%p", "-i", "fixture-sub-\(UInt32.random(in: 0...UInt32.max))"]
        if let username { arguments += ["-u", username] }
        if let password { arguments += ["-P", password] }
        return try Subscriber(arguments: arguments)
    }

    /// Publishes with `mosquitto_pub`.
    func publish(topic: String, message: String, retain: Bool = false, qos: Int = 1, username: String? = nil,
                 password: String? = nil) throws {
        var arguments = ["-h", "127.0.0.1", "-p", String(port), "-t", topic, "-m", message, "-q", String(qos)]
        if retain { arguments.append("-r") }
        if let username { arguments += ["-u", username] }
        if let password { arguments += ["-P", password] }
        let result = try Self.run("/usr/bin/mosquitto_pub", arguments)
        guard result.status == 0 else {
            throw Failure(description: "mosquitto_pub failed (\(result.status)): \(result.output)")
        }
    }

    /// A running `mosquitto_sub` whose output is collected as it arrives.
    final class Subscriber: Sendable {
        /// A class around the Mutex so the pipe's handler can share it (a Mutex cannot be copied).
        private final class Output: Sendable {
            let bytes = Mutex<[UInt8]>([])
            /// Set when the pipe reached its end: everything the subscriber printed is in `bytes`.
            let ended = Mutex(false)
        }

        private let process: Process
        private let output = Output()

        fileprivate init(arguments: [String]) throws {
            process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/mosquitto_sub")
            process.arguments = arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            // A thread of its own reads to the end of the pipe: Foundation's readabilityHandler was seen to leave
            // the last lines of a large output undelivered after the process had exited.
            let output = self.output
            let reading = pipe.fileHandleForReading
            Thread.detachNewThread {
                var buffer = [UInt8](repeating: 0, count: 65_536)
                while true {
                    let count = buffer.withUnsafeMutableBytes { read(reading.fileDescriptor, $0.baseAddress, $0.count) }
                    if count < 0 && errno == EINTR { continue }
                    guard count > 0 else { break }
                    output.bytes.withLock { $0.append(contentsOf: buffer[..<count]) }
                }
                output.ended.withLock { $0 = true }
            }
        }

        deinit {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }

        /// The complete lines printed so far, parsed.
        var messages: [ReceivedMessage] {
            let text = output.bytes.withLock { String(decoding: $0, as: UTF8.self) }
            return text.split(separator: "\n", omittingEmptySubsequences: true).compactMap { line in
                let fields = line.split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false)
                guard fields.count == 3 else { return nil }   // "Timed out" and other diagnostics
                return ReceivedMessage(topic: String(fields[0]), retained: fields[1] == "1", payload: String(fields[2]))
            }
        }

        /// Waits until at least `count` messages arrived; returns them (fewer on timeout).
        func waitForMessages(_ count: Int, timeout: Duration = .seconds(5)) async -> [ReceivedMessage] {
            let deadline = ContinuousClock.now + timeout
            while messages.count < count && ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(20))
            }
            return messages
        }

        /// Waits for `mosquitto_sub` to exit by itself (`-C` or `-W`), killing it after `timeout`.
        func waitForExit(timeout: Duration) async -> [ReceivedMessage] {
            let deadline = ContinuousClock.now + timeout
            while process.isRunning && ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(20))
            }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            // The readability handler may still be behind (megabytes of output): wait for the pipe's end.
            let output = self.output
            await eventually(timeout: .seconds(5)) { output.ended.withLock { $0 } }
            return messages
        }
    }

    // MARK: - Setup

    private func launch() throws {
        var lines = [
            "persistence false",
            "per_listener_settings false",
            "allow_anonymous \(options.allowAnonymous ?? options.users.isEmpty)",
            "log_dest file \(directory)/mosquitto.log",
            "log_type all",
            "connection_messages true",
        ]
        // As root, mosquitto would switch to the `mosquitto` user, which cannot read files in this directory.
        if getuid() == 0 { lines.insert("user root", at: 0) }
        if !options.users.isEmpty {
            let passwordFile = directory + "/passwd"
            try? FileManager.default.removeItem(atPath: passwordFile)
            for (index, (user, password)) in options.users.sorted(by: { $0.key < $1.key }).enumerated() {
                let arguments = (index == 0 ? ["-c"] : []) + ["-b", passwordFile, user, password]
                let result = try Self.run("/usr/bin/mosquitto_passwd", arguments)
                guard result.status == 0 else {
                    throw Failure(description: "mosquitto_passwd failed: \(result.output)")
                }
            }
            lines.append("password_file \(passwordFile)")
        }
        if let acl = options.acl {
            let aclFile = directory + "/acl"
            try acl.write(toFile: aclFile, atomically: true, encoding: .utf8)
            lines.append("acl_file \(aclFile)")
        }
        lines.append("listener \(port) 127.0.0.1")
        if let tlsPort {
            lines += ["listener \(tlsPort) 127.0.0.1", "cafile \(caFile)", "certfile \(directory)/server.crt",
                      "keyfile \(directory)/server.key"]
        }
        let configFile = directory + "/mosquitto.conf"
        try (lines.joined(separator: "\n") + "\n").write(toFile: configFile, atomically: true, encoding: .utf8)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.mosquittoPath)
        process.arguments = ["-c", configFile]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process

        let deadline = ContinuousClock.now + .seconds(5)
        for listenPort in [port] + (tlsPort.map { [$0] } ?? []) {
            while !Self.accepts(port: listenPort) {
                guard process.isRunning else {
                    throw Failure(description: "mosquitto exited with status \(process.terminationStatus):\n\(log)")
                }
                guard ContinuousClock.now < deadline else {
                    stop()
                    throw Failure(description: "mosquitto did not listen on \(listenPort) within 5 s:\n\(log)")
                }
                usleep(10_000)
            }
        }
    }

    private func makeCertificates() throws {
        guard let openssl = Self.opensslPath else { throw Failure(description: "openssl is not installed") }
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        let steps: [[String]] = [
            ["req", "-x509"] + ec + ["-keyout", "\(directory)/ca.key", "-out", caFile, "-days", "2",
                                     "-subj", "/CN=p1mqtt test CA"],
            ["req", "-x509"] + ec + ["-keyout", "\(directory)/untrusted-ca.key", "-out", untrustedCAFile,
                                     "-days", "2", "-subj", "/CN=p1mqtt untrusted CA"],
        ]
        for step in steps { try Self.openssl(openssl, step) }
        try makeServerCertificate()
    }

    /// A key and certificate for the broker, signed by ``caFile``, with ``Options/subjectAltName`` and
    /// ``Options/certificateValidity``.
    private func makeServerCertificate() throws {
        guard let openssl = Self.opensslPath else { throw Failure(description: "openssl is not installed") }
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        let extensions = directory + "/server.ext"
        try """
        subjectAltName = \(options.subjectAltName)
        basicConstraints = CA:FALSE
        keyUsage = digitalSignature, keyEncipherment
        extendedKeyUsage = serverAuth

        """.write(toFile: extensions, atomically: true, encoding: .utf8)
        try Self.openssl(openssl, ["req"] + ec + ["-keyout", "\(directory)/server.key", "-out", "\(directory)/server.csr",
                                                  "-subj", "/CN=localhost"])
        guard let validity = options.certificateValidity else {
            try Self.openssl(openssl, ["x509", "-req", "-in", "\(directory)/server.csr", "-CA", caFile,
                                       "-CAkey", "\(directory)/ca.key", "-CAcreateserial",
                                       "-out", "\(directory)/server.crt", "-days", "2", "-extfile", extensions])
            return
        }
        // `openssl x509 -req` (OpenSSL 3.0) can only start a certificate now; `openssl ca` takes any dates, but
        // wants a CA database of its own.
        let database = directory + "/ca-database"
        try? FileManager.default.removeItem(atPath: database)
        try FileManager.default.createDirectory(atPath: database, withIntermediateDirectories: true)
        try "".write(toFile: database + "/index.txt", atomically: true, encoding: .utf8)
        try "01\n".write(toFile: database + "/serial", atomically: true, encoding: .utf8)
        try """
        [ca]
        default_ca = test_ca
        [test_ca]
        database = \(database)/index.txt
        new_certs_dir = \(database)
        serial = \(database)/serial
        default_md = sha256
        policy = any
        unique_subject = no
        [any]
        commonName = supplied

        """.write(toFile: database + "/ca.cnf", atomically: true, encoding: .utf8)
        try Self.openssl(openssl, ["ca", "-batch", "-notext", "-config", database + "/ca.cnf", "-cert", caFile,
                                   "-keyfile", "\(directory)/ca.key", "-in", "\(directory)/server.csr",
                                   "-out", "\(directory)/server.crt", "-startdate", validity.notBefore,
                                   "-enddate", validity.notAfter, "-extfile", extensions])
    }

    /// Runs one `openssl` step, throwing its output if it fails.
    private static func openssl(_ openssl: String, _ arguments: [String]) throws {
        let result = try run(openssl, arguments)
        guard result.status == 0 else {
            throw Failure(description: "openssl \(arguments.prefix(2).joined(separator: " ")) failed: \(result.output)")
        }
    }

    /// Runs a short command to completion and returns its exit status and combined output.
    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    private static func makeTemporaryDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() + "/p1mqtt-broker-XXXXXX").utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer -> Bool in
            guard let base = buffer.baseAddress else { return false }
            return mkdtemp(base) != nil
        }
        guard created else {
            throw Failure(description: "mkdtemp failed: \(String(cString: strerror(errno)))")
        }
        return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A port nobody listens on: bind port 0 and let the kernel choose.
    static func freePort() throws -> Int {
        try Loopback.freePort()
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
