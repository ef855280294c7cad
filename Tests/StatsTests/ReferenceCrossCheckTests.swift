import Foundation
import Testing
import Stats
import TestSupport

/// Live cross-checks with the reference Python HdrHistogram (`hdr_check.py`). They run when the
/// reference venv exists, and must run (failing if it is missing) under VOLLEY_REQUIRE_REFERENCES=1.
@Suite("Reference cross-check", .enabled(if: ReferencePython.shouldRun))
struct ReferenceCrossCheckTests {
    struct Decoded: Decodable {
        let line: Int
        let total_count: Int64?
        let min: Int64?
        let max: Int64?
        let mean: Double?
        let percentiles: [String: Int64]?
        let percentiles_java_ceil: [String: Int64]?
        let nonzero_buckets: Int?
        let error: String?
    }

    static let percentiles: [Double] = [0, 10, 50, 90, 99, 99.9, 99.99, 100]

    func decodeWithReference(_ text: String) throws -> [Decoded] {
        #expect(ReferencePython.available, "reference python missing at \(ReferencePython.path); see README")
        let result = try Subprocess.run(ReferencePython.path, [
            ReferencePython.checker, "decode", "-",
            "--percentiles", Self.percentiles.map { String(format: "%g", $0) }.joined(separator: ","),
        ], input: text)
        #expect(result.status == 0, "hdr_check decode failed: \(result.stderr)")
        return try result.stdout.split(separator: "\n").map {
            try JSONDecoder().decode(Decoded.self, from: Data($0.utf8))
        }
    }

    @Test("the reference decodes our V2 output to the same counts and percentiles")
    func referenceDecodesOurs() throws {
        var rng = SplitMix64(seed: 2024)
        var histograms: [HDRHistogram] = [HDRHistogram()]
        for i in 0..<40 {
            let config = i % 4 == 3
                ? try HistogramConfiguration(lowestDiscernibleValue: 1000, highestTrackableValue: 3_600_000_000_000, significantFigures: 2)
                : HistogramConfiguration.latencyMicroseconds
            var h = HDRHistogram(configuration: config)
            for _ in 0..<Int.random(in: 1...20_000, using: &rng) {
                h.record(Swift.min(rng.nextLatency(median: i % 4 == 3 ? 2_000_000 : 800, spread: 1.5), config.highestTrackableValue))
            }
            histograms.append(h)
        }
        let decoded = try decodeWithReference(histograms.map { $0.encodeV2Base64() }.joined(separator: "\n"))
        try #require(decoded.count == histograms.count)
        for (h, d) in zip(histograms, decoded) {
            #expect(d.error == nil)
            #expect(d.total_count == h.totalCount)
            #expect(d.nonzero_buckets == h.recordedBuckets.count)
            #expect(d.min == h.min && d.max == h.max)
            if let mean = d.mean { #expect(approximatelyEqual(mean, h.mean, relative: 1e-12)) }
            for p in Self.percentiles {
                let key = String(format: "%g", p)
                #expect(d.percentiles?[key] == h.value(atPercentile: p, rank: .roundHalfUp), "p\(key)")
                #expect(d.percentiles_java_ceil?[key] == h.value(atPercentile: p, rank: .ceiling), "p\(key) ceil")
            }
        }
    }

    @Test("we decode fresh reference encodings exactly")
    func weDecodeTheirs() throws {
        for seed in 100..<110 {
            let gen = try Subprocess.run(ReferencePython.path, [
                ReferencePython.checker, "gen", "--seed", "\(seed)", "--count", "3000",
                "--values-out", "/tmp/volley-hdr-\(seed).values",
            ])
            #expect(gen.status == 0, "\(gen.stderr)")
            let object = try JSONSerialization.jsonObject(with: Data(gen.stdout.utf8)) as! [String: Any]
            let values = try String(contentsOfFile: "/tmp/volley-hdr-\(seed).values", encoding: .utf8)
                .split(separator: "\n").map { Int64($0)! }
            var ours = HDRHistogram()
            for v in values { ours.record(v) }
            let theirs = try HDRHistogram(v2Base64: object["encoded"] as! String)
            #expect(theirs == ours)
        }
    }

    @Test("the reference reads our .hlog interval log")
    func referenceReadsOurLog() throws {
        var writer = HistogramLogWriter(startTime: 1_700_000_000.25)
        var expected: [HDRHistogram] = []
        var rng = SplitMix64(seed: 3)
        for second in 0..<5 {
            for tag in ["rtt", "connect"] {
                var h = HDRHistogram()
                for _ in 0..<500 { h.record(rng.nextLatency()) }
                writer.append(tag: tag, intervalStart: Double(second), intervalLength: 1, histogram: h)
                expected.append(h)
            }
        }
        let decoded = try decodeWithReference(writer.text)
        try #require(decoded.count == expected.count)
        for (h, d) in zip(expected, decoded) {
            #expect(d.total_count == h.totalCount)
            #expect(d.percentiles?["99"] == h.value(atPercentile: 99))
        }
    }
}
