/// A FIFO of bytes with lazily allocated storage: a connection that has nothing buffered holds
/// no buffer at all, which keeps idle connections small.
///
/// Noncopyable, so the storage has exactly one owner and is freed in `deinit`.
public struct ByteQueue: ~Copyable {
    @usableFromInline var storage: UnsafeMutableRawPointer?
    @usableFromInline var capacity: UInt32 = 0
    @usableFromInline var head: UInt32 = 0
    @usableFromInline var tail: UInt32 = 0

    /// An empty queue with no storage.
    @inlinable
    public init() {}

    deinit { storage?.deallocate() }

    /// Number of bytes queued.
    @inlinable
    public var count: Int { Int(tail &- head) }

    /// True when nothing is queued.
    @inlinable
    public var isEmpty: Bool { head == tail }

    /// Bytes allocated (0 when the queue holds no storage).
    public var allocatedBytes: Int { Int(capacity) }

    /// The queued bytes, writable in place (valid until the next mutation).
    @inlinable
    public var readable: UnsafeMutableRawBufferPointer {
        guard let storage else { return UnsafeMutableRawBufferPointer(start: nil, count: 0) }
        return UnsafeMutableRawBufferPointer(start: storage + Int(head), count: count)
    }

    /// Appends bytes, growing the storage as needed.
    @inlinable
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        let space = reserve(bytes.count)
        space.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        tail &+= UInt32(bytes.count)
    }

    /// Appends an array of bytes.
    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// Space for at least `count` more bytes after the queued ones; `commit` what was written.
    @inlinable
    public mutating func reserve(_ count: Int) -> UnsafeMutableRawBufferPointer {
        if Int(capacity &- tail) < count { makeRoom(count) }
        return UnsafeMutableRawBufferPointer(start: storage! + Int(tail), count: Int(capacity &- tail))
    }

    /// Marks `count` bytes written into the reserved space as queued.
    @inlinable
    public mutating func commit(_ count: Int) {
        tail &+= UInt32(count)
    }

    /// Takes back the last `count` bytes committed (a trailer written and not wanted).
    @inlinable
    public mutating func uncommit(_ count: Int) {
        tail &-= UInt32(count)
    }

    @usableFromInline
    mutating func makeRoom(_ count: Int) {
        let used = self.count
        if let storage, head > 0, Int(capacity) - used >= count {
            // Enough room once the consumed prefix is dropped.
            (storage).copyMemory(from: storage + Int(head), byteCount: used)
        } else {
            var newCapacity = Swift.max(Int(capacity), 256)
            while newCapacity - used < count { newCapacity *= 2 }
            precondition(newCapacity <= Int(UInt32.max), "ByteQueue cannot hold 4 GiB")
            let fresh = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
            if let storage {
                fresh.copyMemory(from: storage + Int(head), byteCount: used)
                storage.deallocate()
            }
            storage = fresh
            capacity = UInt32(newCapacity)
        }
        head = 0
        tail = UInt32(used)
    }

    /// Drops `count` bytes from the front; frees the storage once the queue is empty, unless
    /// `keepStorage` (for a queue that will fill again right away).
    @inlinable
    public mutating func consume(_ count: Int, keepStorage: Bool = false) {
        head &+= UInt32(count)
        if head == tail {
            head = 0
            tail = 0
            if !keepStorage { release() }
        }
    }

    /// Empties the queue and frees its storage.
    public mutating func removeAll() {
        head = 0
        tail = 0
        release()
    }

    @usableFromInline
    mutating func release() {
        storage?.deallocate()
        storage = nil
        capacity = 0
    }
}
