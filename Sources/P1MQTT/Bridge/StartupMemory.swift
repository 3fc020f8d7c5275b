#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Gives back the program pages that only start-up needed, so the resident size is what the bridge uses.
///
/// Starting p1mqtt touches code all over its 50 MB program file and the shared libraries (the dynamic loader's
/// relocations and symbol look-ups, the Swift runtime's first look at its type tables, argument parsing, the
/// configuration reader, TLS set-up), and the kernel maps each touched page together with its neighbours, so
/// right after start the resident size is several megabytes larger than what the running bridge ever uses
/// again. Those pages are exact copies of their files, so unmapping them (`MADV_DONTNEED`) loses nothing: a page
/// that is needed again comes back from the page cache on its next use, without I/O. Only mappings that are
/// private, read-only, backed by a file and hold no page of their own (`Anonymous: 0` in `/proc/self/smaps`)
/// are unmapped; a read-only mapping that does hold such pages (the relocated part of a program, a debugger's
/// breakpoint) would lose them, and is left alone. The heap and stacks are never touched. Outside Linux this
/// does nothing.
public enum StartupMemory {
    /// Unmaps the resident pages of read-only file mappings that are exact copies of their files. Returns how
    /// many bytes of mappings were released (0 when nothing could be done).
    @discardableResult
    public static func release() -> Int {
        #if os(Linux)
        var released = 0
        for mapping in fileCopies() {
            guard let address = UnsafeMutableRawPointer(bitPattern: mapping.lowerBound) else { continue }
            if madvise(address, Int(mapping.upperBound - mapping.lowerBound), MADV_DONTNEED) == 0 {
                released += Int(mapping.upperBound - mapping.lowerBound)
            }
        }
        return released
        #else
        return 0
        #endif
    }

    #if os(Linux)
    /// The address ranges of private, read-only, file-backed mappings without anonymous pages, read from
    /// `/proc/self/smaps` (whose `Anonymous:` line is what tells a clean copy from a relocated one).
    private static func fileCopies() -> [Range<UInt>] {
        guard let smaps = fopen("/proc/self/smaps", "r") else { return [] }
        defer { fclose(smaps) }
        var result: [Range<UInt>] = []
        var candidate: Range<UInt>?
        var line = [UInt8](repeating: 0, count: 4096)
        while line.withUnsafeMutableBufferPointer({ buffer in
            buffer.baseAddress.map { $0.withMemoryRebound(to: CChar.self, capacity: buffer.count) { fgets($0, Int32(buffer.count), smaps) != nil } } ?? false
        }) {
            let length = line.firstIndex(of: 0) ?? line.count
            let text = line[..<length]
            if let range = mappingHeader(text) {
                candidate = range
            } else if let range = candidate, text.starts(with: "Anonymous:".utf8) {
                // "Anonymous:          0 kB"
                let digits = text.dropFirst("Anonymous:".utf8.count).drop { $0 == 32 || $0 == 9 }.prefix { $0 >= 48 && $0 <= 57 }
                if digits.elementsEqual("0".utf8) { result.append(range) }
                candidate = nil
            }
        }
        return result
    }

    /// Parses "start-end perms offset dev inode path" and returns the range when the mapping is private,
    /// read-only and backed by a file (its path starts with "/"); nil for every other line.
    private static func mappingHeader(_ text: ArraySlice<UInt8>) -> Range<UInt>? {
        let fields = text.split(separator: 32, maxSplits: 5, omittingEmptySubsequences: true)
        // The path is padded to a column: the sixth field starts with those spaces.
        guard fields.count == 6, fields[1].count == 4, fields[5].first(where: { $0 != 32 }) == UInt8(ascii: "/") else { return nil }
        let permissions = Array(fields[1])
        guard permissions[1] == UInt8(ascii: "-"), permissions[3] == UInt8(ascii: "p") else { return nil }
        let bounds = fields[0].split(separator: UInt8(ascii: "-"))
        guard bounds.count == 2,
            let start = UInt(String(decoding: bounds[0], as: UTF8.self), radix: 16),
            let end = UInt(String(decoding: bounds[1], as: UTF8.self), radix: 16), end > start
        else { return nil }
        return start..<end
    }
    #endif
}
