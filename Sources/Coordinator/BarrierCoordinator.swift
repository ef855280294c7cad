import Scenario

/// Decides when a barrier generation releases across the whole cluster: when the arrivals
/// reported by all agents reach the expected share of users, or when its timeout passes.
/// Pure logic: the caller passes the time and the expected count.
public struct BarrierCoordinator: Sendable {
    public struct Key: Hashable, Sendable {
        public let barrier: Int
        public let generation: Int
        public init(barrier: Int, generation: Int) {
            self.barrier = barrier
            self.generation = generation
        }
    }

    struct Generation {
        var arrived = 0
        var firstArrival: Int64
        var released = false
    }

    /// What the caller should do after an arrival or a timeout check.
    public enum Decision: Equatable, Sendable {
        case wait
        case release(timedOut: Bool)
        /// A user arrived after its generation released: let it through now.
        case releaseLate
    }

    private let steps: [BarrierStep]
    private var generations: [Key: Generation] = [:]

    public init(scenario: Scenario) {
        steps = scenario.barriers
    }

    /// Records `count` arrivals at `key` at time `now` with `expected` users in the cluster.
    public mutating func arrived(_ key: Key, count: Int, expected: Int, now: Int64) -> Decision {
        guard key.barrier < steps.count else { return .wait }
        var g = generations[key] ?? Generation(firstArrival: now)
        defer { generations[key] = g }
        g.arrived += count
        if g.released { return .releaseLate }
        let needed = Swift.max(1, Int((Double(expected) * steps[key.barrier].fraction).rounded(.up)))
        if g.arrived >= needed {
            g.released = true
            return .release(timedOut: false)
        }
        return .wait
    }

    /// Generations whose timeout has passed at `now`; they are marked released.
    public mutating func expired(now: Int64) -> [Key] {
        var out: [Key] = []
        for (key, g) in generations where !g.released && now - g.firstArrival >= steps[key.barrier].timeout {
            generations[key]?.released = true
            out.append(key)
        }
        return out.sorted { ($0.barrier, $0.generation) < ($1.barrier, $1.generation) }
    }

    /// Users arrived so far at `key`.
    public func arrivals(_ key: Key) -> Int { generations[key]?.arrived ?? 0 }

    /// Barrier names, by index.
    public var names: [String] { steps.map(\.name) }
}
