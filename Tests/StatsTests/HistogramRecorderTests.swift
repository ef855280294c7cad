import Testing
import Stats
import TestSupport

@Suite("Histogram recorder")
struct HistogramRecorderTests {
    @Test("draining gives exactly the histogram of the recorded values, then starts empty")
    func drainEqualsValueHistogram() {
        var rng = SplitMix64(seed: 11)
        let recorder = HistogramRecorder()
        for round in 0..<3 {
            var expected = HDRHistogram()
            for _ in 0..<(1000 * (round + 1)) {
                let v = rng.nextLatency(median: 5000, spread: 2)
                recorder.record(v)
                expected.record(v)
            }
            recorder.record(-1)
            expected.record(-1)
            let drained = recorder.drain()
            #expect(drained == expected)
            #expect(drained.exactMin == expected.exactMin && drained.exactMax == expected.exactMax)
            #expect(drained.clampedCount == 1)
            #expect(recorder.totalCount == 0)
        }
        #expect(recorder.drain().isEmpty)
    }

    @Test("a snapshot leaves the recorder as it was")
    func snapshotKeepsCounts() {
        let recorder = HistogramRecorder()
        for v in 1...100 { recorder.record(Int64(v)) }
        let first = recorder.snapshot()
        recorder.record(1000)
        #expect(first.totalCount == 100)
        #expect(recorder.snapshot().totalCount == 101)
    }
}
