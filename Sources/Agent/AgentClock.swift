import Net

/// The agent's clocks: monotonic instants and wall time, read from the control loop's time
/// source (a manual clock in tests). `VOLLEY_TEST_CLOCK_OFFSET_US` (for tests only) shifts the
/// wall clock by that many microseconds, to check that the coordinator's offset estimate finds it.
public struct AgentClock: Sendable {
    public let source: any TimeSource
    /// Nanoseconds added to the host's wall clock (0 outside tests).
    public let testOffset: Int64

    public init(source: any TimeSource = SystemClock(), testOffset: Int64 = 0) {
        self.source = source
        self.testOffset = testOffset
    }

    /// Reads `VOLLEY_TEST_CLOCK_OFFSET_US` from the environment.
    public static func fromEnvironment(source: any TimeSource = SystemClock()) -> AgentClock {
        guard let raw = FileSystem.environment("VOLLEY_TEST_CLOCK_OFFSET_US"), let us = Int64(raw) else {
            return AgentClock(source: source)
        }
        return AgentClock(source: source, testOffset: us * 1000)
    }

    /// Now, on the monotonic clock.
    public func now() -> Instant { source.now() }

    /// This agent's wall clock, in nanoseconds since the epoch.
    public func wallNanoseconds() -> Int64 { source.wallNanoseconds() + testOffset }

    /// The monotonic instant at which this agent's wall clock will read `wall`.
    public func monotonicInstant(atWall wall: Int64) -> Instant {
        source.now().advanced(by: wall - wallNanoseconds())
    }

    /// This agent's wall time at monotonic `instant`.
    public func wall(at instant: Instant) -> Int64 {
        wallNanoseconds() - instant.nanoseconds(to: source.now())
    }
}
