#if canImport(Glibc)
import CMalloc
#endif

/// Keeps the heap small and flat: one allocator arena, and freed pages given back after start-up and after
/// each reconnect to the broker.
///
/// glibc gives every thread that meets a busy allocator an arena of its own (up to eight per core). p1mqtt's
/// threads (the meter reader, the Swift task pool, the MQTT network thread) hand blocks to each other, so each
/// arena fragments on its own: measured at one telegram a second, the private memory crept up by 8 KB a minute
/// with the default, and stayed flat with one arena, at the same CPU time per telegram at full speed (134–138
/// µs either way; most small blocks never reach an arena, the per-thread cache serves them). And the allocator
/// gives memory back on its own only from the top of a heap: what start-up freed below a live block stays
/// resident until ``trim()``, which the command calls with its start-up page hand-backs and the bridge 10 s
/// after a reconnect (see ``StartupMemory``). Elsewhere (musl, other systems) both do nothing.
public enum HeapMemory {
    /// Limits the allocator to one arena; call first thing in `main`, before other threads exist.
    public static func useOneArena() {
        #if canImport(Glibc)
        _ = mallopt(M_ARENA_MAX, 1)
        #endif
    }

    /// Gives the free pages of every heap back; true when memory was released.
    @discardableResult
    public static func trim() -> Bool {
        #if canImport(Glibc)
        return malloc_trim(0) == 1
        #else
        return false
        #endif
    }
}
