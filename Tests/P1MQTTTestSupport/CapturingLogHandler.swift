import Logging
import Synchronization

/// A swift-log handler that keeps every line, to check what is logged and how often.
public struct CapturingLogHandler: LogHandler {
    /// Creates a handler writing into `store`.
    public init(store: Store) {
        self.store = store
    }

    /// Every line logged through the handlers that share it.
    public final class Store: Sendable {
        private let lines = Mutex<[(level: Logger.Level, message: String)]>([])

        /// Creates an empty store.
        public init() {}

        /// Records a line.
        public func append(_ level: Logger.Level, _ message: String) {
            lines.withLock { $0.append((level, message)) }
        }

        /// The messages logged at `level` or above.
        public func messages(atLeast level: Logger.Level) -> [String] {
            lines.withLock { $0.filter { $0.level >= level }.map(\.message) }
        }

        /// All messages.
        public var all: [String] {
            lines.withLock { $0.map(\.message) }
        }
    }

    public let store: Store
    public var logLevel: Logger.Level = .trace
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        store.append(event.level, event.message.description)
    }

    /// A logger writing into a new store.
    public static func logger() -> (Logger, Store) {
        let store = Store()
        return (Logger(label: "test") { _ in CapturingLogHandler(store: store) }, store)
    }
}
