import Testing
import Stats
import TestSupport

@Suite("Interval log and series")
struct IntervalLogAndSeriesTests {
    @Test("log lines follow the HdrHistogram log format")
    func logFormat() throws {
        var writer = HistogramLogWriter(startTime: 1_441_812_279.474)
        var h = HDRHistogram()
        h.record(2500)
        writer.append(tag: "rtt ms", intervalStart: 0.127, intervalLength: 1.0, histogram: h)
        let lines = writer.text.split(separator: "\n").map(String.init)
        #expect(lines[0] == "#[Histogram log format version 1.3]")
        #expect(lines[1] == "#[StartTime: 1441812279.474 (seconds since epoch), 2015-09-09T15:24:39.474Z]")
        #expect(lines[2] == "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"")
        #expect(lines[3].hasPrefix("Tag=rtt_ms,0.127,1.000,2.501,HISTF"))
        let encoded = String(lines[3].split(separator: ",").last!)
        #expect(try HDRHistogram(v2Base64: encoded) == h)
    }

    @Test("civil time conversion matches known instants")
    func civilTime() {
        #expect(CivilTime.iso8601(epochSeconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(CivilTime.iso8601(epochSeconds: 951_782_400) == "2000-02-29T00:00:00.000Z")
        #expect(CivilTime.iso8601(epochSeconds: 1_795_305_600.5) == "2026-11-22T00:00:00.500Z")
    }

    @Test("metric sets merge exactly: histograms bucket by bucket, counters by sum")
    func metricSetMerge() {
        var a = MetricSet(), b = MetricSet(), all = HDRHistogram()
        var rng = SplitMix64(seed: 1)
        for i in 0..<1000 {
            let v = rng.nextLatency()
            all.record(v)
            if i % 3 == 0 { a.merge(single(v), into: "rtt") } else { b.merge(single(v), into: "rtt") }
        }
        a.add(5, to: "messages_sent")
        b.add(7, to: "messages_sent")
        b.add(1, to: "errors.refused")
        var merged = a
        merged.merge(b)
        #expect(merged.histograms["rtt"] == all)
        #expect(merged.counter("messages_sent") == 12)
        #expect(merged.counter("errors.refused") == 1)
        #expect(merged.counter("never") == 0)
    }

    @Test("a series merges sources per interval and totals to the union")
    func seriesMerge() {
        var series = IntervalSeries()
        var total = HDRHistogram()
        for source in 0..<3 {
            for second in 0..<4 {
                var set = MetricSet()
                var h = HDRHistogram()
                h.record(Int64(100 * (source + 1) + second), count: 10)
                total.record(Int64(100 * (source + 1) + second), count: 10)
                set.merge(h, into: "rtt")
                set.add(10, to: "received")
                series.merge(set, at: second)
            }
        }
        #expect(series.seconds == [0, 1, 2, 3])
        #expect(series[2].counter("received") == 30)
        #expect(series.total.histograms["rtt"] == total)
        #expect(series.counterSeries("received").map(\.value) == [30, 30, 30, 30])
        #expect(series.histogramSeries("rtt").allSatisfy { $0.count == 30 })
    }

    @Test("a range of intervals totals exactly: histograms and counters summed, gauges at their peak")
    func rangeTotal() {
        var series = IntervalSeries()
        var middle = HDRHistogram()
        for second in 0..<10 {
            var set = MetricSet()
            var h = HDRHistogram()
            h.record(Int64(1000 + second * 10), count: Int64(second + 1))
            if (3..<7).contains(second) { middle.record(Int64(1000 + second * 10), count: Int64(second + 1)) }
            set.merge(h, into: "rtt")
            set.add(Int64(second), to: "sent")
            set.gauges["open"] = Int64(100 - (second - 5) * (second - 5))
            series.merge(set, at: second)
        }
        let phase = series.total(seconds: 3..<7)
        #expect(phase.histograms["rtt"] == middle)
        #expect(phase.counter("sent") == 3 + 4 + 5 + 6)
        #expect(phase.gauge("open") == 100)
        #expect(series.total(seconds: 0..<10).histograms["rtt"] == series.total.histograms["rtt"])
        #expect(series.total(seconds: 20..<30).isEmpty)
    }

    private func single(_ v: Int64) -> HDRHistogram {
        var h = HDRHistogram()
        h.record(v)
        return h
    }
}
