import Net
import Report
import Scenario
import Stats
#if canImport(Glibc)
import Glibc
#endif

/// Live progress, once per interval: a refreshing status line on a terminal, one line per
/// interval otherwise (logs, CI).
public struct ProgressPrinter {
    private let interactive: Bool
    private let scenario: Scenario
    private var lastLength = 0

    public init(scenario: Scenario, interactive: Bool = Terminal.standardOutputIsTerminal) {
        self.scenario = scenario
        self.interactive = interactive
    }

    /// The line for interval `second` (whose metrics are `set`); `agents` describes the cluster.
    public func line(second: Int, set: MetricSet, agents: (connected: Int, lost: Int)? = nil) -> String {
        let elapsed = Int64(second + 1) * 1_000_000_000
        let phase = LoadSlice.phase(at: elapsed - 1, in: scenario).map { scenario.phases[$0.index].name } ?? "ending"
        var parts = ["[\(Format.right("\(second + 1)s", 5))] \(Format.left(phase, 10))"]
        parts.append("conns \(Format.count(Double(set.gauge("connections.open"))))")
        parts.append("sent \(Format.count(Double(set.counter("messages.sent"))))/s")
        parts.append("recv \(Format.count(Double(set.counter("messages.received"))))/s")
        for name in scenario.measureNames.prefix(2) {
            if let h = set.histograms[name], !h.isEmpty {
                parts.append("\(name) p50 \(Format.micros(h.value(atPercentile: 50))) p99 \(Format.micros(h.value(atPercentile: 99)))")
            }
        }
        if scenario.measureNames.isEmpty, let h = set.histograms["connect"], !h.isEmpty {
            parts.append("connect p99 \(Format.micros(h.value(atPercentile: 99)))")
        }
        let errors = set.errorCount
        parts.append("errors \(errors)")
        if let agents {
            parts.append("agents \(agents.connected)\(agents.lost > 0 ? " (\(agents.lost) lost)" : "")")
        }
        return parts.joined(separator: "  ")
    }

    /// Prints the line for an interval.
    public mutating func show(second: Int, set: MetricSet, agents: (connected: Int, lost: Int)? = nil) {
        let text = line(second: second, set: set, agents: agents)
        if interactive {
            let pad = lastLength > text.count ? String(repeating: " ", count: lastLength - text.count) : ""
            write("\r" + text + pad)
            lastLength = text.count
        } else {
            write(text + "\n")
        }
    }

    /// Ends the refreshing line (before the summary).
    public mutating func finish() {
        if interactive && lastLength > 0 { write("\n") }
        lastLength = 0
    }

    private func write(_ s: String) {
        var text = s
        text.withUTF8 { _ = Glibc.write(1, $0.baseAddress, $0.count) }
    }
}
