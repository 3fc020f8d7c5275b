import Foundation
import Mapping
import Synchronization
import Testing

@testable import P1MQTT

/// ``ReadingThrottle`` (intervals, averaging, only-on-change, flush), ``RegisterGuard`` (plausibility of
/// cumulative registers) and ``Publisher`` with an in-test sink: pure logic, no broker.
@Suite("Throttle, register guard and publisher")
struct ThrottleAndGuardTests {
    // MARK: - Helpers

    static func reading(_ key: String, _ mantissa: Int64, scale: UInt8 = 3, kind: Reading.Kind,
                        device: String? = nil, unit: String? = nil) -> Reading {
        Reading(value: TopicMap.Value(device: device, key: key), payload: .number(MeterNumber(mantissa: mantissa, scale: scale)),
                unit: unit, kind: kind)
    }

    static func text(_ key: String, _ text: String) -> Reading {
        Reading(value: TopicMap.Value(key: key), payload: .text(text), kind: .state)
    }

    /// Feeds `make(t)` at every t in `times` and returns the published `(t, payload)` pairs.
    static func run(_ throttle: inout ReadingThrottle, _ times: some Sequence<Int>, _ make: (Int) -> Reading)
        -> [(Int, String)]
    {
        var published: [(Int, String)] = []
        for t in times {
            if let admitted = throttle.admit(make(t), at: Double(t)) { published.append((t, admitted.payload.description)) }
        }
        return published
    }

    // MARK: - ReadingThrottle

    @Suite("ReadingThrottle")
    struct Throttle {
        @Test("by default every reading passes unchanged")
        func passThrough() {
            var throttle = ReadingThrottle()
            #expect(throttle.isPassThrough)
            for t in 0..<50 {
                let reading = ThrottleAndGuardTests.reading("power_import", Int64(1000 + t), kind: .measurement)
                #expect(throttle.admit(reading, at: 0) == reading)
                let same = ThrottleAndGuardTests.text("tariff_indicator", "low")
                #expect(throttle.admit(same, at: Double(t) / 1000) == same)
            }
            #expect(throttle.flush().isEmpty)
            #expect(ReadingThrottle(interval: -5).isPassThrough)
            #expect(!ReadingThrottle(interval: 1).isPassThrough)
            #expect(!ReadingThrottle(intervals: ["power_import": 5]).isPassThrough)
            #expect(!ReadingThrottle(onlyOnChange: true).isPassThrough)
        }

        @Test("interval 10 s: a measurement fed every second is published at 0, then at 10 and 20 as the mean since")
        func measurementMean() {
            var throttle = ReadingThrottle(interval: 10)
            // t × 0.1 kW: 0.000, 0.100, …, 2.500.
            let published = ThrottleAndGuardTests.run(&throttle, 0...25) {
                ThrottleAndGuardTests.reading("power_import", Int64($0 * 100), kind: .measurement, unit: "kW")
            }
            #expect(published.map(\.0) == [0, 10, 20])
            // t=10: mean of 0.1 … 1.0 = 0.55; t=20: mean of 1.1 … 2.0 = 1.55 (not the last sample, 2.0).
            #expect(published.map(\.1) == ["0.000", "0.550", "1.550"])
        }

        @Test("the mean keeps the meter's scale and is exact at that scale")
        func meanScale() {
            var throttle = ReadingThrottle(interval: 10)
            // Voltages with one decimal: 230.0 then 231.0, 232.0, …: the means keep one decimal.
            let volts = ThrottleAndGuardTests.run(&throttle, 0...20) {
                ThrottleAndGuardTests.reading("voltage_l1", Int64(2300 + $0 * 10), scale: 1, kind: .measurement)
            }
            #expect(volts.map(\.1) == ["230.0", "235.5", "245.5"])
            // The next window holds one sample only: published as it is.
            let single = throttle.admit(ThrottleAndGuardTests.reading("voltage_l1", 2301, scale: 1, kind: .measurement), at: 30)
            #expect(single?.payload.number == MeterNumber(mantissa: 2301, scale: 1))

            // Mixed scales average at the finer one: 1.2 and 1.26 → 1.23.
            var mixed = ReadingThrottle(interval: 10)
            _ = mixed.admit(ThrottleAndGuardTests.reading("power_import", 1, scale: 0, kind: .measurement), at: 0)
            _ = mixed.admit(ThrottleAndGuardTests.reading("power_import", 12, scale: 1, kind: .measurement), at: 5)
            let mean = mixed.admit(ThrottleAndGuardTests.reading("power_import", 126, scale: 2, kind: .measurement), at: 10)
            #expect(mean?.payload.number == MeterNumber(mantissa: 123, scale: 2))
            #expect(mean?.payload.description == "1.23")
            // Negative values (net power while exporting) average too.
            var negative = ReadingThrottle(interval: 2)
            _ = negative.admit(ThrottleAndGuardTests.reading("power_net", -1000, kind: .measurement), at: 0)
            _ = negative.admit(ThrottleAndGuardTests.reading("power_net", -1500, kind: .measurement), at: 1)
            let negativeMean = negative.admit(ThrottleAndGuardTests.reading("power_net", -2500, kind: .measurement), at: 2)
            #expect(negativeMean?.payload.description == "-2.000")
        }

        @Test("registers and states publish their latest value, not a mean")
        func registersLatest() {
            var throttle = ReadingThrottle(interval: 10)
            let energy = ThrottleAndGuardTests.run(&throttle, 0...25) {
                ThrottleAndGuardTests.reading("energy_import_tariff_1", Int64(1_000_000 + $0), kind: .register, unit: "kWh")
            }
            #expect(energy.map(\.0) == [0, 10, 20])
            #expect(energy.map(\.1) == ["1000.000", "1000.010", "1000.020"])
            let counter = ThrottleAndGuardTests.run(&throttle, 0...25) {
                ThrottleAndGuardTests.reading("short_power_failures", Int64($0), scale: 0, kind: .state)
            }
            #expect(counter.map(\.1) == ["0", "10", "20"])
            let tariff = ThrottleAndGuardTests.run(&throttle, 0...12) {
                ThrottleAndGuardTests.text("tariff_indicator", $0 < 10 ? "low" : ($0 == 10 ? "normal" : "low"))
            }
            #expect(tariff.map(\.1) == ["low", "normal"])
        }

        @Test("an interval per key or path overrides the global one")
        func perKeyInterval() {
            var throttle = ReadingThrottle(interval: 10, intervals: ["power_import": 2, "gas_1/reading": 300, "reading": 60,
                                                                     "current_l1": 0])
            var power: [Int] = []
            var voltage: [Int] = []
            var current: [Int] = []
            var gas: [Int] = []
            var water: [Int] = []
            for t in 0...600 {
                let now = Double(t)
                if throttle.admit(ThrottleAndGuardTests.reading("power_import", 1000, kind: .measurement), at: now) != nil {
                    power.append(t)
                }
                if throttle.admit(ThrottleAndGuardTests.reading("voltage_l1", 2300, scale: 1, kind: .measurement), at: now) != nil {
                    voltage.append(t)
                }
                if throttle.admit(ThrottleAndGuardTests.reading("current_l1", Int64(t), scale: 0, kind: .measurement), at: now) != nil {
                    current.append(t)
                }
                if t % 10 == 0 {
                    let gasReading = ThrottleAndGuardTests.reading("reading", Int64(t), kind: .register, device: "gas_1")
                    if throttle.admit(gasReading, at: now) != nil { gas.append(t) }
                    let waterReading = ThrottleAndGuardTests.reading("reading", Int64(t), kind: .register, device: "water_2")
                    if throttle.admit(waterReading, at: now) != nil { water.append(t) }
                }
            }
            #expect(power == Array(stride(from: 0, through: 600, by: 2)))
            #expect(voltage == Array(stride(from: 0, through: 600, by: 10)))
            // An interval of 0 for one key: every telegram, with its own value.
            #expect(current == Array(0...600))
            // The path wins over the key: gas_1 every 300 s, water_2 by the key `reading` every 60 s.
            #expect(gas == [0, 300, 600])
            #expect(water == Array(stride(from: 0, through: 600, by: 60)))
        }

        @Test("only_on_change suppresses repeats of the last published payload")
        func onlyOnChange() {
            var throttle = ReadingThrottle(onlyOnChange: true)
            #expect(!throttle.isPassThrough)
            let tariffs = ["low", "low", "normal", "normal", "normal", "low", "low"]
            let published = ThrottleAndGuardTests.run(&throttle, tariffs.indices) {
                ThrottleAndGuardTests.text("tariff_indicator", tariffs[$0])
            }
            #expect(published.map(\.0) == [0, 2, 5])
            #expect(published.map(\.1) == ["low", "normal", "low"])
            let values: [Int64] = [5, 5, 5, 6, 6, 5]
            let numbers = ThrottleAndGuardTests.run(&throttle, values.indices) {
                ThrottleAndGuardTests.reading("short_power_failures", values[$0], scale: 0, kind: .state)
            }
            #expect(numbers.map(\.1) == ["5", "6", "5"])

            // With an interval too: an unchanged mean is not published again.
            var both = ReadingThrottle(interval: 5, onlyOnChange: true)
            let flat = ThrottleAndGuardTests.run(&both, 0...20) { t in
                ThrottleAndGuardTests.reading("power_import", t < 15 ? 1000 : 3000, kind: .measurement)
            }
            #expect(flat.map(\.0) == [0, 15, 20])
            #expect(flat.map(\.1) == ["1.000", "1.400", "3.000"])
        }

        @Test("flush returns what is held back: the mean of measurements, the latest register value")
        func flush() {
            var throttle = ReadingThrottle(interval: 10)
            #expect(throttle.admit(ThrottleAndGuardTests.reading("power_import", 1000, kind: .measurement), at: 0) != nil)
            #expect(throttle.admit(ThrottleAndGuardTests.reading("energy_import_tariff_1", 1000, kind: .register), at: 0) != nil)
            #expect(throttle.admit(ThrottleAndGuardTests.reading("voltage_l1", 2300, scale: 1, kind: .measurement), at: 0) != nil)
            for (t, power, energy) in [(1, 2000, 1001), (2, 4000, 1002)] as [(Double, Int64, Int64)] {
                #expect(throttle.admit(ThrottleAndGuardTests.reading("power_import", power, kind: .measurement), at: t) == nil)
                #expect(throttle.admit(ThrottleAndGuardTests.reading("energy_import_tariff_1", energy, kind: .register), at: t) == nil)
            }
            let flushed = throttle.flush()
            let byPath = Dictionary(flushed.map { ($0.value.path, $0.payload.description) }, uniquingKeysWith: { a, _ in a })
            // voltage_l1 has nothing held back: it was published with its only value.
            #expect(byPath == ["power_import": "3.000", "energy_import_tariff_1": "1.002"])
            #expect(flushed.count == 2)
            #expect(throttle.flush().isEmpty, "a second flush has nothing left")
            // The averaging restarts after a flush: at t=10 only the new sample counts.
            let next = throttle.admit(ThrottleAndGuardTests.reading("power_import", 5000, kind: .measurement), at: 10)
            #expect(next?.payload.description == "5.000")
        }
    }

    // MARK: - RegisterGuard

    @Suite("RegisterGuard")
    struct Guard {
        static func isWithheld(_ verdict: RegisterGuard.Verdict) -> Bool {
            if case .withhold = verdict { return true }
            return false
        }

        static func reason(_ verdict: RegisterGuard.Verdict) -> String? {
            if case .withhold(let reason) = verdict { return reason }
            return nil
        }

        @Test("the first value is always accepted, even 0; rising and equal values are accepted")
        func firstAndRising() {
            var registers = RegisterGuard()
            #expect(registers.check("a", value: 0, unit: "kWh", at: 0) == .accept)
            #expect(registers.check("b", value: 123_456.789, unit: "kWh", at: 0) == .accept)
            #expect(registers.check("c", value: 5, unit: nil, at: 0) == .accept)
            var last = 0.0
            for step in 1...100 {
                last = MeterNumber(mantissa: 123_456_789 + Int64(step), scale: 3).doubleValue
                #expect(registers.check("b", value: last, unit: "kWh", at: Double(step)) == .accept)
            }
            #expect(registers.check("b", value: last, unit: "kWh", at: 101) == .accept, "unchanged is fine")
            // A register that starts at 0 may rise from there.
            #expect(registers.check("a", value: 0.001, unit: "kWh", at: 10) == .accept)
            // Keys are independent.
            #expect(registers.check("gas_1/reading", value: 3000, unit: "m³", at: 0) == .accept)
        }

        @Test("withheld: a drop to 0, going backwards, an impossible jump")
        func withheld() {
            var registers = RegisterGuard()
            #expect(registers.check("import", value: 4321.123, unit: "kWh", at: 0) == .accept)
            let zero = registers.check("import", value: 0, unit: "kWh", at: 10)
            #expect(Self.isWithheld(zero))
            #expect(Self.reason(zero)?.contains("reads 0") == true, "\(zero)")
            let backwards = registers.check("import", value: 4321.0, unit: "kWh", at: 20)
            #expect(Self.isWithheld(backwards))
            #expect(Self.reason(backwards)?.contains("backwards") == true, "\(backwards)")
            // +1000 kWh in 10 s is 360 MW.
            let jump = registers.check("import", value: 5321.123, unit: "kWh", at: 30)
            #expect(Self.isWithheld(jump))
            #expect(Self.reason(jump)?.contains("jumped") == true, "\(jump)")
            // The register continues normally: accepted against the last good value.
            #expect(registers.check("import", value: 4321.124, unit: "kWh", at: 40) == .accept)

            var gas = RegisterGuard()
            #expect(gas.check("gas_1/reading", value: 3000, unit: "m³", at: 0) == .accept)
            #expect(Self.isWithheld(gas.check("gas_1/reading", value: 3100, unit: "m³", at: 300)), "100 m³ in 5 minutes")
            #expect(gas.check("gas_1/reading", value: 3001, unit: "m³", at: 300) == .accept)
            #expect(Self.isWithheld(gas.check("gas_1/reading", value: 2999, unit: "m³", at: 600)))

            var watts = RegisterGuard()
            #expect(watts.check("import", value: 1_000_000, unit: "Wh", at: 0) == .accept)
            #expect(Self.isWithheld(watts.check("import", value: 2_000_000, unit: "Wh", at: 10)))
        }

        @Test("plausible rises are accepted: a large household's rate, and long gaps")
        func plausibleRises() {
            var registers = RegisterGuard()
            #expect(registers.check("import", value: 100, unit: "kWh", at: 0) == .accept)
            // 20 kW for an hour.
            #expect(registers.check("import", value: 120, unit: "kWh", at: 3600) == .accept)
            // 1000 kWh over five hours (200 kW) is within 250 kW.
            #expect(registers.check("import", value: 1120, unit: "kWh", at: 3600 + 5 * 3600) == .accept)
            // Units without a known limit only check direction and zero.
            var other = RegisterGuard()
            #expect(other.check("x", value: 1, unit: "furlongs", at: 0) == .accept)
            #expect(other.check("x", value: 1e12, unit: "furlongs", at: 1) == .accept)
            #expect(Self.isWithheld(other.check("x", value: 0, unit: "furlongs", at: 2)))
        }

        @Test("a new level (meter replaced) is accepted after `confirmations` consistent readings")
        func newLevel() {
            var registers = RegisterGuard(confirmations: 3)
            #expect(registers.confirmations == 3)
            #expect(registers.check("import", value: 100, unit: "kWh", at: 0) == .accept)
            // A higher level.
            #expect(Self.isWithheld(registers.check("import", value: 1100, unit: "kWh", at: 10)))
            #expect(Self.isWithheld(registers.check("import", value: 1100.1, unit: "kWh", at: 20)))
            #expect(registers.check("import", value: 1100.2, unit: "kWh", at: 30) == .acceptNewLevel)
            #expect(registers.check("import", value: 1100.3, unit: "kWh", at: 40) == .accept)
            // The old level is now "backwards".
            #expect(Self.isWithheld(registers.check("import", value: 100.1, unit: "kWh", at: 50)))

            // A lower level: a new meter starting near 0.
            var replaced = RegisterGuard(confirmations: 3)
            #expect(replaced.check("import", value: 5000, unit: "kWh", at: 0) == .accept)
            #expect(Self.isWithheld(replaced.check("import", value: 0.5, unit: "kWh", at: 10)))
            #expect(Self.isWithheld(replaced.check("import", value: 0.6, unit: "kWh", at: 20)))
            #expect(replaced.check("import", value: 0.7, unit: "kWh", at: 30) == .acceptNewLevel)
            #expect(replaced.check("import", value: 0.8, unit: "kWh", at: 40) == .accept)

            // A reset to exactly 0 that stays there.
            var reset = RegisterGuard(confirmations: 2)
            #expect(reset.check("import", value: 42, unit: "kWh", at: 0) == .accept)
            #expect(Self.isWithheld(reset.check("import", value: 0, unit: "kWh", at: 10)))
            #expect(reset.check("import", value: 0, unit: "kWh", at: 20) == .acceptNewLevel)

            // The default needs ten.
            var standard = RegisterGuard()
            #expect(standard.confirmations == 10)
            #expect(standard.check("gas", value: 3000, unit: "m³", at: 0) == .accept)
            for step in 1...9 {
                #expect(Self.isWithheld(standard.check("gas", value: 10 + Double(step) * 0.01, unit: "m³", at: Double(step) * 10)),
                        "reading \(step)")
            }
            #expect(standard.check("gas", value: 10.1, unit: "m³", at: 100) == .acceptNewLevel)
            #expect(RegisterGuard(confirmations: 0).confirmations == 1)
        }

        @Test("a single glitch followed by normal values never resets the register")
        func glitchNeverResets() {
            var registers = RegisterGuard(confirmations: 3)
            var value = 4321.0
            #expect(registers.check("import", value: value, unit: "kWh", at: 0) == .accept)
            var verdicts: [RegisterGuard.Verdict] = []
            for step in 1...60 {
                value += 0.001
                // Every fifth telegram is damaged: 0, far too high, or backwards.
                let glitch: Double? = switch step % 15 {
                case 5: 0
                case 10: 99_999
                case 0: 1
                default: nil
                }
                let verdict = registers.check("import", value: glitch ?? value, unit: "kWh", at: Double(step * 10))
                verdicts.append(verdict)
                if glitch != nil {
                    #expect(Self.isWithheld(verdict), "glitch at step \(step)")
                } else {
                    #expect(verdict == .accept, "normal value at step \(step)")
                }
            }
            #expect(!verdicts.contains(.acceptNewLevel))
            // The same glitch value repeated, but interleaved with good values, never adds up to a new level.
            var repeated = RegisterGuard(confirmations: 2)
            #expect(repeated.check("import", value: 100, unit: "kWh", at: 0) == .accept)
            for step in 1...20 {
                let t = Double(step * 10)
                #expect(Self.isWithheld(repeated.check("import", value: 0, unit: "kWh", at: t)))
                #expect(repeated.check("import", value: 100 + Double(step) * 0.001, unit: "kWh", at: t + 5) == .accept)
            }
        }

        @Test("reset() forgets every register")
        func resetForgets() {
            var registers = RegisterGuard()
            #expect(registers.check("import", value: 100, unit: "kWh", at: 0) == .accept)
            registers.reset()
            #expect(registers.check("import", value: 0, unit: "kWh", at: 10) == .accept)
        }
    }

    // MARK: - Publisher

    /// Records every message; can refuse them, like a client that is not connected.
    final class RecordingSink: MessageSink {
        struct Message: Sendable, Hashable {
            var topic: String
            var payload: [UInt8]
            var qos: Int
            var retain: Bool
            var text: String { String(decoding: payload, as: UTF8.self) }
        }

        private let state = Mutex<(messages: [Message], accepting: Bool)>(([], true))

        init(accepting: Bool = true) {
            state.withLock { $0.accepting = accepting }
        }

        @discardableResult
        func send(topic: String, payload: [UInt8], qos: Int, retain: Bool) -> Bool {
            state.withLock { state in
                guard state.accepting else { return false }
                state.messages.append(Message(topic: topic, payload: payload, qos: qos, retain: retain))
                return true
            }
        }

        /// Everything except Home Assistant discovery, which other tests cover.
        var messages: [Message] { state.withLock { $0.messages }.filter { !$0.topic.hasPrefix("homeassistant/") } }

        /// The latest non-empty payload per topic.
        var latest: [String: String] {
            var result: [String: String] = [:]
            for message in messages where !message.payload.isEmpty { result[message.topic] = message.text }
            return result
        }

        func clear() { state.withLock { $0.messages.removeAll() } }
    }

    @Suite("Publisher")
    struct Publishing {
        static func telegram(_ number: Int = 0, replacing: [String: String] = [:],
                             sourceLocation: SourceLocation = #_sourceLocation) throws -> Telegram {
            let lines = TestTelegrams.dsmr5Lines(number: number).map { line in
                replacing.first { line.hasPrefix($0.key + "(") }.map { "\($0.key)(\($0.value))" } ?? line
            }
            let bytes = TestTelegrams.build(header: TestTelegrams.dsmr5Header, lines: lines)
            return try VariantTelegramFixtures.decode(bytes, sourceLocation: sourceLocation)
        }

        @Test("every value under <base>/<path>, retained at QoS 0, and the JSON telegram on <base>/telegram")
        func publishesValuesAndJSON() throws {
            let publisher = Publisher(options: PublishOptions())
            let sink = RecordingSink()
            publisher.publish(try Self.telegram(), to: sink, now: 0)
            let latest = sink.latest
            #expect(latest["p1mqtt/energy_import_tariff_1"] == "4321.123")
            #expect(latest["p1mqtt/energy_import_tariff_2"] == "3210.987")
            #expect(latest["p1mqtt/power_import"] == "1.234")
            #expect(latest["p1mqtt/voltage_l1"] == "231.0")
            #expect(latest["p1mqtt/tariff_indicator"] == "low")
            #expect(latest["p1mqtt/equipment_id"] == TestTelegrams.dsmr5EquipmentID)
            #expect(latest["p1mqtt/gas_1/reading"] == "1234.567")
            #expect(latest["p1mqtt/gas_1/equipment_id"] == TestTelegrams.gasEquipmentID)
            #expect(latest["p1mqtt/timestamp"] == "2024-03-15T13:30:00Z")
            for message in sink.messages {
                #expect(message.retain, "\(message.topic)")
                #expect(message.qos == 0, "\(message.topic)")
                #expect(message.topic.hasPrefix("p1mqtt/"), "\(message.topic)")
                #expect(TopicMap.problem(with: message.topic) == nil)
            }
            #expect(Set(sink.messages.map(\.topic)).count == sink.messages.count, "each topic once per telegram")

            let telegramMessages = sink.messages.filter { $0.topic == "p1mqtt/telegram" }
            #expect(telegramMessages.count == 1)
            let json = try #require(telegramMessages.first?.payload)
            let document = try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
            #expect(document["variant"] as? String == "dsmr5")
            #expect(document["equipment_id"] as? String == TestTelegrams.dsmr5EquipmentID)
            let objects = try #require(document["objects"] as? [String: Any])
            let import1 = try #require(objects["1-0:1.8.1"] as? [String: Any])
            #expect((import1["value"] as? NSNumber)?.doubleValue == 4321.123)
            #expect(import1["unit"] as? String == "kWh")
            let mbus = try #require(document["mbus"] as? [[String: Any]])
            #expect(mbus.first?["channel"] as? Int == 1)

            let statistics = publisher.statistics
            #expect(statistics.telegrams == 1)
            #expect(statistics.messages == sink.messages.count)
            #expect(statistics.unsent == 0)
            #expect(statistics.anomalies == 0)
        }

        @Test("renamed values use the new topic, never the old one; absolute renames leave the base")
        func renames() throws {
            let topics = TopicMap(renames: ["energy_import_tariff_1": "meter/low", "gas_1/reading": "/gas/total",
                                            "1-0:1.7.0": "power"])
            let publisher = Publisher(options: PublishOptions(topics: topics))
            let sink = RecordingSink()
            publisher.publish(try Self.telegram(0), to: sink, now: 0)
            publisher.publish(try Self.telegram(1), to: sink, now: 1)
            let latest = sink.latest
            #expect(latest["p1mqtt/meter/low"] == "4321.124")
            #expect(latest["gas/total"] == "1234.568")
            #expect(latest["p1mqtt/power"] == "1.241")
            for old in ["p1mqtt/energy_import_tariff_1", "p1mqtt/gas_1/reading", "p1mqtt/power_import"] {
                // At most an empty retained message that clears what an earlier version left there.
                let values = sink.messages.filter { $0.topic == old }
                #expect(values.allSatisfy { $0.payload.isEmpty }, "\(old) got \(values.map(\.text))")
            }
            #expect(!sink.messages.contains { $0.topic == "p1mqtt/gas/total" })
        }

        @Test("switched-off keys, codes, groups and devices are not published")
        func disabled() throws {
            let topics = TopicMap(disabled: ["phases", "gas_1", "1-0:2.7.0", "tariff_indicator"])
            let publisher = Publisher(options: PublishOptions(topics: topics))
            let sink = RecordingSink()
            publisher.publish(try Self.telegram(), to: sink, now: 0)
            let published = Set(sink.messages.map(\.topic))
            #expect(published.contains("p1mqtt/power_import"))
            #expect(published.contains("p1mqtt/energy_import_tariff_1"))
            #expect(!published.contains("p1mqtt/power_export"))
            #expect(!published.contains("p1mqtt/tariff_indicator"))
            #expect(!published.contains { $0.hasPrefix("p1mqtt/gas_1/") }, "\(published.sorted())")
            #expect(!published.contains { $0.hasSuffix("_l1") || $0.hasSuffix("_l2") || $0.hasSuffix("_l3") },
                    "\(published.sorted())")
        }

        @Test("an implausible register value is withheld, counted, and the last good value stays retained")
        func registerAnomaly() throws {
            let publisher = Publisher(options: PublishOptions())
            let sink = RecordingSink()
            publisher.publish(try Self.telegram(0), to: sink, now: 0)
            sink.clear()
            let glitch = try Self.telegram(1, replacing: ["1-0:1.8.1": "000000.000*kWh"])
            publisher.publish(glitch, to: sink, now: 1)
            let topics = Set(sink.messages.map(\.topic))
            #expect(!topics.contains("p1mqtt/energy_import_tariff_1"))
            #expect(sink.latest["p1mqtt/energy_import_tariff_2"] == "3210.990")
            #expect(sink.latest["p1mqtt/power_import"] == "1.241")
            // Every register reading of the damaged telegram that was not published was counted.
            let withheld = ReadingMapper.readings(of: glitch).filter {
                $0.kind == .register && !topics.contains(TopicMap().topic(for: $0.value) ?? "")
            }
            #expect(withheld.contains { $0.value.path == "energy_import_tariff_1" })
            #expect(publisher.statistics.anomalies == withheld.count)
            #expect(publisher.statistics.anomalies >= 1)

            // Reconnect: the last good value is put back, not the 0.
            let reconnect = RecordingSink()
            publisher.connected(reconnect)
            #expect(reconnect.latest["p1mqtt/energy_import_tariff_1"] == "4321.123")

            // The next good telegram is published again.
            sink.clear()
            publisher.publish(try Self.telegram(2), to: sink, now: 2)
            #expect(sink.latest["p1mqtt/energy_import_tariff_1"] == "4321.125")
            #expect(publisher.statistics.anomalies == withheld.count)
        }

        @Test("connected(_:) sends online on <base>/status, then every retained topic's latest payload")
        func connectedRepublishes() throws {
            let publisher = Publisher(options: PublishOptions(topics: TopicMap(base: "home/meter")))
            let live = RecordingSink()
            for number in 0..<3 { publisher.publish(try Self.telegram(number), to: live, now: Double(number)) }
            let reconnect = RecordingSink()
            publisher.connected(reconnect)
            let messages = reconnect.messages
            let first = try #require(messages.first)
            #expect(first == RecordingSink.Message(topic: "home/meter/status", payload: Array("online".utf8), qos: 1, retain: true))
            let rest = messages.dropFirst()
            #expect(Set(rest.map(\.topic)).count == rest.count, "each topic once")
            var expected = live.latest
            expected["home/meter/status"] = nil
            let republished = Dictionary(rest.map { ($0.topic, $0.text) }, uniquingKeysWith: { a, _ in a })
            #expect(republished == expected)
            #expect(republished["home/meter/energy_import_tariff_1"] == "4321.125")
            #expect(republished["home/meter/telegram"] != nil)
            #expect(rest.allSatisfy { $0.retain })

            let offline = RecordingSink()
            publisher.goingOffline(offline)
            #expect(offline.messages == [RecordingSink.Message(topic: "home/meter/status", payload: Array("offline".utf8),
                                                               qos: 1, retain: true)])
        }

        @Test("without retain nothing is kept for a reconnect; the raw topic is a non-retained stream")
        func notRetainedAndRaw() throws {
            let publisher = Publisher(options: PublishOptions(retain: false, rawTopic: "raw"))
            let sink = RecordingSink()
            let telegram = try Self.telegram()
            publisher.publish(telegram, to: sink, now: 0)
            #expect(sink.messages.allSatisfy { !$0.retain })
            let raw = sink.messages.filter { $0.topic == "p1mqtt/raw" }
            #expect(raw.map(\.payload) == [telegram.bytes])
            let reconnect = RecordingSink()
            publisher.connected(reconnect)
            #expect(reconnect.messages.map(\.topic) == ["p1mqtt/status"])
        }

        @Test("messages a disconnected sink refuses are counted as unsent")
        func unsent() throws {
            let publisher = Publisher(options: PublishOptions())
            let sink = RecordingSink(accepting: false)
            publisher.publish(try Self.telegram(), to: sink, now: 0)
            #expect(publisher.statistics.messages == 0)
            #expect(publisher.statistics.unsent > 30)
            let counting = RecordingSink()
            publisher.publish(try Self.telegram(1), to: counting, now: 1)
            #expect(publisher.statistics.messages == counting.messages.count)
            #expect(publisher.statistics.telegrams == 2)
        }

        @Test("a throttled publisher holds values back and flush() publishes the mean and latest values")
        func throttledAndFlush() throws {
            let publisher = Publisher(options: PublishOptions(throttle: ReadingThrottle(interval: 10)))
            let sink = RecordingSink()
            publisher.publish(try Self.telegram(0), to: sink, now: 0)
            let firstTopics = Set(sink.messages.map(\.topic)).subtracting(["p1mqtt/telegram"])
            #expect(firstTopics.contains("p1mqtt/power_import"))
            sink.clear()
            for number in 1...5 { publisher.publish(try Self.telegram(number), to: sink, now: Double(number)) }
            // The JSON telegram is not throttled; the values are.
            #expect(sink.messages.filter { $0.topic == "p1mqtt/telegram" }.count == 5)
            #expect(Set(sink.messages.map(\.topic)).isDisjoint(with: firstTopics),
                    "\(Set(sink.messages.map(\.topic)).intersection(firstTopics).sorted())")
            sink.clear()
            publisher.flush(to: sink)
            let flushed = sink.latest
            // Power 1.241 … 1.269 kW averages to 1.255; voltage 231.1 … 231.5 V to 231.3.
            #expect(flushed["p1mqtt/power_import"] == "1.255")
            #expect(flushed["p1mqtt/voltage_l1"] == "231.3")
            // Registers and states: the latest.
            #expect(flushed["p1mqtt/energy_import_tariff_1"] == "4321.128")
            #expect(flushed["p1mqtt/energy_import_tariff_2"] == "3211.002")
            #expect(flushed["p1mqtt/gas_1/reading"] == "1234.572")
            #expect(flushed["p1mqtt/tariff_indicator"] == "normal")
            #expect(flushed["p1mqtt/telegram"] == nil)
            // What was flushed is what a reconnect puts back.
            let reconnect = RecordingSink()
            publisher.connected(reconnect)
            #expect(reconnect.latest["p1mqtt/power_import"] == "1.255")
            sink.clear()
            publisher.flush(to: sink)
            #expect(sink.messages.isEmpty, "nothing left after a flush")
        }
    }
}
