/// Something a timer can fire into; `token` tells the target which of its timers it was, so a
/// target can ignore timers it no longer wants (cancellation without searching the heap).
public protocol TimerTarget: AnyObject {
    /// Called on the loop's thread when a timer scheduled for this target is due.
    func timerFired(token: UInt64, now: Instant)
}

/// A min-heap of timers ordered by deadline, then by scheduling order. Pure data: the caller
/// passes the current time, so tests run it on a manual clock.
public struct TimerHeap {
    @usableFromInline
    struct Entry {
        @usableFromInline var deadline: Int64
        @usableFromInline var sequence: UInt64
        @usableFromInline var target: TimerTarget
        @usableFromInline var token: UInt64

        @inlinable
        init(deadline: Int64, sequence: UInt64, target: TimerTarget, token: UInt64) {
            self.deadline = deadline
            self.sequence = sequence
            self.target = target
            self.token = token
        }

        @inlinable
        func isBefore(_ other: Entry) -> Bool {
            deadline < other.deadline || (deadline == other.deadline && sequence < other.sequence)
        }
    }

    @usableFromInline var entries: [Entry] = []
    @usableFromInline var nextSequence: UInt64 = 0

    public init() {}

    /// Number of pending timers.
    public var count: Int { entries.count }

    /// The earliest deadline, if any timer is pending.
    public var earliestDeadline: Instant? {
        entries.isEmpty ? nil : Instant(nanoseconds: entries[0].deadline)
    }

    /// Adds a timer for `target` at `deadline`.
    @inlinable
    public mutating func schedule(at deadline: Instant, target: TimerTarget, token: UInt64) {
        entries.append(Entry(deadline: deadline.nanoseconds, sequence: nextSequence, target: target, token: token))
        nextSequence &+= 1
        siftUp(entries.count - 1)
    }

    /// Removes and returns the earliest timer if it is due at `now`.
    @inlinable
    public mutating func popDue(now: Instant) -> (target: TimerTarget, token: UInt64)? {
        guard !entries.isEmpty, entries[0].deadline <= now.nanoseconds else { return nil }
        let first = entries[0]
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            siftDown(0)
        }
        return (first.target, first.token)
    }

    /// Removes every timer.
    public mutating func removeAll() { entries.removeAll() }

    @inlinable
    mutating func siftUp(_ index: Int) {
        var child = index
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].isBefore(entries[parent]) else { return }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    @inlinable
    mutating func siftDown(_ index: Int) {
        var parent = index
        let n = entries.count
        while true {
            let left = 2 * parent + 1
            guard left < n else { return }
            let right = left + 1
            let smallest = right < n && entries[right].isBefore(entries[left]) ? right : left
            guard entries[smallest].isBefore(entries[parent]) else { return }
            entries.swapAt(smallest, parent)
            parent = smallest
        }
    }
}
