#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reads small files named in the configuration (a password, a decryption key, a web token, the configuration
/// itself) and, when that fails, says why in words a user can act on.
///
/// The usual failure is a service running as its own user (systemd's `DynamicUser=`) that may not read a
/// root-only file: the reason names the user, because "cannot read" alone sends people looking for typos.
public enum SecretFile {
    /// The largest file read: a secret is a line, and a configuration a few kilobytes; anything bigger is the
    /// wrong file (or `/dev/zero`).
    public static let maximumSize = 1 << 20

    /// The file's bytes, or why they cannot be read (one phrase, e.g. "permission denied for user p1mqtt").
    public static func bytes(_ path: String) -> Result<[UInt8], SecretFileProblem> {
        if FileKind.isDirectory(path) { return .failure(SecretFileProblem("it is a directory, not a file")) }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return .failure(SecretFileProblem(reason(errno))) }
        defer { _ = close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(SecretFileProblem(reason(errno)))
            }
            if count == 0 { return .success(bytes) }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > maximumSize {
                return .failure(SecretFileProblem("it is larger than \(maximumSize / 1024) KiB; is it the right file?"))
            }
        }
    }

    /// The text of a secret file without its final line ends (see ``Settings/secretFileText(_:)``).
    public static func text(_ path: String) -> Result<String, SecretFileProblem> {
        bytes(path).map { Settings.secretFileText($0) }
    }

    private static func reason(_ code: Int32) -> String {
        switch code {
        case ENOENT: "no such file"
        case EACCES, EPERM: "permission denied for user \(userName()) (make the file readable by it, e.g. its group)"
        default: String(cString: strerror(code))
        }
    }

    /// The effective user's name, or its number when it has none (a systemd dynamic user always has one).
    private static func userName() -> String {
        let uid = geteuid()
        if let entry = getpwuid(uid), let name = entry.pointee.pw_name { return "\(String(cString: name)) (uid \(uid))" }
        return "uid \(uid)"
    }
}

/// Why a file named in the configuration could not be read: one phrase, to follow "cannot read PATH: ".
public struct SecretFileProblem: Error, Sendable, CustomStringConvertible {
    /// The reason, e.g. "no such file".
    public let description: String
    init(_ description: String) { self.description = description }
}
