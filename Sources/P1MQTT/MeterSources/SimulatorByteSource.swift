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

    /// Creates a simulator source.
    public init(profile: MeterSimulator.Profile = .dsmr5, interval: Double = 1, seed: UInt64 = 1, count: Int? = nil) {
        self.profile = profile
        self.interval = interval
        self.seed = seed
        self.count = count
    }

    /// `simulator dsmr5`.
    public var name: String { "simulator \(profile.rawValue)" }

    /// A telegram now, then one every interval.
    public func chunks() -> AsyncThrowingStream<[UInt8], any Error> {
        let (profile, interval, seed, count) = (profile, interval, seed, count)
        return AsyncThrowingStream { continuation in
            let task = Task {
                var simulator = MeterSimulator(profile: profile, seed: seed)
                var produced = 0
                let clock = ContinuousClock()
                var next = clock.now
                while !Task.isCancelled, count.map({ produced < $0 }) ?? true {
                    let now = Int64(wallClockSeconds())
                    continuation.yield(simulator.telegram(at: now))
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
