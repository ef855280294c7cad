/// Why a histogram could not be created, decoded or combined.
public enum HistogramError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The lowest/highest/significant-figures triple is not a valid configuration.
    case invalidConfiguration(String)
    /// Subtracting would make a bucket count negative.
    case subtractUnderflow(value: Int64)
    /// Encoded bytes were malformed.
    case malformedEncoding(String)

    public var description: String {
        switch self {
        case let .invalidConfiguration(why): return "invalid histogram configuration: \(why)"
        case let .subtractUnderflow(value): return "cannot subtract: the bucket of value \(value) would go below zero"
        case let .malformedEncoding(why): return "malformed histogram encoding: \(why)"
        }
    }
}

/// The value range and precision of an HDR histogram, and the bucket arithmetic derived from them.
///
/// Values are grouped in buckets of doubling width; each bucket is split into sub-buckets so that
/// any value is stored with `significantFigures` decimal digits of precision. The arithmetic is
/// HdrHistogram's, so counts arrays are index-compatible with every HdrHistogram implementation.
public struct HistogramConfiguration: Hashable, Sendable, CustomStringConvertible {
    /// Smallest value distinguishable from 0 (at least 1).
    public let lowestDiscernibleValue: Int64
    /// Largest value that is recorded without clamping.
    public let highestTrackableValue: Int64
    /// Decimal digits of precision kept for every value (1...5).
    public let significantFigures: Int

    @usableFromInline let unitMagnitude: Int
    @usableFromInline let subBucketHalfCountMagnitude: Int
    @usableFromInline let subBucketHalfCount: Int
    @usableFromInline let subBucketMask: Int64
    let subBucketCount: Int
    let bucketCount: Int
    /// Number of counters in the counts array.
    public let countsLength: Int

    /// The default for latencies: microseconds from 1 µs to 1 hour, 3 significant figures.
    public static let latencyMicroseconds = try! HistogramConfiguration(
        lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, significantFigures: 3)

    /// Validates the triple and derives the bucket layout.
    public init(lowestDiscernibleValue: Int64, highestTrackableValue: Int64, significantFigures: Int) throws(HistogramError) {
        guard lowestDiscernibleValue >= 1 else {
            throw .invalidConfiguration("lowest discernible value must be at least 1, got \(lowestDiscernibleValue)")
        }
        guard (1...5).contains(significantFigures) else {
            throw .invalidConfiguration("significant figures must be 1...5, got \(significantFigures)")
        }
        guard lowestDiscernibleValue <= Int64.max / 2, highestTrackableValue >= 2 * lowestDiscernibleValue else {
            throw .invalidConfiguration(
                "highest trackable value (\(highestTrackableValue)) must be at least twice the lowest (\(lowestDiscernibleValue))")
        }
        self.lowestDiscernibleValue = lowestDiscernibleValue
        self.highestTrackableValue = highestTrackableValue
        self.significantFigures = significantFigures

        var largestSingleUnitValue: Int64 = 2
        for _ in 0..<significantFigures { largestSingleUnitValue *= 10 }
        // ceil(log2(x)) and floor(log2(x)) in integers, so no floating-point rounding can shift a bucket.
        let subBucketCountMagnitude = 64 - (largestSingleUnitValue - 1).leadingZeroBitCount
        subBucketHalfCountMagnitude = max(subBucketCountMagnitude, 1) - 1
        unitMagnitude = 63 - lowestDiscernibleValue.leadingZeroBitCount
        guard unitMagnitude + subBucketHalfCountMagnitude <= 61 else {
            throw .invalidConfiguration("lowest discernible value \(lowestDiscernibleValue) is too large for \(significantFigures) significant figures")
        }
        subBucketCount = 1 << (subBucketHalfCountMagnitude + 1)
        subBucketHalfCount = subBucketCount / 2
        subBucketMask = Int64(subBucketCount - 1) << unitMagnitude

        var smallestUntrackable = Int64(subBucketCount) << unitMagnitude
        var buckets = 1
        while smallestUntrackable <= highestTrackableValue {
            if smallestUntrackable > Int64.max / 2 {
                buckets += 1
                break
            }
            smallestUntrackable <<= 1
            buckets += 1
        }
        bucketCount = buckets
        countsLength = (buckets + 1) * subBucketHalfCount
    }

    public var description: String {
        "[\(lowestDiscernibleValue), \(highestTrackableValue)] with \(significantFigures) significant figures"
    }

    // The hot-path arithmetic uses wrapping operators and masking shifts: for values in
    // 0...highestTrackableValue no intermediate can overflow and every shift is below 64, so
    // Swift's overflow traps and over-shift branches would only cost time.
    @inlinable
    func bucketIndex(of value: Int64) -> Int {
        let pow2Ceiling = 64 &- (value | subBucketMask).leadingZeroBitCount
        return pow2Ceiling &- unitMagnitude &- (subBucketHalfCountMagnitude &+ 1)
    }

    /// The counts-array index of the bucket holding `value` (which must be in 0...highestTrackableValue).
    @inlinable
    public func countsIndex(of value: Int64) -> Int {
        let bucket = bucketIndex(of: value)
        let subBucket = Int(truncatingIfNeeded: value &>> Int64(bucket &+ unitMagnitude))
        return ((bucket &+ 1) &<< subBucketHalfCountMagnitude) &+ subBucket &- subBucketHalfCount
    }

    /// The lowest value stored at counts-array `index`.
    public func value(atIndex index: Int) -> Int64 {
        var bucket = (index >> subBucketHalfCountMagnitude) - 1
        var subBucket = (index & (subBucketHalfCount - 1)) + subBucketHalfCount
        if bucket < 0 {
            subBucket -= subBucketHalfCount
            bucket = 0
        }
        return Int64(subBucket) << (bucket + unitMagnitude)
    }

    /// Width of the range of values that share `value`'s bucket.
    public func sizeOfEquivalentRange(_ value: Int64) -> Int64 {
        let bucket = bucketIndex(of: value)
        let subBucket = Int(truncatingIfNeeded: value >> (bucket + unitMagnitude))
        let adjusted = subBucket >= subBucketCount ? bucket + 1 : bucket
        return Int64(1) << (unitMagnitude + adjusted)
    }

    /// The smallest value that shares `value`'s bucket.
    public func lowestEquivalentValue(_ value: Int64) -> Int64 {
        let bucket = bucketIndex(of: value)
        let subBucket = value >> (bucket + unitMagnitude)
        return subBucket << (bucket + unitMagnitude)
    }

    /// The largest value that shares `value`'s bucket.
    public func highestEquivalentValue(_ value: Int64) -> Int64 {
        lowestEquivalentValue(value) + sizeOfEquivalentRange(value) - 1
    }

    /// The middle of `value`'s bucket, used for the mean and standard deviation.
    public func medianEquivalentValue(_ value: Int64) -> Int64 {
        lowestEquivalentValue(value) + sizeOfEquivalentRange(value) >> 1
    }

    /// True when `a` and `b` fall in the same bucket.
    public func valuesAreEquivalent(_ a: Int64, _ b: Int64) -> Bool {
        lowestEquivalentValue(a) == lowestEquivalentValue(b)
    }
}
