import ByteCoding

/// A histogram kept as its non-empty buckets only: what travels from agents and what a run
/// stores per interval. A few kilobytes instead of the 184 KiB counts array of a dense
/// `HDRHistogram` (1 µs..1 h, 3 figures), and exactly the same distribution.
public struct CompactHistogram: Sendable, Equatable {
    public let configuration: HistogramConfiguration
    /// Indices of the non-empty buckets, ascending, and their counts.
    public private(set) var indices: [Int32]
    public private(set) var counts: [Int64]
    public private(set) var totalCount: Int64
    public private(set) var clampedCount: Int64
    /// Exact extremes (0 when empty).
    public private(set) var exactMin: Int64
    public private(set) var exactMax: Int64

    /// An empty histogram.
    public init(configuration: HistogramConfiguration = .latencyMicroseconds) {
        self.init(configuration: configuration, indices: [], counts: [], totalCount: 0, clampedCount: 0, exactMin: 0, exactMax: 0)
    }

    init(configuration: HistogramConfiguration, indices: [Int32], counts: [Int64], totalCount: Int64, clampedCount: Int64,
         exactMin: Int64, exactMax: Int64) {
        self.configuration = configuration
        self.indices = indices
        self.counts = counts
        self.totalCount = totalCount
        self.clampedCount = clampedCount
        self.exactMin = exactMin
        self.exactMax = exactMax
    }

    /// Adds `other`'s values (bucket-exact; both must have the same configuration, as every
    /// histogram of one metric has).
    public mutating func merge(_ other: CompactHistogram) {
        guard other.totalCount > 0 else { return }
        guard totalCount > 0 else {
            self = other
            return
        }
        precondition(configuration == other.configuration, "merging histograms of different configurations")
        var mergedIndices: [Int32] = []
        var mergedCounts: [Int64] = []
        mergedIndices.reserveCapacity(indices.count + other.indices.count)
        mergedCounts.reserveCapacity(indices.count + other.indices.count)
        var i = 0, j = 0
        while i < indices.count || j < other.indices.count {
            if j == other.indices.count || (i < indices.count && indices[i] < other.indices[j]) {
                mergedIndices.append(indices[i]); mergedCounts.append(counts[i]); i += 1
            } else if i == indices.count || other.indices[j] < indices[i] {
                mergedIndices.append(other.indices[j]); mergedCounts.append(other.counts[j]); j += 1
            } else {
                mergedIndices.append(indices[i]); mergedCounts.append(counts[i] &+ other.counts[j]); i += 1; j += 1
            }
        }
        indices = mergedIndices
        counts = mergedCounts
        totalCount &+= other.totalCount
        clampedCount &+= other.clampedCount
        exactMin = Swift.min(exactMin, other.exactMin)
        exactMax = Swift.max(exactMax, other.exactMax)
    }

    /// The non-empty buckets of a dense histogram.
    public init(_ h: HDRHistogram) {
        configuration = h.configuration
        var indices: [Int32] = []
        var counts: [Int64] = []
        h.forEachRecordedBucket { b in
            indices.append(Int32(b.index))
            counts.append(b.count)
        }
        self.indices = indices
        self.counts = counts
        totalCount = h.totalCount
        clampedCount = h.clampedCount
        exactMin = h.exactMin
        exactMax = h.exactMax
    }

    /// Decodes `HDRHistogram`'s sparse encoding without building the dense counts.
    public init(sparseFrom reader: inout ByteReader, maxCountsLength: Int = 1 << 22) throws(HistogramError) {
        do {
            let version = try reader.readByte()
            guard version == HDRHistogram.sparseFormatVersion else {
                throw HistogramError.malformedEncoding("sparse format version \(version), expected \(HDRHistogram.sparseFormatVersion)")
            }
            let lowest = try reader.readVarInt(limit: Int(Int64.max), field: "lowest discernible value")
            let highest = try reader.readVarInt(limit: Int(Int64.max), field: "highest trackable value")
            let figures = Int(try reader.readByte())
            configuration = try HistogramConfiguration(lowestDiscernibleValue: Int64(lowest), highestTrackableValue: Int64(highest),
                                                       significantFigures: figures)
            guard configuration.countsLength <= maxCountsLength else {
                throw HistogramError.malformedEncoding("configuration \(configuration) needs \(configuration.countsLength) counters, limit is \(maxCountsLength)")
            }
            let clamped = try reader.readVarInt(limit: Int(Int64.max), field: "clamped count")
            exactMin = Int64(try reader.readVarInt(limit: highest, field: "minimum"))
            exactMax = Int64(try reader.readVarInt(limit: highest, field: "maximum"))
            let n = try reader.readVarInt(limit: configuration.countsLength, field: "bucket count")
            var indices: [Int32] = []
            var counts: [Int64] = []
            indices.reserveCapacity(Swift.min(n, reader.remaining / 2))
            counts.reserveCapacity(Swift.min(n, reader.remaining / 2))
            var index = -1
            var total: Int64 = 0
            for _ in 0..<n {
                index += try reader.readVarInt(limit: configuration.countsLength, field: "bucket index delta") + 1
                guard index < configuration.countsLength else {
                    throw HistogramError.malformedEncoding("bucket index \(index) is beyond the \(configuration.countsLength) counters")
                }
                let count = Int64(try reader.readVarInt(limit: Int(Int64.max), field: "bucket count"))
                guard count > 0, total <= Int64.max - count else {
                    throw HistogramError.malformedEncoding("bucket \(index) has an empty or overflowing count")
                }
                indices.append(Int32(index))
                counts.append(count)
                total += count
            }
            guard clamped <= total else { throw HistogramError.malformedEncoding("clamped count \(clamped) exceeds the total \(total)") }
            if total > 0 {
                guard configuration.countsIndex(of: exactMin) == Int(indices.first!), configuration.countsIndex(of: exactMax) == index else {
                    throw HistogramError.malformedEncoding("minimum/maximum do not fall in the first/last non-empty buckets")
                }
            } else {
                exactMin = 0
                exactMax = 0
            }
            self.indices = indices
            self.counts = counts
            totalCount = total
            clampedCount = Int64(clamped)
        } catch let error as HistogramError {
            throw error
        } catch {
            throw .malformedEncoding("sparse histogram: \(error)")
        }
    }

    /// The same sparse encoding `HDRHistogram.encodeSparse` writes.
    public func encodeSparse(into writer: inout ByteWriter) {
        HDRHistogram.writeSparseHeader(configuration, clamped: clampedCount, min: exactMin, max: exactMax,
                                       buckets: indices.count, into: &writer)
        var previous = -1
        for (i, index) in indices.enumerated() {
            writer.writeVarUInt(UInt64(Int(index) - previous - 1))
            writer.writeVarUInt(UInt64(counts[i]))
            previous = Int(index)
        }
    }

    public var isEmpty: Bool { totalCount == 0 }

    /// Adds this histogram's values to `h` (bucket-exact when the configurations are equal).
    public func add(to h: inout HDRHistogram) {
        guard totalCount > 0 else { return }
        if h.configuration == configuration {
            h.counts.withUnsafeMutableBufferPointer { dst in
                for (i, index) in indices.enumerated() { dst[Int(index)] &+= counts[i] }
            }
            h.recordedCount &+= totalCount
            h.clampedRecordCount &+= clampedCount
            h.minRecorded = Swift.min(h.minRecorded, exactMin)
            h.maxRecorded = Swift.max(h.maxRecorded, exactMax)
        } else {
            for (i, index) in indices.enumerated() { h.record(configuration.value(atIndex: Int(index)), count: counts[i]) }
        }
    }

    /// The dense histogram.
    public func expanded() -> HDRHistogram {
        var h = HDRHistogram(configuration: configuration)
        add(to: &h)
        return h
    }

    /// Values at percentiles, exactly as `HDRHistogram.values(atPercentiles:rank:)` gives them.
    public func values(atPercentiles percentiles: [Double], rank: PercentileRank = .roundHalfUp) -> [Int64] {
        var result = [Int64](repeating: 0, count: percentiles.count)
        guard totalCount > 0 else { return result }
        let order = percentiles.indices.sorted { percentiles[$0] < percentiles[$1] }
        var next = 0
        var running: Int64 = 0
        for (i, index) in indices.enumerated() {
            running += counts[i]
            while next < order.count {
                let k = order[next]
                guard running >= rank.targetCount(percentile: percentiles[k], totalCount: totalCount) else { break }
                let v = configuration.value(atIndex: Int(index))
                result[k] = percentiles[k] == 0 ? configuration.lowestEquivalentValue(v) : configuration.highestEquivalentValue(v)
                next += 1
            }
            if next == order.count { break }
        }
        return result
    }

    /// The highest value of the top bucket (as `HDRHistogram.max`).
    public var max: Int64 { totalCount == 0 ? 0 : configuration.highestEquivalentValue(exactMax) }
    /// The lowest value of the bottom bucket (as `HDRHistogram.min`).
    public var min: Int64 { totalCount == 0 ? 0 : configuration.lowestEquivalentValue(exactMin) }
}

/// A metric set with compact histograms: an agent's per-second report, a stored interval.
public struct CompactMetricSet: Sendable, Equatable {
    public var histograms: [String: CompactHistogram]
    public var counters: [String: Int64]
    public var gauges: [String: Int64]

    public init(histograms: [String: CompactHistogram] = [:], counters: [String: Int64] = [:], gauges: [String: Int64] = [:]) {
        self.histograms = histograms
        self.counters = counters
        self.gauges = gauges
    }

    /// The compact form of a dense set.
    public init(_ set: MetricSet) {
        histograms = set.histograms.mapValues(CompactHistogram.init)
        counters = set.counters
        gauges = set.gauges
    }

    /// The dense form.
    public func expanded() -> MetricSet {
        MetricSet(histograms: histograms.mapValues { $0.expanded() }, counters: counters, gauges: gauges)
    }

    public func counter(_ name: String) -> Int64 { counters[name] ?? 0 }
    public func gauge(_ name: String) -> Int64 { gauges[name] ?? 0 }

    /// Merges another source's set of the same period: histograms bucket by bucket, counters and
    /// gauges added.
    public mutating func merge(_ other: CompactMetricSet) {
        for (name, h) in other.histograms { histograms[name, default: CompactHistogram(configuration: h.configuration)].merge(h) }
        for (name, value) in other.counters { counters[name, default: 0] += value }
        for (name, value) in other.gauges { gauges[name, default: 0] += value }
    }

    /// True when nothing was counted or recorded and every gauge is zero.
    public var isEmpty: Bool {
        histograms.values.allSatisfy(\.isEmpty) && counters.values.allSatisfy { $0 == 0 } && gauges.values.allSatisfy { $0 == 0 }
    }
}

extension MetricSet {
    /// Merges a compact set (another source's measurements of the same period).
    public mutating func merge(_ other: CompactMetricSet) {
        for (name, histogram) in other.histograms {
            if histograms[name] == nil {
                histograms[name] = histogram.expanded()
            } else {
                histogram.add(to: &histograms[name]!)
            }
        }
        for (name, value) in other.counters { counters[name, default: 0] += value }
        for (name, value) in other.gauges { gauges[name, default: 0] += value }
    }
}
