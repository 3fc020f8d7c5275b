#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CSQLite

/// One connection to an SQLite database file: a thin, safe layer over the C API that turns every failure into
/// a ``HistoryError`` naming the file and what to do about it.
///
/// Not thread-safe and deliberately not `Sendable`: SQLite connections must not be used from two threads at
/// once, so its owner keeps it inside a `Mutex` (see ``HistoryStore``).
final class SQLiteDatabase {
    /// How the file is opened.
    enum Mode: Sendable {
        /// Read and write, creating the file when missing (the recorder).
        case readWriteCreate
        /// Read only; the file must exist (the export command, which must not create a history by mistake).
        case readOnly
    }

    /// The file's path, for messages.
    let path: String
    private let handle: OpaquePointer

    /// Opens (or creates) the database at `path`.
    /// - Parameter busyTimeout: how long a statement waits for another process's lock (the export command
    ///   reading while p1mqtt writes) before failing, in milliseconds.
    init(path: String, mode: Mode = .readWriteCreate, busyTimeout: Int32 = 5000) throws(HistoryError) {
        self.path = path
        var connection: OpaquePointer?
        let flags = switch mode {
        case .readWriteCreate: SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        case .readOnly: SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX
        }
        let code = sqlite3_open_v2(path, &connection, flags, nil)
        guard code == SQLITE_OK, let connection else {
            // The errno of the failed open() says why (permission, missing directory), SQLite only "cannot open".
            let systemError = connection.map { sqlite3_system_errno($0) } ?? 0
            if let connection { sqlite3_close_v2(connection) }
            throw Self.error(code: code, systemError: systemError, message: nil, path: path,
                             creating: mode == .readWriteCreate)
        }
        handle = connection
        sqlite3_busy_timeout(handle, busyTimeout)
    }

    deinit {
        // close_v2 defers the close until statements still alive are finalised, so the order of deinits
        // never leaks a connection or crashes.
        sqlite3_close_v2(handle)
    }

    /// Runs one or more statements that return no rows.
    func execute(_ sql: String) throws(HistoryError) {
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &message)
        let text = message.map { String(cString: $0) }
        sqlite3_free(message)
        if code != SQLITE_OK { throw failure(code, text) }
    }

    /// Compiles one statement.
    func prepare(_ sql: String) throws(HistoryError) -> SQLiteStatement {
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
        guard code == SQLITE_OK, let statement else { throw failure(code) }
        return SQLiteStatement(statement, database: self)
    }

    /// The first column of the first row of a query, as text (for pragmas such as `journal_mode`).
    func text(_ sql: String) throws(HistoryError) -> String? {
        let statement = try prepare(sql)
        guard try statement.step() else { return nil }
        return statement.text(0)
    }

    /// The first column of the first row of a query, as an integer.
    func integer(_ sql: String) throws(HistoryError) -> Int64? {
        let statement = try prepare(sql)
        guard try statement.step() else { return nil }
        return statement.optionalInt64(0)
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws, so a crash or an
    /// error never leaves half a period close in the file.
    func transaction<Result>(_ body: () throws(HistoryError) -> Result) throws(HistoryError) -> Result {
        // IMMEDIATE takes the write lock at once: a concurrent reader cannot make the commit fail half-way.
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            // Nothing more can be done if the rollback fails too; the first error is the one that explains.
            _ = sqlite3_exec(handle, "ROLLBACK", nil, nil, nil)
            throw error
        }
    }

    /// The error for a failed call, with SQLite's own explanation.
    func failure(_ code: Int32, _ message: String? = nil) -> HistoryError {
        Self.error(code: code, systemError: sqlite3_system_errno(handle),
                   message: message ?? String(cString: sqlite3_errmsg(handle)), path: path, creating: false)
    }

    /// One line saying what is wrong with `path` and how to fix it.
    static func error(code: Int32, systemError: Int32, message: String?, path: String, creating: Bool) -> HistoryError {
        switch code & 0xFF {
        case SQLITE_NOTADB, SQLITE_CORRUPT:
            return HistoryError("\(path) is not a database (corrupt?): move it away and p1mqtt starts a new history")
        case SQLITE_CANTOPEN:
            let verb = creating ? "create" : "open"
            switch systemError {
            case EACCES, EPERM: return HistoryError("cannot \(verb) \(path): permission denied; check --data-dir")
            case ENOENT: return HistoryError("cannot \(verb) \(path): no such file or directory; check --data-dir")
            case EROFS: return HistoryError("cannot \(verb) \(path): read-only file system; check --data-dir")
            case ENOTDIR: return HistoryError("cannot \(verb) \(path): a part of the path is not a directory; check --data-dir")
            default: return HistoryError("cannot \(verb) \(path): \(message ?? "unable to open"); check --data-dir")
            }
        case SQLITE_READONLY:
            return HistoryError("cannot write \(path): it is read-only; check its permissions and --data-dir")
        case SQLITE_FULL:
            return HistoryError("cannot write \(path): the disk is full; free some space and restart p1mqtt")
        case SQLITE_PERM, SQLITE_AUTH:
            return HistoryError("cannot use \(path): permission denied; check --data-dir")
        case SQLITE_BUSY, SQLITE_LOCKED:
            return HistoryError("\(path) is locked by another process (a second p1mqtt with the same --data-dir?)")
        case SQLITE_IOERR:
            return HistoryError("cannot read or write \(path): I/O error (\(message ?? "disk failing?")); check the disk")
        default:
            return HistoryError("\(path): \(message ?? "SQLite error") (SQLite error \(code))")
        }
    }
}
