/// The counts array of a histogram: Int64 counters behind a copy-on-write reference.
///
/// Not `[Int64]`: `record` should pay for one uniqueness check and a raw store, not an Array's
/// bounds and capacity checks. Indices come from the configuration's bucket arithmetic on a
/// clamped value, so they are always in range. The pointer is a `let`, so reading it needs no
/// dynamic exclusivity check.
@usableFromInline
final class CountsStorage {
    @usableFromInline let pointer: UnsafeMutablePointer<Int64>
    @usableFromInline let length: Int

    @usableFromInline
    init(length: Int) {
        self.length = length
        pointer = .allocate(capacity: length)
        pointer.initialize(repeating: 0, count: length)
    }

    @usableFromInline
    init(copying other: CountsStorage) {
        length = other.length
        pointer = .allocate(capacity: length)
        pointer.initialize(from: other.pointer, count: length)
    }

    deinit {
        pointer.deallocate()
    }
}

/// Value-semantic access to a `CountsStorage`.
@usableFromInline
struct Counts: @unchecked Sendable {
    // Sendable: the storage is only ever mutated after a uniqueness check, so a value that was
    // sent to another thread never shares mutable memory with the sender.
    @usableFromInline var storage: CountsStorage

    @usableFromInline
    init(length: Int) { storage = CountsStorage(length: length) }

    @usableFromInline
    var count: Int { storage.length }

    @inlinable
    mutating func makeUnique() {
        if _slowPath(!isKnownUniquelyReferenced(&storage)) { storage = CountsStorage(copying: storage) }
    }

    /// Adds `delta` at `index`, which the caller guarantees is in range.
    @inlinable
    mutating func add(_ delta: Int64, at index: Int) {
        makeUnique()
        storage.pointer[index] &+= delta
    }

    subscript(index: Int) -> Int64 {
        get {
            precondition(index >= 0 && index < storage.length, "counts index out of range")
            return storage.pointer[index]
        }
        set {
            precondition(index >= 0 && index < storage.length, "counts index out of range")
            makeUnique()
            storage.pointer[index] = newValue
        }
    }

    /// Read-only access to every counter.
    func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Int64>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: storage.length))
    }

    /// Mutable access to every counter (copies first if shared).
    mutating func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Int64>) throws -> R) rethrows -> R {
        makeUnique()
        return try body(UnsafeMutableBufferPointer(start: storage.pointer, count: storage.length))
    }

    func firstIndex(where predicate: (Int64) -> Bool) -> Int? {
        withUnsafeBufferPointer { $0.firstIndex(where: predicate) }
    }

    func lastIndex(where predicate: (Int64) -> Bool) -> Int? {
        withUnsafeBufferPointer { $0.lastIndex(where: predicate) }
    }

    static func == (lhs: Counts, rhs: Counts) -> Bool {
        if lhs.storage === rhs.storage { return true }
        return lhs.withUnsafeBufferPointer { a in rhs.withUnsafeBufferPointer { b in a.elementsEqual(b) } }
    }
}
