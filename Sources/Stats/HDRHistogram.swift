/// A high-dynamic-range histogram: records integer values with a fixed relative precision in
/// constant time and memory, merges exactly, and answers percentile queries.
///
/// Recording is O(1), allocates nothing and takes no lock: give each thread its own histogram
/// and merge them off the hot path. Values outside `0...highestTrackableValue` are clamped to
/// the range and counted in `clampedCount`, never dropped.
///
/// Two histograms are equal when they have the same configuration and the same counts, i.e.
/// they describe the same distribution; `clampedCount` is bookkeeping about how it was recorded.
public struct HDRHistogram: Sendable, Equatable {
    /// The value range and precision.
    public let configuration: HistogramConfiguration
    @usableFromInline var counts: Counts
    /// Number of values recorded.
    public var totalCount: Int64 { recordedCount }
    /// Number of recorded values that were outside the trackable range and clamped into it.
    public var clampedCount: Int64 { clampedRecordCount }
    @usableFromInline var recordedCount: Int64
    @usableFromInline var clampedRecordCount: Int64
    /// Smallest value recorded, exactly (Int64.max while empty).
    @usableFromInline var minRecorded: Int64
    /// Largest value recorded, exactly (0 while empty).
    @usableFromInline var maxRecorded: Int64

    /// An empty histogram with the given configuration.
    public init(configuration: HistogramConfiguration = .latencyMicroseconds) {
        self.configuration = configuration
        counts = Counts(length: configuration.countsLength)
        recordedCount = 0
        clampedRecordCount = 0
        minRecorded = .max
        maxRecorded = 0
    }

    /// An empty histogram; throws when the triple is not a valid configuration.
    public init(lowestDiscernibleValue: Int64, highestTrackableValue: Int64, significantFigures: Int) throws(HistogramError) {
        self.init(configuration: try HistogramConfiguration(
            lowestDiscernibleValue: lowestDiscernibleValue,
            highestTrackableValue: highestTrackableValue,
            significantFigures: significantFigures))
    }

    public static func == (lhs: HDRHistogram, rhs: HDRHistogram) -> Bool {
        lhs.configuration == rhs.configuration && lhs.totalCount == rhs.totalCount && lhs.counts == rhs.counts
    }

    /// True when nothing has been recorded.
    public var isEmpty: Bool { recordedCount == 0 }

    // MARK: Recording

    /// Records one occurrence of `value`.
    @inlinable @inline(__always)
    public mutating func record(_ value: Int64) {
        record(value, count: 1)
    }

    /// Records `count` occurrences of `value` (count must not be negative).
    @inlinable @inline(__always)
    public mutating func record(_ value: Int64, count: Int64) {
        var v = value
        if _slowPath(v < 0 || v > configuration.highestTrackableValue) {
            v = v < 0 ? 0 : configuration.highestTrackableValue
            clampedRecordCount &+= count
        }
        counts.add(count, at: configuration.countsIndex(of: v))
        recordedCount &+= count
        if v < minRecorded { minRecorded = v }
        if v > maxRecorded { maxRecorded = v }
    }

    /// Records `value` and, if it exceeds `expectedInterval`, the values a sampler with that
    /// interval would have seen while the recording thread was stalled (HdrHistogram's
    /// coordinated-omission correction).
    public mutating func record(_ value: Int64, expectedInterval: Int64) {
        record(value)
        guard expectedInterval > 0, value > expectedInterval else { return }
        var missing = value - expectedInterval
        while missing >= expectedInterval {
            record(missing)
            missing -= expectedInterval
        }
    }

    /// Forgets every recorded value, keeping the configuration and the allocated counts.
    public mutating func reset() {
        counts.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        recordedCount = 0
        clampedRecordCount = 0
        minRecorded = .max
        maxRecorded = 0
    }

    // MARK: Combining

    /// Adds every value recorded in `other` (bucket-exact when the configurations are equal;
    /// otherwise each of `other`'s buckets is re-recorded at its lowest value, clamping if needed).
    public mutating func merge(_ other: HDRHistogram) {
        guard other.totalCount > 0 else { return }
        if other.configuration == configuration {
            counts.withUnsafeMutableBufferPointer { mine in
                other.counts.withUnsafeBufferPointer { theirs in
                    let end = configuration.countsIndex(of: other.maxRecorded)
                    for i in 0...end { mine[i] &+= theirs[i] }
                }
            }
            recordedCount &+= other.totalCount
            clampedRecordCount &+= other.clampedCount
            minRecorded = Swift.min(minRecorded, other.minRecorded)
            maxRecorded = Swift.max(maxRecorded, other.maxRecorded)
        } else {
            let carriedClamps = other.clampedCount
            other.forEachRecordedBucket { bucket in
                record(bucket.lowestValue, count: bucket.count)
            }
            clampedRecordCount &+= carriedClamps
        }
    }

    /// Removes every value recorded in `other`, which must be contained in this histogram
    /// (as when taking the delta between two cumulative snapshots). Nothing changes on error.
    public mutating func subtract(_ other: HDRHistogram) throws(HistogramError) {
        guard other.totalCount > 0 else { return }
        var result = self
        if other.configuration == configuration {
            for i in 0..<configuration.countsLength where other.counts[i] != 0 {
                guard result.counts[i] >= other.counts[i] else {
                    throw .subtractUnderflow(value: configuration.value(atIndex: i))
                }
                result.counts[i] -= other.counts[i]
            }
        } else {
            var failure: HistogramError?
            other.forEachRecordedBucket { bucket in
                guard failure == nil else { return }
                let v = Swift.min(bucket.lowestValue, configuration.highestTrackableValue)
                let i = configuration.countsIndex(of: v)
                if result.counts[i] < bucket.count {
                    failure = .subtractUnderflow(value: v)
                } else {
                    result.counts[i] -= bucket.count
                }
            }
            if let failure { throw failure }
        }
        guard result.totalCount >= other.totalCount else { throw .subtractUnderflow(value: other.maxRecorded) }
        result.recordedCount -= other.totalCount
        result.clampedRecordCount = Swift.max(0, result.clampedCount - other.clampedCount)
        result.recomputeExtremesFromCounts()
        self = result
    }

    /// Sets the exact extremes to the lowest value of the first and last non-empty buckets,
    /// used when the exact values are no longer known (after subtract or decoding).
    mutating func recomputeExtremesFromCounts() {
        guard totalCount > 0,
              let first = counts.firstIndex(where: { $0 != 0 }),
              let last = counts.lastIndex(where: { $0 != 0 }) else {
            minRecorded = .max
            maxRecorded = 0
            return
        }
        minRecorded = configuration.value(atIndex: first)
        maxRecorded = configuration.value(atIndex: last)
    }
}

/// One non-empty bucket of a histogram.
public struct HistogramBucket: Equatable, Sendable {
    /// Position in the counts array.
    public let index: Int
    /// Smallest value in the bucket.
    public let lowestValue: Int64
    /// Largest value in the bucket.
    public let highestValue: Int64
    /// Number of values recorded in the bucket.
    public let count: Int64
}

extension HDRHistogram {
    /// Calls `body` for every non-empty bucket, lowest values first.
    public func forEachRecordedBucket(_ body: (HistogramBucket) throws -> Void) rethrows {
        guard totalCount > 0 else { return }
        let end = configuration.countsIndex(of: maxRecorded)
        for i in 0...end where counts[i] != 0 {
            let low = configuration.value(atIndex: i)
            try body(HistogramBucket(
                index: i, lowestValue: low,
                highestValue: configuration.highestEquivalentValue(low), count: counts[i]))
        }
    }

    /// Every non-empty bucket, lowest values first.
    public var recordedBuckets: [HistogramBucket] {
        var out: [HistogramBucket] = []
        forEachRecordedBucket { out.append($0) }
        return out
    }

    /// The count stored at counts-array `index`.
    public func count(atIndex index: Int) -> Int64 { counts[index] }

    /// The number of recorded values in the same bucket as `value`.
    public func count(atValue value: Int64) -> Int64 {
        let v = Swift.min(Swift.max(value, 0), configuration.highestTrackableValue)
        return counts[configuration.countsIndex(of: v)]
    }
}
