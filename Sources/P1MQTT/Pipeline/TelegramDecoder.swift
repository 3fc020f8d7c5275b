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
    /// Set once the source has sent a telegram with a valid CRC: from then on a telegram without one is damage
    /// (a CRC line lost to noise), not a meter that sends none.
    private var sourceSendsCRC = false
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
        var offset = 0
        while let event = framer.next(in: chunk, at: &offset) { process(event, handle) }
        statistics.skippedBytes = framer.skippedBytes
    }

    /// Feeds a chunk of the stream.
    public mutating func feed(_ chunk: [UInt8], _ handle: (Event) -> Void) {
        chunk.withUnsafeBytes { feed($0, handle) }
    }

    /// Ends the stream: completes or reports what is still open.
    public mutating func finish(_ handle: (Event) -> Void) {
        while let event = framer.finish() { process(event, handle) }
        statistics.skippedBytes = framer.skippedBytes
    }

    /// Decodes a whole buffer (one or more telegrams and noise) at once.
    public mutating func decodeAll(_ bytes: [UInt8]) -> [Event] {
        var events: [Event] = []
        feed(bytes) { events.append($0) }
        finish { events.append($0) }
        return events
    }

    private mutating func process(_ event: TelegramFramer.Event, _ handle: (Event) -> Void) {
        switch event {
        case .telegram(let crc):
            let result = framer.withFrame { bytes in
                Result { () throws(Rejection) in try parser.parse(bytes, crc: crc, encrypted: false) }
            }
            record(result, handle)
        case .encryptedFrame:
            let frame = framer.withFrame { bytes in Result { () throws(Rejection) in try DLMSFrame(bytes) } }
            switch frame {
            case .success(let frame): decrypt(frame, handle)
            case .failure(let rejection): reject(rejection, handle)
            }
        case .rejected(let rejection):
            reject(rejection, handle)
        }
    }

    private mutating func record(_ result: Result<Telegram, Rejection>, _ handle: (Event) -> Void) {
        switch result {
        case .success(let telegram) where telegram.crc == .absent && sourceSendsCRC:
            reject(Rejection(.missingCRC, "telegram without CRC from a meter that sends one: its CRC line was lost"), handle)
        case .success(let telegram):
            if telegram.crc == .valid { sourceSendsCRC = true }
            statistics.accepted += 1
            handle(.telegram(telegram))
        case .failure(let rejection):
            reject(rejection, handle)
        }
    }

    private mutating func decrypt(_ frame: DLMSFrame, _ handle: (Event) -> Void) {
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
        var results: [Result<Telegram, Rejection>] = []
        let parser = self.parser
        func collect(_ event: TelegramFramer.Event) {
            switch event {
            case .telegram(let crc):
                results.append(inner.withFrame { bytes in
                    Result { () throws(Rejection) in try parser.parse(bytes, crc: crc, encrypted: true) }
                })
            case .encryptedFrame:
                results.append(.failure(Rejection(.malformedFrame, "encrypted frame inside an encrypted frame")))
            case .rejected(let rejection):
                results.append(.failure(rejection))
            }
        }
        plaintext.withUnsafeBytes { raw in
            var offset = 0
            while let event = inner.next(in: raw, at: &offset) { collect(event) }
        }
        while let event = inner.finish() { collect(event) }
        let found = results.contains { if case .success = $0 { true } else { false } }
        if results.isEmpty || (!found && !cipher.verifiesTag) {
            // Without the tag check a wrong key yields noise, whose "rejections" would only mislead.
            return reject(Rejection(.decryption, "frame from meter \(frame.systemTitleDescription) decrypted to something that is not a telegram: the decryption key is wrong"), handle)
        }
        for result in results { record(result, handle) }
    }

    private mutating func reject(_ rejection: Rejection, _ handle: (Event) -> Void) {
        statistics.rejected[rejection.reason, default: 0] += 1
        handle(.rejected(rejection))
    }
}
