/// How a percentile is turned into the rank of a recorded value.
///
/// Implementations of HdrHistogram disagree here, and the difference is visible when
/// `percentile * count / 100` has a fractional part below one half.
public enum PercentileRank: Sendable, Hashable {
    /// rank = max(1, ⌊p/100 · N + 0.5⌋): HdrHistogram_c and the Python `hdrh` package. volley's default.
    case roundHalfUp
    /// rank = max(1, ⌈nextDown(p)/100 · N⌉): Java HdrHistogram ≥ 2.1.12 and hdrhistogram-swift.
    case ceiling

    func targetCount(percentile: Double, totalCount: Int64) -> Int64 {
        let n = Double(totalCount)
        switch self {
        case .roundHalfUp:
            let p = Swift.min(percentile, 100)
            return Swift.max(1, Int64(p * n / 100 + 0.5))
        case .ceiling:
            let p = Swift.min(Swift.max(percentile.nextDown, 0), 100)
            return Swift.max(1, Int64((p * n / 100).rounded(.up)))
        }
    }
}

extension HDRHistogram {
    /// The lowest value in the bucket of the smallest recorded value (0 when empty).
    public var min: Int64 {
        totalCount == 0 ? 0 : configuration.lowestEquivalentValue(minRecorded)
    }

    /// The highest value in the bucket of the largest recorded value (0 when empty),
    /// which is what every HdrHistogram implementation reports as the maximum.
    public var max: Int64 {
        totalCount == 0 ? 0 : configuration.highestEquivalentValue(maxRecorded)
    }

    /// The largest value recorded, exactly as recorded (after clamping); 0 when empty.
    /// After decoding or subtracting it is the lowest value of the highest non-empty bucket.
    public var exactMax: Int64 { totalCount == 0 ? 0 : maxRecorded }

    /// The smallest value recorded, exactly as recorded (after clamping); 0 when empty.
    public var exactMin: Int64 { totalCount == 0 ? 0 : minRecorded }

    /// The mean, with each value taken at the middle of its bucket (0 when empty).
    public var mean: Double {
        guard totalCount > 0 else { return 0 }
        var sum: Int128 = 0
        forEachRecordedBucket { bucket in
            sum += Int128(bucket.count) * Int128(configuration.medianEquivalentValue(bucket.lowestValue))
        }
        return Double(sum) / Double(totalCount)
    }

    /// The population standard deviation, with each value taken at the middle of its bucket.
    public var standardDeviation: Double {
        guard totalCount > 0 else { return 0 }
        let m = mean
        var total = 0.0
        forEachRecordedBucket { bucket in
            let deviation = Double(configuration.medianEquivalentValue(bucket.lowestValue)) - m
            total += deviation * deviation * Double(bucket.count)
        }
        return (total / Double(totalCount)).squareRoot()
    }

    /// The value at `percentile` (0...100): the highest value of the bucket where the
    /// cumulative count reaches the percentile's rank (the lowest value for percentile 0).
    public func value(atPercentile percentile: Double, rank: PercentileRank = .roundHalfUp) -> Int64 {
        values(atPercentiles: [percentile], rank: rank)[0]
    }

    /// The values at several percentiles, computed in one pass over the counts.
    public func values(atPercentiles percentiles: [Double], rank: PercentileRank = .roundHalfUp) -> [Int64] {
        var result = [Int64](repeating: 0, count: percentiles.count)
        guard totalCount > 0 else { return result }
        let order = percentiles.indices.sorted { percentiles[$0] < percentiles[$1] }
        var next = 0
        var running: Int64 = 0
        let end = configuration.countsIndex(of: maxRecorded)
        for i in 0...end {
            running += counts[i]
            while next < order.count {
                let k = order[next]
                guard running >= rank.targetCount(percentile: percentiles[k], totalCount: totalCount) else { break }
                let v = configuration.value(atIndex: i)
                result[k] = percentiles[k] == 0
                    ? configuration.lowestEquivalentValue(v)
                    : configuration.highestEquivalentValue(v)
                next += 1
            }
            if next == order.count { break }
        }
        return result
    }

    /// The percentage of recorded values that are at or below `value`'s bucket.
    public func percentile(atOrBelow value: Int64) -> Double {
        guard totalCount > 0 else { return 100 }
        let v = Swift.min(Swift.max(value, 0), configuration.highestTrackableValue)
        let target = configuration.countsIndex(of: v)
        var running: Int64 = 0
        for i in 0...target { running += counts[i] }
        return 100 * Double(running) / Double(totalCount)
    }

    /// Points of the cumulative distribution for plotting, HdrHistogram's percentile-output style:
    /// `ticksPerHalfDistance` steps between 0 and 50%, as many again up to 75%, and so on.
    public func percentileDistribution(ticksPerHalfDistance: Int = 5) -> [PercentilePoint] {
        guard totalCount > 0 else { return [] }
        var points: [PercentilePoint] = []
        var percentile = 0.0
        let ticks = Double(Swift.max(ticksPerHalfDistance, 1))
        while true {
            let v = value(atPercentile: percentile)
            if points.last?.value != v || percentile == 0 {
                points.append(PercentilePoint(percentile: percentile, value: v))
            } else {
                points[points.count - 1] = PercentilePoint(percentile: percentile, value: v)
            }
            if percentile >= 100 { break }
            // Halve the remaining distance to 100% every `ticks` steps.
            let halfDistance = (100.0 / (100.0 - percentile)).rounded(.down)
            let reportingTicks = ticks * Double(1 << Swift.min(62, Int(halfDistance.log2Floor) + 1))
            percentile += 100.0 / reportingTicks
            if 100 - percentile < 100 / Double(totalCount) / 2 || percentile > 100 { percentile = 100 }
        }
        return points
    }

    /// count, min, max, mean, standard deviation and the usual latency percentiles, in one value.
    public func summary(rank: PercentileRank = .roundHalfUp) -> HistogramSummary {
        let ps = HistogramSummary.standardPercentiles
        let vs = values(atPercentiles: ps, rank: rank)
        return HistogramSummary(
            count: totalCount, min: min, max: max, mean: mean, standardDeviation: standardDeviation,
            percentiles: zip(ps, vs).map { PercentilePoint(percentile: $0, value: $1) },
            clampedCount: clampedCount)
    }
}

extension Double {
    fileprivate var log2Floor: Double {
        self < 1 ? 0 : Double(63 - UInt64(self).leadingZeroBitCount)
    }
}

/// A percentile and the value at it.
public struct PercentilePoint: Equatable, Sendable, Codable {
    /// Percentile in 0...100.
    public let percentile: Double
    /// The value at that percentile.
    public let value: Int64

    public init(percentile: Double, value: Int64) {
        self.percentile = percentile
        self.value = value
    }
}

/// The figures a report shows for one histogram.
public struct HistogramSummary: Equatable, Sendable {
    /// The percentiles every summary carries: 50, 90, 95, 99, 99.9, 99.99.
    public static let standardPercentiles: [Double] = [50, 90, 95, 99, 99.9, 99.99]

    public let count: Int64
    public let min: Int64
    public let max: Int64
    public let mean: Double
    public let standardDeviation: Double
    public let percentiles: [PercentilePoint]
    public let clampedCount: Int64

    /// The value at `percentile` if the summary carries it.
    public func value(atPercentile percentile: Double) -> Int64? {
        percentiles.first { $0.percentile == percentile }?.value
    }
}
