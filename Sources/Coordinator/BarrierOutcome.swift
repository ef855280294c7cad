/// How one barrier generation released across the run: per agent and loop, when the release
/// happened and when the users' sends went out, relative to the named instant (coordinator
/// time, through each agent's clock offset).
public struct BarrierOutcome: Sendable, Equatable {
    public struct LoopRelease: Sendable, Equatable {
        public var agent: Int
        public var loop: Int
        public var users: Int
        public var releaseOffset: Int64
        public var firstSendOffset: Int64?
        public var lastSendOffset: Int64?

        public init(agent: Int, loop: Int, users: Int, releaseOffset: Int64, firstSendOffset: Int64?, lastSendOffset: Int64?) {
            self.agent = agent
            self.loop = loop
            self.users = users
            self.releaseOffset = releaseOffset
            self.firstSendOffset = firstSendOffset
            self.lastSendOffset = lastSendOffset
        }
    }

    public var name: String
    public var generation: Int
    public var timedOut: Bool
    public var loops: [LoopRelease]

    public init(name: String, generation: Int, timedOut: Bool, loops: [LoopRelease]) {
        self.name = name
        self.generation = generation
        self.timedOut = timedOut
        self.loops = loops
    }

    /// Users released.
    public var users: Int { loops.reduce(0) { $0 + $1.users } }

    /// Each agent's release: its earliest loop's offset.
    public var agentReleases: [(agent: Int, offset: Int64)] {
        Dictionary(grouping: loops, by: \.agent).map { ($0.key, $0.value.map(\.releaseOffset).min()!) }.sorted { $0.agent < $1.agent }
    }

    /// Nanoseconds between the earliest and latest agent release.
    public var releaseSpread: Int64 {
        let offsets = agentReleases.map(\.offset)
        return (offsets.max() ?? 0) - (offsets.min() ?? 0)
    }

    /// Nanoseconds between the earliest and latest loop release (all agents).
    public var loopReleaseSpread: Int64 {
        (loops.map(\.releaseOffset).max() ?? 0) - (loops.map(\.releaseOffset).min() ?? 0)
    }

    /// Nanoseconds from the first user's send to the last one's, anywhere.
    public var sendSpread: Int64? {
        let firsts = loops.compactMap(\.firstSendOffset), lasts = loops.compactMap(\.lastSendOffset)
        guard let first = firsts.min(), let last = lasts.max() else { return nil }
        return last - first
    }

    /// The longest time one loop took to make its own sends: what the writes themselves cost.
    public var slowestLoopSendCost: Int64? {
        loops.compactMap { l in l.firstSendOffset.flatMap { f in l.lastSendOffset.map { $0 - f } } }.max()
    }
}

/// Collects loops' release reports into outcomes, one per (barrier, generation).
public struct BarrierLedger: Sendable {
    private var byKey: [BarrierCoordinator.Key: BarrierOutcome] = [:]
    private let names: [String]

    public init(names: [String]) { self.names = names }

    public mutating func add(agent: Int, barrier: Int, generation: Int, loop: Int, users: Int, timedOut: Bool,
                             releaseOffset: Int64, firstSendOffset: Int64?, lastSendOffset: Int64?) {
        let key = BarrierCoordinator.Key(barrier: barrier, generation: generation)
        var outcome = byKey[key] ?? BarrierOutcome(name: barrier < names.count ? names[barrier] : "barrier \(barrier)",
                                                   generation: generation, timedOut: false, loops: [])
        outcome.timedOut = outcome.timedOut || timedOut
        outcome.loops.append(.init(agent: agent, loop: loop, users: users, releaseOffset: releaseOffset,
                                   firstSendOffset: firstSendOffset, lastSendOffset: lastSendOffset))
        byKey[key] = outcome
    }

    /// Every outcome, by barrier then generation.
    public var outcomes: [BarrierOutcome] {
        byKey.sorted { ($0.key.barrier, $0.key.generation) < ($1.key.barrier, $1.key.generation) }.map(\.value)
    }
}
