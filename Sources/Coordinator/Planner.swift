import Scenario
import WireProtocol

/// Why a run cannot be planned on the agents available.
public struct PlanError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Splits every phase across agents in proportion to their capacity, deterministically, so that
/// the slices add up exactly to the scenario's totals, group by group (largest-remainder method).
public enum Planner {
    /// Weight of an agent: its cores (CPU for the event loops).
    public static func weight(_ c: WireMessage.Capacity) -> Int { Swift.max(1, Int(c.cores)) }

    /// One slice per agent; throws when an agent would get more connections than it can hold.
    public static func plan(_ scenario: Scenario, capacities: [WireMessage.Capacity], names: [String]) throws(PlanError) -> [LoadSlice] {
        let weights = capacities.map(weight)
        let total = Double(weights.reduce(0, +))
        var phasesPerAgent = [[LoadSlice.PhaseShare]](repeating: [], count: capacities.count)
        for phase in scenario.phases {
            // Each group's total is split across the agents on its own, so every group's
            // totals are exact, not only the phase's.
            let groupFroms = scenario.groupShares(phase.connections.from).map { Shares.largestRemainder($0, weights: weights) }
            let groupTos = scenario.groupShares(phase.connections.to).map { Shares.largestRemainder($0, weights: weights) }
            for i in capacities.indices {
                let rate: MessageRate?
                switch phase.rate {
                case let .total(r)?: rate = .total(r * Double(weights[i]) / total)
                case let other: rate = other
                }
                let groups = zip(groupFroms, groupTos).map { ConnectionTarget(from: $0[i], to: $1[i]) }
                phasesPerAgent[i].append(LoadSlice.PhaseShare(groups: groups, rate: rate))
            }
        }
        let slices = capacities.indices.map { LoadSlice(agentIndex: $0, agentCount: capacities.count, phases: phasesPerAgent[$0]) }
        for (i, slice) in slices.enumerated() {
            let peak = slice.phases.map { Swift.max($0.connections.from, $0.connections.to) }.max() ?? 0
            if peak > capacities[i].connectionCapacity {
                throw PlanError("agent \(names[i]) can hold about \(capacities[i].connectionCapacity) connections (descriptor limit \(capacities[i].descriptorLimit)) but its share is \(peak); add agents or raise its limit (ulimit -n)")
            }
        }
        return slices
    }

    /// The split as a table, for `volley validate --agents N` and the run's start.
    public static func describe(_ scenario: Scenario, slices: [LoadSlice], names: [String]) -> String {
        var out = "split across \(slices.count) agent\(slices.count == 1 ? "" : "s"):\n"
        for (p, phase) in scenario.phases.enumerated() {
            let parts = slices.enumerated().map { i, s in "\(names[i]) \(s.phases[p].connections)" }
            out += "  \(phase.name.padded(14)) \(phase.connections.description.padded(12)) = \(parts.joined(separator: " + "))\n"
            guard !scenario.declaredGroups.isEmpty else { continue }
            // Each group's own split (every group's total is exact).
            for (g, group) in scenario.groups.enumerated() {
                let total = ConnectionTarget(from: slices.reduce(0) { $0 + $1.phases[p].groups[g].from }, to: slices.reduce(0) { $0 + $1.phases[p].groups[g].to })
                let shares = slices.enumerated().map { i, s in "\(names[i]) \(s.phases[p].groups[g])" }
                out += "    \(group.name.padded(12)) \(total.description.padded(12)) = \(shares.joined(separator: " + "))\n"
            }
        }
        return out
    }
}

extension String {
    func padded(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
