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

    /// Wall time moves with the monotonic time, from a fixed date (2026-01-01T00:00:00Z at the
    /// clock's origin), so tests can reason about both.
    public func wallNanoseconds() -> Int64 { Self.wallAtOrigin + now().nanoseconds }

    /// Wall time (ns since the epoch) at monotonic instant 0.
    public static let wallAtOrigin: Int64 = 1_767_225_600 * 1_000_000_000

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
