import ArgumentParser
import P1MQTT
import Synchronization

/// `p1mqtt bench`: telegrams per second through framing, CRC, decryption and parsing, per telegram file.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure how many telegrams per second the engine frames, checks and parses (use a release build).",
        discussion: """
            Each file is fed repeatedly through one decoder on one core for the given time. The first column \
            is framing + CRC + parsing (the lines and their value groups are found and checked; values are \
            read when they are used); "typed" adds reading every value into its type (numbers with units, \
            times, texts), as a parser that builds all values at once does; the next adds writing the JSON \
            form; the last is everything p1mqtt does per telegram before libmosquitto: parsing, mapping to \
            readings, register guard, discovery check, JSON and the messages handed to a sink that only counts \
            them.

            Example:
              swift run -c release p1mqtt bench examples/telegrams/*.txt
            """
    )

    @Argument(help: ArgumentHelp("Telegram files (default: examples/telegrams/*.txt).", valueName: "file"))
    var files: [String] = []

    @Option(help: "Seconds to measure each file.")
    var seconds: Double = 1.0

    @Option(help: "Feed each file exactly this many times instead of for a fixed time (for instruction counts).")
    var iterations: Int?

    @Option(help: ArgumentHelp("Decryption key for encrypted frames.", valueName: "hex"))
    var key: String?

    func run() throws {
        var paths = files
        if paths.isEmpty { paths = defaultFiles() }
        guard !paths.isEmpty else {
            Output.error("p1mqtt bench: no telegram files given and none found in examples/telegrams")
            throw ExitCode(2)
        }
        var cipher: GCMCipher?
        if let key {
            let bytes: [UInt8]
            do { bytes = try GCMCipher.readKey(key) } catch {
                Output.error("p1mqtt bench: --key \(error.description)")
                throw ExitCode(2)
            }
            cipher = try GCMCipher(key: bytes)
        }
        print("file                          bytes   parse telegrams/s   µs/telegram   typed telegrams/s   parse+JSON telegrams/s   to MQTT µs/telegram   messages")
        for path in paths {
            let bytes: [UInt8]
            do {
                let input = try InputFile(path: path)
                defer { input.close() }
                bytes = try input.readAll()
            } catch {
                Output.error("p1mqtt bench: \(error)")
                throw ExitCode(2)
            }
            let options = TelegramDecoder.Options(cipher: cipher)
            let parse = measure(bytes, options: options, json: false)
            let typed = measureTyped(bytes, options: options)
            consume(parse.sink &+ typed.sink)
            let withJSON = measure(bytes, options: options, json: true)
            let published = measurePublishing(bytes, options: options)
            guard parse.perSecond > 0 else {
                print("\(pad(shortName(path), 28))  no telegram accepted")
                continue
            }
            print("\(pad(shortName(path), 28)) \(pad(String(bytes.count), 6, left: true))   \(pad(format(parse.perSecond), 17, left: true))   \(pad(format(1_000_000 / parse.perSecond, decimals: 2), 11, left: true))   \(pad(format(typed.perSecond), 17, left: true))   \(pad(format(withJSON.perSecond), 22, left: true))   \(pad(format(1_000_000 / published.perSecond, decimals: 2), 19, left: true))   \(pad(format(published.messagesPerTelegram, decimals: 1), 8, left: true))")
        }
    }

    private func measure(_ bytes: [UInt8], options: TelegramDecoder.Options, json: Bool) -> (perSecond: Double, sink: Int) {
        var writer = JSONWriter()
        var sink = 0
        let perSecond = rate(bytes, options: options) { telegram in
            sink &+= telegram.objects.count
            if json {
                writer.reset()
                TelegramJSON.write(telegram, to: &writer)
                sink &+= writer.bytes.count
            }
        }
        return (perSecond, sink)
    }

    /// Parsing plus every value read into its type (``Telegram/value(of:)``), the work a parser that builds all
    /// values at once (such as dsmr_parser) does per telegram.
    private func measureTyped(_ bytes: [UInt8], options: TelegramDecoder.Options) -> (perSecond: Double, sink: Int) {
        var sink = 0
        let perSecond = rate(bytes, options: options) { telegram in
            for object in telegram.objects {
                switch telegram.value(of: object) {
                case .number(let number, _): sink &+= Int(truncatingIfNeeded: number.mantissa)
                case .text(let text): sink &+= text.utf8.count
                default: sink &+= 1
                }
            }
        }
        return (perSecond, sink)
    }

    /// Everything before libmosquitto, with the default publishing options (discovery on).
    private func measurePublishing(_ bytes: [UInt8], options: TelegramDecoder.Options) -> (perSecond: Double, messagesPerTelegram: Double) {
        let publisher = Publisher(options: PublishOptions())
        let sink = CountingSink()
        var telegrams = 0
        let perSecond = rate(bytes, options: options) { telegram in
            telegrams += 1
            publisher.publish(telegram, to: sink, now: Double(telegrams))
        }
        return (perSecond, Double(sink.count) / Double(max(1, telegrams)))
    }

    /// Feeds `bytes` through one decoder again and again for the time budget (or the iterations), handing each
    /// telegram to `work`; returns telegrams per second.
    private func rate(_ bytes: [UInt8], options: TelegramDecoder.Options, _ work: (Telegram) -> Void) -> Double {
        var decoder = TelegramDecoder(options: options)
        var telegrams = 0
        let clock = ContinuousClock()
        let start = clock.now
        var elapsed = Duration.zero
        let budget = Duration.milliseconds(Int64(seconds * 1000))
        let rounds = iterations.map { max(1, $0 / 200) } ?? Int.max
        var round = 0
        while elapsed < budget || iterations != nil, round < rounds {
            round += 1
            for _ in 0..<200 {
                decoder.feed(bytes) { event in
                    if case .telegram(let telegram) = event {
                        telegrams += 1
                        work(telegram)
                    }
                }
            }
            elapsed = clock.now - start
        }
        let secondsTaken = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Double(telegrams) / secondsTaken
    }

    /// Keeps the measured work from being optimised away (its results are otherwise unused).
    @inline(never)
    private func consume(_ value: Int) {
        if value == Int.min { print("") }
    }

    private func defaultFiles() -> [String] {
        let directory = "examples/telegrams"
        guard let names = try? listDirectory(directory) else { return [] }
        return names.filter { $0.hasSuffix(".txt") }.sorted().map { "\(directory)/\($0)" }
    }

    private func shortName(_ path: String) -> String { String(path.split(separator: "/").last ?? Substring(path)) }

    private func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
        let padding = String(repeating: " ", count: max(0, width - text.count))
        return left ? padding + text : text + padding
    }

    private func format(_ value: Double, decimals: Int = 0) -> String {
        if decimals == 0 { return String(Int(value.rounded())) }
        let scale = Double(10 * decimals)
        return String((value * scale).rounded() / scale)
    }
}

/// A sink that only counts what it is given, so the benchmark measures p1mqtt's own work.
private final class CountingSink: MessageSink {
    private let counter = Atomic<Int>(0)
    var count: Int { counter.load(ordering: .relaxed) }

    func send(topic: String, payload: [UInt8], qos: Int, retain: Bool) -> Bool {
        counter.add(1, ordering: .relaxed)
        return true
    }

    func send(_ messages: [MQTTClient.Message], qos: Int, retain: Bool) -> Int {
        counter.add(messages.count, ordering: .relaxed)
        return messages.count
    }
}
