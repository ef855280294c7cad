import Testing
import Stats

/// Our histogram against vectors produced by the reference implementation (Python hdrh 0.10.8).
@Suite("Reference vectors")
struct ReferenceVectorTests {
    static let vectors = ReferenceVector.names.map { try! ReferenceVector.load($0) }

    @Test("recorded values give the reference's statistics", arguments: vectors)
    func statisticsMatch(vector: ReferenceVector) {
        var h = HDRHistogram(configuration: vector.configuration)
        for v in vector.values { h.record(v) }
        #expect(h.totalCount == vector.totalCount)
        #expect(h.min == vector.min)
        #expect(h.max == vector.max)
        #expect(approximatelyEqual(h.mean, vector.mean, relative: 1e-12), "mean \(h.mean) vs \(vector.mean)")
        #expect(approximatelyEqual(h.standardDeviation, vector.standardDeviation, relative: 1e-9))
        #expect(h.recordedBuckets.count == vector.nonZeroBuckets)
        #expect(h.clampedCount == 0)
    }

    @Test("percentiles equal the reference's under both rank conventions", arguments: vectors)
    func percentilesMatch(vector: ReferenceVector) {
        var h = HDRHistogram(configuration: vector.configuration)
        for v in vector.values { h.record(v) }
        for (p, expected) in vector.percentilesHalfUp {
            #expect(h.value(atPercentile: p, rank: .roundHalfUp) == expected, "p\(p) half-up")
        }
        for (p, expected) in vector.percentilesCeiling {
            #expect(h.value(atPercentile: p, rank: .ceiling) == expected, "p\(p) ceiling")
        }
        let ps = vector.percentilesHalfUp.keys.sorted()
        #expect(h.values(atPercentiles: ps) == ps.map { vector.percentilesHalfUp[$0]! })
    }

    @Test("the reference's V2 encoding decodes to our histogram", arguments: vectors)
    func decodesReferenceEncoding(vector: ReferenceVector) throws {
        var h = HDRHistogram(configuration: vector.configuration)
        for v in vector.values { h.record(v) }
        let decoded = try HDRHistogram(v2Base64: vector.encoded)
        #expect(decoded == h)
        #expect(decoded.configuration == vector.configuration)
        #expect(decoded.min == vector.min && decoded.max == vector.max)
    }

    @Test("the two rank conventions differ where the references say they do")
    func conventionsDifferOnSmallCounts() throws {
        let v = try ReferenceVector.load("odd-7")
        var h = HDRHistogram(configuration: v.configuration)
        for x in v.values { h.record(x) }
        // N = 7, p = 90: half-up gives rank 6, ceiling gives rank 7.
        #expect(h.value(atPercentile: 90, rank: .roundHalfUp) != h.value(atPercentile: 90, rank: .ceiling))
    }
}
