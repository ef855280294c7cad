import Report
import Stats

/// Collects loops' release reports into outcomes, one per (barrier, generation).
public struct BarrierLedger: Sendable {
    typealias Key = BarrierCoordinator.Key

    private var byKey: [Key: BarrierOutcome] = [:]
    private let names: [String]

    public init(names: [String]) { self.names = names }

    /// Adds one loop's report from agent `agent`, whose offsets are already in coordinator time.
    public mutating func add(agent: Int, _ release: BarrierRelease) {
        let key = Key(barrier: release.barrier, generation: release.generation)
        var outcome = byKey[key] ?? empty(key)
        outcome.timedOut = outcome.timedOut || release.timedOut
        outcome.loops.append(.init(agent: agent, release: release))
        byKey[key] = outcome
    }

    /// Notes that the coordinator named the release of (barrier, generation) `lead` ns ahead.
    public mutating func named(barrier: Int, generation: Int, lead: Int64) {
        let key = Key(barrier: barrier, generation: generation)
        var outcome = byKey[key] ?? empty(key)
        outcome.lead = lead
        byKey[key] = outcome
    }

    /// The lead the release of (barrier, generation) was named with.
    public func lead(barrier: Int, generation: Int) -> Int64? {
        byKey[Key(barrier: barrier, generation: generation)]?.lead
    }

    private func empty(_ key: Key) -> BarrierOutcome {
        BarrierOutcome(name: key.barrier < names.count ? names[key.barrier] : "barrier \(key.barrier)",
                       generation: key.generation, timedOut: false, loops: [])
    }

    /// Every outcome with at least one loop's report, by barrier then generation.
    public var outcomes: [BarrierOutcome] {
        byKey.filter { !$0.value.loops.isEmpty }
            .sorted { ($0.key.barrier, $0.key.generation) < ($1.key.barrier, $1.key.generation) }.map(\.value)
    }
}
