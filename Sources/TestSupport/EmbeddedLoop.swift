import Net

/// An event loop on a manual clock, driven by the test on its own thread, as SwiftNIO's
/// EmbeddedEventLoop is: timers fire only when the test moves time, at their own deadlines and
/// in order, so logic that depends on time (leases, ramps, barriers, stats cadence) is tested
/// without sleeping.
public final class EmbeddedLoop {
    public let clock: ManualClock
    public let loop: EventLoop

    public init(start: Instant = Instant(nanoseconds: 1_000_000_000)) {
        clock = ManualClock(start: start)
        loop = try! EventLoop(clock: clock)
    }

    /// Now, on the manual clock.
    public var now: Instant { clock.now() }

    /// Runs what is due now: tasks handed over with `execute`, ready descriptors, due timers,
    /// and whatever those schedule for now, until nothing more is due.
    public func run() {
        for _ in 0..<10_000 {
            loop.runOnce(maximumWait: 0)
            loop.runOnce(maximumWait: 0)
            guard let next = loop.nextTimerDeadline, next <= clock.now() else { return }
        }
    }

    /// Moves time forward by `nanoseconds`, stopping at each timer's deadline on the way.
    public func advance(by nanoseconds: Int64) {
        let target = clock.now().advanced(by: nanoseconds)
        run()
        while let next = loop.nextTimerDeadline, next <= target {
            if next > clock.now() { clock.set(to: next) }
            run()
        }
        clock.set(to: target)
        run()
    }

    /// Moves time forward in `step`s until `condition` holds or `limit` has passed; true if it held.
    @discardableResult
    public func advance(until condition: () -> Bool, step: Int64 = Nanoseconds.milliseconds(10), limit: Int64 = Nanoseconds.seconds(60)) -> Bool {
        var waited: Int64 = 0
        run()
        while !condition() {
            guard waited < limit else { return false }
            advance(by: step)
            waited += step
        }
        return true
    }
}
