import Foundation
import Testing
import P1MQTTTestSupport

extension Faults {
    /// p1mqtt writes nothing to disk, so a read-only root file system or a full disk cannot affect it (and the
    /// systemd unit can use `ProtectSystem=strict`). Checked with strace on a real run: every file-creating or
    /// file-writing system call of p1mqtt and all its threads is recorded.
    @Suite("Faults: p1mqtt writes nothing locally",
           .enabled(if: BrokerFixture.isAvailable, "needs mosquitto and mosquitto-clients"),
           .enabled(if: P1MQTTExecutable.isAvailable, "needs the built p1mqtt executable (swift build --build-tests)"),
           .enabled(if: StraceProbe.works, "needs strace, and permission to ptrace (strace -o /dev/null true failed)"))
    struct NoLocalWritesFaultTests {
        @Test("a replay with discovery, stats and a configuration file: no write-mode open, no mkdir, unlink or rename",
              .timeLimit(.minutes(1)))
        func noLocalWrites() async throws {
            let broker = try BrokerFixture()
            let directory = try makeTemporaryDirectory(prefix: "p1mqtt-faults")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let count = 20
            let start: Int64 = 1_763_700_000
            let capture = try FaultSupport.makeCapture(count: count, start: start, in: directory)
            let config = try writeFile("""
                {"mqtt": {"broker": "127.0.0.1:\(broker.port)"}, "topics": {"stats_interval": 1}}
                """, named: "p1mqtt.json", in: directory)
            let trace = directory + "/strace.out"
            // 20 telegrams at 0.1 s: two seconds of normal work (publishing, discovery, stats) before it exits.
            let child = try ChildProcess(
                executable: StraceProbe.path,
                arguments: ["-f", "-e", "trace=\(StraceProbe.calls.joined(separator: ","))", "-o", trace,
                            P1MQTTExecutable.path, "run", "--config", config, "--source", "file:" + capture.path,
                            "--rate", "0.1", "--exit-at-end"],
                directory: directory, name: "strace")
            let termination = await child.waitForExit(timeout: .seconds(30))
            if termination == nil { await child.killAndWait() }
            #expect(termination == .exited(0), "strace p1mqtt run:\n\(child.stderr)")

            // It really ran: the newest telegram is on the broker, and the trace saw p1mqtt read its files.
            let state = try await broker.retained()
            #expect(state["p1mqtt/timestamp"] == FaultSupport.isoTimestamp(start + Int64(count - 1)), "\(child.stderr)")
            #expect(state["p1mqtt/stats"] != nil)
            let calls = try StraceProbe.calls(in: String(contentsOfFile: trace, encoding: .utf8))
            #expect(calls.contains { $0.contains(capture.path) && $0.contains("O_RDONLY") }, "trace:\n\(calls.prefix(40))")
            #expect(calls.contains { $0.contains(config) })

            let writes = calls.filter(StraceProbe.isLocalWrite)
            #expect(writes.isEmpty, "p1mqtt wrote locally:\n\(writes.joined(separator: "\n"))")
        }
    }
}

extension Faults {
    /// The reading of strace output above, on fixed lines: it must catch a write, or a passing run means
    /// nothing.
    @Suite("Faults: reading strace output")
    struct StraceReaderTests {
        @Test("write-mode opens, mkdir, unlink and rename are caught; reads, /dev, /proc and failed calls are not")
        func classification() {
            let output = """
                5303  openat(AT_FDCWD, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3
                5303  openat(AT_FDCWD, "/dev/null", O_RDWR) = 4
                5303  openat(AT_FDCWD, "/proc/self/stat", O_RDONLY) = 5
                5303  openat(AT_FDCWD, "/var/lib/p1mqtt/state", O_WRONLY|O_CREAT|O_TRUNC, 0644) = -1 EROFS (Read-only file system)
                5304  openat(AT_FDCWD, "/tmp/cache.json", O_RDWR|O_CREAT, 0600 <unfinished ...>
                5303  openat(AT_FDCWD, "/etc/localtime", O_RDONLY|O_CLOEXEC) = 6
                5304  <... openat resumed>) = 7
                5304  mkdir("/tmp/p1mqtt", 0700) = 0
                5304  unlink("/tmp/p1mqtt.pid") = -1 ENOENT (No such file or directory)
                5304  rename("/tmp/a", "/tmp/b") = 0
                5304  +++ exited with 0 +++
                """
            let calls = StraceProbe.calls(in: output)
            #expect(calls.count == 9)
            #expect(calls.filter(StraceProbe.isLocalWrite) == [
                #"openat(AT_FDCWD, "/tmp/cache.json", O_RDWR|O_CREAT, 0600 ) = 7"#,
                #"mkdir("/tmp/p1mqtt", 0700) = 0"#,
                #"rename("/tmp/a", "/tmp/b") = 0"#,
            ])
        }
    }
}

/// strace: whether it can be used here, and reading its output.
enum StraceProbe {
    static let path = "/usr/bin/strace"

    /// The system calls that create, write, truncate, remove or rename files.
    static let calls = ["openat", "open", "creat", "mkdir", "mkdirat", "unlink", "unlinkat", "rename", "renameat",
                        "renameat2", "truncate", "ftruncate"]

    /// Whether strace is installed and may trace (containers often forbid ptrace).
    static let works: Bool = {
        guard FileManager.default.isExecutableFile(atPath: path) else { return false }
        return (try? BrokerFixture.run(path, ["-o", "/dev/null", "/bin/true"]).status) == 0
    }()

    /// The complete calls in `strace -f` output, one per element, without the PID. With several threads a
    /// call can be split into `… <unfinished ...>` and `<... openat resumed> …`; the halves are joined.
    static func calls(in output: String) -> [String] {
        var pending: [Substring: String] = [:]
        var complete: [String] = []
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { continue }
            // `strace -f` pads the PID column: "5303  openat(…)".
            let (pid, call) = (parts[0], String(parts[1].drop { $0 == " " }))
            if call.hasSuffix("<unfinished ...>") {
                pending[pid] = String(call.dropLast("<unfinished ...>".count))
            } else if call.hasPrefix("<... "), let resumed = call.range(of: "resumed>") {
                complete.append((pending.removeValue(forKey: pid) ?? "") + call[resumed.upperBound...])
            } else if !call.hasPrefix("+++") && !call.hasPrefix("---") {
                complete.append(call)
            }
        }
        return complete
    }

    /// Whether a call wrote locally: a successful open for writing, creating or truncating outside /dev and
    /// /proc, or any successful mkdir, unlink, rename or truncate.
    static func isLocalWrite(_ call: String) -> Bool {
        guard let name = call.split(separator: "(", maxSplits: 1).first.map(String.init),
              let result = call.range(of: ") = ", options: .backwards),
              let value = Int(call[result.upperBound...].prefix { $0 == "-" || $0.isNumber }),
              value >= 0 else { return false }
        switch name {
        case "open", "openat", "creat":
            let writing = ["O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC"].contains { call.contains($0) } || name == "creat"
            guard writing else { return false }
            let path = call.split(separator: "\"").dropFirst().first.map(String.init) ?? ""
            return !(path.hasPrefix("/dev/") || path.hasPrefix("/proc/"))
        default:
            // mkdir, unlink, rename, truncate; and ftruncate, which on a descriptor opened for writing above
            // would be caught there already, is counted anyway so that a memfd or the like shows up for review.
            return true
        }
    }
}
