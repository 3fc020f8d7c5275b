import Foundation

/// Runs the built `p1mqtt` executable (it sits next to the test bundle) and captures its output.
struct CommandRunner {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
        var lines: [String] { stdout.split(separator: "\n").map(String.init) }
    }

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static var executable: URL {
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for candidate in [here, here.deletingLastPathComponent(), Bundle.main.bundleURL] {
            let url = candidate.appendingPathComponent("p1mqtt")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return repository.appendingPathComponent(".build/debug/p1mqtt")
    }

    static func example(_ name: String) -> String {
        repository.appendingPathComponent("examples/telegrams/\(name)").path
    }

    /// Runs p1mqtt with `arguments`, feeding `input` on standard input; killed after `timeout` seconds.
    ///
    /// The async form waits on a thread of its own: a test blocking one of the two cooperative threads for the
    /// life of a child process starves the tests running beside it.
    static func run(_ arguments: [String], input: [UInt8]? = nil, timeout: TimeInterval = 60) async throws -> Result {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Result, any Error>) in
            Thread.detachNewThread {
                continuation.resume(with: Swift.Result { try runBlocking(arguments, input: input, timeout: timeout) })
            }
        }
    }

    /// Runs p1mqtt with `arguments`, feeding `input` on standard input; killed after `timeout` seconds.
    static func run(_ arguments: [String], input: [UInt8]? = nil, timeout: TimeInterval = 60) throws -> Result {
        try runBlocking(arguments, input: input, timeout: timeout)
    }

    private static func runBlocking(_ arguments: [String], input: [UInt8]? = nil, timeout: TimeInterval = 60) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = repository
        let out = Pipe()
        let err = Pipe()
        let inPipe = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inPipe
        try process.run()
        // Drain the pipes concurrently so a large output cannot block the child.
        let outData = ReadAll(out.fileHandleForReading)
        let errData = ReadAll(err.fileHandleForReading)
        if let input { try inPipe.fileHandleForWriting.write(contentsOf: Data(input)) }
        try inPipe.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData.wait(), as: UTF8.self),
                      stderr: String(decoding: errData.wait(), as: UTF8.self))
    }
}

/// Reads a file handle to its end on a background thread.
final class ReadAll: @unchecked Sendable {
    // @unchecked: `data` is written by the reader thread only before `done` is signalled and read after.
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    func wait() -> Data {
        done.wait()
        return data
    }
}
