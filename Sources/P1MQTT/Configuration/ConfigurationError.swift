/// Everything wrong with a configuration file, each problem one line naming the field
/// (`mqtt.tls.ca_file: file not found: /etc/ca.pem`).
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    /// The problems, in file order.
    public let problems: [String]

    /// Creates an error from its problems.
    public init(_ problems: [String]) { self.problems = problems }

    /// All problems, one per line.
    public var description: String { problems.joined(separator: "\n") }
}
