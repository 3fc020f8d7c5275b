#if canImport(Glibc)
import CMalloc
#endif

/// Returns freed heap memory to the kernel, so the resident size shows what p1mqtt holds, not what it once held.
///
/// glibc's allocator gives memory back on its own only from the top of each heap: a page in the middle whose
/// blocks were all freed stays resident. At a meter's pace (a few hundred small allocations a telegram, spread
/// over the threads' arenas) that made the private memory creep up by some tens of kilobytes over the first
/// minutes before it levelled off. `malloc_trim(0)` unmaps every such page in every arena; once a minute it
/// costs microseconds. Elsewhere (musl, other systems) this does nothing.
public enum HeapMemory {
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
