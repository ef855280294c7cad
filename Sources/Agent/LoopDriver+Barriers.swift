import Net
import Scenario
import Stats

/// Barriers on one loop: arrivals batched for the control loop, and releases at the named
/// instant with every waiting user's next frame prepared.
extension LoopDriver {
    struct BarrierKey: Hashable {
        let barrier: Int
        let generation: Int
    }

    func arrive(_ user: VirtualUser, barrier: Int, generation: Int) {
        let key = BarrierKey(barrier: barrier, generation: generation)
        barrierWaiters[key, default: []].append(user)
        // Arrivals are counted here and handed to the control loop once per loop iteration:
        // no lock and no message per user.
        if pendingArrivals.isEmpty { loop.schedule(at: clock.now(), target: self, token: Self.arrivalsToken) }
        pendingArrivals[key, default: 0] += 1
    }

    /// Hands the arrivals counted since the last hand-off to the control loop.
    func handOffArrivals() {
        guard !pendingArrivals.isEmpty else { return }
        let arrivals = pendingArrivals.map { BarrierArrival(barrier: $0.key.barrier, generation: $0.key.generation, count: $0.value) }
        pendingArrivals.removeAll(keepingCapacity: true)
        engine.barrierArrivals(arrivals)
    }

    /// Releases the users waiting at (barrier, generation) at `instant`. Their next frames are
    /// built now (the release is announced milliseconds ahead, with `{{now_us}}` set to the
    /// instant); the loop wakes shortly before it and spins to it, so releases on all loops and
    /// agents line up and each user's release costs one write.
    func release(barrier: Int, generation: Int, at instant: Instant, timedOut: Bool) {
        let key = BarrierKey(barrier: barrier, generation: generation)
        let lead = clock.now().nanoseconds(to: instant)
        // Frames are prepared even for a release that arrives late (a starved control loop),
        // so that every release goes out the same way and is measured the same way.
        if let waiters = barrierWaiters[key] {
            let wall = wallMicros() + Swift.max(0, lead) / 1000
            for user in waiters { user.prepareForRelease(wallMicros: wall) }
        }
        let readyMargin = clock.now().nanoseconds(to: instant)
        let wake = instant.advanced(by: -earlyWake)
        loop.schedule(after: Swift.max(0, clock.now().nanoseconds(to: wake))) { [self] in
            waitUntil(instant)
            let releasedAt = clock.now()
            let cpuBefore = ThreadCPUClock.now()
            guard let waiters = barrierWaiters.removeValue(forKey: key), !waiters.isEmpty else { return }
            var first: Int64?
            var last: Int64?
            // Loops and agents sharing cores take turns, so their releases all begin on time
            // and their sends interleave, as on separate hosts.
            var sharing = CoreSharing(start: releasedAt)
            for user in waiters {
                if let sent = user.released(at: releasedAt.nanoseconds, timedOut: timedOut) {
                    if first == nil { first = sent }
                    last = sent
                }
                sharing.pass(clock: clock)
            }
            let cost = ThreadCPUClock.now() - cpuBefore
            metrics.barrierRelease.record(instant.microseconds(to: releasedAt))
            metrics.add(.barrierReleases)
            engine.barrierReleased(BarrierRelease(barrier: barrier, generation: generation, loop: index, users: waiters.count,
                                           timedOut: timedOut, releaseOffset: instant.nanoseconds(to: releasedAt),
                                           firstSendOffset: first.map { $0 - instant.nanoseconds },
                                           lastSendOffset: last.map { $0 - instant.nanoseconds }, sendCost: cost,
                                           readyMargin: readyMargin))
        }
    }

}

/// Users that arrived at one barrier generation on one loop, as the agent forwards them.
public struct BarrierArrival: Sendable, Equatable {
    public var barrier: Int
    public var generation: Int
    public var count: Int

    public init(barrier: Int, generation: Int, count: Int) {
        self.barrier = barrier
        self.generation = generation
        self.count = count
    }
}
