#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Gives the kernel back the pages of p1mqtt's own program file that only start-up needed.
///
/// p1mqtt is one statically linked file of about 50 MB. Starting it touches code all over that file (argument
/// parsing, the configuration reader, TLS and library set-up, the Swift runtime's first look at its type
/// tables), and the kernel maps each touched page with its neighbours, so the resident size after start is
/// several megabytes larger than what the running bridge ever uses again. Those pages are clean copies of the
/// file: asking the kernel to reclaim them (`MADV_PAGEOUT`, Linux 5.4+) costs nothing but a re-read of the few
/// that are needed again, and the resident size settles at the working set. Anonymous memory (the heap) is
/// never touched. On older kernels or other systems this does nothing.
public enum StartupMemory {
    /// Asks the kernel to reclaim the program file's resident pages. Returns how many bytes of mappings were
    /// advised (0 when nothing could be done).
    @discardableResult
    public static func release() -> Int {
        #if os(Linux)
        guard let executable = executablePath(), let maps = fopen("/proc/self/maps", "r") else { return 0 }
        defer { fclose(maps) }
        var advised = 0
        var line = [CChar](repeating: 0, count: 4096)
        while fgets(&line, Int32(line.count), maps) != nil {
            let text = String(decoding: line.prefix { $0 != 0 && $0 != 10 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            // "start-end perms offset dev inode path"
            let fields = text.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, String(fields[5...].joined(separator: " ")) == executable,
                !fields[1].contains("w")  // only the read-only (file-identical) mappings
            else { continue }
            let bounds = fields[0].split(separator: "-")
            guard bounds.count == 2, let start = UInt(bounds[0], radix: 16), let end = UInt(bounds[1], radix: 16), end > start,
                let address = UnsafeMutableRawPointer(bitPattern: start)
            else { continue }
            if madvise(address, Int(end - start), 21 /* MADV_PAGEOUT */) == 0 { advised += Int(end - start) }
        }
        return advised
        #else
        return 0
        #endif
    }

    private static func executablePath() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
