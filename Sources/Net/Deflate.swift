import CZlib

/// Raw DEFLATE (RFC 1951) compression as permessage-deflate (RFC 7692) uses it: each message
/// is compressed and flushed to a byte boundary (Z_SYNC_FLUSH), and the flush's empty-block
/// trailer 00 00 FF FF is left off. The zlib state lives outside Swift's reach (zlib keeps a
/// pointer back to its stream) and is kept between messages for context takeover, or reset
/// after each one.
public final class RawDeflater {
    private let stream: UnsafeMutablePointer<z_stream>
    /// The window (8...15 bits; zlib uses 9 for 8, which a peer asking for 8 cannot read).
    public let windowBits: Int

    /// A compressor with a `windowBits` window (9...15; nil otherwise, or when zlib cannot
    /// allocate); `memoryLevel` 1...9 trades memory for ratio (zlib holds 2^(windowBits+2) +
    /// 2^(memoryLevel+9) bytes). By default it follows the window (`memoryLevel(for:)`).
    public init?(windowBits: Int, memoryLevel: Int? = nil, level: Int = -1) {
        guard (9...15).contains(windowBits) else { return nil }   // zlib's raw deflate windows
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        self.windowBits = windowBits
        let memory = memoryLevel ?? Self.memoryLevel(for: windowBits)
        guard volley_raw_deflate_init(stream, Int32(level), Int32(windowBits), Int32(memory)) == Z_OK else {
            stream.deallocate()
            return nil
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
    }

    /// zlib's default 8 for a full window, less for smaller ones: a scenario that asks for a
    /// small window wants small connections, and zlib's hash tables (2^(level+9) bytes) would
    /// otherwise dwarf it (a 9-bit window: 2 KiB of window, 128 KiB of tables at level 8).
    public static func memoryLevel(for windowBits: Int) -> Int { Swift.min(8, Swift.max(1, windowBits - 7)) }

    /// Appends `input` compressed (one message, flushed, without its 00 00 FF FF trailer) to
    /// `output`; with `reset`, the next message starts with an empty window (no context
    /// takeover). Returns the bytes appended.
    @discardableResult
    public func compress(_ input: UnsafeRawBufferPointer, into output: inout ByteQueue, reset: Bool) -> Int {
        let start = output.count
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        // The input first without a flush, then the flush: zlib ignores a sync flush that
        // follows another with no input between, and an empty message must still end with its
        // own (empty) block, whose header bits the receiver's 00 00 FF FF completes.
        for pass in 0..<2 {
            let flush = pass == 0 ? Z_NO_FLUSH : Z_SYNC_FLUSH
            while true {
                let space = output.reserve(Swift.max(64, input.count / 2 + 64))
                stream.pointee.next_out = space.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = uInt(space.count)
                let status = deflate(stream, flush)
                output.commit(space.count - Int(stream.pointee.avail_out))
                // Done when zlib took all input and still had room to spare.
                if status != Z_OK { break }
                if stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0 { break }
            }
        }
        stream.pointee.next_in = nil
        var produced = output.count - start
        // The sync flush ends with an empty stored block, 00 00 FF FF: the peer adds it back.
        if produced >= 4 {
            let tail = output.readable.baseAddress! + output.count - 4
            if tail.loadUnaligned(fromByteOffset: 0, as: UInt32.self) == UInt32(littleEndian: 0xFFFF_0000) {
                output.uncommit(4)
                produced -= 4
            }
        }
        if reset { deflateReset(stream) }
        return produced
    }
}

/// Raw DEFLATE decompression for permessage-deflate, bounded while it inflates: a message that
/// would inflate past the limit stops there (a decompression bomb costs at most the limit).
public final class RawInflater {
    private let stream: UnsafeMutablePointer<z_stream>
    public let windowBits: Int

    /// How decompressing a message (or a piece of one) went.
    public enum Outcome: Equatable, Sendable {
        case ok
        /// The message inflates to more than the limit.
        case tooLarge
        /// Not valid DEFLATE data.
        case corrupt
    }

    public init?(windowBits: Int) {
        guard (8...15).contains(windowBits) else { return nil }
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        self.windowBits = windowBits
        guard volley_raw_inflate_init(stream, Int32(windowBits)) == Z_OK else {
            stream.deallocate()
            return nil
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    private static let trailer: (UInt8, UInt8, UInt8, UInt8) = (0x00, 0x00, 0xFF, 0xFF)

    /// Appends the decompressed `input` to `output`, which must not grow past `limit` bytes in
    /// all. `final` on a message's last piece: the 00 00 FF FF trailer the sender left off is
    /// fed too, and with `reset` the window is emptied for the next message.
    public func decompress(_ input: UnsafeRawBufferPointer, final: Bool, into output: inout ByteQueue, limit: Int, reset: Bool) -> Outcome {
        var outcome = feed(input, into: &output, limit: limit)
        if outcome == .ok && final {
            outcome = withUnsafeBytes(of: Self.trailer) { feed($0, into: &output, limit: limit) }
        }
        if final || outcome != .ok {
            if reset || outcome != .ok { inflateReset(stream) }
        }
        return outcome
    }

    private func feed(_ input: UnsafeRawBufferPointer, into output: inout ByteQueue, limit: Int) -> Outcome {
        guard input.count > 0 else { return .ok }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        defer { stream.pointee.next_in = nil }
        while true {
            let room = limit - output.count
            // One byte past the limit tells "exactly at the limit" from "over it".
            let space = output.reserve(Swift.max(1, Swift.min(room + 1, Swift.max(4096, input.count * 4))))
            let offered = Swift.min(space.count, room + 1)
            stream.pointee.next_out = space.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(offered)
            let inBefore = stream.pointee.avail_in
            let status = inflate(stream, Z_SYNC_FLUSH)
            let produced = offered - Int(stream.pointee.avail_out)
            output.commit(produced)
            if output.count > limit { return .tooLarge }
            switch status {
            case Z_OK, Z_BUF_ERROR:
                if stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0 { return .ok }
                // No progress with room left: the input ends inside a block (more to come).
                if produced == 0 && stream.pointee.avail_in == inBefore { return stream.pointee.avail_in == 0 ? .ok : .corrupt }
            case Z_STREAM_END:
                // A final block (BFINAL) ended the stream; permessage-deflate peers may send it.
                // What follows in this message, if anything, is not DEFLATE data.
                inflateReset(stream)
                return stream.pointee.avail_in == 0 ? .ok : .corrupt
            default:
                return .corrupt
            }
        }
    }
}

/// The zlib this build links.
public enum Zlib {
    public static var version: String { String(cString: zlibVersion()) }
}

/// A loop's compression workspace: output buffers kept between messages, and the streams of
/// connections that do not keep a window between messages (no context takeover), shared by
/// every such connection on the loop and reset after each message. Used on the loop's thread only.
public final class CompressionScratch {
    /// Where messages are compressed before they are framed.
    public var deflated = ByteQueue()
    /// Where whole received messages are inflated before they are handed on.
    public var inflated = ByteQueue()
    private var deflaters: [RawDeflater?] = Array(repeating: nil, count: 16)
    private var inflaters: [RawInflater?] = Array(repeating: nil, count: 16)

    public init() {}

    /// The shared compressor for `windowBits` (nil only if zlib cannot allocate one).
    public func deflater(windowBits: Int) -> RawDeflater? {
        if let d = deflaters[windowBits] { return d }
        let made = RawDeflater(windowBits: windowBits)
        deflaters[windowBits] = made
        return made
    }

    /// The shared decompressor for `windowBits`.
    public func inflater(windowBits: Int) -> RawInflater? {
        if let i = inflaters[windowBits] { return i }
        let made = RawInflater(windowBits: windowBits)
        inflaters[windowBits] = made
        return made
    }
}
