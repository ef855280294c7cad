/// A run's metrics second by second, merged exactly from any number of sources (event loops,
/// agents) that report the same interval.
///
/// Memory stays proportional to what was measured, not to the histogram layout: intervals are
/// merged into dense histograms only while they are recent (sources report within seconds of
/// each other), then sealed into compact form. A running total is kept as reports arrive.
/// With `keepsIntervalHistograms` false (per-agent series), intervals keep only counters and
/// gauges and histograms go into the total alone.
public struct IntervalSeries: Sendable {
    public let keepsIntervalHistograms: Bool
    private var sealed: [Int: CompactMetricSet] = [:]
    private var open: [Int: MetricSet] = [:]
    private var runningTotal = MetricSet()
    private var gaugePeaks: [String: Int64] = [:]
    private var newest = Int.min

    /// Intervals at least this far behind the newest are sealed.
    static let openWindow = 4

    public init(keepsIntervalHistograms: Bool = true) {
        self.keepsIntervalHistograms = keepsIntervalHistograms
    }

    /// Merges a source's dense set for interval `second`.
    public mutating func merge(_ set: MetricSet, at second: Int) {
        merge(CompactMetricSet(set), dense: set, at: second)
    }

    /// Merges a source's compact set (an agent's report) for interval `second`.
    public mutating func merge(_ set: CompactMetricSet, at second: Int) {
        merge(set, dense: nil, at: second)
    }

    private mutating func merge(_ set: CompactMetricSet, dense: MetricSet?, at second: Int) {
        // The running total.
        if let dense {
            runningTotal.merge(MetricSet(histograms: dense.histograms, counters: dense.counters))
        } else {
            runningTotal.merge(CompactMetricSet(histograms: set.histograms, counters: set.counters))
        }
        // The interval.
        let stored = keepsIntervalHistograms ? set : CompactMetricSet(counters: set.counters, gauges: set.gauges)
        if let late = sealed[second] {
            // A late report for a sealed interval: reopen it just for this merge.
            var interval = late.expanded()
            interval.merge(stored)
            sealed[second] = CompactMetricSet(interval)
            notePeaks(interval.gauges)
        } else {
            if open[second] == nil { open[second] = MetricSet() }
            if let dense, keepsIntervalHistograms {
                open[second]!.merge(dense)
            } else {
                open[second]!.merge(stored)
            }
            notePeaks(open[second]!.gauges)
        }
        if second > newest {
            newest = second
            for s in open.keys where s <= newest - Self.openWindow { seal(s) }
        }
    }

    private mutating func notePeaks(_ gauges: [String: Int64]) {
        for (name, value) in gauges { gaugePeaks[name] = Swift.max(gaugePeaks[name] ?? value, value) }
    }

    private mutating func seal(_ second: Int) {
        guard let interval = open.removeValue(forKey: second) else { return }
        sealed[second] = CompactMetricSet(interval)
    }

    /// Merges every interval of another series.
    public mutating func merge(_ other: IntervalSeries) {
        for second in other.seconds { merge(other.compact(second), at: second) }
    }

    /// The interval numbers present, in order.
    public var seconds: [Int] { (Array(sealed.keys) + Array(open.keys)).sorted() }

    /// Everything merged: counters and histograms summed, gauges at their peak interval.
    public var total: MetricSet {
        var all = runningTotal
        all.gauges = gaugePeaks
        return all
    }

    /// The intervals in `range` merged: counters and histograms summed, gauges at their peak
    /// interval (a phase's totals, say).
    public func total(seconds range: Range<Int>) -> MetricSet {
        var out = MetricSet()
        var peaks: [String: Int64] = [:]
        for second in seconds where range.contains(second) {
            let interval = compact(second)
            out.merge(CompactMetricSet(histograms: interval.histograms, counters: interval.counters))
            for (name, value) in interval.gauges { peaks[name] = Swift.max(peaks[name] ?? value, value) }
        }
        out.gauges = peaks
        return out
    }

    /// Interval `second` as a dense set (empty if nothing was reported for it).
    public subscript(second: Int) -> MetricSet {
        if let o = open[second] { return o }
        return sealed[second]?.expanded() ?? MetricSet()
    }

    /// Interval `second` in compact form (cheap for reports over many intervals).
    public func compact(_ second: Int) -> CompactMetricSet {
        if let o = open[second] { return CompactMetricSet(o) }
        return sealed[second] ?? CompactMetricSet()
    }

    /// One row per interval for the counter `name`: (second, value).
    public func counterSeries(_ name: String) -> [(second: Int, value: Int64)] {
        seconds.map { ($0, open[$0]?.counter(name) ?? sealed[$0]?.counter(name) ?? 0) }
    }

    /// One row per interval for the histogram `name`: (second, p50, p90, p99, max, count).
    public func histogramSeries(_ name: String) -> [(second: Int, count: Int64, p50: Int64, p90: Int64, p99: Int64, max: Int64)] {
        seconds.map { second in
            let h = compact(second).histograms[name]
            guard let h, !h.isEmpty else { return (second, 0, 0, 0, 0, 0) }
            let v = h.values(atPercentiles: [50, 90, 99])
            return (second, h.totalCount, v[0], v[1], v[2], h.max)
        }
    }
}

extension IntervalSeries: Equatable {
    public static func == (a: IntervalSeries, b: IntervalSeries) -> Bool {
        a.seconds == b.seconds && a.seconds.allSatisfy { a.compact($0) == b.compact($0) } && a.total == b.total
    }
}
