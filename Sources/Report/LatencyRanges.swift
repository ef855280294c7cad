import Stats

/// A histogram regrouped into round ranges people read (100µs, 200µs, 500µs, 1ms, ...), for the
/// report's latency histogram: each HDR bucket counts in the range holding its lowest value.
public struct LatencyRanges: Sendable {
    public struct Range: Sendable, Equatable {
        public var lower: Int64
        public var upper: Int64
        public var count: Int64
    }

    public private(set) var ranges: [Range] = []

    /// The 1-2-5 ranges from below the histogram's minimum to above its maximum.
    public init(_ h: HDRHistogram) {
        guard !h.isEmpty else { return }
        // A histogram of zeros still gets one range: [0, 2).
        let low = Swift.max(h.min, 1)
        let edges = Self.edges(from: low, to: Swift.max(h.max, low))
        ranges = zip(edges, edges.dropFirst()).map { Range(lower: $0, upper: $1, count: 0) }
        if h.min == 0 { ranges[0].lower = 0 }
        var i = 0
        h.forEachRecordedBucket { bucket in
            while i < ranges.count - 1 && bucket.lowestValue >= ranges[i].upper { i += 1 }
            ranges[i].count += bucket.count
        }
    }

    /// 1-2-5 edges: the largest at or below `low` to the smallest above `high`.
    static func edges(from low: Int64, to high: Int64) -> [Int64] {
        var steps: [Int64] = []
        var decade: Int64 = 1
        decades: while steps.last.map({ $0 <= high }) ?? true {
            for m in [1, 2, 5] as [Int64] {
                let (edge, overflow) = m.multipliedReportingOverflow(by: decade)
                if overflow { steps.append(Int64.max); break decades }
                steps.append(edge)
            }
            let (next, overflow) = decade.multipliedReportingOverflow(by: 10)
            if overflow { steps.append(Int64.max); break }
            decade = next
        }
        let first = steps.lastIndex { $0 <= low } ?? 0
        let last = steps.firstIndex { $0 > high } ?? steps.count - 1
        return Array(steps[first...last])
    }
}
