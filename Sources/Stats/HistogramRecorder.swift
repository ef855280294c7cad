/// The recording end of a histogram for one thread's hot path: `record` is a handful of
/// arithmetic instructions and one store, with no copy-on-write check, no allocation and no lock.
///
/// An event loop owns its recorders and, once per interval, `drain()`s each into an
/// `HDRHistogram` value that can be sent to other threads, merged and encoded. A recorder must
/// only be used by the thread that owns it (it is deliberately not `Sendable`).
public final class HistogramRecorder {
    /// The value range and precision.
    public let configuration: HistogramConfiguration
    @usableFromInline let counts: UnsafeMutablePointer<Int64>
    /// totalCount, clampedCount, min, max: kept behind a pointer so `record` needs no
    /// exclusivity check on class properties.
    @usableFromInline let tallies: UnsafeMutablePointer<Int64>

    @usableFromInline static let total = 0, clamped = 1, minimum = 2, maximum = 3

    /// An empty recorder.
    public init(configuration: HistogramConfiguration = .latencyMicroseconds) {
        self.configuration = configuration
        counts = .allocate(capacity: configuration.countsLength)
        counts.initialize(repeating: 0, count: configuration.countsLength)
        tallies = .allocate(capacity: 4)
        tallies.initialize(repeating: 0, count: 4)
        tallies[Self.minimum] = .max
    }

    deinit {
        counts.deallocate()
        tallies.deallocate()
    }

    /// Number of values recorded since the last drain.
    public var totalCount: Int64 { tallies[Self.total] }

    /// Records one occurrence of `value`, clamping it into the trackable range if needed.
    @inlinable @inline(__always)
    public func record(_ value: Int64) {
        var v = value
        if _slowPath(v < 0 || v > configuration.highestTrackableValue) {
            v = v < 0 ? 0 : configuration.highestTrackableValue
            tallies[Self.clamped] &+= 1
        }
        counts[configuration.countsIndex(of: v)] &+= 1
        tallies[Self.total] &+= 1
        if v < tallies[Self.minimum] { tallies[Self.minimum] = v }
        if v > tallies[Self.maximum] { tallies[Self.maximum] = v }
    }

    /// A copy of everything recorded since the last drain.
    public func snapshot() -> HDRHistogram {
        var h = HDRHistogram(configuration: configuration)
        let total = tallies[Self.total]
        guard total > 0 else { return h }
        let end = configuration.countsIndex(of: tallies[Self.maximum])
        h.counts.withUnsafeMutableBufferPointer { dst in
            dst.baseAddress!.update(from: counts, count: end + 1)
        }
        h.recordedCount = total
        h.clampedRecordCount = tallies[Self.clamped]
        h.minRecorded = tallies[Self.minimum]
        h.maxRecorded = tallies[Self.maximum]
        return h
    }

    /// Everything recorded since the last drain in compact form, after which the recorder is
    /// empty again. Only the buckets between the smallest and largest value recorded are read,
    /// so draining a quiet recorder costs nothing and a busy one a short scan: this is what a
    /// collecting thread calls on a recorder the loop has stopped writing to.
    public func drainCompact() -> CompactHistogram {
        let total = tallies[Self.total]
        guard total > 0 else { return CompactHistogram(configuration: configuration) }
        let first = configuration.countsIndex(of: tallies[Self.minimum])
        let last = configuration.countsIndex(of: tallies[Self.maximum])
        var indices: [Int32] = []
        var values: [Int64] = []
        for i in first...last where counts[i] != 0 {
            indices.append(Int32(i))
            values.append(counts[i])
            counts[i] = 0
        }
        let h = CompactHistogram(configuration: configuration, indices: indices, counts: values, totalCount: total,
                                 clampedCount: tallies[Self.clamped], exactMin: tallies[Self.minimum], exactMax: tallies[Self.maximum])
        tallies.update(repeating: 0, count: 4)
        tallies[Self.minimum] = .max
        return h
    }

    /// Everything recorded since the last drain, after which the recorder is empty again.
    public func drain() -> HDRHistogram {
        let h = snapshot()
        if h.totalCount > 0 {
            let end = configuration.countsIndex(of: tallies[Self.maximum])
            counts.update(repeating: 0, count: end + 1)
            tallies.update(repeating: 0, count: 4)
            tallies[Self.minimum] = .max
        }
        return h
    }
}
