import Glibc
import Net

/// Gives the core away at most once per quantum during a long burst of work (a barrier
/// release's sends, a start's connects). Where agents and loops share cores, a burst would
/// otherwise hold a core for a whole scheduler slice while the others wait to act at the same
/// instant; with a core of its own, a yield returns at once and costs well under a microsecond.
struct CoreSharing {
    /// Longest stretch of work between yields: bounds how late a loop queued behind others on
    /// its core begins.
    static let quantum = Nanoseconds.microseconds(200)

    private var lastYield: Instant

    init(start: Instant) { lastYield = start }

    /// Called between units of work; yields when a quantum has passed since the last yield.
    mutating func pass(clock: any TimeSource) {
        let now = clock.now()
        guard lastYield.nanoseconds(to: now) >= Self.quantum else { return }
        sched_yield()
        lastYield = clock.now()
    }
}
