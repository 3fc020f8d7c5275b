// libFuzzer entry point over the whole input path: RFXtrx unwrapping, framing, CRC, decryption, parsing,
// JSON output and mapping to readings. Built by scripts/fuzz.sh (not part of the package build).
import Mapping

private let cipher: GCMCipher? = try? GCMCipher(key: Array(0..<16))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // The first byte chooses the chunking and the path, so one corpus exercises all of them.
    let selector = bytes.first ?? 0
    let input = Array(bytes.dropFirst())
    var decoder = TelegramDecoder(options: .init(cipher: selector & 1 == 0 ? cipher : nil, stripParity: selector & 2 != 0))
    var source = input
    if selector & 4 != 0 {
        var unwrapper = RFXtrxUnwrapper()
        source = unwrapper.unwrap(input)
    }
    let chunk = max(1, Int(selector >> 3) * 7)
    var json = JSONWriter()
    var index = 0
    while index < source.count {
        let end = min(source.count, index + chunk)
        decoder.feed(Array(source[index..<end])) { event in
            guard case .telegram(let telegram) = event else { return }
            json.reset()
            TelegramJSON.write(telegram, to: &json)
            let readings = ReadingMapper.readings(of: telegram)
            let map = TopicMap()
            for reading in readings { _ = map.topic(for: reading.value).map { $0.utf8.count } }
            precondition(telegram.bytes.first == 0x2F, "an accepted telegram starts with '/'")
        }
        index = end
    }
    decoder.finish { _ in }
    return 0
}
