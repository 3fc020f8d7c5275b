#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file or standard input in large chunks with read(2): no line splitting, no text decoding, so binary
/// encrypted frames and non-ASCII bytes pass through untouched.
struct InputFile {
    let descriptor: Int32
    let name: String

    /// Opens `path`, or standard input for `-`.
    init(path: String) throws(CommandError) {
        if path == "-" {
            descriptor = 0
            name = "standard input"
            return
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CommandError("cannot open \(path): \(String(cString: strerror(errno)))") }
        descriptor = fd
        name = path
    }

    /// Calls `body` with each chunk until end of file.
    func forEachChunk(size: Int = 64 * 1024, _ body: (UnsafeRawBufferPointer) -> Void) throws(CommandError) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = read(descriptor, buffer.baseAddress, size)
            if count == 0 { return }
            if count < 0 {
                if errno == EINTR { continue }
                throw CommandError("cannot read \(name): \(String(cString: strerror(errno)))")
            }
            body(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
    }

    /// The whole content.
    func readAll() throws(CommandError) -> [UInt8] {
        var bytes: [UInt8] = []
        try forEachChunk { bytes.append(contentsOf: $0) }
        return bytes
    }

    func close() {
        if descriptor > 0 { _ = Glibc.close(descriptor) }
    }
}

/// Writes bytes to a file descriptor, retrying partial writes.
enum Output {
    static func write(_ bytes: [UInt8], to descriptor: Int32 = 1) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(descriptor, raw.baseAddress.map { $0 + offset }, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }

    static func error(_ line: String) {
        write(Array((line + "\n").utf8), to: 2)
    }
}

/// A problem the user must fix (bad argument, unreadable file): printed as one line, exit status 2.
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The names in a directory.
func listDirectory(_ path: String) throws(CommandError) -> [String] {
    guard let directory = opendir(path) else { throw CommandError("cannot list \(path)") }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}
