import Scenario
import Stats

/// What a run measured: the merged per-second series and each agent's own series.
public struct RunResults: Sendable {
    /// How the run ended.
    public enum Status: String, Sendable {
        case completed
        /// Stopped early (Ctrl-C, a threshold with abort_on_fail, a lost agent under policy abort).
        case aborted
    }

    public var scenario: Scenario
    public var runID: String
    /// The seed every random choice of the run was drawn from (`--seed` repeats them).
    public var seed: UInt64 = 0
    /// Wall-clock start (seconds since the epoch).
    public var startedAt: Double
    /// Measured length in seconds.
    public var duration: Double
    public var status: Status
    public var abortReason: String?
    /// The `abort_on_fail` threshold that stopped the run, as it failed at that moment.
    public var abortingThreshold: ThresholdResult?
    /// Every agent's intervals merged (bucket-exact).
    public var series: IntervalSeries
    public var agents: [AgentResult]
    /// Start spread across agents (µs between the earliest and latest actual start), when measured.
    public var startSpreadMicros: Int64?
    /// Seconds after the start at which the 1000th, 2000th, ... connection was open.
    public var connectionTimeline: [Double] = []
    /// Every barrier generation's release, as measured.
    public var barriers: [BarrierOutcome] = []
    /// Delivery completeness per group (with delivery tracking).
    public var delivery: [GroupCompleteness] = []

    public init(scenario: Scenario, runID: String, startedAt: Double, duration: Double, status: Status,
                abortReason: String? = nil, series: IntervalSeries, agents: [AgentResult], startSpreadMicros: Int64? = nil) {
        self.scenario = scenario
        self.runID = runID
        self.startedAt = startedAt
        self.duration = duration
        self.status = status
        self.abortReason = abortReason
        self.series = series
        self.agents = agents
        self.startSpreadMicros = startSpreadMicros
    }

    /// Everything merged.
    public var totals: MetricSet { series.total }

    /// The scenario's thresholds on what was measured.
    public func evaluateThresholds() -> [ThresholdResult] {
        ThresholdEvaluator.evaluate(scenario, series: series, runSeconds: duration)
    }

    /// What besides the thresholds decides the verdict: lost agents, the load delivered against
    /// the plan, generator-limited seconds.
    public var conditions: RunConditions {
        var c = RunConditions()
        c.lostAgents = agents.compactMap { a in
            a.lostAt.map { "\(a.name) at \(Format.fixed($0, 1)) s\(a.lostReason.map { ": \($0)" } ?? "")" }
        }
        c.delivery = LoadDelivery.evaluate(scenario, series: series, runSeconds: duration)
        c.maxShortfall = scenario.options.maxShortfall
        c.generatorPolicy = scenario.options.generatorLimited
        c.generatorLimitedSeconds = series.counterSeries("generator.limited").filter { $0.value > 0 }.map(\.second)
        return c
    }

    /// The verdict, given the thresholds' results.
    public func verdict(_ thresholds: [ThresholdResult]) -> Verdict {
        Verdict.decide(results: thresholds, abortReason: abortReason, abortingThreshold: abortingThreshold, conditions: conditions)
    }
}

/// One agent's part of a run.
public struct AgentResult: Sendable {
    public var index: Int
    public var name: String
    public var host: String
    /// Seconds after the start at which the agent was lost, if it was.
    public var lostAt: Double?
    public var lostReason: String?
    public var series: IntervalSeries
    /// Estimated clock offset from the coordinator (ns), and the round trip of its best probe.
    public var clockOffset: Int64?
    public var clockRoundTrip: Int64?
    /// Control-plane bytes the coordinator received from and sent to this agent.
    public var controlBytesReceived: Int = 0
    public var controlBytesSent: Int = 0
    /// When the agent actually began, relative to the named start (ns, coordinator time).
    public var startOffset: Int64?

    public init(index: Int, name: String, host: String, lostAt: Double? = nil, lostReason: String? = nil,
                series: IntervalSeries, clockOffset: Int64? = nil, clockRoundTrip: Int64? = nil) {
        self.index = index
        self.name = name
        self.host = host
        self.lostAt = lostAt
        self.lostReason = lostReason
        self.series = series
        self.clockOffset = clockOffset
        self.clockRoundTrip = clockRoundTrip
    }
}
