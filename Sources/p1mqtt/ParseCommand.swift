import ArgumentParser
import P1MQTT

/// `p1mqtt parse`: shows what the telegram engine sees, as JSON Lines.
struct ParseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parse",
        abstract: "Print every telegram found in a file or standard input as one JSON object per line.",
        discussion: """
            The input may hold any mix of telegrams, encrypted frames and noise. Rejected telegrams are \
            counted; a summary of what was rejected and why goes to standard error. Exit status: 0 when at \
            least one telegram was accepted, 1 when none was, 2 when the input or an option is unusable.

            Examples:
              p1mqtt parse examples/telegrams/dsmr5.txt
              p1mqtt parse capture.bin --key 000102030405060708090A0B0C0D0E0F
              socat -u /dev/ttyUSB0,raw,b115200 - | p1mqtt parse -
            """
    )

    @Argument(help: ArgumentHelp("The file to read, or - for standard input.", valueName: "file"))
    var file: String = "-"

    @Option(help: ArgumentHelp("Decryption key (32 hex digits) for encrypted meters (Luxembourg, Austria).", valueName: "hex"))
    var key: String?

    @Option(help: ArgumentHelp("Authentication key (32 hex digits); default: the public Smarty key.", valueName: "hex"))
    var authKey: String?

    @Flag(help: "Decrypt without checking the authentication tag (the telegram's CRC still protects it).")
    var noVerifyTag = false

    @Option(help: ArgumentHelp("Meter variant instead of detecting it: \(MeterVariant.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "variant"))
    var variant: String?

    @Flag(name: .customLong("7e1"), help: "Clear the parity bit of every byte (a 7E1 line read as 8N1).")
    var stripParity = false

    @Flag(help: "Print every rejection on standard error, not only the first of each kind.")
    var verbose = false

    func run() throws {
        let options: TelegramDecoder.Options
        do {
            options = try decoderOptions()
        } catch {
            Output.error("p1mqtt parse: \(error)")
            throw ExitCode(2)
        }
        var decoder = TelegramDecoder(options: options)
        var json = JSONWriter(capacity: 128 * 1024)
        var reported = Set<RejectionReason>()
        let handle: (TelegramDecoder.Event) -> Void = { event in
            switch event {
            case .telegram(let telegram):
                TelegramJSON.write(telegram, to: &json)
                json.endRecord()
            case .rejected(let rejection):
                if verbose || reported.insert(rejection.reason).inserted {
                    Output.error("p1mqtt parse: rejected: \(rejection.detail)")
                }
            }
        }
        do {
            let input = try InputFile(path: file)
            defer { input.close() }
            try input.forEachChunk { chunk in
                decoder.feed(chunk, handle)
                // Flush once per read: a live stream gets each telegram at once, a file goes out in large writes.
                if !json.bytes.isEmpty {
                    Output.write(json.bytes)
                    json.reset()
                }
            }
            decoder.finish(handle)
            Output.write(json.bytes)
        } catch {
            Output.error("p1mqtt parse: \(error)")
            throw ExitCode(2)
        }
        let stats = decoder.statistics
        var summary = "p1mqtt parse: \(stats.accepted) telegram\(stats.accepted == 1 ? "" : "s") accepted, \(stats.rejectedTotal) rejected"
        if stats.rejectedTotal > 0 { summary += " (\(stats.rejectedSummary))" }
        if stats.skippedBytes > 0 { summary += ", \(stats.skippedBytes) bytes outside telegrams skipped" }
        Output.error(summary)
        if stats.accepted == 0 { throw ExitCode(1) }
    }

    private func decoderOptions() throws -> TelegramDecoder.Options {
        var options = TelegramDecoder.Options(stripParity: stripParity)
        if let variant {
            guard let parsed = MeterVariant(name: variant) else {
                throw CommandError("unknown variant '\(variant)'; use one of \(MeterVariant.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            options.variant = parsed
        }
        if let key {
            let keyBytes: [UInt8]
            do { keyBytes = try GCMCipher.readKey(key) } catch { throw CommandError("--key \(error.description)") }
            var authentication = GCMCipher.smartyAuthenticationKey
            if let authKey {
                do { authentication = try GCMCipher.readKey(authKey) } catch {
                    throw CommandError("--auth-key \(error.description)")
                }
            }
            options.cipher = try GCMCipher(key: keyBytes, authenticationKey: authentication, verifiesTag: !noVerifyTag)
        }
        return options
    }
}
