#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// Wakes a thread blocked in `poll` from any other thread: a non-blocking pipe whose read end is polled.
///
/// Signals coalesce: however many arrive before the sleeper wakes, one byte is written, so a telegram's
/// forty messages cost one system call here rather than forty.
final class WakeSignal: Sendable {
    /// The descriptor to poll for `POLLIN`; -1 if the pipe could not be created (then nothing wakes early and
    /// the poll's timeout paces the loop instead).
    let descriptor: Int32
    private let writeEnd: Int32
    /// Whether a byte is in the pipe and not yet drained.
    private let pending = Atomic<Bool>(false)

    init() {
        var ends: [Int32] = [-1, -1]
        if pipe(&ends) == 0 {
            for end in ends {
                _ = fcntl(end, F_SETFD, FD_CLOEXEC)
                _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            }
        }
        descriptor = ends[0]
        writeEnd = ends[1]
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
        if writeEnd >= 0 { close(writeEnd) }
    }

    /// Makes the next (or current) `poll` on ``descriptor`` return.
    func signal() {
        guard writeEnd >= 0, !pending.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    /// Empties the pipe; call after `poll` reported it readable, and do the work it announced afterwards.
    ///
    /// No signal is lost: the flag is cleared after the pipe is emptied, so a ``signal()`` that found it still
    /// set happened before the clearing, and its work (queued before it signalled) is seen by the work done
    /// after this returns (the exchange acquires what that signal released). A signal after the clearing
    /// writes a byte and wakes the next `poll`. At worst a byte written just after the read wakes it once for
    /// nothing.
    func drain() {
        guard descriptor >= 0 else { return }
        var scratch = (UInt64(0), UInt64(0))
        while withUnsafeMutableBytes(of: &scratch, { read(descriptor, $0.baseAddress, $0.count) }) > 0 {}
        _ = pending.exchange(false, ordering: .acquiringAndReleasing)
    }
}
