/// The header of one WebSocket frame (RFC 6455 section 5.2).
public struct FrameHeader: Equatable, Sendable {
    /// Last frame of its message.
    public var fin: Bool
    /// The three RSV bits (0 unless an extension was negotiated).
    public var reservedBits: UInt8
    /// The raw opcode (may be a reserved value; the receiver checks).
    public var opcode: UInt8
    /// The masking key as its four bytes in memory order, if the frame is masked.
    public var maskingKey: UInt32?
    /// Length of the payload in bytes.
    public var payloadLength: UInt64

    /// The largest header: 2 + 8 (64-bit length) + 4 (mask).
    public static let maximumLength = 14

    @inlinable
    public init(fin: Bool = true, reservedBits: UInt8 = 0, opcode: UInt8, maskingKey: UInt32? = nil, payloadLength: UInt64) {
        self.fin = fin
        self.reservedBits = reservedBits
        self.opcode = opcode
        self.maskingKey = maskingKey
        self.payloadLength = payloadLength
    }

    /// Size of this header on the wire.
    @inlinable
    public var length: Int {
        let ext = payloadLength < 126 ? 0 : payloadLength <= 0xFFFF ? 2 : 8
        return 2 + ext + (maskingKey == nil ? 0 : 4)
    }

    /// What parsing the start of a buffer found.
    public enum ParseResult: Equatable, Sendable {
        /// More bytes are needed before the header is complete.
        case incomplete
        /// A complete header.
        case header(FrameHeader)
        /// A 64-bit length with the most significant bit set.
        case invalidLength
    }

    /// Parses a header from the start of `bytes`.
    @inlinable
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> ParseResult {
        guard bytes.count >= 2 else { return .incomplete }
        let b0 = bytes[0], b1 = bytes[1]
        let masked = b1 & 0x80 != 0
        var length = UInt64(b1 & 0x7F)
        var offset = 2
        if length == 126 {
            guard bytes.count >= 4 else { return .incomplete }
            length = UInt64(bytes[2]) << 8 | UInt64(bytes[3])
            offset = 4
        } else if length == 127 {
            guard bytes.count >= 10 else { return .incomplete }
            length = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 2, as: UInt64.self))
            guard length & (1 << 63) == 0 else { return .invalidLength }
            offset = 10
        }
        var key: UInt32?
        if masked {
            guard bytes.count >= offset + 4 else { return .incomplete }
            key = bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
        }
        return .header(FrameHeader(fin: b0 & 0x80 != 0, reservedBits: (b0 >> 4) & 0x7, opcode: b0 & 0x0F,
                                   maskingKey: key, payloadLength: length))
    }

    /// Writes the header at `destination` (which has room for `maximumLength` bytes); returns its length.
    @inlinable
    public func encode(into destination: UnsafeMutableRawPointer) -> Int {
        destination.storeBytes(of: (fin ? 0x80 : 0) | (reservedBits & 7) << 4 | (opcode & 0x0F), as: UInt8.self)
        let maskBit: UInt8 = maskingKey == nil ? 0 : 0x80
        var offset: Int
        if payloadLength < 126 {
            destination.storeBytes(of: maskBit | UInt8(payloadLength), toByteOffset: 1, as: UInt8.self)
            offset = 2
        } else if payloadLength <= 0xFFFF {
            destination.storeBytes(of: maskBit | 126, toByteOffset: 1, as: UInt8.self)
            destination.storeBytes(of: UInt16(payloadLength).bigEndian, toByteOffset: 2, as: UInt16.self)
            offset = 4
        } else {
            destination.storeBytes(of: maskBit | 127, toByteOffset: 1, as: UInt8.self)
            destination.storeBytes(of: payloadLength.bigEndian, toByteOffset: 2, as: UInt64.self)
            offset = 10
        }
        if let maskingKey {
            destination.storeBytes(of: maskingKey, toByteOffset: offset, as: UInt32.self)
            offset += 4
        }
        return offset
    }

    /// The header's bytes (for tests and tools; the hot path encodes in place).
    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: Self.maximumLength)
        let n = out.withUnsafeMutableBytes { encode(into: $0.baseAddress!) }
        return Array(out[0..<n])
    }
}

/// XOR masking of payloads (RFC 6455 section 5.3), eight bytes at a time.
public enum Masking {
    /// Applies `key` (four bytes in memory order) to `buffer` in place, where `buffer[0]` is byte
    /// `phase` (0...3) of the masking cycle. Masking twice restores the data.
    @inlinable
    public static func apply(key: UInt32, to buffer: UnsafeMutableRawBufferPointer, phase: Int = 0) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        let shift = UInt32(8 * (phase & 3))
        // Rotate so that byte 0 of the rotated key (memory order, little-endian) is key[phase].
        let rotated = shift == 0 ? key : (key >> shift) | (key << (32 - shift))
        let word = UInt64(rotated) | UInt64(rotated) << 32
        let count = buffer.count
        var i = 0
        while i + 8 <= count {
            let v = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            base.storeBytes(of: v ^ word, toByteOffset: i, as: UInt64.self)
            i += 8
        }
        var k = UInt64(word)
        while i < count {
            base.storeBytes(of: base.load(fromByteOffset: i, as: UInt8.self) ^ UInt8(truncatingIfNeeded: k), toByteOffset: i, as: UInt8.self)
            k >>= 8
            i += 1
        }
    }

    /// Copies `source` to `destination` masked with `key` (for building client frames in one pass).
    @inlinable
    public static func copy(_ source: UnsafeRawBufferPointer, to destination: UnsafeMutableRawPointer, key: UInt32) {
        let count = source.count
        guard count > 0, let src = source.baseAddress else { return }
        let word = UInt64(key) | UInt64(key) << 32
        var i = 0
        while i + 8 <= count {
            destination.storeBytes(of: src.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ word, toByteOffset: i, as: UInt64.self)
            i += 8
        }
        var k = word
        while i < count {
            destination.storeBytes(of: src.load(fromByteOffset: i, as: UInt8.self) ^ UInt8(truncatingIfNeeded: k), toByteOffset: i, as: UInt8.self)
            k >>= 8
            i += 1
        }
    }
}
