import CSQLite

/// A compiled SQL statement: bind parameters (numbered from 1, as in SQLite), step through rows, read columns
/// (numbered from 0). Lives no longer than needed; finalised in `deinit`.
///
/// Not `Sendable`, like its ``SQLiteDatabase``: used only under the owner's lock.
final class SQLiteStatement {
    private let handle: OpaquePointer
    // Keeps the connection alive as long as a statement needs it, and names the file in errors.
    private let database: SQLiteDatabase

    init(_ handle: OpaquePointer, database: SQLiteDatabase) {
        self.handle = handle
        self.database = database
    }

    deinit {
        sqlite3_finalize(handle)
    }

    /// SQLite copies text it is given with this destructor, so the Swift string may go away before stepping.
    /// (The C macro `SQLITE_TRANSIENT` does not import into Swift.)
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// Binds an integer, or NULL for nil.
    func bind(_ value: Int64?, at index: Int32) throws(HistoryError) {
        let code = if let value { sqlite3_bind_int64(handle, index, value) } else { sqlite3_bind_null(handle, index) }
        if code != SQLITE_OK { throw database.failure(code) }
    }

    /// Binds a floating-point number, or NULL for nil.
    func bind(_ value: Double?, at index: Int32) throws(HistoryError) {
        let code = if let value { sqlite3_bind_double(handle, index, value) } else { sqlite3_bind_null(handle, index) }
        if code != SQLITE_OK { throw database.failure(code) }
    }

    /// Binds text, or NULL for nil.
    func bind(_ value: String?, at index: Int32) throws(HistoryError) {
        let code = if let value { sqlite3_bind_text(handle, index, value, -1, Self.transient) } else { sqlite3_bind_null(handle, index) }
        if code != SQLITE_OK { throw database.failure(code) }
    }

    /// Moves to the next row: true when there is one, false when the statement is done.
    func step() throws(HistoryError) -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code:
            // The step's error code is also the connection's; reset so the statement can be reused.
            let error = database.failure(code)
            sqlite3_reset(handle)
            throw error
        }
    }

    /// Runs a statement that returns no rows, then makes it ready to run again with new parameters.
    func run() throws(HistoryError) {
        while try step() {}
        reset()
    }

    /// Makes the statement ready to run again and clears its parameters.
    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Whether a column of the current row is NULL.
    func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    /// An integer column of the current row (0 for NULL).
    func int64(_ column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }

    /// An integer column of the current row, nil for NULL.
    func optionalInt64(_ column: Int32) -> Int64? {
        isNull(column) ? nil : sqlite3_column_int64(handle, column)
    }

    /// A floating-point column of the current row, nil for NULL.
    func double(_ column: Int32) -> Double? {
        isNull(column) ? nil : sqlite3_column_double(handle, column)
    }

    /// A text column of the current row, nil for NULL.
    func text(_ column: Int32) -> String? {
        guard let pointer = sqlite3_column_text(handle, column) else { return nil }
        return String(cString: pointer)
    }
}
