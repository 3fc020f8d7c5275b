#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What kind of file a path names (stat(2)), without Foundation's FileManager attributes.
enum FileKind {
    static func isRegularFile(_ path: String) -> Bool { mode(path) == S_IFREG }
    static func isDirectory(_ path: String) -> Bool { mode(path) == S_IFDIR }

    private static func mode(_ path: String) -> mode_t? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return info.st_mode & S_IFMT
    }
}
