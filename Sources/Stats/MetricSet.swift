/// Named histograms and counters measured by one source over one period.
///
/// Merging is exact: histograms merge bucket by bucket and counters add, so merging the sets of
/// every event loop, agent and interval gives the set of everything that was measured.
public struct MetricSet: Sendable, Equatable {
    /// Latency and size distributions by metric name.
    public var histograms: [String: HDRHistogram]
    /// Event counts by metric name.
    public var counters: [String: Int64]
    /// Levels at the end of the period (open connections, active users) by name; sources of the
    /// same period add up (they count disjoint things).
    public var gauges: [String: Int64]

    /// An empty set.
    public init(histograms: [String: HDRHistogram] = [:], counters: [String: Int64] = [:], gauges: [String: Int64] = [:]) {
        self.histograms = histograms
        self.counters = counters
        self.gauges = gauges
    }

    /// True when the set holds no histogram with values and no non-zero counter.
    public var isEmpty: Bool {
        histograms.values.allSatisfy(\.isEmpty) && counters.values.allSatisfy { $0 == 0 } && gauges.values.allSatisfy { $0 == 0 }
    }

    /// Adds `delta` to the counter `name`.
    public mutating func add(_ delta: Int64, to name: String) {
        counters[name, default: 0] += delta
    }

    /// The counter `name`, 0 if it was never counted.
    public func counter(_ name: String) -> Int64 { counters[name] ?? 0 }

    /// Merges `histogram` into the histogram `name`.
    public mutating func merge(_ histogram: HDRHistogram, into name: String) {
        if histograms[name] == nil {
            histograms[name] = histogram
        } else {
            histograms[name]!.merge(histogram)
        }
    }

    /// The gauge `name`, 0 if never set.
    public func gauge(_ name: String) -> Int64 { gauges[name] ?? 0 }

    /// Merges every histogram and adds every counter and gauge of `other` (another source's
    /// measurements of the same period).
    public mutating func merge(_ other: MetricSet) {
        for (name, histogram) in other.histograms { merge(histogram, into: name) }
        for (name, value) in other.counters { counters[name, default: 0] += value }
        for (name, value) in other.gauges { gauges[name, default: 0] += value }
    }
}

