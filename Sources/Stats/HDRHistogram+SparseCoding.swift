import ByteCoding

extension HDRHistogram {
    static let sparseFormatVersion: UInt8 = 1

    /// Encodes the histogram compactly for the wire: only non-empty buckets, as varint index
    /// deltas and counts, plus the exact extremes and the clamped count. Decoding gives back an
    /// identical histogram (including `exactMin`, `exactMax` and `clampedCount`).
    public func encodeSparse(into writer: inout ByteWriter) {
        writer.write(Self.sparseFormatVersion)
        writer.writeVarUInt(UInt64(configuration.lowestDiscernibleValue))
        writer.writeVarUInt(UInt64(configuration.highestTrackableValue))
        writer.write(UInt8(configuration.significantFigures))
        writer.writeVarUInt(UInt64(clampedCount))
        writer.writeVarUInt(UInt64(exactMin))
        writer.writeVarUInt(UInt64(exactMax))
        var buckets = 0
        forEachRecordedBucket { _ in buckets += 1 }
        writer.writeVarUInt(UInt64(buckets))
        var previous = -1
        forEachRecordedBucket { bucket in
            writer.writeVarUInt(UInt64(bucket.index - previous - 1))
            writer.writeVarUInt(UInt64(bucket.count))
            previous = bucket.index
        }
    }

    /// The sparse encoding as a byte array.
    public func encodeSparse() -> [UInt8] {
        var writer = ByteWriter(capacity: 32)
        encodeSparse(into: &writer)
        return writer.bytes
    }

    /// Decodes a sparse encoding; `maxCountsLength` bounds the memory a hostile peer can make us allocate.
    public init(sparseFrom reader: inout ByteReader, maxCountsLength: Int = 1 << 22) throws(HistogramError) {
        do {
            let version = try reader.readByte()
            guard version == Self.sparseFormatVersion else {
                throw HistogramError.malformedEncoding("sparse format version \(version), expected \(Self.sparseFormatVersion)")
            }
            let lowest = try reader.readVarInt(limit: Int(Int64.max), field: "lowest discernible value")
            let highest = try reader.readVarInt(limit: Int(Int64.max), field: "highest trackable value")
            let figures = Int(try reader.readByte())
            let configuration = try HistogramConfiguration(
                lowestDiscernibleValue: Int64(lowest), highestTrackableValue: Int64(highest), significantFigures: figures)
            guard configuration.countsLength <= maxCountsLength else {
                throw HistogramError.malformedEncoding("configuration \(configuration) needs \(configuration.countsLength) counters, limit is \(maxCountsLength)")
            }
            var histogram = HDRHistogram(configuration: configuration)
            let clamped = try reader.readVarInt(limit: Int(Int64.max), field: "clamped count")
            let exactMin = Int64(try reader.readVarInt(limit: Int(highest), field: "minimum"))
            let exactMax = Int64(try reader.readVarInt(limit: Int(highest), field: "maximum"))
            let buckets = try reader.readVarInt(limit: configuration.countsLength, field: "bucket count")
            var index = -1
            var total: Int64 = 0
            for _ in 0..<buckets {
                let delta = try reader.readVarInt(limit: configuration.countsLength, field: "bucket index delta")
                index += delta + 1
                guard index < configuration.countsLength else {
                    throw HistogramError.malformedEncoding("bucket index \(index) is beyond the \(configuration.countsLength) counters")
                }
                let count = Int64(try reader.readVarInt(limit: Int(Int64.max), field: "bucket count"))
                guard count > 0, total <= Int64.max - count else {
                    throw HistogramError.malformedEncoding("bucket \(index) has an empty or overflowing count")
                }
                histogram.counts[index] = count
                total += count
            }
            guard clamped <= total else {
                throw HistogramError.malformedEncoding("clamped count \(clamped) exceeds the total \(total)")
            }
            histogram.recordedCount = total
            histogram.clampedRecordCount = Int64(clamped)
            if total > 0 {
                let first = histogram.counts.firstIndex { $0 != 0 }!
                guard configuration.countsIndex(of: exactMin) == first, configuration.countsIndex(of: exactMax) == index else {
                    throw HistogramError.malformedEncoding("minimum/maximum do not fall in the first/last non-empty buckets")
                }
                histogram.minRecorded = exactMin
                histogram.maxRecorded = exactMax
            }
            self = histogram
        } catch let error as HistogramError {
            throw error
        } catch let error as ByteReaderError {
            throw .malformedEncoding("sparse histogram: \(error)")
        } catch {
            throw .malformedEncoding("sparse histogram: \(error)")
        }
    }

    /// Decodes a sparse encoding that fills `bytes` exactly.
    public init(sparseEncoded bytes: [UInt8], maxCountsLength: Int = 1 << 22) throws(HistogramError) {
        var reader = ByteReader(bytes)
        try self.init(sparseFrom: &reader, maxCountsLength: maxCountsLength)
        guard reader.isAtEnd else {
            throw .malformedEncoding("\(reader.remaining) unexpected byte(s) after the sparse histogram")
        }
    }
}
