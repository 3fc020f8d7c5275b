import Logging
import P1MQTT
import Synchronization

/// Keeps the local history: a ``TelegramObserver`` that counts every accepted telegram into hours, days and
/// months (``HistoryAccumulator``) and saves them in the data directory (``HistoryStore``).
///
/// Saves happen on the bridge's reading task: when a period closes (once an hour; the closed periods and
/// the new baseline in one transaction) and otherwise at most once per ``saveInterval`` for the periods in
/// progress, so a restart mid-hour keeps most of it; plus at shutdown. Each save is a few rows in WAL mode
/// without a sync, well under a millisecond on an SD card.
///
/// The history never stops the bridge: if the file cannot be opened or written (corrupt, unwritable, disk
/// full), one error line is logged and p1mqtt goes on publishing to MQTT without history until it is
/// restarted; ``failure`` says why (for the web page).
public final class HistoryRecorder: TelegramObserver, HistoryReading {
    private struct State {
        var accumulator = HistoryAccumulator()
        var store: HistoryStore?
        var failure: HistoryError?
        var lastSave: Double?
        var unsaved = false
        var warnedOutOfOrder = false
        /// A telegram ahead of the clock was reported already in this episode (until one is counted again).
        var warnedAhead = false
        var warnedNoTime = false
    }

    private let state: Mutex<State>
    private let logger: Logger
    /// Seconds (this machine's clock) between saves of the periods in progress.
    public let saveInterval: Double
    /// The database file.
    public let path: String

    /// Opens (or creates) the history in `directory`. Never throws: when the store cannot be opened the
    /// error is logged once and the recorder stays off (``failure``).
    /// - Parameters:
    ///   - directory: the data directory; the file is ``HistoryStore/fileName`` in it.
    ///   - retention: how long rows are kept.
    ///   - saveInterval: seconds between saves of the periods in progress (60).
    public convenience init(directory: String, retention: HistoryRetention = HistoryRetention(), saveInterval: Double = 60,
                            logger: Logger = Logger(label: "p1mqtt.history")) {
        let store: Result<HistoryStore, HistoryError>
        do throws(HistoryError) {
            store = .success(try HistoryStore.open(directory: directory, retention: retention))
        } catch {
            store = .failure(error)
        }
        let path = (directory.hasSuffix("/") ? directory : directory + "/") + HistoryStore.fileName
        self.init(store: store, path: path, saveInterval: saveInterval, logger: logger)
    }

    /// Records into an opened store, or stays off with the error that kept it from opening.
    public init(store: Result<HistoryStore, HistoryError>, path: String? = nil, saveInterval: Double = 60,
                logger: Logger = Logger(label: "p1mqtt.history")) {
        self.logger = logger
        self.saveInterval = saveInterval
        var initial = State()
        switch store {
        case .success(let opened):
            self.path = opened.path
            do throws(HistoryError) {
                initial.accumulator = HistoryAccumulator(state: try opened.loadState())
                initial.store = opened
            } catch {
                initial.failure = error
            }
        case .failure(let error):
            self.path = path ?? HistoryStore.fileName
            initial.failure = error
        }
        if let failure = initial.failure {
            logger.error("history: \(failure.description); p1mqtt goes on without history")
        } else {
            logger.info("history: recording into \(self.path)")
        }
        state = Mutex(initial)
    }

    /// Why the history is off (nil while it is recording).
    public var failure: HistoryError? { state.withLock { $0.failure } }

    /// Whether telegrams are being recorded.
    public var isRecording: Bool { state.withLock { $0.store != nil } }

    /// The periods in progress, as counted so far (including what was not saved yet).
    public var inProgress: [PeriodRecord] { state.withLock { $0.accumulator.state.open } }

    /// Nothing to do: the history needs only the telegrams.
    public func bridgeStarted(status: @escaping @Sendable () -> BridgeStatus) {}

    /// Counts the telegram; saves when a period closed or the save interval passed.
    public func accepted(_ update: TelegramUpdate) {
        guard let sample = HistorySample(update) else {
            let first = state.withLock { state in
                defer { state.warnedNoTime = true }
                return !state.warnedNoTime && state.store != nil
            }
            if first { logger.notice("history: the meter sends no time of its own (DSMR 2.2?); its telegrams are not kept in the history") }
            return
        }
        record(sample, receivedAt: update.receivedAt)
    }

    /// Counts one sample (``accepted(_:)`` without the telegram, for tests and replays).
    /// - Parameter receivedAt: this machine's clock in seconds, which paces the saves of periods in progress.
    public func record(_ sample: HistorySample, receivedAt: Double) {
        var messages: [(Logger.Level, String)] = []
        state.withLock { state in
            guard let store = state.store else { return }
            switch state.accumulator.add(sample, receivedAt: receivedAt) {
            case .outOfOrder(let lastTime):
                if !state.warnedOutOfOrder {
                    state.warnedOutOfOrder = true
                    messages.append((.warning, "history: telegram time \(MeterTimestamp(secondsSince1970: sample.time)) is before the last one counted (\(MeterTimestamp(secondsSince1970: lastTime))); such telegrams are left out of the history (meter clock set back, or an older capture replayed)"))
                }
            case .aheadOfClock(let machineTime):
                if !state.warnedAhead {
                    state.warnedAhead = true
                    messages.append((.warning, "history: telegram time \(MeterTimestamp(secondsSince1970: sample.time)) is more than an hour ahead of this machine's clock (\(MeterTimestamp(secondsSince1970: machineTime))) and of the last telegram counted; left out of the history unless the meter keeps to it for \(HistoryAccumulator.confirmations) telegrams (a meter clock glitch, or this machine's clock is wrong)"))
                }
            case .counted(let closed, let notes):
                state.warnedAhead = false
                for note in notes { messages.append((.notice, "history: \(note)")) }
                state.unsaved = true
                let due = state.lastSave.map { receivedAt - $0 >= saveInterval || receivedAt < $0 } ?? true
                if !closed.isEmpty || due {
                    if let message = Self.save(&state, store: store, closed: closed, now: receivedAt) {
                        messages.append((.error, message))
                    }
                }
            }
        }
        for (level, message) in messages { logger.log(level: level, "\(message)") }
    }

    /// Saves the periods in progress now.
    public func flush() {
        let message: String? = state.withLock { state in
            guard let store = state.store, state.unsaved else { return nil }
            return Self.save(&state, store: store, closed: [], now: state.lastSave ?? 0)
        }
        if let message { logger.error("\(message)") }
    }

    /// Saves the periods in progress, so a restart continues where this run stopped.
    public func bridgeStopping() async {
        flush()
    }

    /// Writes; on failure switches the history off and returns the one line to log.
    private static func save(_ state: inout State, store: HistoryStore, closed: [PeriodRecord], now: Double) -> String? {
        do throws(HistoryError) {
            try store.save(closed: closed, state: state.accumulator.state)
            state.lastSave = now
            state.unsaved = false
            return nil
        } catch {
            state.store = nil
            state.failure = error
            return "history: \(error.description); p1mqtt goes on without history until it is restarted"
        }
    }

    /// The stored records (see ``HistoryReading``), with the periods in progress as counted up to the last
    /// telegram (not as last saved); throws ``failure`` while the history is off.
    public func records(_ kind: PeriodKind, from: Int64?, to: Int64?) throws(HistoryError) -> [PeriodRecord] {
        let (store, failure, open) = state.withLock { ($0.store, $0.failure, $0.accumulator.state.open) }
        guard let store else { throw failure ?? HistoryError("history is off") }
        var records = try store.records(kind, from: from, to: to).filter(\.complete)
        records += open.filter { $0.kind == kind && $0.start >= from ?? Int64.min && $0.start < to ?? Int64.max }
        return records
    }
}
