import Scenario
import Stats

/// A threshold's verdict over a run's (or one phase's) measurements.
public struct ThresholdResult: Sendable, Equatable {
    public var threshold: Threshold
    /// The observed figure in the threshold's unit (µs, a count, per second, a fraction); nil
    /// when there was nothing to measure.
    public var observed: Double?
    public var passed: Bool
    /// For a threshold judged second by second: how the seconds went.
    public var seconds: SecondsJudgement?

    public init(threshold: Threshold, observed: Double?, passed: Bool, seconds: SecondsJudgement? = nil) {
        self.threshold = threshold
        self.observed = observed
        self.passed = passed
        self.seconds = seconds
    }

    /// The observed figure as people read it ("12.3ms", "0.52%", "1.20k/s", "0"), or why there is
    /// none; for a threshold judged per second, the share of seconds it held in.
    public var observedText: String {
        if let seconds {
            guard seconds.judged > 0 else { return "no second measured" }
            return "held in \(Format.percent(seconds.share)) of \(seconds.judged) s"
        }
        guard let observed else { return threshold.quantity.metric.map { "no \($0) measurements" } ?? "nothing measured" }
        return ThresholdEvaluator.describe(observed, threshold.quantity.unit)
    }

    /// "p99(rtt) = 12.3ms, limit < 100ms".
    public var summary: String {
        "\(threshold.label): \(observedText) (limit \(threshold.comparison.rawValue) \(ThresholdEvaluator.describe(threshold.limit, threshold.quantity.unit)))"
    }
}

/// How a threshold judged second by second went: the seconds judged (those with something
/// measured), the ones it held in, and which failed.
public struct SecondsJudgement: Sendable, Equatable {
    /// The share of seconds it must hold in.
    public var required: Double
    public var judged: Int
    public var held: Int
    /// The seconds (from 0) in which it failed.
    public var failedSeconds: [Int]

    public init(required: Double, judged: Int, held: Int, failedSeconds: [Int]) {
        self.required = required
        self.judged = judged
        self.held = held
        self.failedSeconds = failedSeconds
    }

    public var share: Double { judged > 0 ? Double(held) / Double(judged) : 0 }
    public var passed: Bool { judged > 0 && share >= required - 1e-12 }
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
        let planned = 0..<Swift.max(0, Int((Double(scenario.duration) / 1e9).rounded(.up)))
        return scenario.thresholds.map { t in
            var result: ThresholdResult
            var scope = planned
            if let phase = t.phase, let window = PhaseWindow(phase, in: scenario) {
                if phaseTotals[phase] == nil { phaseTotals[phase] = series.total(seconds: window.seconds) }
                result = evaluate(t, in: phaseTotals[phase]!, seconds: window.measuredLength(runSeconds: runSeconds))
                scope = window.seconds
            } else {
                result = evaluate(t, in: totals, seconds: runSeconds)
            }
            if let share = t.secondsShare {
                let judgement = judgeSeconds(t, share: share, series: series, seconds: scope.clamped(to: 0..<Swift.max(0, Int(runSeconds.rounded(.up)))))
                result.seconds = judgement
                result.passed = judgement.passed
            }
            return result
        }
    }

    /// Judges `threshold` on each second of `range` on its own (seconds with nothing to measure
    /// are not judged).
    public static func judgeSeconds(_ threshold: Threshold, share: Double, series: IntervalSeries, seconds range: Range<Int>) -> SecondsJudgement {
        var judged = 0, held = 0
        var failed: [Int] = []
        for second in series.seconds where range.contains(second) {
            let r = evaluate(threshold, in: series[second], seconds: 1)
            guard r.observed != nil else { continue }
            judged += 1
            if r.passed { held += 1 } else { failed.append(second) }
        }
        return SecondsJudgement(required: share, judged: judged, held: held, failedSeconds: failed)
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
    /// Per second-judged threshold (by index in `watched`): the seconds it failed in so far.
    private var failedSeconds: [Int: Int] = [:]

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
        for (i, t) in watched.enumerated() where t.secondsShare != nil {
            if let phase = t.phase, let window = PhaseWindow(phase, in: scenario), !window.seconds.contains(second) { continue }
            let r = ThresholdEvaluator.evaluate(t, in: interval, seconds: 1)
            if r.observed != nil && !r.passed { failedSeconds[i, default: 0] += 1 }
        }
    }

    /// The first watched threshold that fails on what was recorded by `elapsed` seconds. A threshold is checked once its grace has passed since
    /// the start of its scope (the run or its phase); one with nothing measured yet waits. A
    /// threshold judged per second fails once it failed in more seconds than its share allows
    /// over the whole scope: it can no longer pass.
    public func failing(elapsed: Double) -> ThresholdResult? {
        for (i, t) in watched.enumerated() {
            let grace = Double(t.abortGrace) / 1e9
            let window = t.phase.flatMap { PhaseWindow($0, in: scenario) }
            let scopeStart = window?.start ?? 0
            guard elapsed >= scopeStart + grace else { continue }
            if let share = t.secondsShare {
                let scope = window.map { Double($0.seconds.count) } ?? (Double(scenario.duration) / 1e9).rounded(.up)
                let failed = failedSeconds[i] ?? 0
                if Double(failed) > (1 - share) * scope + 1e-9 {
                    return ThresholdResult(threshold: t, observed: nil, passed: false,
                                           seconds: SecondsJudgement(required: share, judged: failed, held: 0, failedSeconds: []))
                }
                continue
            }
            let result: ThresholdResult
            if let phase = t.phase, let window {
                guard let set = phaseTotals[phase] else { continue }
                result = ThresholdEvaluator.evaluate(t, in: set, seconds: Swift.min(elapsed, window.end) - window.start)
            } else {
                result = ThresholdEvaluator.evaluate(t, in: totals, seconds: elapsed)
            }
            if result.observed != nil && !result.passed { return result }
        }
        return nil
    }
}
