/// The version of p1mqtt, reported by `--version`, in the stats topic and in Home Assistant's origin field.
public enum P1MQTTVersion {
    /// The release version.
    public static let current = "0.1.0"
    /// Where users find documentation and report problems.
    public static let url = "https://github.com/p1mqtt/p1mqtt"
}
