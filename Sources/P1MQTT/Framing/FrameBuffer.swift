/// The framer's byte store: one fixed allocation of the maximum telegram size, written through a pointer.
///
/// A Swift Array checks capacity and uniqueness on every append, which at one append per byte was the
/// framer's main cost. ``TelegramFramer`` keeps value semantics by calling ``uniqued()`` before it mutates.
final class FrameBuffer: @unchecked Sendable {
    // @unchecked: the storage is only written by the one framer that holds the sole reference (checked with
    // isKnownUniquelyReferenced before every mutation); shared copies are only read.
    let capacity: Int
    private(set) var count = 0
    private let pointer: UnsafeMutablePointer<UInt8>

    init(capacity: Int) {
        self.capacity = capacity
        pointer = .allocate(capacity: capacity)
    }

    deinit { pointer.deallocate() }

    /// A private copy, for a framer whose storage is shared with a copy of itself.
    func copy() -> FrameBuffer {
        let copy = FrameBuffer(capacity: capacity)
        copy.pointer.update(from: pointer, count: count)
        copy.count = count
        return copy
    }

    var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: pointer, count: count) }

    subscript(index: Int) -> UInt8 { pointer[index] }

    @inline(__always)
    func append(_ byte: UInt8) {
        guard count < capacity else { return }
        pointer[count] = byte
        count += 1
    }

    /// Appends as much of `span` as fits.
    @inline(__always)
    func append(_ span: UnsafeBufferPointer<UInt8>) {
        let length = min(span.count, capacity - count)
        guard length > 0, let base = span.baseAddress else { return }
        (pointer + count).update(from: base, count: length)
        count += length
    }

    func removeAll() { count = 0 }

    func removeLast() { if count > 0 { count -= 1 } }
}
