import Scenario
import Stats

/// The per-interval figures of a run in the formats other tools read: HdrHistogram interval logs
/// (one `.hlog` per latency metric) and a CSV of the per-second figures.
public enum IntervalExports {
    /// One interval log per histogram with data: (metric name, log text). Each line is one
    /// second's histogram, so HdrHistogram's HistogramLogProcessor can re-slice the run.
    public static func histogramLogs(_ series: IntervalSeries, startedAt: Double, runID: String) -> [(metric: String, text: String)] {
        let seconds = series.seconds
        var names = Set<String>()
        for second in seconds { for (name, h) in series.compact(second).histograms where !h.isEmpty { names.insert(name) } }
        return names.sorted().map { name in
            var log = HistogramLogWriter(startTime: startedAt, comment: "volley run \(runID), metric \(name), values in microseconds")
            for second in seconds {
                guard let h = series.compact(second).histograms[name], !h.isEmpty else { continue }
                log.append(tag: nil, intervalStart: Double(second), intervalLength: 1, histogram: h.expanded())
            }
            return (name, log.text)
        }
    }

    /// A file name for a metric's log: its name with anything but letters, digits, '-', '_' and
    /// '.' replaced, so a metric cannot name a path outside the results directory.
    public static func fileName(metric: String) -> String {
        let safe = String(metric.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
        return (safe.isEmpty || safe.first == "." ? "metric" + safe : safe) + ".hlog"
    }

    /// The counters every row carries, in this order, before the histograms' columns.
    static let counterColumns = ["connections.attempted", "connections.opened", "connections.closed", "messages.sent",
                                 "messages.received", "bytes.sent", "bytes.received"]

    /// `series.csv`: one row per second: open connections, the main counters, errors, and for
    /// each histogram its count, p50, p90, p99 and max in microseconds.
    public static func csv(_ series: IntervalSeries, histograms: [String]) -> String {
        let seconds = series.seconds
        var present = Set<String>()
        for second in seconds { for (name, h) in series.compact(second).histograms where !h.isEmpty { present.insert(name) } }
        let names = histograms.filter(present.contains) + present.subtracting(histograms).sorted()
        var header = ["second", "connections_open"] + counterColumns.map { $0.replacingDots() } + ["errors"]
        for name in names { header += ["count", "p50_us", "p90_us", "p99_us", "max_us"].map { "\(name)_\($0)" } }
        var out = header.map(csvField).joined(separator: ",") + "\n"
        for second in seconds {
            let set = series.compact(second)
            var row = [String(second), String(set.gauges["connections.open"] ?? 0)]
            row += counterColumns.map { String(set.counters[$0] ?? 0) }
            row.append(String(set.counters.filter { MetricCatalog.isErrorClass($0.key) }.values.reduce(0, +)))
            for name in names {
                guard let h = set.histograms[name], !h.isEmpty else {
                    row += ["0", "", "", "", ""]
                    continue
                }
                let v = h.values(atPercentiles: [50, 90, 99])
                row += [String(h.totalCount), String(v[0]), String(v[1]), String(v[2]), String(h.max)]
            }
            out += row.joined(separator: ",") + "\n"
        }
        return out
    }

    /// A CSV field, quoted when it holds a comma, quote or line break (RFC 4180).
    static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingQuotes() + "\""
    }
}

extension String {
    fileprivate func replacingDots() -> String { String(map { $0 == "." ? "_" : $0 }) }
    fileprivate func replacingQuotes() -> String {
        var out = ""
        for c in self { out += c == "\"" ? "\"\"" : String(c) }
        return out
    }
}
