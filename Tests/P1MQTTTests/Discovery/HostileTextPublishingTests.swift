import Foundation
import Mapping
@testable import P1MQTT
import Testing

/// Text the meter controls (equipment ids, text messages) through the whole publisher, discovery included:
/// whatever it contains, every topic keeps its structure and every payload stays valid UTF-8 and valid JSON.
@Suite("Hostile meter text through the publisher")
struct HostileTextPublishingTests {
    typealias T = TestTelegrams

    /// Meter-controlled fields full of MQTT and JSON syntax, control characters and bytes that are not UTF-8.
    static func hostileTelegram() -> [UInt8] {
        let nasty = "../+/#/$SYS \"q\" 'a' \\b {}[],:"
        let rawMessage: [UInt8] = Array("caf".utf8) + [0xE9, 0x20, 0xFF, 0xFE, 0x01, 0x1B] + Array("\"}]\\".utf8) + [0xC3]
        let lines: [[UInt8]] = [
            Array("1-3:0.2.8(50)".utf8),
            Array("0-0:1.0.0(240315143000W)".utf8),
            Array("0-0:96.1.1(\(T.hexASCII(nasty)))".utf8),
            Array("1-0:1.8.1(000100.000*kWh)".utf8),
            Array("1-0:1.7.0(00.500*kW)".utf8),
            // A plain-text message (no `/`: in plain text that would start the next telegram).
            Array("0-0:96.13.0(".utf8) + rawMessage + Array(")".utf8),
            Array("0-1:24.1.0(003)".utf8),
            Array("0-1:96.1.0(\(T.hexASCII("+#$\u{7F}id")))".utf8),
            Array("0-1:24.2.1(240315142500W)(00012.345*m3)".utf8),
            Array("0-2:24.1.0(007)".utf8),
            Array("0-2:96.1.0(\(T.hexASCII("\u{1}\n\r#")))".utf8),
            Array("0-2:24.2.1(240315142500W)(00001.000*m3)".utf8),
        ]
        return T.build(header: Array(T.dsmr5Header.utf8), lines: lines)
    }

    @Test("every topic keeps its levels and every payload is valid UTF-8 and, where JSON, valid JSON",
          arguments: DiscoveryOptions.Mode.allCases)
    func everyMessageIsSafe(mode: DiscoveryOptions.Mode) throws {
        let telegram = try VariantTelegramFixtures.decode(Self.hostileTelegram())
        var discovery = DiscoveryOptions()
        discovery.mode = mode
        let publisher = Publisher(options: PublishOptions(discovery: discovery))
        let sink = DiscoverySink()
        publisher.publish(telegram, to: sink, now: 1)
        let sent = sink.sent
        #expect(sent.count > 15)
        #expect(!sink.discoverySent().isEmpty)

        for message in sent {
            let topic = message.topic
            #expect(TopicMap.problem(with: topic) == nil, "\(topic.debugDescription)")
            #expect(!topic.contains("+") && !topic.contains("#") && !topic.contains("$") && !topic.contains(" "),
                    "\(topic.debugDescription)")
            let levels = topic.split(separator: "/", omittingEmptySubsequences: false)
            if topic.hasPrefix("homeassistant/") {
                // <prefix>/<component>/<node or object id>[/<object id>]/config
                #expect((4...5).contains(levels.count) && levels.last == "config", "\(topic)")
            } else {
                // p1mqtt/<key> or p1mqtt/<device>/<key>
                #expect(levels.first == "p1mqtt" && (2...3).contains(levels.count), "\(topic)")
            }
            #expect(levels.allSatisfy { level in level.utf8.allSatisfy { $0 >= 0x21 && $0 < 0x7F } },
                    "a topic level with a control, space or non-ASCII character: \(topic.debugDescription)")

            let text = String(validating: message.payload, as: UTF8.self)
            #expect(text != nil, "payload on \(topic) is not UTF-8")
            if let first = message.payload.first, first == UInt8(ascii: "{") || first == UInt8(ascii: "[") {
                #expect((try? JSONSerialization.jsonObject(with: Data(message.payload))) != nil,
                        "invalid JSON on \(topic): \(message.text)")
            }
        }

        // The meter's text arrives intact as payloads (bytes that are not UTF-8 are read as Latin-1).
        let byTopic = Dictionary(sent.map { ($0.topic, $0.text) }, uniquingKeysWith: { _, last in last })
        #expect(byTopic["p1mqtt/equipment_id"] == "../+/#/$SYS \"q\" 'a' \\b {}[],:")
        #expect(byTopic["p1mqtt/text_message"]?.hasPrefix("café \u{FF}\u{FE}") == true, "\(byTopic["p1mqtt/text_message"] ?? "none")")
        let json = try #require(byTopic["p1mqtt/telegram"])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(document["equipment_id"] as? String == "../+/#/$SYS \"q\" 'a' \\b {}[],:")
    }
}
