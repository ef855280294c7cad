import Report
import Scenario
import Stats

/// The run's seconds, assembled from the agents' reports: each report merges into the run's
/// series at once; a second is handed on (to progress, the live views and the abort_on_fail
/// thresholds) once every live agent has reported it, or once it is two seconds overdue.
/// One pipeline for every run, local or cluster.
struct IntervalPipeline {
    /// Every agent's reports merged, second by second (bucket-exact).
    private(set) var merged = IntervalSeries()
    /// Seconds handed on so far.
    private(set) var handedOn = 0
    private var monitor: ThresholdMonitor
    /// The abort_on_fail threshold that failed, once one has.
    private(set) var failing: ThresholdResult?

    /// How long a second waits for a slow agent before it is handed on without it.
    static let overdueSeconds = 2

    init(scenario: Scenario) {
        monitor = ThresholdMonitor(scenario: scenario)
    }

    /// Merges one agent's report of `second`.
    mutating func add(_ metrics: CompactMetricSet, second: Int) {
        merged.merge(metrics, at: second)
    }

    /// The seconds now ready, in order, with their merged measurements. `reportedThrough` is
    /// the first second some live agent has not reported yet (nil when no agent is live);
    /// `elapsed` is the run time in whole seconds. Each ready second is also checked against
    /// the abort_on_fail thresholds (see `failing`).
    mutating func takeReady(reportedThrough: Int?, elapsed: Int) -> [(second: Int, metrics: MetricSet)] {
        let newest = merged.seconds.last.map { $0 + 1 } ?? 0
        let overdue = Swift.min(elapsed - Self.overdueSeconds, newest)
        let ready = Swift.max(reportedThrough.map { Swift.min($0, newest) } ?? newest, overdue)
        var out: [(Int, MetricSet)] = []
        while handedOn < ready {
            let interval = merged[handedOn]
            if failing == nil && monitor.isWatching {
                monitor.record(interval, second: handedOn)
                failing = monitor.failing(elapsed: Double(handedOn + 1))
            }
            out.append((handedOn, interval))
            handedOn += 1
        }
        return out
    }
}
