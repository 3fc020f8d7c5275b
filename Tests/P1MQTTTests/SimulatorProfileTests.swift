import Testing
import Mapping
@testable import P1MQTT

@Suite("Simulator profiles")
struct SimulatorProfileTests {
    static let expectations: [(MeterSimulator.Profile, MeterVariant, CRCStatus, Int)] = [
        (.dsmr5, .dsmr5, .valid, 1), (.belgium, .belgium, .valid, 2), (.luxembourg, .luxembourg, .valid, 1),
        (.dsmr22, .dsmr3, .absent, 1),
    ]

    @Test(arguments: 0..<expectations.count)
    func everyProfileDecodesWithRisingRegisters(_ index: Int) throws {
        let (profile, variant, crc, mbusDevices) = Self.expectations[index]
        var simulator = MeterSimulator(profile: profile, seed: 3)
        var decoder = TelegramDecoder()
        var previous: [ObisCode: Double] = [:]
        let registers = [ObisCode(1, 0, 1, 8, 1), ObisCode(1, 0, 1, 8, 2), ObisCode(1, 0, 1, 8, 0), ObisCode(1, 0, 2, 8, 0)]
        var rises = 0
        // Two days in 5-minute steps: day, night, tariff switches.
        for step in 0..<576 {
            let events = decoder.decodeAll(simulator.telegram(at: 1_763_683_200 + Int64(step) * 300))
            guard case .telegram(let telegram)? = events.first, events.count == 1 else {
                Issue.record("\(profile) step \(step): \(events)")
                return
            }
            #expect(telegram.variant == variant)
            #expect(telegram.crc == crc)
            #expect(telegram.equipmentID == MeterSimulator.equipmentID)
            #expect(telegram.mbusDevices.filter { !$0.isPlaceholder }.count == mbusDevices)
            for code in registers {
                guard let value = telegram.number(code)?.doubleValue else { continue }
                if let before = previous[code] {
                    #expect(value >= before, "\(profile) \(code) went back")
                    if value > before { rises += 1 }
                }
                previous[code] = value
            }
        }
        #expect(rises > 100)
    }

    @Test func luxembourgFramesAreEncryptedAndDecryptWithTheKey() throws {
        let key: [UInt8] = Array(0..<16)
        let cipher = try GCMCipher(key: key)
        var simulator = MeterSimulator(profile: .luxembourg, seed: 5)
        let frame = try simulator.encryptedTelegram(at: 1_763_700_000, cipher: cipher)
        #expect(frame.first == 0xDB)
        var decoder = TelegramDecoder(options: .init(cipher: cipher))
        let events = decoder.decodeAll(frame + (try simulator.encryptedTelegram(at: 1_763_700_010, cipher: cipher)))
        let telegrams = events.compactMap { event -> Telegram? in
            if case .telegram(let telegram) = event { return telegram }
            return nil
        }
        #expect(telegrams.count == 2)
        #expect(telegrams.allSatisfy { $0.encrypted && $0.variant == .luxembourg })
        var withoutKey = TelegramDecoder()
        #expect(withoutKey.decodeAll(frame).count == 1)
        #expect(withoutKey.statistics.rejected[.noKey] == 1)
    }

    @Test func belgianCapacityTariffValuesAreThere() throws {
        var simulator = MeterSimulator(profile: .belgium, seed: 9)
        var decoder = TelegramDecoder()
        _ = decoder.decodeAll(simulator.telegram(at: 1_763_700_000))
        guard case .telegram(let telegram)? = decoder.decodeAll(simulator.telegram(at: 1_763_700_300)).first else {
            Issue.record("no telegram")
            return
        }
        #expect(telegram.number(ObisCode(1, 0, 1, 4, 0)) != nil)
        guard case .entries(let history)? = telegram.value(ObisCode(0, 0, 98, 1, 0)) else {
            Issue.record("no peak history")
            return
        }
        #expect(history.count == 13)
        #expect(history.last?.timestamp == nil)  // the placeholder month
        let kinds = telegram.mbusDevices.compactMap(\.kind)
        #expect(kinds == [.gas, .water])
        #expect(telegram.mbusDevices.first?.readingCode == ObisCode(0, 1, 24, 2, 3))
    }
}
