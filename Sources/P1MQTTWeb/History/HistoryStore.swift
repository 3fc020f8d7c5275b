#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import P1MQTT
import Synchronization

/// The history on disk: one SQLite file, `p1mqtt-history.sqlite` in the data directory.
///
/// Tables: `periods` (one row per hour, day and month, keyed by kind and start; the periods in progress have
/// `complete = 0`) and `baseline` (one row: the registers up to which energy has been counted, and the meter
/// time of the last telegram). The schema version is SQLite's `user_version` (1).
///
/// Crash-safe: write-ahead log (`-wal` and `-shm` files next to it) with `synchronous=NORMAL`, and every save
/// (the closed periods, the periods in progress and the baseline together) is one transaction, so after a
/// crash or power cut the file holds the last complete save and the baseline that matches it.
///
/// One connection, used under a lock: the recorder writes (a few rows a minute) and the web server reads
/// (a few dozen rows per request) without SQLite ever seeing two threads at once.
public final class HistoryStore: HistoryReading {
    /// The file's name in the data directory.
    public static let fileName = "p1mqtt-history.sqlite"
    /// The schema version this code writes and reads.
    static let schemaVersion: Int64 = 1

    /// The database file's path.
    public let path: String
    /// How long rows are kept.
    public let retention: HistoryRetention
    private let database: Mutex<SQLiteDatabase>

    /// Opens the history in `directory` (created if missing, one level), creating the file on first use.
    /// - Parameter readOnly: open an existing history without changing it (the export command).
    /// - Throws: ``HistoryError`` with one line naming the file and the fix: unwritable directory, a file
    ///   that is not a database or is corrupt, a history written by a newer p1mqtt.
    public static func open(directory: String, retention: HistoryRetention = HistoryRetention(),
                            readOnly: Bool = false) throws(HistoryError) -> HistoryStore {
        let trimmed = directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        if !readOnly { try makeDirectory(trimmed) }
        return try HistoryStore(path: (trimmed.isEmpty ? "." : trimmed) + "/" + fileName, retention: retention,
                                readOnly: readOnly)
    }

    /// Opens the history file at `path`; see ``open(directory:retention:readOnly:)``.
    public init(path: String, retention: HistoryRetention = HistoryRetention(), readOnly: Bool = false) throws(HistoryError) {
        self.path = path
        self.retention = retention
        let connection = try SQLiteDatabase(path: path, mode: readOnly ? .readOnly : .readWriteCreate)
        try Self.prepare(connection, readOnly: readOnly)
        database = Mutex(connection)
    }

    private static func makeDirectory(_ directory: String) throws(HistoryError) {
        var info = stat()
        if stat(directory, &info) == 0 {
            if info.st_mode & S_IFMT != S_IFDIR {
                throw HistoryError("cannot use \(directory) for the history: it is not a directory; check --data-dir")
            }
            return
        }
        if mkdir(directory, 0o755) != 0 {
            let reason = switch errno {
            case EACCES, EPERM: "permission denied"
            case ENOENT: "its parent directory does not exist"
            case ENOTDIR: "a part of the path is not a directory"
            case EROFS: "read-only file system"
            default: String(cString: strerror(errno))
            }
            throw HistoryError("cannot create \(directory) for the history: \(reason); check --data-dir")
        }
    }

    /// WAL, integrity check, schema.
    private static func prepare(_ connection: SQLiteDatabase, readOnly: Bool) throws(HistoryError) {
        if !readOnly {
            // The first statement that reads the file: a file that is not SQLite fails here.
            let mode = try connection.text("PRAGMA journal_mode=WAL")
            guard mode?.lowercased() == "wal" else {
                throw HistoryError("cannot switch \(connection.path) to write-ahead logging (journal mode \(mode ?? "unknown")); check --data-dir")
            }
            // NORMAL in WAL mode: a commit survives a crash of p1mqtt; a power cut may lose the last commits
            // but never corrupts the file. FULL would sync the SD card on every minute's save.
            try connection.execute("PRAGMA synchronous=NORMAL; PRAGMA journal_size_limit=1048576")
        }
        let check = try connection.text("PRAGMA quick_check")
        guard check == "ok" else {
            throw HistoryError("\(connection.path) is not a database (corrupt?): move it away and p1mqtt starts a new history (integrity check: \(check ?? "no answer"))")
        }
        let version = try connection.integer("PRAGMA user_version") ?? 0
        if version > schemaVersion {
            throw HistoryError("\(connection.path) was written by a newer p1mqtt (history schema \(version)); update p1mqtt or move the file away")
        }
        if version == 0 {
            if readOnly { throw HistoryError("\(connection.path) holds no p1mqtt history") }
            try connection.transaction { () throws(HistoryError) in
                let registers = HistoryRegisters.columnNames
                let energy = registers[0..<8].map { "\($0) INTEGER NOT NULL" }.joined(separator: ", ")
                try connection.execute("""
                    CREATE TABLE periods (
                        kind TEXT NOT NULL CHECK (kind IN ('hours', 'days', 'months')),
                        start_utc INTEGER NOT NULL, end_utc INTEGER NOT NULL,
                        utc_offset INTEGER NOT NULL, end_utc_offset INTEGER NOT NULL,
                        \(energy), gas INTEGER, water INTEGER, peak_power INTEGER,
                        telegrams INTEGER NOT NULL, complete INTEGER NOT NULL,
                        PRIMARY KEY (kind, start_utc)
                    ) WITHOUT ROWID;
                    CREATE TABLE baseline (
                        id INTEGER PRIMARY KEY CHECK (id = 1), last_time INTEGER, standard_offset INTEGER NOT NULL,
                        \(registers.map { "\($0) INTEGER" }.joined(separator: ", "))
                    );
                    PRAGMA user_version = \(schemaVersion);
                    """)
            }
        }
    }

    private static let periodColumns = ["kind", "start_utc", "end_utc", "utc_offset", "end_utc_offset"]
        + HistoryRegisters.columnNames[0..<8] + ["gas", "water", "peak_power", "telegrams", "complete"]

    /// The state to continue from: the baseline and the periods in progress of the last save (a fresh state
    /// for a new file).
    public func loadState() throws(HistoryError) -> HistoryAccumulator.State {
        try database.withLock { connection throws(HistoryError) in
            var state = HistoryAccumulator.State()
            let baseline = try connection.prepare(
                "SELECT last_time, standard_offset, \(HistoryRegisters.columnNames.joined(separator: ", ")) FROM baseline WHERE id = 1")
            if try baseline.step() {
                state.lastTime = baseline.optionalInt64(0)
                state.standardOffset = baseline.int64(1)
                for slot in 0..<HistoryRegisters.count { state.baseline[slot] = baseline.optionalInt64(Int32(slot + 2)) }
            }
            let open = try Self.select(connection, where: "complete = 0", bind: { _ throws(HistoryError) in })
            // One per kind; should older ones ever be left over, the newest is the one in progress.
            for kind in PeriodKind.allCases {
                if let latest = open.last(where: { $0.kind == kind }) { state.open.append(latest) }
            }
            return state
        }
    }

    /// Saves in one transaction: the periods that closed (complete), the periods in progress and the baseline
    /// of `state`; when periods closed, rows beyond the retention are deleted too.
    public func save(closed: [PeriodRecord], state: HistoryAccumulator.State) throws(HistoryError) {
        try database.withLock { connection throws(HistoryError) in
            try connection.transaction { () throws(HistoryError) in
                let insert = try connection.prepare("""
                    INSERT OR REPLACE INTO periods (\(Self.periodColumns.joined(separator: ", ")))
                    VALUES (\(Array(repeating: "?", count: Self.periodColumns.count).joined(separator: ", ")))
                    """)
                for record in closed + state.open {
                    try Self.bind(record, to: insert)
                    try insert.run()
                }
                let baseline = try connection.prepare("""
                    INSERT OR REPLACE INTO baseline (id, last_time, standard_offset, \(HistoryRegisters.columnNames.joined(separator: ", ")))
                    VALUES (1, ?, ?, \(Array(repeating: "?", count: HistoryRegisters.count).joined(separator: ", ")))
                    """)
                try baseline.bind(state.lastTime, at: 1)
                try baseline.bind(state.standardOffset, at: 2)
                for slot in 0..<HistoryRegisters.count { try baseline.bind(state.baseline[slot], at: Int32(slot + 3)) }
                try baseline.run()
                if !closed.isEmpty { try prune(connection, state: state) }
            }
        }
    }

    /// Deletes the rows older than the retention, counted back from the period in progress of each kind.
    private func prune(_ connection: SQLiteDatabase, state: HistoryAccumulator.State) throws(HistoryError) {
        let delete = try connection.prepare("DELETE FROM periods WHERE kind = ? AND start_utc < ?")
        for open in state.open {
            let kept = Int64(retention.count(open.kind))
            let cutoff: Int64
            switch open.kind {
            case .hours:
                cutoff = open.start - kept * 3600
            case .days:
                // Midnights are 24 hours apart but for the two switch days; half a day of slack keeps exactly
                // `kept` days whatever daylight saving did in between.
                cutoff = open.start - kept * 86_400 - 43_200
            case .months:
                let local = MeterTimestamp(secondsSince1970: open.start).localTime(standardOffset: state.standardOffset)
                let month = Int64(local.year) * 12 + Int64(local.month - 1) - kept
                cutoff = MeterTimestamp.moment(year: Int(month / 12), month: Int(month % 12) + 1, day: 1,
                                               standardOffset: state.standardOffset).secondsSince1970
            }
            try delete.bind(open.kind.rawValue, at: 1)
            try delete.bind(cutoff, at: 2)
            try delete.run()
        }
    }

    /// The records of one kind whose start lies in `from..<to`, oldest first, the period in progress included.
    public func records(_ kind: PeriodKind, from: Int64? = nil, to: Int64? = nil) throws(HistoryError) -> [PeriodRecord] {
        try database.withLock { connection throws(HistoryError) in
            try Self.select(connection, where: "kind = ? AND start_utc >= ? AND start_utc < ?") { statement throws(HistoryError) in
                try statement.bind(kind.rawValue, at: 1)
                try statement.bind(from ?? Int64.min, at: 2)
                try statement.bind(to ?? Int64.max, at: 3)
            }
        }
    }

    /// Runs `body` with the connection, under the lock (tests, diagnostics).
    func withDatabase<Result: Sendable>(_ body: (SQLiteDatabase) throws(HistoryError) -> Result) throws(HistoryError) -> Result {
        try database.withLock { connection throws(HistoryError) in try body(connection) }
    }

    private static func bind(_ record: PeriodRecord, to statement: SQLiteStatement) throws(HistoryError) {
        try statement.bind(record.kind.rawValue, at: 1)
        try statement.bind(record.start, at: 2)
        try statement.bind(record.end, at: 3)
        try statement.bind(record.utcOffset, at: 4)
        try statement.bind(record.endUTCOffset, at: 5)
        for tariff in 0..<4 {
            try statement.bind(record.importWh[tariff], at: Int32(6 + tariff))
            try statement.bind(record.exportWh[tariff], at: Int32(10 + tariff))
        }
        try statement.bind(record.gasLitres, at: 14)
        try statement.bind(record.waterLitres, at: 15)
        try statement.bind(record.peakPowerW, at: 16)
        try statement.bind(Int64(record.telegrams), at: 17)
        try statement.bind(Int64(record.complete ? 1 : 0), at: 18)
    }

    private static func select(_ connection: SQLiteDatabase, where condition: String,
                               bind: (SQLiteStatement) throws(HistoryError) -> Void) throws(HistoryError) -> [PeriodRecord] {
        let statement = try connection.prepare(
            "SELECT \(periodColumns.joined(separator: ", ")) FROM periods WHERE \(condition) ORDER BY kind, start_utc")
        try bind(statement)
        var records: [PeriodRecord] = []
        while try statement.step() {
            guard let kind = statement.text(0).flatMap(PeriodKind.init(rawValue:)) else { continue }
            records.append(PeriodRecord(
                kind: kind, start: statement.int64(1), end: statement.int64(2), utcOffset: statement.int64(3),
                importWh: (0..<4).map { statement.int64(Int32(5 + $0)) },
                exportWh: (0..<4).map { statement.int64(Int32(9 + $0)) },
                gasLitres: statement.optionalInt64(13), waterLitres: statement.optionalInt64(14),
                peakPowerW: statement.optionalInt64(15), telegrams: Int(statement.int64(16)),
                complete: statement.int64(17) != 0, endUTCOffset: statement.int64(4)))
        }
        return records
    }
}
