import Foundation
import Logging
import P1MQTT
import P1MQTTTestSupport
import Synchronization

/// Collects a client's events in the background, so tests can wait for a condition with a timeout instead of
/// blocking on `AsyncStream.next()` forever.
final class EventRecorder: Sendable {
    /// A class around the Mutex so the recording task can share it (a Mutex cannot be copied).
    private final class Store: Sendable {
        let events = Mutex<[MQTTEvent]>([])
    }

    private let store = Store()
    private let task: Task<Void, Never>

    init(_ events: AsyncStream<MQTTEvent>) {
        let store = self.store
        task = Task {
            for await event in events {
                store.events.withLock { $0.append(event) }
            }
        }
    }

    deinit {
        task.cancel()
    }

    /// Everything received so far, in order.
    var events: [MQTTEvent] {
        store.events.withLock { $0 }
    }

    /// The number of `.connected` events so far.
    var connectedCount: Int {
        events.filter { $0 == .connected }.count
    }

    /// The errors of `.connectionRefused` events so far.
    var refusals: [MQTTError] {
        events.compactMap { if case .connectionRefused(let error) = $0 { error } else { nil } }
    }

    /// The errors of `.connectionLost` events so far.
    var losses: [MQTTError] {
        events.compactMap { if case .connectionLost(let error) = $0 { error } else { nil } }
    }

    /// The received messages so far.
    var messages: [MQTTMessage] {
        events.compactMap { if case .message(let message) = $0 { message } else { nil } }
    }

    /// Polls until `condition` holds or `timeout` passes; returns whether it held.
    @discardableResult
    func wait(timeout: Duration = .seconds(10), until condition: (EventRecorder) -> Bool) async -> Bool {
        await eventually(timeout: timeout, interval: .milliseconds(20)) { condition(self) }
    }
}


extension MQTTConfiguration {
    /// A configuration for a test broker: fast reconnects so tests take seconds, a unique client ID so
    /// parallel tests never take over each other's session.
    static func test(port: Int, host: String = "127.0.0.1", tls: TLS? = nil, username: String? = nil,
                     password: String? = nil, will: Will? = nil,
                     protocolVersion: ProtocolVersion = .v311) -> MQTTConfiguration {
        MQTTConfiguration(host: host, port: port, clientID: "p1mqtt-test-\(UInt32.random(in: 0...UInt32.max))",
                          keepalive: .seconds(5), protocolVersion: protocolVersion, username: username,
                          password: password, tls: tls, will: will, minimumReconnectDelay: .milliseconds(100),
                          maximumReconnectDelay: .milliseconds(400), connectTimeout: .seconds(3))
    }
}

/// Breaks this process's TCP connections to 127.0.0.1:`port` the way a network failure would: the client
/// sends no DISCONNECT, so the broker publishes its last will. Finds the sockets by matching the inodes of
/// `/proc/self/fd` against established connections in `/proc/net/tcp`, so no test hook is needed in the
/// client. Returns how many connections were shut down.
func shutDownConnections(toPort port: Int) -> Int {
    // Read to the end ourselves: the kernel produces /proc/net/tcp a page per read(), and a single read
    // would miss connections listed after the first page.
    guard let handle = FileHandle(forReadingAtPath: "/proc/net/tcp") else { return 0 }
    defer { try? handle.close() }
    var bytes = Data()
    while true {
        let chunk = handle.availableData
        if chunk.isEmpty { break }
        bytes.append(chunk)
    }
    let table = String(decoding: bytes, as: UTF8.self)
    let remote = String(format: "0100007F:%04X", port)
    var inodes = Set<String>()
    for line in table.split(separator: "\n").dropFirst() {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
        guard fields.count > 9, fields[2] == remote, fields[3] == "01" else { continue }
        inodes.insert(String(fields[9]))
    }
    guard !inodes.isEmpty, let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else {
        return 0
    }
    var count = 0
    for name in descriptors {
        guard let fd = Int32(name),
              let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(name)"),
              target.hasPrefix("socket:["), inodes.contains(String(target.dropFirst(8).dropLast())) else { continue }
        if shutdown(fd, Int32(SHUT_RDWR)) == 0 { count += 1 }
    }
    return count
}
