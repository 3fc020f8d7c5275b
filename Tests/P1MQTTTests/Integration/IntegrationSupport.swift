import Foundation
import P1MQTT
import P1MQTTTestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The built `p1mqtt` executable and the repository's example files.
enum P1MQTTExecutable {
    /// The package root (this file is Tests/P1MQTTTests/Integration/IntegrationSupport.swift).
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// `p1mqtt` sits next to the test bundle (`swift build --build-tests` builds it: the test target depends on
    /// it); `.build/debug/p1mqtt` as a fallback.
    static var path: String {
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for candidate in [here, here.deletingLastPathComponent(), Bundle.main.bundleURL] {
            let url = candidate.appendingPathComponent("p1mqtt")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url.path }
        }
        return repository.appendingPathComponent(".build/debug/p1mqtt").path
    }

    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: path) }

    /// The absolute path of an example telegram (`dsmr5.txt`).
    static func example(_ name: String) -> String {
        repository.appendingPathComponent("examples/telegrams/\(name)").path
    }

    /// The bytes of an example telegram.
    static func exampleBytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: example(name))))
    }
}

/// One `p1mqtt run` in a temporary directory of its own (output files, configuration, password file).
final class P1MQTTRun {
    let child: ChildProcess
    let directory: String
    let arguments: [String]

    /// Starts `p1mqtt run <arguments>`.
    init(_ arguments: [String], input: ChildProcess.Input = .null, directory: String? = nil) throws {
        let directory = try directory ?? makeTemporaryDirectory(prefix: "p1mqtt-run")
        self.directory = directory
        self.arguments = arguments
        child = try ChildProcess(executable: P1MQTTExecutable.path, arguments: ["run"] + arguments,
                                 directory: directory, name: "p1mqtt", input: input)
    }

    deinit {
        child.reap()
        try? FileManager.default.removeItem(atPath: directory)
    }

    var stderr: String { child.stderr }

    /// The lines of standard error containing `text`.
    func stderrLines(containing text: String) -> [String] {
        stderr.split(separator: "\n").map(String.init).filter { $0.contains(text) }
    }

    /// What to show when a check fails.
    var diagnostics: String {
        "p1mqtt run \(arguments.joined(separator: " "))\n--- stderr ---\n\(stderr)--- stdout ---\n\(child.stdout)"
    }
}

/// Creates a fresh temporary directory.
func makeTemporaryDirectory(prefix: String) throws -> String {
    var template = Array((NSTemporaryDirectory() + "/\(prefix)-XXXXXX").utf8CString)
    let created = template.withUnsafeMutableBufferPointer { buffer -> Bool in
        guard let base = buffer.baseAddress else { return false }
        return mkdtemp(base) != nil
    }
    guard created else { throw ChildProcess.Failure(description: "mkdtemp failed: \(String(cString: strerror(errno)))") }
    return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Writes `text` to `directory/name` and returns the path.
func writeFile(_ text: String, named name: String, in directory: String) throws -> String {
    let path = directory + "/" + name
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}


extension BrokerFixture {
    /// The last lines of the broker's log, without the per-message chatter, for failure messages.
    var logTail: String {
        log.split(separator: "\n").filter { !$0.contains("Sending PUBLISH") && !$0.contains("Sending PUBACK") }
            .suffix(25).joined(separator: "\n")
    }

    /// The broker's process ID, found by its configuration file in `/proc` (the fixture keeps its `Process`
    /// private). For SIGSTOP/SIGCONT: a stopped broker still completes TCP connects (the kernel does), but
    /// answers nothing, like a slow broker.
    var processID: pid_t? {
        let configuration = directory + "/mosquitto.conf"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        for entry in entries {
            guard let pid = pid_t(entry),
                  let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
            let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if arguments.first == Self.mosquittoPath && arguments.contains(configuration) { return pid }
        }
        return nil
    }

    /// What a new subscriber to `topic` gets at once: the retained messages, by topic (the first retained
    /// message of each topic; live messages that may follow are ignored). Collects until nothing new arrived
    /// for `quiet` after the first message, or until `timeout` (an empty answer takes the whole timeout).
    func retained(topic: String = "p1mqtt/#", timeout: Duration = .seconds(3), quiet: Duration = .milliseconds(400),
                  username: String? = nil, password: String? = nil) async throws -> [String: String] {
        let subscriber = try startSubscriber(topic: topic, count: 100_000, username: username, password: password)
        let deadline = ContinuousClock.now + timeout
        var count = 0
        var lastChange = ContinuousClock.now
        while ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(25))
            let now = subscriber.messages.count
            if now != count {
                count = now
                lastChange = ContinuousClock.now
            } else if count > 0 && ContinuousClock.now - lastChange >= quiet {
                break
            }
        }
        let messages = await subscriber.waitForExit(timeout: .zero)
        var state: [String: String] = [:]
        for message in messages where message.retained && state[message.topic] == nil {
            state[message.topic] = message.payload
        }
        return state
    }

    /// Takes ``retained(topic:timeout:quiet:username:password:)`` snapshots until `condition` holds for one,
    /// or `timeout` passes; returns the last snapshot.
    func retained(topic: String = "p1mqtt/#", within timeout: Duration, username: String? = nil,
                  password: String? = nil, until condition: ([String: String]) -> Bool) async throws -> [String: String] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let state = try await retained(topic: topic, timeout: .seconds(1), quiet: .milliseconds(200),
                                           username: username, password: password)
            if condition(state) || ContinuousClock.now >= deadline { return state }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }
}

extension BrokerFixture.Subscriber {
    /// Waits until `condition` holds for the messages received so far, or `timeout` passes; returns the
    /// messages.
    func waitFor(timeout: Duration, _ condition: ([BrokerFixture.ReceivedMessage]) -> Bool) async
        -> [BrokerFixture.ReceivedMessage]
    {
        let deadline = ContinuousClock.now + timeout
        while !condition(messages) && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return messages
    }
}

/// Telegrams for the standard-input tests.
enum IntegrationTelegrams {
    /// `examples/telegrams/dsmr5.txt` with some lines replaced (whole lines, matched by their OBIS prefix),
    /// and a CRC computed afresh.
    static func dsmr5(replacing replacements: [String: String]) throws -> [UInt8] {
        let original = String(decoding: try P1MQTTExecutable.exampleBytes("dsmr5.txt"), as: UTF8.self)
        guard let bang = original.firstIndex(of: "!") else {
            throw ChildProcess.Failure(description: "dsmr5.txt has no '!'")
        }
        var lines = original[..<bang].components(separatedBy: "\r\n")
        for (prefix, replacement) in replacements {
            guard let index = lines.firstIndex(where: { $0.hasPrefix(prefix + "(") }) else {
                throw ChildProcess.Failure(description: "dsmr5.txt has no line \(prefix)")
            }
            lines[index] = replacement
        }
        let body = Array((lines.joined(separator: "\r\n") + "!").utf8)
        let crc = CRC16.arc(body)
        let hex = String(crc, radix: 16, uppercase: true)
        return body + Array((String(repeating: "0", count: 4 - hex.count) + hex + "\r\n").utf8)
    }
}

/// Reads a field of a JSON document decoded with `JSONSerialization`.
func jsonNumber(_ value: Any?) -> Double? {
    (value as? NSNumber)?.doubleValue
}
