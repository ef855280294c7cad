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
