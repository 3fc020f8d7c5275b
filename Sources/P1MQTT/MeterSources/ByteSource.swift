/// A stream of raw bytes from a meter connection, capture or simulator. Sources know nothing about telegrams:
/// framing, checking and parsing happen in the next stage.
public protocol ByteSource: Sendable {
    /// The chunks as they arrive; finishes when the source ends (end of a file), throws when it fails for good.
    func chunks() -> AsyncThrowingStream<[UInt8], any Error>
    /// A short description for logs: `file capture.txt`, `simulator dsmr5`.
    var name: String { get }
    /// What the source is doing now, for the statistics topic: `connected`, `reading 115200 8N1`, …
    var state: String { get }
}

extension ByteSource {
    /// Sources without a connection to watch are simply running.
    public var state: String { "running" }
}

/// A problem opening or reading a source, stated so the user can fix it.
public struct SourceError: Error, Sendable, CustomStringConvertible {
    /// One line naming the source and what went wrong.
    public let description: String

    /// Creates an error.
    public init(_ description: String) { self.description = description }
}
