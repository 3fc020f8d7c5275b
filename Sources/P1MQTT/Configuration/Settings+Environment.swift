extension Settings {
    /// Takes the secrets the configuration file does not give from the environment: `P1MQTT_MQTT_PASSWORD`
    /// and `P1MQTT_METER_KEY` (for systemd credentials, Docker secrets and service managers). Empty variables
    /// count as unset.
    /// - Throws: ``ConfigurationError`` naming the variable when the key in it is malformed.
    public mutating func applyEnvironment(_ environment: [String: String]) throws(ConfigurationError) {
        if password == nil, let value = environment["P1MQTT_MQTT_PASSWORD"], !value.isEmpty {
            password = value
        }
        if key == nil, let value = environment["P1MQTT_METER_KEY"], !value.isEmpty {
            do { _ = try GCMCipher.readKey(value) } catch {
                throw ConfigurationError(["P1MQTT_METER_KEY: the decryption key \(error.description)"])
            }
            key = value
        }
    }

    /// The text of a secret file without its final line end (a password may contain spaces, but editors add a
    /// newline at the end).
    public static func secretFileText(_ bytes: [UInt8]) -> String {
        var end = bytes.count
        while end > 0, bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D { end -= 1 }
        return String(decoding: bytes[0..<end], as: UTF8.self)
    }
}
