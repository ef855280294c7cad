/// A kind of virtual user with its own script: a scenario's `groups:` (5 publishers and 995
/// viewers, 10% talkers and 90% lurkers). A scenario without `groups:` has one implicit group,
/// "default", running the top-level `steps`.
public struct UserGroup: Sendable {
    /// How many of the connections a group takes.
    public enum Share: Sendable, Equatable {
        /// This many (filled first, in the order written, as far as the phase's count goes).
        case count(Int)
        /// A share of what the fixed counts leave, in proportion to the weights.
        case weight(Int)
    }

    public var name: String
    public var share: Share
    public var steps: [Step]
    /// The group's own feeder (its users take its rows in turn); nil: the scenario's.
    public var feeder: Feeder?
    /// Sends per second of each of its connections (open model), instead of the phase's rate.
    public var rate: Double?
    /// Pause after each loop iteration (closed model), instead of the phase's.
    public var think: Delay?
    /// The group's own `on:` handlers (after the scenario's).
    public var handlers: [MessageHandler] = []
    public var line: Int

    public init(name: String, share: Share, steps: [Step], feeder: Feeder? = nil, rate: Double? = nil, think: Delay? = nil, line: Int = 0) {
        self.name = name
        self.share = share
        self.steps = steps
        self.feeder = feeder
        self.rate = rate
        self.think = think
        self.line = line
    }

    /// Latency metrics this group's steps measure, in order of appearance.
    public var measureNames: [String] { Step.measureNames(in: steps) }
}

extension Scenario {
    /// The user groups: the declared ones, or the implicit "default" group of `steps`.
    public var groups: [UserGroup] {
        declaredGroups.isEmpty ? [UserGroup(name: "default", share: .weight(1), steps: steps)] : declaredGroups
    }

    /// Every feeder the scenario reads (its own and its groups'), each once.
    public var feeders: [Feeder] {
        var out: [Feeder] = []
        for f in [feeder] + declaredGroups.map(\.feeder) {
            if let f, !out.contains(where: { $0.file == f.file }) { out.append(f) }
        }
        return out
    }

    /// True when metrics are also kept per group (`rtt@viewers`): more than one group.
    public var recordsPerGroup: Bool { declaredGroups.count > 1 }

    /// How `total` connections divide among the groups: fixed counts first, in order, as far as
    /// the total goes; what is left by weight (largest remainder). The shares add up to `total`
    /// whenever a group has a weight or the counts reach it (the loader checks every phase).
    public func groupShares(_ total: Int) -> [Int] {
        let groups = self.groups
        var shares = [Int](repeating: 0, count: groups.count)
        var left = total
        for (i, g) in groups.enumerated() {
            if case let .count(n) = g.share {
                shares[i] = Swift.min(n, left)
                left -= shares[i]
            }
        }
        let weights = groups.map { g -> Int in if case let .weight(w) = g.share { return w } else { return 0 } }
        for (i, extra) in Shares.largestRemainder(left, weights: weights).enumerated() { shares[i] += extra }
        return shares
    }

    /// The name a group's share of a latency metric is recorded under (`rtt@viewers`).
    public static func groupMetric(_ metric: String, group: String) -> String { metric + "@" + group }

    /// The latency metrics the loops record: each group's under its own name when metrics are
    /// kept per group (the totals are merged from them), else `measureNames`.
    public var recordedMeasureNames: [String] {
        guard recordsPerGroup else { return measureNames }
        var names: [String] = []
        for g in groups {
            var own = measureNames(of: g)
            if let metric = delivery?.latencyMetric, !own.contains(metric) { own.append(metric) }
            names += own.map { Self.groupMetric($0, group: g.name) }
        }
        return names
    }
}

/// Integer shares of a total.
public enum Shares {
    /// Shares of `total` proportional to `weights`: floors first, then one more to the largest
    /// remainders (ties to the lower index). They add up to `total` when some weight is positive.
    public static func largestRemainder(_ total: Int, weights: [Int]) -> [Int] {
        let sum = weights.reduce(0, +)
        guard sum > 0 else { return weights.map { _ in 0 } }
        var shares = weights.map { total * $0 / sum }
        let remainders = weights.enumerated().map { (index: $0, remainder: total * $1 % sum) }
        var left = total - shares.reduce(0, +)
        for r in remainders.sorted(by: { $0.remainder > $1.remainder || ($0.remainder == $1.remainder && $0.index < $1.index) }) {
            guard left > 0 else { break }
            shares[r.index] += 1
            left -= 1
        }
        return shares
    }
}
