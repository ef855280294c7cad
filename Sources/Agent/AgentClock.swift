import Net
#if canImport(Glibc)
import Glibc
#endif

/// The agent's wall clock. `VOLLEY_TEST_CLOCK_OFFSET_US` (for tests only) shifts it by that many
/// microseconds, to check that the coordinator's offset estimate finds the shift.
public struct AgentClock: Sendable {
    /// Nanoseconds added to the host's wall clock (0 outside tests).
    public let testOffset: Int64

    public init(testOffset: Int64) { self.testOffset = testOffset }

    /// Reads `VOLLEY_TEST_CLOCK_OFFSET_US` from the environment.
    public static func fromEnvironment() -> AgentClock {
        guard let raw = getenv("VOLLEY_TEST_CLOCK_OFFSET_US"), let us = Int64(String(cString: raw)) else {
            return AgentClock(testOffset: 0)
        }
        return AgentClock(testOffset: us * 1000)
    }

    /// This agent's wall clock, in nanoseconds since the epoch.
    public func wallNanoseconds() -> Int64 { WallClock.nanosecondsSinceEpoch() + testOffset }

    /// The monotonic instant at which this agent's wall clock will read `wall`.
    public func monotonicInstant(atWall wall: Int64) -> Instant {
        Instant.now.advanced(by: wall - wallNanoseconds())
    }

    /// This agent's wall time at monotonic `instant`.
    public func wall(at instant: Instant) -> Int64 {
        wallNanoseconds() - instant.nanoseconds(to: .now)
    }
}
