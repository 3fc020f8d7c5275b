#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file or standard input on a thread of its own (a read from a pipe may block for as long as the
/// writer likes), in large chunks, never more than a few chunks ahead of the consumer.
public struct FileByteSource: ByteSource {
    /// The path, or nil for standard input.
    public let path: String?
    /// The chunk size.
    public let chunkSize: Int
    /// Start again from the beginning at the end of the file (not for standard input).
    public let loops: Bool

    /// Creates a source for a file, or standard input when `path` is nil or `-`.
    public init(path: String?, chunkSize: Int = 64 * 1024, loops: Bool = false) {
        self.path = path == "-" ? nil : path
        self.chunkSize = chunkSize
        self.loops = loops && path != nil && path != "-"
    }

    /// `file PATH` or `standard input`.
    public var name: String { path.map { "file \($0)" } ?? "standard input" }

    /// Checks that the file can be opened, so a typo is reported before anything connects.
    public func validate() throws(SourceError) {
        guard let path else { return }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SourceError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SourceError("cannot inspect \(path): \(String(cString: strerror(errno)))") }
        let type = info.st_mode & S_IFMT
        guard type == S_IFREG || type == S_IFIFO || type == S_IFCHR else {
            throw SourceError("\(path) is not a file (a directory?); give a capture file")
        }
    }

    /// The file's content in chunks.
    public func chunks() -> AsyncThrowingStream<[UInt8], any Error> {
        // A short buffer is the backpressure: the reader waits while it is full, so a large file is never
        // read into memory ahead of the consumer.
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: [UInt8].self, throwing: (any Error).self,
                                                                    bufferingPolicy: .bufferingOldest(4))
        let reader = Reader(path: path, chunkSize: chunkSize, loops: loops, continuation: continuation)
        continuation.onTermination = { _ in reader.cancel() }
        if !DetachedThread.start({ reader.run() }) {
            continuation.finish(throwing: SourceError("cannot start a thread to read \(name)"))
        }
        return stream
    }
}

/// The blocking read loop. A class so the termination handler can reach the cancellation flag.
private final class Reader: Sendable {
    let path: String?
    let chunkSize: Int
    let continuation: AsyncThrowingStream<[UInt8], any Error>.Continuation
    private let cancelled = AtomicFlag()

    let loops: Bool

    init(path: String?, chunkSize: Int, loops: Bool, continuation: AsyncThrowingStream<[UInt8], any Error>.Continuation) {
        self.path = path
        self.chunkSize = chunkSize
        self.loops = loops
        self.continuation = continuation
    }

    func cancel() { cancelled.set() }

    func run() {
        let fd: Int32
        if let path {
            fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                continuation.finish(throwing: SourceError("cannot open \(path): \(String(cString: strerror(errno)))"))
                return
            }
        } else {
            fd = 0
        }
        defer { if fd != 0 { close(fd) } }
        var buffer = [UInt8](repeating: 0, count: chunkSize)
        while !cancelled.isSet {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, chunkSize) }
            if count == 0 {
                // An empty file would loop without pause: only rewind a file that gave something.
                guard loops, lseek(fd, 0, SEEK_CUR) > 0, lseek(fd, 0, SEEK_SET) == 0 else { break }
                continue
            }
            if count < 0 {
                if errno == EINTR { continue }
                continuation.finish(throwing: SourceError("cannot read \(path ?? "standard input"): \(String(cString: strerror(errno)))"))
                return
            }
            let chunk = Array(buffer[0..<count])
            while !cancelled.isSet, case .dropped = continuation.yield(chunk) {
                usleep(1000)  // the consumer is behind: wait for room
            }
        }
        continuation.finish()
    }
}
