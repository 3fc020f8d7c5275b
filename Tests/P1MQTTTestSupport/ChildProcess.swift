import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `kill(2)`, reachable from inside ``ChildProcess`` whose own `kill()` hides it.
private func sendSignal(_ pid: pid_t, _ signal: Int32) -> Int32 {
    kill(pid, signal)
}

/// A child process started with `posix_spawn` and an EMPTY signal mask.
///
/// Processes started from Swift Testing (with `Foundation.Process` too) inherit the test runner's signal mask,
/// which blocks SIGTERM and SIGINT: a `kill(pid, SIGTERM)` then stays pending forever. To test how p1mqtt
/// shuts down on SIGTERM, the child must start with nothing blocked, which only `posix_spawn` with
/// `POSIX_SPAWN_SETSIGMASK` offers. TERM and INT are also reset to their default action
/// (`POSIX_SPAWN_SETSIGDEF`), in case the runner ignores them.
///
/// Standard output and standard error go to files (no pipe to drain, nothing lost when the child is killed);
/// standard input is `/dev/null` or a pipe the test writes into. Every descriptor above 2 is closed in the
/// child, so it never holds another test's pipe open.
public final class ChildProcess: @unchecked Sendable {
    // @unchecked: `exitStatus` is only touched under `lock`; everything else is immutable.

    /// How the child ended.
    public enum Termination: Equatable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)

        public var description: String {
            switch self {
            case .exited(let code): "exited with status \(code)"
            case .signalled(let signal): "killed by signal \(signal) (\(String(cString: strsignal(signal))))"
            }
        }
    }

    /// Why a child could not be started or talked to.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String

        /// Creates a failure with its message.
        public init(description: String) {
            self.description = description
        }
    }

    /// Where standard input comes from.
    public enum Input {
        case null
        /// A pipe: write with ``writeInput(_:)``, end with ``closeInput()``.
        case pipe
        /// A pipe already holding these bytes (at most 64 KiB) and closed, before the child starts: like
        /// `cat file | child` when `cat` has finished first.
        case bytes([UInt8])
    }

    public let pid: pid_t
    /// The file collecting standard output.
    public let stdoutPath: String
    /// The file collecting standard error.
    public let stderrPath: String

    private let lock = NSLock()
    private var exitStatus: Termination?
    private var inputFD: Int32 = -1

    /// Starts `executable` with `arguments` (not including argv[0]). Output files are created in `directory`
    /// with `name` as prefix.
    public init(executable: String, arguments: [String], directory: String, name: String = "child",
         input: Input = .null, environment: [String: String]? = nil) throws {
        stdoutPath = directory + "/\(name).stdout"
        stderrPath = directory + "/\(name).stderr"

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }

        var pipeFDs: [Int32] = [-1, -1]
        switch input {
        case .null:
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        case .pipe, .bytes:
            // (pipe2 needs _GNU_SOURCE, which Swift's Glibc module does not define.)
            guard pipe(&pipeFDs) == 0 else {
                throw Failure(description: "pipe failed: \(String(cString: strerror(errno)))")
            }
            _ = fcntl(pipeFDs[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(pipeFDs[1], F_SETFD, FD_CLOEXEC)
            // dup2 clears FD_CLOEXEC on the copy; the originals are closed by exec (and by closefrom).
            posix_spawn_file_actions_adddup2(&actions, pipeFDs[0], 0)
        }
        if case .bytes(let bytes) = input {
            precondition(bytes.count <= 65_536, "more than a pipe buffer: use .pipe and writeInput")
            let written = bytes.withUnsafeBytes { write(pipeFDs[1], $0.baseAddress, $0.count) }
            close(pipeFDs[1])
            pipeFDs[1] = -1
            guard written == bytes.count else {
                close(pipeFDs[0])
                throw Failure(description: "could not fill the standard input pipe: \(String(cString: strerror(errno)))")
            }
        }
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if let addCloseFrom = Self.addCloseFrom { _ = addCloseFrom(&actions, 3) }

        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGTERM)
        sigaddset(&defaults, SIGINT)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let environment = environment ?? ProcessInfo.processInfo.environment
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in envp { free(pointer) } }

        var pid: pid_t = 0
        let code = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        if pipeFDs[0] >= 0 { close(pipeFDs[0]) }
        guard code == 0 else {
            if pipeFDs[1] >= 0 { close(pipeFDs[1]) }
            throw Failure(description: "posix_spawn \(executable) failed: \(String(cString: strerror(code)))")
        }
        self.pid = pid
        inputFD = pipeFDs[1]
    }

    /// `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34+), looked up at run time: Swift's Glibc module
    /// does not declare it (it needs _GNU_SOURCE).
    private static let addCloseFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32)? = {
        guard let handle = dlopen(nil, RTLD_NOW),
              let symbol = dlsym(handle, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32).self)
    }()

    deinit {
        reap()
        if inputFD >= 0 { close(inputFD) }
    }

    /// Kills the child unless it has already been reaped, and reaps it (blocking; SIGKILL is quick).
    public func reap() {
        lock.lock()
        defer { lock.unlock() }
        guard exitStatus == nil else { return }
        _ = sendSignal(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signal = status & 0x7F
        exitStatus = signal == 0 ? .exited((status >> 8) & 0xFF) : .signalled(signal)
    }

    // MARK: - Signals

    /// Sends SIGTERM (a graceful shutdown request).
    public func terminate() { signal(SIGTERM) }

    /// Sends SIGKILL.
    public func kill() { signal(SIGKILL) }

    /// Sends `signal` unless the child has already been reaped (its pid could be reused).
    public func signal(_ signal: Int32) {
        lock.lock()
        defer { lock.unlock() }
        if exitStatus == nil { _ = sendSignal(pid, signal) }
    }

    // MARK: - Waiting

    /// Reaps the child if it has ended; returns how it ended, or nil while it runs.
    public func poll() -> Termination? {
        lock.lock()
        defer { lock.unlock() }
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        guard result == pid else { return nil }
        // WIFEXITED / WEXITSTATUS / WTERMSIG are macros Swift cannot import.
        let signal = status & 0x7F
        exitStatus = signal == 0 ? .exited((status >> 8) & 0xFF) : .signalled(signal)
        return exitStatus
    }

    public var isRunning: Bool { poll() == nil }

    /// Waits up to `timeout` for the child to end; nil if it is still running then (it is NOT killed).
    public func waitForExit(timeout: Duration) async -> Termination? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let termination = poll() { return termination }
            guard ContinuousClock.now < deadline else { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Kills the child if it still runs and reaps it.
    @discardableResult
    public func killAndWait() async -> Termination? {
        if let termination = poll() { return termination }
        kill()
        return await waitForExit(timeout: .seconds(5))
    }

    // MARK: - Standard input

    /// Writes to the child's standard input (``Input/pipe`` only).
    public func writeInput(_ bytes: [UInt8]) throws {
        guard inputFD >= 0 else { throw Failure(description: "standard input is not a pipe, or closed") }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(inputFD, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "write to the child's standard input failed: \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }

    /// Closes the child's standard input (it reads end of file).
    public func closeInput() {
        if inputFD >= 0 {
            close(inputFD)
            inputFD = -1
        }
    }

    // MARK: - Output

    /// Standard output so far.
    public var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    /// Standard error so far.
    public var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// The signal mask the child runs with (`SigBlk` in `/proc/PID/status`), for checking the mask really is
    /// empty; nil when it cannot be read.
    public var blockedSignals: UInt64? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigBlk:") }) else { return nil }
        return UInt64(line.dropFirst("SigBlk:".count).trimmingCharacters(in: .whitespaces), radix: 16)
    }
}
