import Synchronization

/// A clock that only moves when told to: tests drive timers, ramps, leases and barriers with it
/// instead of sleeping.
public final class ManualClock: TimeSource {
    private let current: Mutex<Int64>

    /// A clock standing at `start`.
    public init(start: Instant = Instant(nanoseconds: 1_000_000_000)) {
        current = Mutex(start.nanoseconds)
    }

    public func now() -> Instant { Instant(nanoseconds: current.withLock { $0 }) }

    /// Moves the clock forward by `nanoseconds`.
    public func advance(by nanoseconds: Int64) {
        current.withLock { $0 += nanoseconds }
    }

    /// Sets the clock to `instant` (which may not be earlier than now).
    public func set(to instant: Instant) {
        current.withLock { value in
            precondition(instant.nanoseconds >= value, "a monotonic clock cannot go back")
            value = instant.nanoseconds
        }
    }
}
