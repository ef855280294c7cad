import ByteCoding

/// The standard HdrHistogram "V2 compressed" encoding, readable by every HdrHistogram
/// implementation (Java, C, Python, Go, Rust) and by their log tools.
///
/// Layout: an 8-byte big-endian outer header (compressed cookie, compressed length) and a zlib
/// stream holding a 40-byte big-endian payload header (cookie, payload length, normalizing index
/// offset, significant figures, lowest, highest, conversion ratio) followed by the counts as
/// ZigZag LEB128 varints of at most 9 bytes, where a negative value -k stands for k empty buckets.
extension HDRHistogram {
    static let v2EncodingCookie: UInt32 = 0x1c84_9303 | 0x10
    static let v2CompressedCookie: UInt32 = 0x1c84_9304 | 0x10
    static let payloadHeaderLength = 40

    /// The V2 compressed encoding (binary).
    public func encodeV2() -> [UInt8] {
        var body = ByteWriter(capacity: 64)
        body.writeBigEndian(Self.v2EncodingCookie)
        body.writeBigEndian(UInt32(0))                         // payload length, patched below
        body.writeBigEndian(UInt32(0))                         // normalizing index offset
        body.writeBigEndian(UInt32(configuration.significantFigures))
        body.writeBigEndian(UInt64(configuration.lowestDiscernibleValue))
        body.writeBigEndian(UInt64(configuration.highestTrackableValue))
        body.writeBigEndian(Double(1.0).bitPattern)            // integer-to-double conversion ratio
        if totalCount > 0 {
            let end = configuration.countsIndex(of: maxRecorded)
            var i = 0
            while i <= end {
                if counts[i] == 0 {
                    var run = 0
                    while i <= end && counts[i] == 0 { run += 1; i += 1 }
                    Self.writeV2Varint(-Int64(run), to: &body)
                } else {
                    Self.writeV2Varint(counts[i], to: &body)
                    i += 1
                }
            }
        }
        body.patchBigEndian(UInt32(body.count - Self.payloadHeaderLength), at: 4)
        let compressed = Zlib.compress(body.bytes)
        var out = ByteWriter(capacity: compressed.count + 8)
        out.writeBigEndian(Self.v2CompressedCookie)
        out.writeBigEndian(UInt32(compressed.count))
        out.write(contentsOf: compressed)
        return out.bytes
    }

    /// The V2 compressed encoding as Base64 text (it always starts with "HISTF").
    public func encodeV2Base64() -> String {
        Base64.encode(encodeV2())
    }

    /// Decodes a V2 compressed histogram; `maxCountsLength` bounds the memory hostile input can claim.
    public init(v2Encoded bytes: [UInt8], maxCountsLength: Int = 1 << 22) throws(HistogramError) {
        var outer = ByteReader(bytes)
        let cookie: UInt32
        let compressedLength: UInt32
        do {
            cookie = try outer.readBigEndian(UInt32.self)
            compressedLength = try outer.readBigEndian(UInt32.self)
        } catch {
            throw .malformedEncoding("shorter than the 8-byte V2 header")
        }
        guard cookie & ~0xf0 == Self.v2CompressedCookie & ~0xf0 else {
            throw .malformedEncoding("cookie 0x\(String(cookie, radix: 16)) is not a V2 compressed histogram")
        }
        guard Int(compressedLength) == outer.remaining else {
            throw .malformedEncoding("header announces \(compressedLength) compressed bytes, \(outer.remaining) follow")
        }
        var declaredLength = 0
        var configuration = HistogramConfiguration.latencyMicroseconds
        let payload = try Zlib.decompress(Array(bytes[8...]), headerLength: Self.payloadHeaderLength) {
            (header) throws(HistogramError) -> Int in
            var r = ByteReader(header)
            do {
                let innerCookie = try r.readBigEndian(UInt32.self)
                guard innerCookie & ~0xf0 == Self.v2EncodingCookie & ~0xf0 else {
                    throw HistogramError.malformedEncoding("payload cookie 0x\(String(innerCookie, radix: 16)) is not V2")
                }
                declaredLength = Int(try r.readBigEndian(UInt32.self))
                let normalizingOffset = try r.readBigEndian(UInt32.self)
                guard normalizingOffset == 0 else {
                    throw HistogramError.malformedEncoding("normalizing index offset \(normalizingOffset) is not supported")
                }
                let figures = Int(try r.readBigEndian(UInt32.self))
                let lowest = Int64(bitPattern: try r.readBigEndian(UInt64.self))
                let highest = Int64(bitPattern: try r.readBigEndian(UInt64.self))
                configuration = try HistogramConfiguration(
                    lowestDiscernibleValue: lowest, highestTrackableValue: highest, significantFigures: figures)
            } catch let error as HistogramError {
                throw error
            } catch {
                throw HistogramError.malformedEncoding("V2 payload header: \(error)")
            }
            guard configuration.countsLength <= maxCountsLength else {
                throw HistogramError.malformedEncoding("configuration \(configuration) needs \(configuration.countsLength) counters, limit is \(maxCountsLength)")
            }
            // Each counter takes at most 9 bytes, so a longer payload cannot be valid.
            guard declaredLength <= 9 * configuration.countsLength else {
                throw HistogramError.malformedEncoding("payload length \(declaredLength) is impossible for \(configuration.countsLength) counters")
            }
            return Self.payloadHeaderLength + declaredLength
        }
        var histogram = HDRHistogram(configuration: configuration)
        var position = Self.payloadHeaderLength
        var index = 0
        var total: Int64 = 0
        while position < payload.count {
            let value = try Self.readV2Varint(payload, at: &position)
            if value < 0 {
                let run = value == Int64.min ? Int64.max : -value
                guard run <= Int64(configuration.countsLength - index) else {
                    throw .malformedEncoding("zero run of \(run) passes the end of the \(configuration.countsLength) counters")
                }
                index += Int(run)
            } else {
                guard index < configuration.countsLength else {
                    throw .malformedEncoding("more than \(configuration.countsLength) counters")
                }
                guard total <= Int64.max - value else { throw .malformedEncoding("total count overflows") }
                histogram.counts[index] = value
                total += value
                index += 1
            }
        }
        histogram.recordedCount = total
        histogram.recomputeExtremesFromCounts()
        self = histogram
    }

    /// Decodes V2 compressed Base64 text.
    public init(v2Base64 text: String, maxCountsLength: Int = 1 << 22) throws(HistogramError) {
        guard let bytes = Base64.decode(text.trimmingASCIIWhitespace()) else {
            throw .malformedEncoding("not valid Base64")
        }
        try self.init(v2Encoded: bytes, maxCountsLength: maxCountsLength)
    }

    /// LEB128-64b9B: like LEB128, but the 9th byte carries a full 8 bits, so 64 bits fit in 9 bytes.
    static func writeV2Varint(_ value: Int64, to writer: inout ByteWriter) {
        var v = ZigZag.encode(value)
        for _ in 0..<8 {
            if v < 0x80 {
                writer.write(UInt8(v))
                return
            }
            writer.write(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        writer.write(UInt8(truncatingIfNeeded: v))
    }

    static func readV2Varint(_ bytes: [UInt8], at position: inout Int) throws(HistogramError) -> Int64 {
        var result: UInt64 = 0
        for n in 0..<9 {
            guard position < bytes.count else { throw .malformedEncoding("counts end inside a varint") }
            let b = bytes[position]
            position += 1
            if n == 8 {
                result |= UInt64(b) << 56
                break
            }
            result |= UInt64(b & 0x7f) << (7 * UInt64(n))
            if b & 0x80 == 0 { break }
        }
        return ZigZag.decode(result)
    }
}

extension String {
    func trimmingASCIIWhitespace() -> String {
        let scalars = unicodeScalars
        var start = scalars.startIndex
        var end = scalars.endIndex
        while start < end, scalars[start].properties.isWhitespace { start = scalars.index(after: start) }
        while end > start, scalars[scalars.index(before: end)].properties.isWhitespace { end = scalars.index(before: end) }
        return String(scalars[start..<end])
    }
}
