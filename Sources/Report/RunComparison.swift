import Scenario
/// A run against a baseline: p99 latency of every latency metric both measured, throughput and
/// error rate, each judged against the allowed regression.
public struct RunComparison: Sendable {
    public struct Row: Sendable {
        public var name: String
        public var baseline: String
        public var current: String
        /// "+12.3%", "-4.0%", "+0.20pp".
        public var change: String
        /// Whether the row counts toward the verdict (p99, throughput, error rate) or is context.
        public var judged: Bool
        public var regressed: Bool
    }

    /// Latency changes smaller than this (µs) are not regressions whatever their percentage:
    /// 20 µs against 25 µs is scheduler noise on a loopback run, not a slower system.
    public static let latencyFloorMicros: Int64 = 100
    /// Error-rate increases below this many percentage points are not regressions (0 → 0.01%
    /// is infinitely worse in relative terms and means one failed message in ten thousand).
    public static let errorRateFloor = 0.001

    public var rows: [Row]
    public var maxRegression: Double
    /// Why the two runs may not be comparable (different scenarios, a run aborted).
    public var warnings: [String]

    public var regressions: [Row] { rows.filter(\.regressed) }
    public var passed: Bool { regressions.isEmpty }

    /// Compares `current` to `baseline`, allowing `maxRegression` (0.10 = 10 %).
    public init(baseline: RunReport, current: RunReport, maxRegression: Double) {
        self.maxRegression = maxRegression
        var rows: [Row] = []
        var warnings: [String] = []
        if baseline.scenario != current.scenario {
            warnings.append("the runs are of different scenarios (\"\(baseline.scenario)\" and \"\(current.scenario)\")")
        }
        for (label, r) in [("baseline", baseline), ("current", current)] where r.status != "completed" {
            warnings.append("the \(label) run was \(r.status)\(r.abortReason.map { " (\($0))" } ?? ""): its figures cover part of the plan")
        }
        let names = current.latencyNames.filter { baseline.totals.latencies[$0].map { $0.count > 0 } ?? false }
        for name in names {
            let b = baseline.totals.latencies[name]!, c = current.totals.latencies[name]!
            rows.append(Self.latencyRow("p50(\(name))", b.p50, c.p50, judged: false, maxRegression))
            rows.append(Self.latencyRow("p99(\(name))", b.p99, c.p99, judged: true, maxRegression))
            rows.append(Self.latencyRow("max(\(name))", b.max, c.max, judged: false, maxRegression))
        }
        // Each phase both runs had, by name: p99 of the scenario's own latencies, for context (a
        // regression that only shows in the spike is worth seeing; the whole-run p99 is judged).
        for phase in current.phases {
            guard let c = phase.totals, let b = baseline.phases.first(where: { $0.name == phase.name })?.totals else { continue }
            for name in names where !MetricCatalog.builtInHistograms.contains(name) {
                guard let bl = b.latencies[name], let cl = c.latencies[name], bl.count > 0, cl.count > 0 else { continue }
                rows.append(Self.latencyRow("p99(\(name)) [\(phase.name)]", bl.p99, cl.p99, judged: false, maxRegression))
            }
        }
        for name in baseline.latencyNames where current.totals.latencies[name].map({ $0.count == 0 }) ?? true {
            warnings.append("\(name) was measured in the baseline but not in this run")
        }
        // Throughput: what came back (received), or what went out when nothing is received.
        let metric = baseline.totals.counter("messages.received") > 0 ? "received" : "sent"
        let bRate = metric == "received" ? baseline.receiveRate : baseline.sendRate
        let cRate = metric == "received" ? current.receiveRate : current.sendRate
        let drop = bRate > 0 ? (bRate - cRate) / bRate : 0
        rows.append(Row(name: "messages \(metric)/s", baseline: Format.count(bRate), current: Format.count(cRate),
                        change: Self.relative(bRate, cRate), judged: bRate > 0, regressed: bRate > 0 && drop > maxRegression))
        let bErr = baseline.totals.errorRate, cErr = current.totals.errorRate
        let allowed = Swift.max(Self.errorRateFloor, bErr * maxRegression)
        rows.append(Row(name: "error rate", baseline: Format.percent(bErr), current: Format.percent(cErr),
                        change: (cErr - bErr >= 0 ? "+" : "") + Format.fixed((cErr - bErr) * 100, 2) + "pp",
                        judged: true, regressed: cErr - bErr > allowed))
        let bAttempted = baseline.totals.counter("connections.attempted"), cAttempted = current.totals.counter("connections.attempted")
        if bAttempted > 0 && cAttempted > 0 {
            let b = Double(baseline.totals.counter("connections.opened")) / Double(bAttempted)
            let c = Double(current.totals.counter("connections.opened")) / Double(cAttempted)
            rows.append(Row(name: "connect success", baseline: Format.percent(b), current: Format.percent(c),
                            change: (c - b >= 0 ? "+" : "") + Format.fixed((c - b) * 100, 2) + "pp", judged: false, regressed: false))
        }
        self.rows = rows
        self.warnings = warnings
    }

    static func latencyRow(_ name: String, _ b: Int64, _ c: Int64, judged: Bool, _ maxRegression: Double) -> Row {
        let growth = Double(c) - Double(b)   // in Double: figures read from files may be anything
        let worse = b > 0 ? growth / Double(b) : (c > 0 ? Double.infinity : 0)
        let regressed = judged && worse > maxRegression && growth > Double(latencyFloorMicros)
        return Row(name: name, baseline: Format.micros(b), current: Format.micros(c), change: relative(Double(b), Double(c)),
                   judged: judged, regressed: regressed)
    }

    /// "+12.3%" from `b` to `c`.
    static func relative(_ b: Double, _ c: Double) -> String {
        guard b != 0 else { return c == 0 ? "0%" : "new" }
        let p = (c - b) / b * 100
        return (p >= 0 ? "+" : "") + Format.fixed(p, 1) + "%"
    }

    /// The side-by-side table and the verdict line.
    public func render(baselineName: String, currentName: String) -> String {
        let width = Swift.max(18, (rows.map(\.name.count).max() ?? 0) + 2)
        var out = Format.left("", width) + Format.right("baseline", 12) + Format.right("current", 12) + Format.right("change", 10) + "\n"
        for r in rows {
            out += Format.left(r.name, width) + Format.right(r.baseline, 12) + Format.right(r.current, 12) + Format.right(r.change, 10)
            if r.regressed { out += "  REGRESSION" }
            out += "\n"
        }
        out += "judged against the limit: " + rows.filter(\.judged).map(\.name).joined(separator: ", ") + "\n"
        for w in warnings { out += "warning: \(w)\n" }
        let limit = Format.fixed(maxRegression * 100, maxRegression * 100 == (maxRegression * 100).rounded() ? 0 : 1) + "%"
        if passed {
            out += "\nno regression beyond \(limit): \(currentName) against \(baselineName)\n"
        } else {
            out += "\nREGRESSION beyond \(limit): " + regressions.map { "\($0.name) \($0.baseline) -> \($0.current) (\($0.change))" }.joined(separator: "; ") + "\n"
        }
        return out
    }
}
