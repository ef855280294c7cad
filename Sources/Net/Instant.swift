import CVolleyLinux

/// A point in time on the monotonic clock, in nanoseconds since an arbitrary origin.
public struct Instant: Comparable, Hashable, Sendable, CustomStringConvertible {
    /// Nanoseconds since the clock's origin.
    public var nanoseconds: Int64

    /// The instant `nanoseconds` after the clock's origin.
    @inlinable
    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    /// Now, on the system's CLOCK_MONOTONIC.
    @inlinable
    public static var now: Instant { Instant(nanoseconds: volley_monotonic_ns()) }

    /// The instant `delta` nanoseconds later (earlier if negative).
    @inlinable
    public func advanced(by delta: Int64) -> Instant { Instant(nanoseconds: nanoseconds &+ delta) }

    /// Nanoseconds from `self` to `later` (negative if `later` is earlier).
    @inlinable
    public func nanoseconds(to later: Instant) -> Int64 { later.nanoseconds &- nanoseconds }

    /// Whole microseconds from `self` to `later`, rounded to nearest.
    @inlinable
    public func microseconds(to later: Instant) -> Int64 { (later.nanoseconds &- nanoseconds &+ 500) / 1000 }

    @inlinable
    public static func < (a: Instant, b: Instant) -> Bool { a.nanoseconds < b.nanoseconds }

    public var description: String { "\(nanoseconds)ns" }
}

/// Nanosecond spans, spelled out so call sites read as units.
public enum Nanoseconds {
    @inlinable public static func microseconds(_ v: Int64) -> Int64 { v &* 1_000 }
    @inlinable public static func milliseconds(_ v: Int64) -> Int64 { v &* 1_000_000 }
    @inlinable public static func seconds(_ v: Int64) -> Int64 { v &* 1_000_000_000 }
    @inlinable public static func fromSeconds(_ v: Double) -> Int64 { Int64((v * 1e9).rounded()) }
}

/// Where time-dependent logic reads the time, so tests can drive it with a manual clock.
public protocol TimeSource: Sendable {
    /// The current instant.
    func now() -> Instant
    /// The current wall-clock time, in nanoseconds since the Unix epoch.
    func wallNanoseconds() -> Int64
}

/// The system's monotonic and wall clocks.
public struct SystemClock: TimeSource {
    public init() {}
    @inlinable
    public func now() -> Instant { .now }
    public func wallNanoseconds() -> Int64 { volley_realtime_ns() }
}

/// Wall-clock time (CLOCK_REALTIME) in nanoseconds since the Unix epoch.
public enum WallClock {
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    public static func nanosecondsSinceEpoch() -> Int64 { volley_realtime_ns() }
    /// Seconds since the epoch, as a Double.
    public static func secondsSinceEpoch() -> Double { Double(volley_realtime_ns()) / 1e9 }
}
