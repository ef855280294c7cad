import CZlib

/// RFC 1950 (zlib) compression through the system's libz, as HdrHistogram's V2 format needs.
enum Zlib {
    /// Compresses `input` into a zlib stream at the default level.
    static func compress(_ input: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        guard volley_deflate_init(&stream, Z_DEFAULT_COMPRESSION) == Z_OK else {
            preconditionFailure("deflateInit failed: zlib cannot allocate its state")
        }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))))
        var input = input
        let status: Int32 = input.withUnsafeMutableBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst in
                stream.next_in = src.baseAddress
                stream.avail_in = uInt(src.count)
                stream.next_out = dst.baseAddress
                stream.avail_out = uInt(dst.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        precondition(status == Z_STREAM_END, "deflate into a deflateBound-sized buffer must finish")
        output.removeSubrange(Int(stream.total_out)...)
        return output
    }

    /// Decompresses a complete zlib stream whose output must not exceed `limit` bytes.
    /// `headerLimit` bytes are inflated first and given to `maximumLength`, which returns the
    /// total length the header announces (or throws), so hostile input cannot make us allocate
    /// more than the data claims and the caller allows.
    static func decompress(
        _ input: [UInt8], headerLength: Int, totalLength: ([UInt8]) throws(HistogramError) -> Int
    ) throws(HistogramError) -> [UInt8] {
        var stream = z_stream()
        guard volley_inflate_init(&stream) == Z_OK else {
            throw .malformedEncoding("zlib could not start inflating")
        }
        defer { inflateEnd(&stream) }
        var input = input
        return try input.withUnsafeMutableBufferPointer { (src) throws(HistogramError) -> [UInt8] in
            stream.next_in = src.baseAddress
            stream.avail_in = uInt(src.count)
            var header = [UInt8](repeating: 0, count: headerLength)
            let headerStatus = header.withUnsafeMutableBufferPointer { dst in
                stream.next_out = dst.baseAddress
                stream.avail_out = uInt(dst.count)
                return inflate(&stream, Z_NO_FLUSH)
            }
            guard headerStatus == Z_OK || headerStatus == Z_STREAM_END, stream.avail_out == 0 else {
                throw .malformedEncoding("compressed payload is shorter than its \(headerLength)-byte header")
            }
            let total = try totalLength(header)
            var output = header
            output.append(contentsOf: repeatElement(0, count: total - headerLength))
            let status = output.withUnsafeMutableBufferPointer { dst in
                stream.next_out = dst.baseAddress! + headerLength
                stream.avail_out = uInt(total - headerLength)
                return inflate(&stream, Z_FINISH)
            }
            guard status == Z_STREAM_END else {
                if status == Z_BUF_ERROR || status == Z_OK {
                    throw .malformedEncoding("compressed payload is longer or shorter than its header says")
                }
                throw .malformedEncoding("zlib stream is corrupt (inflate status \(status))")
            }
            guard Int(stream.total_out) == total else {
                throw .malformedEncoding("payload has \(stream.total_out) bytes, header says \(total)")
            }
            return output
        }
    }
}
