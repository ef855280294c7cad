import Stats

/// How one barrier generation released across the run: per agent and loop, when the release
/// happened and when the users' sends went out, relative to the named instant (coordinator
/// time, through each agent's clock offset).
public struct BarrierOutcome: Sendable, Equatable {
    /// One loop's release, with the agent it ran on.
    public struct LoopRelease: Sendable, Equatable {
        public var agent: Int
        public var release: BarrierRelease

        public init(agent: Int, release: BarrierRelease) {
            self.agent = agent
            self.release = release
        }
    }

    public var name: String
    public var generation: Int
    public var timedOut: Bool
    /// How far ahead the coordinator named the instant (ns), when it did.
    public var lead: Int64?
    public var loops: [LoopRelease]

    public init(name: String, generation: Int, timedOut: Bool, lead: Int64? = nil, loops: [LoopRelease]) {
        self.name = name
        self.generation = generation
        self.timedOut = timedOut
        self.lead = lead
        self.loops = loops
    }

    /// Users released.
    public var users: Int { loops.reduce(0) { $0 + $1.release.users } }

    /// Each agent's release: its earliest loop's offset.
    public var agentReleases: [(agent: Int, offset: Int64)] {
        Dictionary(grouping: loops, by: \.agent)
            .map { ($0.key, $0.value.map(\.release.releaseOffset).min()!) }
            .sorted { $0.agent < $1.agent }
    }

    /// Nanoseconds between the earliest and latest agent release.
    public var releaseSpread: Int64 { spread(agentReleases.map(\.offset)) }

    /// Nanoseconds between the earliest and latest loop release (all agents).
    public var loopReleaseSpread: Int64 { spread(loops.map(\.release.releaseOffset)) }

    /// Nanoseconds from the first user's send to the last one's, anywhere.
    public var sendSpread: Int64? {
        let firsts = loops.compactMap(\.release.firstSendOffset), lasts = loops.compactMap(\.release.lastSendOffset)
        guard let first = firsts.min(), let last = lasts.max() else { return nil }
        return last - first
    }

    /// The most CPU time one loop spent making its sends: the floor of the send spread on
    /// hosts with a core per loop.
    public var slowestLoopSendCost: Int64 { loops.map(\.release.sendCost).max() ?? 0 }

    /// CPU time all loops spent making their sends.
    public var totalSendCost: Int64 { loops.reduce(0) { $0 + $1.release.sendCost } }

    private func spread(_ offsets: [Int64]) -> Int64 { (offsets.max() ?? 0) - (offsets.min() ?? 0) }
}
