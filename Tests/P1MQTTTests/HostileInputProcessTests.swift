import Foundation
import Testing
import P1MQTTTestSupport

/// The real executable on a long hostile stream: it must end normally (no crash), and its peak memory must be
/// that of a clean run plus a small constant, however much damage and however long the lines.
@Suite("Hostile input: the p1mqtt process",
       .enabled(if: P1MQTTExecutable.isAvailable, "needs the built p1mqtt executable (swift build --build-tests)"))
struct HostileInputProcessTests {
    typealias T = TestTelegrams

    /// Pipes `bytes` into `p1mqtt parse -` and returns its termination, its peak resident memory, and its output.
    ///
    /// The peak is read from `/proc/PID/status` (VmHWM) while the process waits for more input after the last
    /// byte: wait4's `ru_maxrss` cannot be used, because Linux carries it over from the spawning test process.
    private func parse(_ bytes: [UInt8], in directory: String, name: String) async throws
        -> (termination: ChildProcess.Termination?, peakKiB: Int, stdout: String)
    {
        let child = try ChildProcess(executable: P1MQTTExecutable.path, arguments: ["parse", "-"], directory: directory,
                                     name: name, input: .pipe)
        try child.writeInput(bytes)
        // The last pipe buffer's worth is being processed; wait until the output stops growing.
        var size = -1
        while size != child.stdout.utf8.count {
            size = child.stdout.utf8.count
            try await Task.sleep(for: .milliseconds(300))
        }
        let status = (try? String(contentsOfFile: "/proc/\(child.pid)/status", encoding: .utf8)) ?? ""
        let peak = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
            .flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") } ?? 0
        child.closeInput()
        let termination = await child.waitForExit(timeout: .seconds(60))
        if termination == nil { await child.killAndWait() }
        return (termination, peak, child.stdout)
    }

    @Test("10,000 damaged telegrams, huge lines and a megabyte without a line end: normal exit, memory as for one telegram",
          .timeLimit(.minutes(3)))
    func hostileStreamKeepsMemoryFlat() async throws {
        let directory = try makeTemporaryDirectory(prefix: "p1mqtt-hostile")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let originals = HostileInputTests.originals()

        let clean = try await parse(originals[0], in: directory, name: "clean.txt")
        #expect(clean.termination == .exited(0))

        var random = T.SeededGenerator(seed: 0xFEED_F00D)
        var stream: [UInt8] = []
        let mutations = HostileInputTests.Mutation.allCases
        for round in 0..<10_000 {
            var bytes = originals[Int.random(in: 0..<originals.count, using: &random)]
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let mutation = mutations[Int.random(in: 0..<mutations.count, using: &random)]
                HostileInputTests.mutate(&bytes, mutation, originals: originals, &random)
            }
            stream += bytes
            if round == 5_000 { stream += [T.slash] + [UInt8](repeating: 0x41, count: 1 << 20) }
            if round % 10 == 0 { stream += T.crlf + originals[round % originals.count] }
        }
        let hostile = try await parse(stream, in: directory, name: "hostile.bin")
        // 0: telegrams were accepted (the intact ones); anything else, a signal above all, is a failure.
        #expect(hostile.termination == .exited(0), "stream of \(stream.count) bytes")
        let lines = hostile.stdout.split(separator: "\n")
        // One intact telegram every ten rounds (1,000); a few are swallowed by the damage just before them (a
        // fake encrypted-frame header takes up to 3 KB that follow it, a '/' without a line end …).
        #expect(lines.count >= 800, "the intact telegrams between the damaged ones come through")
        for line in lines.prefix(50) {
            #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "not JSON: \(line.prefix(200))")
        }
        // Output is written as it goes and the framer's buffer is fixed: tens of megabytes of input may cost
        // only a few megabytes more than one telegram (allocator slack, output buffer).
        #expect(clean.peakKiB > 0)
        #expect(hostile.peakKiB < clean.peakKiB + 8 * 1024,
                "peak \(hostile.peakKiB) KiB for \(stream.count / 1024) KiB of hostile input vs \(clean.peakKiB) KiB for one telegram")
    }
}
