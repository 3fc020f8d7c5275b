import Foundation
import P1MQTTTestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The fault-injection suites (issue 7), each in a file of its own in this folder; grouped under one name so
/// that `swift test --filter Faults` selects them all.
enum Faults {}

/// Helpers shared by the fault-injection tests: CPU use of a process, the broker's log from a point on,
/// a capture of simulated telegrams.
enum FaultSupport {
    /// `CLK_TCK`: the unit of utime/stime in `/proc/PID/stat` (100 on Linux).
    static let clockTicksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// User plus system CPU time of `pid` (all threads) in clock ticks, from `/proc/PID/stat`; nil if the
    /// process is gone.
    static func cpuTicks(of pid: pid_t) -> Int? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // The command name (field 2) may contain spaces and parentheses: count fields after the last ')'.
        // Field 3 (state) is the first of those; utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        return user + system
    }

    /// The CPU time `pid` used during the next `window`, as a fraction of one core, and the ticks; nil if
    /// the process ended meanwhile.
    static func cpuUse(of pid: pid_t, over window: Duration) async -> (fraction: Double, ticks: Int)? {
        let clock = ContinuousClock()
        guard let before = cpuTicks(of: pid) else { return nil }
        let start = clock.now
        try? await Task.sleep(for: window)
        guard let after = cpuTicks(of: pid) else { return nil }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let ticks = after - before
        return (Double(ticks) / clockTicksPerSecond / seconds, ticks)
    }

    /// Writes `count` consecutive telegrams of `p1mqtt simulate` (meter clock from `start`, one second
    /// apart) to `directory/capture.txt`; returns the path and the text.
    static func makeCapture(count: Int, start: Int64 = 1_763_700_000, in directory: String) throws
        -> (path: String, text: String)
    {
        let result = try BrokerFixture.run(P1MQTTExecutable.path, [
            "simulate", "--stdout", "--count", String(count), "--interval", "0", "--start", String(start),
        ])
        guard result.status == 0, result.output.hasPrefix("/") else {
            throw ChildProcess.Failure(description: "p1mqtt simulate failed (\(result.status)): \(result.output.prefix(500))")
        }
        let path = try writeFile(result.output, named: "capture.txt", in: directory)
        return (path, result.output)
    }

    /// The value of the last line starting with `obis(` in `text`, inside the first parentheses, without
    /// the unit: `007481.295` for `1-0:1.8.1(007481.295*kWh)`.
    static func lastValue(of obis: String, in text: String) -> String? {
        // Split on every newline: telegram lines end in CRLF, which Swift reads as one Character.
        guard let line = text.split(whereSeparator: \.isNewline).last(where: { $0.hasPrefix(obis + "(") }),
              let open = line.firstIndex(of: "("), let close = line.firstIndex(of: ")") else { return nil }
        let inside = line[line.index(after: open)..<close]
        return String(inside.split(separator: "*").first ?? inside)
    }

    /// A register as p1mqtt publishes it: leading zeros dropped (`007481.295` → `7481.295`).
    static func published(register: String) -> String {
        let trimmed = register.drop { $0 == "0" }
        return trimmed.hasPrefix(".") || trimmed.isEmpty ? "0" + trimmed : String(trimmed)
    }

    /// `2025-11-21T04:40:00Z` for Unix time `seconds`: how p1mqtt publishes a meter timestamp.
    static func isoTimestamp(_ seconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }
}

/// Reads a growing log file from a remembered offset on, so a test looks only at what was written after
/// a given moment (mosquitto appends to its log across restarts).
struct LogCursor {
    let path: String
    let offset: UInt64

    /// A cursor at the current end of `path` (0 if it does not exist yet).
    init(atEndOf path: String) {
        self.path = path
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.uint64Value
        offset = size ?? 0
    }

    /// Everything written after the cursor was made.
    var newText: String {
        guard let handle = FileHandle(forReadingAtPath: path) else { return "" }
        defer { try? handle.close() }
        guard (try? handle.seek(toOffset: offset)) != nil, let data = try? handle.readToEnd() else { return "" }
        return String(decoding: data, as: UTF8.self)
    }

    /// The new lines containing every one of `parts`.
    func lines(containing parts: String...) -> [Substring] {
        newText.split(separator: "\n").filter { line in parts.allSatisfy { line.contains($0) } }
    }
}

extension BrokerFixture {
    /// The broker's log file.
    var logPath: String { directory + "/mosquitto.log" }

    /// How often `text` occurs in the broker's log.
    func logCount(_ text: String) -> Int {
        log.components(separatedBy: text).count - 1
    }
}
