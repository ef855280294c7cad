/// One agent's share of a scenario's load: per phase, its connections and (for total rates) its
/// part of the message rate. Slices of all agents add up exactly to the scenario's totals.
public struct LoadSlice: Sendable, Equatable {
    /// This agent's number (0-based) and how many agents share the run.
    public var agentIndex: Int
    public var agentCount: Int
    /// Per scenario phase, in order.
    public var phases: [PhaseShare]

    public struct PhaseShare: Sendable, Equatable {
        /// This agent's connections: the sum of its groups' shares.
        public var connections: ConnectionTarget
        /// This agent's rate (per connection rates are unchanged; total rates are divided).
        public var rate: MessageRate?
        /// Per user group (in the scenario's order), this agent's connections.
        public var groups: [ConnectionTarget]

        public init(groups: [ConnectionTarget], rate: MessageRate?) {
            self.groups = groups
            self.connections = ConnectionTarget(from: groups.reduce(0) { $0 + $1.from }, to: groups.reduce(0) { $0 + $1.to })
            self.rate = rate
        }
    }

    public init(agentIndex: Int, agentCount: Int, phases: [PhaseShare]) {
        self.agentIndex = agentIndex
        self.agentCount = agentCount
        self.phases = phases
    }

    /// The whole scenario as one slice (a run with a single agent).
    public static func whole(_ scenario: Scenario) -> LoadSlice {
        LoadSlice(agentIndex: 0, agentCount: 1, phases: scenario.phases.map { phase in
            let from = scenario.groupShares(phase.connections.from), to = scenario.groupShares(phase.connections.to)
            return PhaseShare(groups: zip(from, to).map { ConnectionTarget(from: $0, to: $1) }, rate: phase.rate)
        })
    }

    /// Global number of local virtual user `local`: unique across agents without coordination.
    public func globalUserNumber(local: Int) -> Int { local * agentCount + agentIndex }

    /// The phase at `elapsed` nanoseconds after the start, and the time into it; nil after the end.
    public static func phase(at elapsed: Int64, in scenario: Scenario) -> (index: Int, into: Int64)? {
        guard elapsed >= 0 else { return nil }
        var start: Int64 = 0
        for (i, p) in scenario.phases.enumerated() {
            if elapsed < start + p.duration { return (i, elapsed - start) }
            start += p.duration
        }
        return nil
    }

    /// This slice's target connections at `elapsed` nanoseconds into the run (0 after the end).
    public func targetConnections(at elapsed: Int64, in scenario: Scenario) -> Double {
        guard let (i, into) = Self.phase(at: elapsed, in: scenario) else { return 0 }
        return phases[i].connections.value(at: into, duration: scenario.phases[i].duration)
    }

    /// This slice's target connections of user group `group` at `elapsed` nanoseconds.
    public func targetConnections(at elapsed: Int64, in scenario: Scenario, group: Int) -> Double {
        guard let (i, into) = Self.phase(at: elapsed, in: scenario) else { return 0 }
        return phases[i].groups[group].value(at: into, duration: scenario.phases[i].duration)
    }

    /// The share of an integer `total` that part `index` of `parts` gets when split as evenly as
    /// possible (the first `total % parts` parts get one more): the parts add up to `total`.
    public static func evenShare(_ total: Int, part index: Int, of parts: Int) -> Int {
        total / parts + (index < total % parts ? 1 : 0)
    }
}
