import Testing
import Coordinator
import Scenario
import TestSupport
import WireProtocol

@Suite("Planner")
struct PlannerTests {
    static func scenario(_ phases: [(from: Int, to: Int, rate: String?)]) throws -> Scenario {
        let lines = phases.enumerated().map { i, p in
            "  - { name: p\(i), duration: \(i + 1)s, connections: \(p.from) -> \(p.to)\(p.rate.map { ", \($0)" } ?? "") }"
        }.joined(separator: "\n")
        return try ScenarioLoader.load(source: "target: ws://127.0.0.1:1/\nmodel: open\nphases:\n\(lines)\nsteps: [connect, { send: x }]\n",
                                       file: "p.yaml") { (_) throws(ScenarioError) -> Feeder? in nil }
    }

    @Test("slices add up exactly to every phase's connections and total rate, for random phases and capacities")
    func slicesAddUp() throws {
        var rng = SplitMix64(seed: 2026)
        for _ in 0..<500 {
            let phaseCount = Int.random(in: 1...6, using: &rng)
            let phases = (0..<phaseCount).map { _ in
                (from: Int.random(in: 0...100_000, using: &rng), to: Int.random(in: 0...100_000, using: &rng),
                 rate: Bool.random(using: &rng) ? "rate: \(Int.random(in: 1...50, using: &rng))/s" : "total_rate: \(Int.random(in: 1...90_000, using: &rng))/s")
            }
            let scenario = try Self.scenario(phases)
            let agents = Int.random(in: 1...64, using: &rng)
            let capacities = (0..<agents).map { _ in
                WireMessage.Capacity(hostName: "h", cores: UInt16.random(in: 1...64, using: &rng), descriptorLimit: UInt32.max,
                                     memoryBytes: 0, software: "")
            }
            let slices = try Planner.plan(scenario, capacities: capacities, names: (0..<agents).map { "a\($0)" })
            #expect(slices.count == agents)
            #expect(slices.enumerated().allSatisfy { $0.offset == $0.element.agentIndex && $0.element.agentCount == agents })
            for (p, phase) in scenario.phases.enumerated() {
                #expect(slices.reduce(0) { $0 + $1.phases[p].connections.from } == phase.connections.from)
                #expect(slices.reduce(0) { $0 + $1.phases[p].connections.to } == phase.connections.to)
                if case let .total(r)? = phase.rate {
                    let sum = slices.reduce(0.0) { s, slice in
                        if case let .total(x)? = slice.phases[p].rate { return s + x }
                        return s
                    }
                    #expect(abs(sum - r) <= r * 1e-9)
                } else {
                    #expect(slices.allSatisfy { $0.phases[p].rate == phase.rate })
                }
                // Shares follow the weights: no agent is more than one connection off its exact share.
                let weights = capacities.map { Double($0.cores) }, total = weights.reduce(0, +)
                for (i, slice) in slices.enumerated() {
                    #expect(abs(Double(slice.phases[p].connections.to) - Double(phase.connections.to) * weights[i] / total) < 1.0 + 1e-9)
                }
            }
        }
    }

    @Test("with user groups every group's total is exact across agents, fixed counts filled first, the rest by weight")
    func groupsAddUp() throws {
        var rng = SplitMix64(seed: 14)
        for _ in 0..<300 {
            let groupCount = Int.random(in: 1...4, using: &rng)
            var shares: [String] = []
            for g in 0..<groupCount {
                // The last group always has a weight, so every phase size can be split.
                shares.append(g < groupCount - 1 && Bool.random(using: &rng) ? "count: \(Int.random(in: 0...500, using: &rng))"
                                                                             : "weight: \(Int.random(in: 1...9, using: &rng))")
            }
            let groups = shares.enumerated().map { g, share in "  - { name: g\(g), \(share), steps: [connect] }" }.joined(separator: "\n")
            let phaseCount = Int.random(in: 1...4, using: &rng)
            let phases = (0..<phaseCount).map { i in
                "  - { duration: 1s, connections: \(Int.random(in: 0...20_000, using: &rng)) -> \(Int.random(in: 0...20_000, using: &rng)) }"
            }.joined(separator: "\n")
            let scenario = try ScenarioLoader.load(source: "target: ws://127.0.0.1:1/\nphases:\n\(phases)\ngroups:\n\(groups)\n",
                                                   file: "g.yaml") { (_) throws(ScenarioError) -> Feeder? in nil }
            let agents = Int.random(in: 1...16, using: &rng)
            let capacities = (0..<agents).map { _ in
                WireMessage.Capacity(hostName: "h", cores: UInt16.random(in: 1...8, using: &rng), descriptorLimit: UInt32.max, memoryBytes: 0, software: "")
            }
            let slices = try Planner.plan(scenario, capacities: capacities, names: (0..<agents).map { "a\($0)" })
            for (p, phase) in scenario.phases.enumerated() {
                for total in [phase.connections.from, phase.connections.to] {
                    let split = scenario.groupShares(total)
                    #expect(split.reduce(0, +) == total)
                    // Fixed counts first, in order, as far as the total goes.
                    var left = total
                    for (g, group) in scenario.groups.enumerated() {
                        if case let .count(n) = group.share {
                            #expect(split[g] == min(n, left))
                            left -= split[g]
                        }
                    }
                }
                let from = scenario.groupShares(phase.connections.from), to = scenario.groupShares(phase.connections.to)
                for g in scenario.groups.indices {
                    #expect(slices.reduce(0) { $0 + $1.phases[p].groups[g].from } == from[g])
                    #expect(slices.reduce(0) { $0 + $1.phases[p].groups[g].to } == to[g])
                }
                for slice in slices {
                    #expect(slice.phases[p].connections.to == slice.phases[p].groups.reduce(0) { $0 + $1.to })
                }
            }
        }
    }

    @Test("a share beyond an agent's descriptors is refused, naming the agent and the fix")
    func capacityRefused() throws {
        let scenario = try Self.scenario([(from: 50_000, to: 50_000, rate: "rate: 1/s")])
        let small = WireMessage.Capacity(hostName: "h", cores: 1, descriptorLimit: 20_000, memoryBytes: 0, software: "")
        #expect(throws: PlanError.self) { try Planner.plan(scenario, capacities: [small, small], names: ["x", "y"]) }
        do {
            _ = try Planner.plan(scenario, capacities: [small, small], names: ["x", "y"])
        } catch {
            #expect(error.description.contains("agent x") && error.description.contains("ulimit -n"))
        }
    }

    @Test("a loop's share of its agent's users adds up across loops at every instant of a ramp")
    func loopSharesAddUp() throws {
        let scenario = try Self.scenario([(from: 3, to: 1001, rate: "rate: 1/s")])
        let slice = LoadSlice.whole(scenario)
        for ms in stride(from: Int64(0), through: 1000, by: 7) {
            let agent = Int((slice.targetConnections(at: ms * 1_000_000, in: scenario) + 1e-9).rounded(.down))
            for loops in 1...8 {
                #expect((0..<loops).reduce(0) { $0 + LoadSlice.evenShare(agent, part: $1, of: loops) } == agent)
            }
            #expect(agent >= 3 && agent <= 1001)
        }
    }
}
