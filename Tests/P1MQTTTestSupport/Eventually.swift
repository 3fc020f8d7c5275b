/// Polls `condition` every `interval` until it holds or `timeout` has passed; returns whether it held.
///
/// Time the test was not allowed to run does not count against `timeout`. Swift Testing runs tests in
/// parallel on a cooperative pool as wide as the machine has cores (two on CI), and tests that wait for a child
/// process or a thread hold a pool thread while they do: a poll asked to sleep 10 ms may resume seconds later.
/// When a sleep overruns by more than a few polls' worth, the overrun is added to the deadline, so a slow,
/// busy machine delays a check instead of failing it. A condition that never holds still fails after
/// `timeout` of time the test actually had.
@discardableResult
public func eventually(timeout: Duration = .seconds(10), interval: Duration = .milliseconds(10),
                       _ condition: () async throws -> Bool) async rethrows -> Bool {
    let clock = ContinuousClock()
    var deadline = clock.now + timeout
    let tolerated = interval * 5 + .milliseconds(50)
    while true {
        if try await condition() { return true }
        guard clock.now < deadline else { return false }
        let asleep = clock.now
        try? await Task.sleep(for: interval)
        let overrun = clock.now - asleep - interval
        if overrun > tolerated { deadline += overrun }
    }
}
