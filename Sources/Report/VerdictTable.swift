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

    /// One line per threshold (✓/✗, expression, scope, observed, limit), then the verdict.
    public static func render(_ results: [ThresholdResult], verdict: Verdict, stoppedBy: ThresholdResult? = nil) -> String {
        var out = ""
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
