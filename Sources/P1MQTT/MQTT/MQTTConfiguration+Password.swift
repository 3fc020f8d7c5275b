#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension MQTTConfiguration {
    /// Reads a password from a file, so it need not appear on the command line (visible in `ps`) or in a
    /// world-readable configuration file.
    ///
    /// One trailing line break (`\n` or `\r\n`) is removed, because `echo secret > file` and editors add one;
    /// anything else, including other whitespace, is kept as part of the password.
    /// - Parameter file: path of the file.
    /// - Returns: the password.
    /// - Throws: ``MQTTError`` with code ``MQTTError/Code/unreadableFile`` naming the file and the reason,
    ///   or when the file is empty.
    public static func readPassword(file: String) throws(MQTTError) -> String {
        var bytes: [UInt8]
        switch SecretFile.bytes(file) {
        case .success(let read): bytes = read
        case .failure(let problem): throw MQTTError(.unreadableFile, "cannot read the MQTT password file \(file): \(problem)")
        }
        // A password file is a line, not a data file: refuse something huge read by mistake.
        if bytes.count > 65535 {
            throw MQTTError(.unreadableFile, "the MQTT password file \(file) is larger than 64 KiB; is it the right file?")
        }
        if bytes.last == UInt8(ascii: "\n") {
            bytes.removeLast()
            if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        }
        guard !bytes.isEmpty else {
            throw MQTTError(.unreadableFile, "the MQTT password file \(file) is empty")
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Reads a password from an environment variable (e.g. one set by systemd's `LoadCredential` wrapper or a
    /// container runtime).
    /// - Parameter environmentVariable: the variable's name, e.g. `MQTT_PASSWORD`.
    /// - Returns: the value, or nil when the variable is unset or empty.
    public static func readPassword(environmentVariable: String) -> String? {
        guard let value = getenv(environmentVariable) else { return nil }
        let password = String(cString: value)
        return password.isEmpty ? nil : password
    }
}
