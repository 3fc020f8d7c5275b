import CMosquitto

/// The process-wide libmosquitto setup.
enum MosquittoLibrary {
    /// The result of the one `mosquitto_lib_init()` call. The function is not thread-safe and must run once
    /// before the first `mosquitto_new`; a `static let` initialiser runs exactly once, on first use, guarded
    /// by the runtime, which is exactly that. `mosquitto_lib_cleanup()` is deliberately never called: clients
    /// may live until the process exits, and the OS reclaims everything then.
    static let initialisation: Int32 = mosquitto_lib_init()

    /// The linked library's version, e.g. `2.0.11`, for the startup log line.
    static var version: String {
        var major: Int32 = 0
        var minor: Int32 = 0
        var revision: Int32 = 0
        _ = mosquitto_lib_version(&major, &minor, &revision)
        return "\(major).\(minor).\(revision)"
    }

    /// libmosquitto's text for an error code, e.g. `The client is not currently connected.`
    static func describe(_ code: Int32) -> String {
        guard let text = mosquitto_strerror(code) else { return "libmosquitto error \(code)" }
        return String(cString: text)
    }
}
