import JSON

/// The JSON a failed run posts to `--notify-url`: a Slack-style `text` line people read in a
/// channel, and the same facts as fields for programs (run, verdict, failed thresholds, figures).
public enum WebhookPayload {
    /// The payload for `report`; `reportLocation` is where the HTML report was written.
    public static func build(_ report: RunReport, reportLocation: String?) -> JSONValue {
        let failed = report.thresholds.filter { !$0.passed }
        var text = "volley: \(report.scenario) \(report.verdict.status.word)"
        text += " (run \(report.runID), \(Format.fixed(report.duration, 1)) s"
        if report.agents.count > 1 { text += ", \(report.agents.count) agents" }
        text += ")"
        for t in failed { text += "\n• \(t.label): \(t.observedText) (limit \(t.comparison) \(t.limitText))\(t.stoppedRun ? ", stopped the run" : "")" }
        if report.verdict.status == .aborted { text += "\n• \(report.verdict.reason)" }
        let figures = keyFigures(report)
        text += "\n" + figures.map { "\($0.0) \($0.1)" }.joined(separator: " · ")
        if let reportLocation { text += "\nreport: \(reportLocation)" }
        return .object([
            ("text", .string(text)),
            ("run", .object([("id", .string(report.runID)), ("scenario", .string(report.scenario)),
                             ("started_at", .string(report.startedAt)), ("duration_seconds", .double(report.duration)),
                             ("status", .string(report.status)), ("agents", .integer(Int64(report.agents.count)))])),
            ("verdict", .object([("status", .string(report.verdict.status.rawValue)), ("exit_code", .integer(Int64(report.verdict.exitCode))),
                                 ("reason", .string(report.verdict.reason))])),
            ("failed_thresholds", .array(failed.map { t in
                .object([("expression", .string(t.expression)), ("phase", t.phase.map { .string($0) } ?? .null),
                         ("observed", t.observed.map { .double($0) } ?? .null), ("observed_text", .string(t.observedText)),
                         ("limit_text", .string("\(t.comparison) \(t.limitText)")), ("stopped_run", .bool(t.stoppedRun))])
            })),
            ("figures", .object(figures.map { ($0.0, .string($0.1)) })),
            ("report", reportLocation.map { .string($0) } ?? .null),
        ])
    }

    /// The figures a person wants first: connections, throughput, errors, p99 of each latency.
    public static func keyFigures(_ report: RunReport) -> [(String, String)] {
        let t = report.totals
        var figures: [(String, String)] = [
            ("connections", "\(t.counter("connections.opened"))/\(t.counter("connections.attempted"))"),
            ("received/s", Format.count(report.receiveRate)),
            ("error rate", Format.percent(t.errorRate)),
        ]
        for name in report.latencyNames { if let l = t.latencies[name] { figures.append(("p99(\(name))", Format.micros(l.p99))) } }
        return figures
    }
}
