import Testing
import ByteCoding
import Stats
import TestSupport

@Suite("Histogram properties")
struct HistogramPropertyTests {
    static let seeds: [UInt64] = Array(1...12)

    static func randomValues(_ rng: inout SplitMix64, count: Int) -> [Int64] {
        (0..<count).map { _ in rng.nextLatency(median: 2000, spread: 2.0) }
    }

    @Test("merging any split of a value set gives the histogram of the whole set", arguments: seeds)
    func mergeOfSplitEqualsWhole(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let values = Self.randomValues(&rng, count: 5000)
        var whole = HDRHistogram()
        for v in values { whole.record(v) }
        let parts = Int.random(in: 2...9, using: &rng)
        var pieces = [HDRHistogram](repeating: HDRHistogram(), count: parts)
        for v in values { pieces[Int.random(in: 0..<parts, using: &rng)].record(v) }
        var merged = HDRHistogram()
        for p in pieces.shuffled(using: &rng) { merged.merge(p) }
        #expect(merged == whole)
        #expect(merged.exactMin == whole.exactMin && merged.exactMax == whole.exactMax)
        #expect(merged.clampedCount == whole.clampedCount)
        #expect(merged.summary() == whole.summary())
    }

    @Test("sparse encoding then decoding is the identity", arguments: seeds)
    func sparseRoundTrip(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        var h = HDRHistogram()
        for v in Self.randomValues(&rng, count: Int.random(in: 0...3000, using: &rng)) { h.record(v) }
        if seed % 3 == 0 { h.record(9_999_999_999_999) }   // clamped
        let decoded = try HDRHistogram(sparseEncoded: h.encodeSparse())
        #expect(decoded == h)
        #expect(decoded.exactMin == h.exactMin && decoded.exactMax == h.exactMax)
        #expect(decoded.clampedCount == h.clampedCount)
    }

    @Test("V2 encoding then decoding is the identity", arguments: seeds)
    func v2RoundTrip(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let configs: [HistogramConfiguration] = [
            .latencyMicroseconds,
            try HistogramConfiguration(lowestDiscernibleValue: 1000, highestTrackableValue: 3_600_000_000_000, significantFigures: 2),
            try HistogramConfiguration(lowestDiscernibleValue: 1, highestTrackableValue: 100_000, significantFigures: 5),
        ]
        let config = configs[Int(seed) % configs.count]
        var h = HDRHistogram(configuration: config)
        for v in Self.randomValues(&rng, count: Int.random(in: 0...3000, using: &rng)) {
            h.record(Swift.min(v, config.highestTrackableValue), count: Int64.random(in: 1...5, using: &rng))
        }
        let decoded = try HDRHistogram(v2Encoded: h.encodeV2())
        #expect(decoded == h)
        #expect(decoded.min == h.min && decoded.max == h.max)
        let viaText = try HDRHistogram(v2Base64: h.encodeV2Base64())
        #expect(viaText == h)
        #expect(h.encodeV2Base64().hasPrefix("HISTF"))
    }

    @Test("subtract undoes merge", arguments: seeds)
    func subtractUndoesMerge(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        var a = HDRHistogram(), b = HDRHistogram()
        for v in Self.randomValues(&rng, count: 2000) { a.record(v) }
        for v in Self.randomValues(&rng, count: 1500) { b.record(v) }
        var sum = a
        sum.merge(b)
        try sum.subtract(b)
        #expect(sum == a)
        #expect(sum.summary().percentiles == a.summary().percentiles)
    }

    @Test("subtracting what is not there fails and changes nothing")
    func subtractUnderflow() {
        var a = HDRHistogram(), b = HDRHistogram()
        a.record(100)
        b.record(100, count: 2)
        let before = a
        #expect(throws: HistogramError.self) { try a.subtract(b) }
        #expect(a == before)
    }

    @Test("out-of-range values are clamped and counted, never dropped")
    func clamping() {
        var h = HDRHistogram()
        h.record(-5)
        h.record(4_000_000_000)
        h.record(10)
        #expect(h.totalCount == 3)
        #expect(h.clampedCount == 2)
        #expect(h.min == 0)
        #expect(h.max == HistogramConfiguration.latencyMicroseconds.highestEquivalentValue(3_600_000_000))
    }

    @Test("merging across configurations keeps every count and clamps what does not fit")
    func mergeAcrossConfigurations() throws {
        let small = try HistogramConfiguration(lowestDiscernibleValue: 1, highestTrackableValue: 10_000, significantFigures: 3)
        var wide = HDRHistogram()
        wide.record(50, count: 3)
        wide.record(1_000_000, count: 2)
        var narrow = HDRHistogram(configuration: small)
        narrow.merge(wide)
        #expect(narrow.totalCount == 5)
        #expect(narrow.clampedCount == 2)
        #expect(narrow.count(atValue: 50) == 3)
    }

    @Test("coordinated-omission correction adds the samples a steady sampler would have seen")
    func coordinatedOmissionCorrection() {
        var h = HDRHistogram()
        h.record(1000, expectedInterval: 100)
        // 1000 plus 900, 800, ..., 100: ten values in all, as HdrHistogram's recordValueWithExpectedInterval.
        #expect(h.totalCount == 10)
        #expect(h.count(atValue: 100) == 1)
        #expect(h.count(atValue: 900) == 1)
        var plain = HDRHistogram()
        plain.record(50, expectedInterval: 100)
        #expect(plain.totalCount == 1)
    }

    @Test("reset empties the histogram and keeps its configuration")
    func reset() {
        var h = HDRHistogram()
        for v in 1...1000 { h.record(Int64(v)) }
        h.reset()
        #expect(h.isEmpty && h == HDRHistogram())
        #expect(h.value(atPercentile: 99) == 0)
        h.record(7)
        #expect(h.min == 7 && h.max == 7)
    }

    @Test("bucket iteration covers every recorded value once")
    func iteration() {
        var h = HDRHistogram()
        var rng = SplitMix64(seed: 99)
        for v in Self.randomValues(&rng, count: 1000) { h.record(v) }
        let buckets = h.recordedBuckets
        #expect(buckets.reduce(0) { $0 + $1.count } == h.totalCount)
        #expect(zip(buckets, buckets.dropFirst()).allSatisfy { $0.highestValue < $1.lowestValue })
    }

    @Test("invalid configurations are rejected with a reason")
    func invalidConfigurations() {
        #expect(throws: HistogramError.self) { try HistogramConfiguration(lowestDiscernibleValue: 0, highestTrackableValue: 10, significantFigures: 3) }
        #expect(throws: HistogramError.self) { try HistogramConfiguration(lowestDiscernibleValue: 1, highestTrackableValue: 1, significantFigures: 3) }
        #expect(throws: HistogramError.self) { try HistogramConfiguration(lowestDiscernibleValue: 1, highestTrackableValue: 100, significantFigures: 6) }
        #expect(HistogramConfiguration.latencyMicroseconds.countsLength == 23552)
    }

    @Test("percentile distribution is monotone and ends at the maximum")
    func percentileDistribution() {
        var h = HDRHistogram()
        var rng = SplitMix64(seed: 5)
        for v in Self.randomValues(&rng, count: 10_000) { h.record(v) }
        let points = h.percentileDistribution()
        #expect(points.first?.percentile == 0)
        #expect(points.last?.percentile == 100)
        #expect(points.last?.value == h.max)
        #expect(zip(points, points.dropFirst()).allSatisfy { $0.percentile < $1.percentile && $0.value <= $1.value })
    }
}
