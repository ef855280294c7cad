import Stats
#if canImport(Glibc)
import Glibc
#endif

/// Measures the Stats hot path: record, merge, and both encodings.
struct StatsBenchmark {
    func run() {
        var rng = BenchRandom(seed: 1)
        let values = (0..<(1 << 20)).map { _ in rng.latency() }
        print("stats benchmark (release build expected; one thread)")

        // record: the value stream is precomputed so only the histogram is timed.
        var h = HDRHistogram()
        let records = 200_000_000
        let mask = values.count - 1
        let start = Stopwatch.now()
        values.withUnsafeBufferPointer { recordAll(into: &h, from: $0, times: records, mask: mask) }
        let recordTime = Double(Stopwatch.now() - start)
        report("record (HDRHistogram value, copy-on-write)", nanos: recordTime, operations: records,
               extra: "total \(h.totalCount)")

        let recorder = HistogramRecorder()
        let recorderStart = Stopwatch.now()
        values.withUnsafeBufferPointer { recordAll(into: recorder, from: $0, times: records, mask: mask) }
        report("record (HistogramRecorder, event-loop hot path)", nanos: Double(Stopwatch.now() - recorderStart),
               operations: records, extra: "total \(recorder.totalCount)")
        let drainStart = Stopwatch.now()
        let drained = recorder.drain()
        report("drain a recorder into a histogram", nanos: Double(Stopwatch.now() - drainStart), operations: 1,
               extra: "\(drained.recordedBuckets.count) non-empty buckets")

        var a = HDRHistogram(), b = HDRHistogram()
        for (i, v) in values.enumerated() { if i % 2 == 0 { a.record(v) } else { b.record(v) } }
        let merges = 20_000
        var target = a
        let mergeTime = Stopwatch.measure {
            for _ in 0..<merges { target.merge(b) }
        }
        report("merge (two default histograms, 1 µs..1 h, 3 figures)", nanos: mergeTime, operations: merges,
               extra: "\(b.recordedBuckets.count) non-empty buckets")

        let sparseBytes = a.encodeSparse()
        let v2Bytes = a.encodeV2()
        let codecRounds = 2000
        var sink = 0
        report("encode sparse", nanos: Stopwatch.measure {
            for _ in 0..<codecRounds { sink &+= a.encodeSparse().count }
        }, operations: codecRounds, extra: "\(sparseBytes.count) bytes")
        report("decode sparse", nanos: Stopwatch.measure {
            for _ in 0..<codecRounds { sink &+= Int((try? HDRHistogram(sparseEncoded: sparseBytes))?.totalCount ?? 0) }
        }, operations: codecRounds)
        report("encode V2 (zlib)", nanos: Stopwatch.measure {
            for _ in 0..<codecRounds { sink &+= a.encodeV2().count }
        }, operations: codecRounds, extra: "\(v2Bytes.count) bytes")
        report("decode V2 (zlib)", nanos: Stopwatch.measure {
            for _ in 0..<codecRounds { sink &+= Int((try? HDRHistogram(v2Encoded: v2Bytes))?.totalCount ?? 0) }
        }, operations: codecRounds)
        report("p99 of a default histogram", nanos: Stopwatch.measure {
            for _ in 0..<codecRounds { sink &+= Int(a.value(atPercentile: 99)) }
        }, operations: codecRounds)
        if sink == 42 { print("") }   // keeps the work observable
    }

    /// The hot loop, with the histogram passed inout as an event loop holds its own.
    @inline(never)
    private func recordAll(into h: inout HDRHistogram, from values: UnsafeBufferPointer<Int64>, times: Int, mask: Int) {
        for i in 0..<times { h.record(values[i & mask]) }
    }

    @inline(never)
    private func recordAll(into recorder: HistogramRecorder, from values: UnsafeBufferPointer<Int64>, times: Int, mask: Int) {
        for i in 0..<times { recorder.record(values[i & mask]) }
    }

    private func report(_ name: String, nanos: Double, operations: Int, extra: String = "") {
        let per = nanos / Double(operations)
        let text = per < 1000 ? "\(format(per)) ns" : per < 1_000_000 ? "\(format(per / 1000)) µs" : "\(format(per / 1_000_000)) ms"
        print("  \(name.padding(54)) \(text.leftPadding(11)) per op   \(extra)")
    }
}

/// Wall-clock timing with CLOCK_MONOTONIC.
enum Stopwatch {
    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Nanoseconds `body` took.
    static func measure(_ body: () -> Void) -> Double {
        let start = now()
        body()
        return Double(now() - start)
    }
}

/// xorshift generator for benchmark inputs (the benchmark does not link the test support).
struct BenchRandom {
    private var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
    /// A latency-like value: log-uniform between 50 µs and 500 ms.
    mutating func latency() -> Int64 {
        let u = Double(next() >> 11) / Double(1 << 53)
        return Int64(50 * pow(10_000, u))
    }
}

func format(_ v: Double) -> String {
    let scaled = (v * 100).rounded() / 100
    var s = "\(scaled)"
    if let dot = s.firstIndex(of: "."), s.distance(from: dot, to: s.endIndex) == 2 { s += "0" }
    return s
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
    func leftPadding(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
