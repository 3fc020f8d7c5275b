/// Framing, CRC, decryption and parsing in one object: raw bytes from any source go in, accepted telegrams
/// and counted rejections come out. One per source; not shared between threads.
public struct TelegramDecoder: Sendable {
    /// What the decoder produced.
    public enum Event: Sendable {
        /// A telegram that passed every check.
        case telegram(Telegram)
        /// A telegram or frame that did not, with the reason.
        case rejected(Rejection)
    }

    /// Counters since the decoder was created.
    public struct Statistics: Sendable, Hashable {
        /// Telegrams accepted.
        public var accepted = 0
        /// Rejections by reason.
        public var rejected: [RejectionReason: Int] = [:]
        /// Bytes that belonged to no telegram.
        public var skippedBytes = 0
        /// All bytes fed.
        public var bytes = 0

        /// The total number of rejections.
        public var rejectedTotal: Int { rejected.values.reduce(0, +) }

        /// `crc 2, truncated 1`: the rejections by reason, most frequent first.
        public var rejectedSummary: String {
            rejected.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", ")
        }
    }

    /// How the decoder treats its input.
    public struct Options: Sendable {
        /// The variant to report instead of detecting one.
        public var variant: MeterVariant?
        /// The cipher for encrypted meters (Luxembourg Smarty, Austrian Sagemcom); nil when not configured.
        public var cipher: GCMCipher?
        /// Clear bit 7 of every byte (7E1 lines read as 8 bits).
        public var stripParity: Bool
        /// The largest telegram accepted.
        public var maximumTelegramSize: Int

        /// Creates options.
        public init(variant: MeterVariant? = nil, cipher: GCMCipher? = nil, stripParity: Bool = false,
                    maximumTelegramSize: Int = TelegramFramer.defaultMaximumTelegramSize) {
            self.variant = variant
            self.cipher = cipher
            self.stripParity = stripParity
            self.maximumTelegramSize = maximumTelegramSize
        }
    }

    /// The counters.
    public private(set) var statistics = Statistics()
    private var framer: TelegramFramer
    private let parser: TelegramParser
    private let cipher: GCMCipher?

    /// Creates a decoder.
    public init(options: Options = Options()) {
        framer = TelegramFramer(maximumTelegramSize: options.maximumTelegramSize, stripParity: options.stripParity)
        parser = TelegramParser(variantOverride: options.variant)
        cipher = options.cipher
    }

    /// Feeds a chunk of the stream; `handle` receives every telegram and rejection it completes, in order.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer, _ handle: (Event) -> Void) {
        statistics.bytes += chunk.count
        var framer = self.framer
        framer.feed(chunk) { output in self.process(output, handle) }
        self.framer = framer
        statistics.skippedBytes = framer.skippedBytes
    }

    /// Feeds a chunk of the stream.
    public mutating func feed(_ chunk: [UInt8], _ handle: (Event) -> Void) {
        chunk.withUnsafeBytes { feed($0, handle) }
    }

    /// Ends the stream: completes or reports what is still open.
    public mutating func finish(_ handle: (Event) -> Void) {
        var framer = self.framer
        framer.finish { output in self.process(output, handle) }
        self.framer = framer
    }

    /// Decodes a whole buffer (one or more telegrams and noise) at once.
    public mutating func decodeAll(_ bytes: [UInt8]) -> [Event] {
        var events: [Event] = []
        feed(bytes) { events.append($0) }
        finish { events.append($0) }
        return events
    }

    private mutating func process(_ output: TelegramFramer.Output, _ handle: (Event) -> Void) {
        switch output {
        case .telegram(let bytes, let crc):
            accept(bytes, crc: crc, encrypted: false, handle)
        case .encryptedFrame(let bytes):
            decrypt(bytes, handle)
        case .rejected(let rejection):
            reject(rejection, handle)
        }
    }

    private mutating func accept(_ bytes: UnsafeBufferPointer<UInt8>, crc: CRCStatus, encrypted: Bool,
                                 _ handle: (Event) -> Void) {
        do {
            let telegram = try parser.parse(bytes, crc: crc, encrypted: encrypted)
            statistics.accepted += 1
            handle(.telegram(telegram))
        } catch {
            reject(error, handle)
        }
    }

    private mutating func decrypt(_ bytes: UnsafeBufferPointer<UInt8>, _ handle: (Event) -> Void) {
        let frame: DLMSFrame
        do {
            frame = try DLMSFrame(bytes)
        } catch {
            return reject(error, handle)
        }
        guard let cipher else {
            return reject(Rejection(.noKey, "encrypted frame from meter \(frame.systemTitleDescription) but no decryption key is configured (--key)"), handle)
        }
        let plaintext: [UInt8]
        do {
            plaintext = try cipher.open(frame)
        } catch {
            return reject(Rejection(.decryption, "cannot decrypt frame from meter \(frame.systemTitleDescription): \(error.description)"), handle)
        }
        // The plaintext is a complete telegram with its own CRC: frame it on its own.
        var inner = TelegramFramer(maximumTelegramSize: framer.maximumTelegramSize)
        var found = false
        var outputs: [Result<(bytes: [UInt8], crc: CRCStatus), Rejection>] = []
        let collect: (TelegramFramer.Output) -> Void = { output in
            switch output {
            case .telegram(let body, let crc): outputs.append(.success((Array(body), crc)))
            case .rejected(let rejection): outputs.append(.failure(rejection))
            case .encryptedFrame: outputs.append(.failure(Rejection(.malformedFrame, "encrypted frame inside an encrypted frame")))
            }
        }
        plaintext.withUnsafeBytes { inner.feed($0, collect) }
        inner.finish(collect)
        for output in outputs {
            switch output {
            case .success(let telegram):
                found = true
                telegram.bytes.withUnsafeBufferPointer { accept($0, crc: telegram.crc, encrypted: true, handle) }
            case .failure(let rejection):
                reject(rejection, handle)
            }
        }
        if !found && outputs.isEmpty {
            reject(Rejection(.decryption, "frame from meter \(frame.systemTitleDescription) decrypted to something that is not a telegram: wrong key, or tag check disabled"), handle)
        }
    }

    private mutating func reject(_ rejection: Rejection, _ handle: (Event) -> Void) {
        statistics.rejected[rejection.reason, default: 0] += 1
        handle(.rejected(rejection))
    }
}
