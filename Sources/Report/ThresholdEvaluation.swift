import Scenario
import Stats

/// A threshold's verdict over a run's (or one phase's) measurements.
public struct ThresholdResult: Sendable, Equatable {
    public var threshold: Threshold
    /// The observed figure in the threshold's unit (µs, a count, per second, a fraction); nil
    /// when there was nothing to measure.
    public var observed: Double?
    public var passed: Bool

    public init(threshold: Threshold, observed: Double?, passed: Bool) {
        self.threshold = threshold
        self.observed = observed
        self.passed = passed
    }

    /// The observed figure as people read it ("12.3ms", "0.52%", "1.20k/s", "0"), or why there is none.
    public var observedText: String {
        guard let observed else { return threshold.quantity.metric.map { "no \($0) measurements" } ?? "nothing measured" }
        return ThresholdEvaluator.describe(observed, threshold.quantity.unit)
    }

    /// "p99(rtt) = 12.3ms, limit < 100ms".
    public var summary: String {
        "\(threshold.label): \(observedText) (limit \(threshold.comparison.rawValue) \(ThresholdEvaluator.describe(threshold.limit, threshold.quantity.unit)))"
    }
}

/// Evaluates thresholds on merged measurements.
public enum ThresholdEvaluator {
    /// The figure `quantity` names in `metrics`, measured over `seconds`.
    public static func observe(_ quantity: Threshold.Quantity, in metrics: MetricSet, seconds: Double) -> Double? {
        func histogram(_ name: String) -> HDRHistogram? {
            guard let h = metrics.histograms[name], !h.isEmpty else { return nil }
            return h
        }
        func events(_ name: String) -> Int64 {
            MetricCatalog.isCounter(name) ? metrics.counter(name) : metrics.histograms[name]?.totalCount ?? 0
        }
        switch quantity {
        case let .percentile(p, name): return histogram(name).map { Double($0.value(atPercentile: p)) }
        case let .max(name): return histogram(name).map { Double($0.max) }
        case let .min(name): return histogram(name).map { Double($0.min) }
        case let .mean(name): return histogram(name).map(\.mean)
        case let .stddev(name): return histogram(name).map(\.standardDeviation)
        case let .count(name): return Double(events(name))
        case let .rate(name): return seconds > 0 ? Double(events(name)) / seconds : nil
        case .errorRate:
            return MetricCatalog.errorRate(errors: metrics.errorCount, connectionsAttempted: metrics.counter("connections.attempted"),
                                           messagesSent: metrics.counter("messages.sent"))
        case .connectSuccess:
            let attempted = metrics.counter("connections.attempted")
            return attempted > 0 ? Double(metrics.counter("connections.opened")) / Double(attempted) : nil
        }
    }

    /// One threshold over `metrics` measured for `seconds`. Nothing to measure is a failure: a
    /// threshold on a latency nobody recorded says nothing good about the system.
    public static func evaluate(_ threshold: Threshold, in metrics: MetricSet, seconds: Double) -> ThresholdResult {
        let observed = observe(threshold.quantity, in: metrics, seconds: seconds)
        let passed = observed.map { threshold.comparison.holds($0, threshold.limit) } ?? false
        return ThresholdResult(threshold: threshold, observed: observed, passed: passed)
    }

    /// Every threshold of `scenario` over the run's series, lasting `runSeconds`: whole-run ones
    /// on the totals, phase ones on that phase's intervals.
    public static func evaluate(_ scenario: Scenario, series: IntervalSeries, runSeconds: Double) -> [ThresholdResult] {
        let totals = series.total
        var phaseTotals: [String: MetricSet] = [:]
        return scenario.thresholds.map { t in
            guard let phase = t.phase, let window = PhaseWindow(phase, in: scenario) else {
                return evaluate(t, in: totals, seconds: runSeconds)
            }
            if phaseTotals[phase] == nil { phaseTotals[phase] = series.total(seconds: window.seconds) }
            return evaluate(t, in: phaseTotals[phase]!, seconds: window.measuredLength(runSeconds: runSeconds))
        }
    }

    /// A figure in a unit, as reports print it.
    public static func describe(_ value: Double, _ unit: Threshold.Unit) -> String {
        switch unit {
        case .microseconds: return Format.micros(value)
        case .fraction: return Format.percent(value)
        case .perSecond: return Format.count(value) + "/s"
        case .count: return Format.count(value)
        }
    }
}

/// Where a phase lies in a run's one-second intervals.
public struct PhaseWindow: Sendable, Equatable {
    /// Seconds from the run's start.
    public var start: Double
    public var end: Double

    /// The window of the phase named `name`, if the scenario has one.
    public init?(_ name: String, in scenario: Scenario) {
        var start: Int64 = 0
        for phase in scenario.phases {
            if phase.name == name {
                self.start = Double(start) / 1e9
                self.end = Double(start + phase.duration) / 1e9
                return
            }
            start += phase.duration
        }
        return nil
    }

    /// The intervals that belong to the phase: every second that starts in it, and the second it
    /// starts in (a second shared by two phases counts in both).
    public var seconds: Range<Int> {
        let first = Int(start.rounded(.down))
        return first..<Swift.max(first + 1, Int(end.rounded(.up)))
    }

    /// How long the phase really ran in a run that lasted `runSeconds`.
    public func measuredLength(runSeconds: Double) -> Double {
        Swift.max(0, Swift.min(end, runSeconds) - start)
    }
}

/// Watches the thresholds marked `abort_on_fail` while a run goes on, one interval at a time.
public struct ThresholdMonitor: Sendable {
    private let scenario: Scenario
    private let watched: [Threshold]
    private var phaseTotals: [String: MetricSet] = [:]
    private var totals = MetricSet()

    public init(scenario: Scenario) {
        self.scenario = scenario
        watched = scenario.thresholds.filter(\.abortOnFail)
    }

    /// True when any threshold can stop the run.
    public var isWatching: Bool { !watched.isEmpty }

    /// Notes interval `second`'s merged measurements (for phase-scoped thresholds).
    public mutating func record(_ interval: MetricSet, second: Int) {
        guard isWatching else { return }
        totals.merge(interval)
        for phase in Set(watched.compactMap(\.phase)) {
            guard let window = PhaseWindow(phase, in: scenario), window.seconds.contains(second) else { continue }
            phaseTotals[phase, default: MetricSet()].merge(interval)
        }
    }

    /// The first watched threshold that fails on what was recorded by `elapsed` seconds. A threshold is checked once its grace period has passed since
    /// the start of its scope (the run or its phase); one with nothing measured yet waits.
    public func failing(elapsed: Double) -> ThresholdResult? {
        for t in watched {
            let grace = Double(t.abortGrace) / 1e9
            let result: ThresholdResult
            if let phase = t.phase, let window = PhaseWindow(phase, in: scenario) {
                guard elapsed >= window.start + grace, let set = phaseTotals[phase] else { continue }
                result = ThresholdEvaluator.evaluate(t, in: set, seconds: Swift.min(elapsed, window.end) - window.start)
            } else {
                guard elapsed >= grace else { continue }
                result = ThresholdEvaluator.evaluate(t, in: totals, seconds: elapsed)
            }
            if result.observed != nil && !result.passed { return result }
        }
        return nil
    }
}
