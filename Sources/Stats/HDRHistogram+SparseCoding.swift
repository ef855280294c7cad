import ByteCoding

extension HDRHistogram {
    static let sparseFormatVersion: UInt8 = 1

    /// Encodes the histogram compactly for the wire: only non-empty buckets, as varint index
    /// deltas and counts, plus the exact extremes and the clamped count. Decoding gives back an
    /// identical histogram (including `exactMin`, `exactMax` and `clampedCount`).
    public func encodeSparse(into writer: inout ByteWriter) {
        var buckets = 0
        forEachRecordedBucket { _ in buckets += 1 }
        Self.writeSparseHeader(configuration, clamped: clampedCount, min: exactMin, max: exactMax, buckets: buckets, into: &writer)
        var previous = -1
        forEachRecordedBucket { bucket in
            writer.writeVarUInt(UInt64(bucket.index - previous - 1))
            writer.writeVarUInt(UInt64(bucket.count))
            previous = bucket.index
        }
    }

    /// The sparse encoding's header, shared with `CompactHistogram`: version, configuration,
    /// clamped count, exact extremes and the number of (index delta, count) pairs that follow.
    static func writeSparseHeader(_ configuration: HistogramConfiguration, clamped: Int64, min: Int64, max: Int64,
                                  buckets: Int, into writer: inout ByteWriter) {
        writer.write(sparseFormatVersion)
        writer.writeVarUInt(UInt64(configuration.lowestDiscernibleValue))
        writer.writeVarUInt(UInt64(configuration.highestTrackableValue))
        writer.write(UInt8(configuration.significantFigures))
        writer.writeVarUInt(UInt64(clamped))
        writer.writeVarUInt(UInt64(min))
        writer.writeVarUInt(UInt64(max))
        writer.writeVarUInt(UInt64(buckets))
    }

    /// The sparse encoding as a byte array.
    public func encodeSparse() -> [UInt8] {
        var writer = ByteWriter(capacity: 32)
        encodeSparse(into: &writer)
        return writer.bytes
    }

    /// Decodes a sparse encoding; `maxCountsLength` bounds the memory a hostile peer can make us
    /// allocate. One decoder (CompactHistogram's) validates every encoding.
    public init(sparseFrom reader: inout ByteReader, maxCountsLength: Int = 1 << 22) throws(HistogramError) {
        self = try CompactHistogram(sparseFrom: &reader, maxCountsLength: maxCountsLength).expanded()
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
