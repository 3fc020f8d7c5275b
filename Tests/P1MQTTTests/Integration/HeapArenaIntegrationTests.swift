import Foundation
import P1MQTTTestSupport
import Testing

/// `p1mqtt run` keeps its heap in one allocator arena (HeapMemory.useOneArena), however many threads it runs.
@Suite("Integration: one heap arena")
struct HeapArenaIntegrationTests {
    /// glibc's extra arenas: a read-write mapping at a 64 MB boundary, reserved (---p) up to the next one.
    static func threadArenas(pid: pid_t) throws -> Int {
        guard let handle = FileHandle(forReadingAtPath: "/proc/\(pid)/maps") else { throw CocoaError(.fileNoSuchFile) }
        defer { try? handle.close() }
        let lines = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
        let boundary: UInt = 64 << 20
        var arenas = 0
        for (index, line) in lines.enumerated() where index + 1 < lines.count {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            let next = lines[index + 1].split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count == 5, fields[1] == "rw-p", next.count == 5, next[1] == "---p",
                let start = UInt(fields[0].split(separator: "-")[0], radix: 16),
                let reservedEnd = UInt(next[0].split(separator: "-")[1], radix: 16)
            else { continue }
            if start % boundary == 0, reservedEnd % boundary == 0 { arenas += 1 }
        }
        return arenas
    }

    static func threads(pid: pid_t) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("Threads:") })
        return try #require(Int(line.split(separator: "\t").last ?? ""))
    }

    @Test("a running bridge with several threads has no per-thread arenas", .enabled(if: P1MQTTExecutable.isAvailable))
    func oneArena() async throws {
        let run = try P1MQTTRun(["--broker", "none", "--source", "simulator", "--http", "127.0.0.1:\(try Loopback.freePort())"])
        // Two simulated telegrams, the web server's event loop and the task pool have run by then.
        try await Task.sleep(for: .seconds(2.5))
        let pid = run.child.pid
        #expect(try Self.threads(pid: pid) >= 4, "\(run.diagnostics)")
        let maps = (try? String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8)) ?? ""
        #expect(try Self.threadArenas(pid: pid) == 0, "\(maps)")
    }
}
