import Net
import WireProtocol

/// Barriers across the run: arrivals counted against the users expected now, and releases
/// named ahead on every agent's clock.
extension RunCoordinator {
    func barrierArrival(_ key: BarrierCoordinator.Key, count: Int) {
        switch barriers.arrived(key, count: count, expected: expectedUsers(), now: wallNow) {
        case .wait:
            break
        case let .release(timedOut):
            release(key, timedOut: timedOut)
        case .releaseLate:
            release(key, timedOut: false, lead: 0)
        }
    }

    /// Users expected at a barrier: the planned connections of every agent not lost, right now.
    func expectedUsers() -> Int {
        guard let plan else { return 0 }
        let elapsed = startInstant.nanoseconds(to: now)
        return links.filter { $0.state != .lost }.reduce(0) { sum, link in
            sum + Int(plan.slices[link.index].targetConnections(at: elapsed, in: scenario) + 1e-9)
        }
    }

    /// Names a release instant far enough ahead for every agent's one-way delay, on each
    /// agent's own clock.
    func release(_ key: BarrierCoordinator.Key, timedOut: Bool, lead: Int64? = nil) {
        let worst = links.filter { $0.state == .running }.map { ($0.clock.best?.roundTrip ?? 0) / 2 }.max() ?? 0
        let ahead = lead ?? releaseLead.lead(oneWay: worst)
        ledger.named(barrier: key.barrier, generation: key.generation, lead: ahead)
        let at = wallNow + ahead
        for link in links where link.state == .running {
            link.channel?.send(.barrierRelease(barrier: UInt32(key.barrier), generation: UInt32(key.generation),
                                               atAgentWall: at + link.clock.offset, timedOut: timedOut))
        }
    }
}
