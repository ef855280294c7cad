import Testing
import ByteCoding
import Stats
import TestSupport

@Suite("Compact histograms and interval series")
struct CompactStorageTests {
    static func random(_ seed: UInt64, count: Int = 3000) -> HDRHistogram {
        var rng = SplitMix64(seed: seed)
        var h = HDRHistogram()
        for _ in 0..<count { h.record(rng.nextLatency(median: 3000, spread: 2)) }
        return h
    }

    @Test("a compact histogram is the same distribution: percentiles, extremes, expansion, merge", arguments: Array(UInt64(1)...8))
    func compactEqualsDense(seed: UInt64) {
        let h = Self.random(seed)
        let c = CompactHistogram(h)
        let ps: [Double] = [0, 1, 50, 90, 99, 99.9, 99.99, 100]
        #expect(c.values(atPercentiles: ps) == h.values(atPercentiles: ps))
        #expect(c.values(atPercentiles: ps, rank: .ceiling) == h.values(atPercentiles: ps, rank: .ceiling))
        #expect(c.min == h.min && c.max == h.max && c.totalCount == h.totalCount)
        #expect(c.expanded() == h)
        var target = Self.random(seed + 100)
        var expected = target
        expected.merge(h)
        c.add(to: &target)
        #expect(target == expected)
        #expect(target.exactMax == expected.exactMax && target.exactMin == expected.exactMin)
    }

    @Test("the compact decoder reads the dense sparse encoding and writes the same bytes")
    func sparseCompatible() throws {
        let h = Self.random(3)
        let bytes = h.encodeSparse()
        var r = ByteReader(bytes)
        let c = try CompactHistogram(sparseFrom: &r)
        #expect(r.isAtEnd && c.expanded() == h)
        var w = ByteWriter()
        c.encodeSparse(into: &w)
        #expect(w.bytes == bytes)
        for n in 0..<bytes.count {
            var t = ByteReader(Array(bytes[0..<n]))
            #expect(throws: HistogramError.self) { try CompactHistogram(sparseFrom: &t) }
        }
    }

    @Test("a series seals old intervals, takes late reports, and totals exactly")
    func seriesSealingAndTotals() {
        var series = IntervalSeries()
        var all = HDRHistogram()
        var perSecond: [Int: HDRHistogram] = [:]
        // Three sources report 20 seconds, the third always 6 seconds late (after sealing).
        for second in 0..<20 {
            for source in 0..<3 {
                let s = source == 2 ? second - 6 : second
                guard s >= 0 else { continue }
                let h = Self.random(UInt64(100 * s + source), count: 200)
                all.merge(h)
                perSecond[s, default: HDRHistogram()].merge(h)
                var set = MetricSet()
                set.merge(h, into: "rtt")
                set.add(1, to: "reports")
                set.gauges["open"] = Int64(10 + s)
                if source == 2 { series.merge(CompactMetricSet(set), at: s) } else { series.merge(set, at: s) }
            }
        }
        #expect(series.total.histograms["rtt"] == all)
        #expect(series.total.counter("reports") == 20 + 20 + 14)
        #expect(series.total.gauge("open") == 3 * (10 + 13))       // the peak of the per-second sums
        for (s, h) in perSecond {
            #expect(series[s].histograms["rtt"] == h, "second \(s)")
            #expect(series.compact(s).histograms["rtt"]?.totalCount == h.totalCount)
        }
        #expect(series.histogramSeries("rtt").map(\.count) == (0..<20).map { perSecond[$0]!.totalCount })
    }

    @Test("a series without interval histograms keeps counters per second and histograms in the total")
    func countersOnlySeries() {
        var series = IntervalSeries(keepsIntervalHistograms: false)
        var all = HDRHistogram()
        for second in 0..<5 {
            let h = Self.random(UInt64(second), count: 100)
            all.merge(h)
            var set = MetricSet()
            set.merge(h, into: "rtt")
            set.add(7, to: "sent")
            series.merge(set, at: second)
        }
        #expect(series.total.histograms["rtt"] == all)
        #expect(series.counterSeries("sent").map(\.value) == [7, 7, 7, 7, 7])
        #expect(series[2].histograms["rtt"] == nil)
    }
}
