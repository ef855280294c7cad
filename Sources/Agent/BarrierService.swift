import Net
import Scenario
import Synchronization
import WireProtocol

/// Receives barrier arrivals from an engine's loops and decides when each barrier generation
/// releases. In one process it is a `LocalBarrierService`; in a cluster, the agent forwards
/// arrivals to the coordinator, which decides for every agent at once.
public protocol BarrierService: AnyObject, Sendable {
    /// Called once when the engine starts, with the engine whose loops it releases.
    func attach(to engine: LoadEngine)
    /// One user arrived at (barrier, generation).
    func arrived(barrier: Int, generation: Int)
    /// A loop released (barrier, generation): what it measured (called on that loop).
    func released(_ release: BarrierRelease)
}

/// Releases a barrier generation when enough of this process's expected users have arrived (or
/// its timeout passes), a couple of milliseconds ahead so every loop releases at one instant.
public final class LocalBarrierService: BarrierService {
    private struct Key: Hashable {
        let barrier: Int
        let generation: Int
    }

    private struct Generation {
        var arrived = 0
        var released = false
    }

    private let steps: [BarrierStep]
    private let state = Mutex<[Key: Generation]>([:])
    private let engineBox = Mutex<LoadEngine?>(nil)
    private let releases = Mutex<[BarrierRelease]>([])
    /// How far ahead of the decision the release instant is named.
    private let lead: Int64

    public init(scenario: Scenario, lead: Int64 = Nanoseconds.milliseconds(5)) {
        steps = scenario.barriers
        self.lead = lead
    }

    public func attach(to engine: LoadEngine) {
        engineBox.withLock { $0 = engine }
    }

    public func released(_ release: BarrierRelease) {
        releases.withLock { $0.append(release) }
    }

    /// The loops' releases since the last call.
    public func drainReleases() -> [BarrierRelease] {
        releases.withLock { r in
            defer { r.removeAll() }
            return r
        }
    }

    public func arrived(barrier: Int, generation: Int) {
        guard let engine = engineBox.withLock({ $0 }) else { return }
        let key = Key(barrier: barrier, generation: generation)
        let expected = engine.expectedUsers()
        let needed = Swift.max(1, Int((Double(expected) * steps[barrier].fraction).rounded(.up)))
        enum Action { case none, release, lateRelease, startTimeout }
        let action: Action = state.withLock { table in
            var g = table[key] ?? Generation()
            defer { table[key] = g }
            g.arrived += 1
            if g.released { return .lateRelease }
            if g.arrived >= needed {
                g.released = true
                return .release
            }
            return g.arrived == 1 ? .startTimeout : .none
        }
        switch action {
        case .release:
            engine.releaseBarrier(barrier: barrier, generation: generation, at: engine.clock.now().advanced(by: lead), timedOut: false)
        case .lateRelease:
            // Arrived after the generation released (a slow user): let it through at once.
            engine.releaseBarrier(barrier: barrier, generation: generation, at: engine.clock.now(), timedOut: false)
        case .startTimeout:
            engine.afterDelay(steps[barrier].timeout) { [self] in
                let expired = state.withLock { table -> Bool in
                    guard var g = table[key], !g.released else { return false }
                    g.released = true
                    table[key] = g
                    return true
                }
                if expired {
                    engine.releaseBarrier(barrier: barrier, generation: generation, at: engine.clock.now().advanced(by: lead), timedOut: true)
                }
            }
        case .none:
            break
        }
    }
}
