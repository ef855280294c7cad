import Scenario

/// The thresholds and the verdict as the terminal shows them at the end of a run.
public enum VerdictTable {
    /// What to say about a scenario without thresholds: it cannot fail, and the usual starting
    /// point (the design's default service levels) for its own latency metric.
    public static func noThresholdsHint(_ scenario: Scenario) -> String {
        let metric = scenario.measureNames.first ?? "connect"
        return """
        note: no thresholds, so every run passes whatever it measures. A usual start:
          thresholds:
            - p99(\(metric)) < 100ms
            - error_rate < 1%
            - connect_success > 99%
        """
    }

    /// One line per threshold (✓/✗, expression, scope, observed, limit), the load delivered
    /// against the plan when it fell short or the generator was saturated, then the verdict.
    public static func render(_ results: [ThresholdResult], verdict: Verdict, stoppedBy: ThresholdResult? = nil,
                              conditions: RunConditions = RunConditions()) -> String {
        var out = ""
        if !conditions.shortPhases.isEmpty || !conditions.generatorLimitedSeconds.isEmpty {
            out += "\nload delivered against the plan:\n"
            for d in conditions.delivery {
                out += "  \(d.shortfall <= conditions.maxShortfall + 1e-12 ? "✓" : "✗") \(Format.left(d.phase, 14)) connections \(Format.percent(1 - d.connectionShortfall))"
                if let m = d.messageShortfall { out += ", messages \(Format.percent(1 - m))" }
                out += " of plan\n"
            }
            if !conditions.generatorLimitedSeconds.isEmpty {
                out += "  ! generator-limited in \(conditions.generatorLimitedSeconds.count) second\(conditions.generatorLimitedSeconds.count == 1 ? "" : "s"): "
                out += conditions.generatorLimitedSeconds.prefix(12).map { String($0 + 1) }.joined(separator: ", ")
                out += conditions.generatorLimitedSeconds.count > 12 ? ", …\n" : "\n"
            }
        }
        if !results.isEmpty {
            let width = Swift.max(24, (results.map(\.threshold.label.count).max() ?? 0) + 2)
            out += "\nthresholds:\n"
            for r in results {
                out += "  \(r.passed ? "✓" : "✗") \(Format.left(r.threshold.label, width)) \(Format.right(r.observedText, 12))"
                if !r.passed { out += "   limit \(r.threshold.comparison.rawValue) \(ThresholdEvaluator.describe(r.threshold.limit, r.threshold.quantity.unit))" }
                if let stoppedBy, stoppedBy.threshold == r.threshold { out += "   stopped the run at \(stoppedBy.observedText)" }
                out += "\n"
            }
        }
        let word = verdict.status.word
        if results.isEmpty && verdict.status == .passed { out += "\n(no thresholds: every run of this scenario passes; see volley validate)\n" }
        out += "\nverdict: \(word) (exit \(verdict.exitCode)) - \(verdict.reason)\n"
        return out
    }
}
