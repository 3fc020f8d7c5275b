/// The built-in simulated meter as a byte source: one telegram per interval, stamped with the current time.
public struct SimulatorByteSource: ByteSource {
    /// The simulator's profile.
    public let profile: MeterSimulator.Profile
    /// Seconds between telegrams (DSMR 5 meters send one per second).
    public let interval: Double
    /// The random seed.
    public let seed: UInt64
    /// How many telegrams to produce; nil for no end.
    public let count: Int?
    /// When set, every telegram is sent encrypted in a DLMS frame, as Luxembourg and Austrian meters do.
    public let cipher: GCMCipher?

    /// Creates a simulator source.
    public init(profile: MeterSimulator.Profile = .dsmr5, interval: Double = 1, seed: UInt64 = 1, count: Int? = nil,
                cipher: GCMCipher? = nil) {
        self.profile = profile
        self.interval = interval
        self.seed = seed
        self.count = count
        self.cipher = cipher
    }

    /// `simulator dsmr5`.
    public var name: String { "simulator \(profile.rawValue)\(cipher == nil ? "" : " (encrypted)")" }

    /// A telegram now, then one every interval.
    public func chunks() -> AsyncThrowingStream<[UInt8], any Error> {
        let (profile, interval, seed, count, cipher) = (profile, interval, seed, count, cipher)
        return AsyncThrowingStream<[UInt8], any Error> { (continuation: AsyncThrowingStream<[UInt8], any Error>.Continuation) in
            let task = Task {
                var simulator = MeterSimulator(profile: profile, seed: seed)
                var produced = 0
                let clock = ContinuousClock()
                var next = clock.now
                while !Task.isCancelled, count.map({ produced < $0 }) ?? true {
                    let now = Int64(wallClockSeconds())
                    if let cipher {
                        do {
                            continuation.yield(try simulator.encryptedTelegram(at: now, cipher: cipher))
                        } catch {
                            continuation.finish(throwing: SourceError("simulator: cannot encrypt: \(error)"))
                            return
                        }
                    } else {
                        continuation.yield(simulator.telegram(at: now))
                    }
                    produced += 1
                    next += .milliseconds(Int64(interval * 1000))
                    do { try await clock.sleep(until: next) } catch { break }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
