/// Why bytes could not be decoded, with the offset where decoding stopped.
public enum ByteReaderError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input ended `needed` bytes too early at `offset`.
    case truncated(offset: Int, needed: Int)
    /// A varint ran longer than the 10 bytes a 64-bit value can take.
    case varintTooLong(offset: Int)
    /// A length field announced more bytes than the limit allows.
    case lengthTooLarge(offset: Int, length: UInt64, limit: Int)
    /// A string field was not valid UTF-8.
    case invalidUTF8(offset: Int)
    /// A field held a value outside its allowed range.
    case valueOutOfRange(offset: Int, field: String, value: UInt64)

    public var description: String {
        switch self {
        case let .truncated(offset, needed):
            return "input ends at byte \(offset), \(needed) more byte(s) expected"
        case let .varintTooLong(offset):
            return "varint at byte \(offset) is longer than 10 bytes"
        case let .lengthTooLarge(offset, length, limit):
            return "length \(length) at byte \(offset) exceeds the limit of \(limit)"
        case let .invalidUTF8(offset):
            return "string at byte \(offset) is not valid UTF-8"
        case let .valueOutOfRange(offset, field, value):
            return "\(field) = \(value) at byte \(offset) is out of range"
        }
    }
}

/// Reads fixed-width integers, varints and length-prefixed fields from bytes, never past their end.
///
/// Every read checks the remaining length first, so decoding hostile input fails with a
/// `ByteReaderError` instead of trapping, and no length field can make it allocate more
/// than the bytes actually present.
public struct ByteReader: Sendable {
    @usableFromInline let bytes: [UInt8]
    /// Offset of the next byte to read.
    public private(set) var offset: Int
    @usableFromInline let end: Int

    /// Reads `bytes[range]` (the whole array by default).
    public init(_ bytes: [UInt8], range: Range<Int>? = nil) {
        self.bytes = bytes
        let r = range ?? 0..<bytes.count
        offset = r.lowerBound
        end = r.upperBound
    }

    /// Number of bytes not read yet.
    public var remaining: Int { end - offset }

    /// True when every byte has been read.
    public var isAtEnd: Bool { offset >= end }

    private func require(_ n: Int) throws(ByteReaderError) {
        if n < 0 || end - offset < n { throw .truncated(offset: offset, needed: n - (end - offset)) }
    }

    /// Reads one byte.
    public mutating func readByte() throws(ByteReaderError) -> UInt8 {
        try require(1)
        defer { offset += 1 }
        return bytes[offset]
    }

    /// Reads a Bool written as one byte; anything other than 0 or 1 is an error.
    public mutating func readBool() throws(ByteReaderError) -> Bool {
        let at = offset
        let b = try readByte()
        guard b <= 1 else { throw .valueOutOfRange(offset: at, field: "bool", value: UInt64(b)) }
        return b == 1
    }

    /// Reads a fixed-width little-endian integer.
    public mutating func readLittleEndian<T: FixedWidthInteger>(_: T.Type = T.self) throws(ByteReaderError) -> T {
        let size = MemoryLayout<T>.size
        try require(size)
        var v: T = 0
        for i in 0..<size { v |= T(truncatingIfNeeded: bytes[offset + i]) << (8 * i) }
        offset += size
        return v
    }

    /// Reads a fixed-width big-endian integer.
    public mutating func readBigEndian<T: FixedWidthInteger>(_: T.Type = T.self) throws(ByteReaderError) -> T {
        let size = MemoryLayout<T>.size
        try require(size)
        var v: T = 0
        for i in 0..<size { v = (v << 8) | T(truncatingIfNeeded: bytes[offset + i]) }
        offset += size
        return v
    }

    /// Reads a Double stored as its little-endian bit pattern.
    public mutating func readDouble() throws(ByteReaderError) -> Double {
        Double(bitPattern: try readLittleEndian(UInt64.self))
    }

    /// Reads an unsigned LEB128 varint of at most 10 bytes.
    public mutating func readVarUInt() throws(ByteReaderError) -> UInt64 {
        let start = offset
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < end else { throw .truncated(offset: offset, needed: 1) }
            let b = bytes[offset]
            offset += 1
            if shift == 63 && b > 1 { throw .varintTooLong(offset: start) }
            result |= UInt64(b & 0x7f) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw .varintTooLong(offset: start) }
        }
    }

    /// Reads a ZigZag-encoded signed varint.
    public mutating func readVarInt() throws(ByteReaderError) -> Int64 {
        ZigZag.decode(try readVarUInt())
    }

    /// Reads an unsigned varint that must fit in `0...limit`, as an Int.
    public mutating func readVarInt(limit: Int, field: String) throws(ByteReaderError) -> Int {
        let at = offset
        let v = try readVarUInt()
        guard v <= UInt64(limit) else { throw .valueOutOfRange(offset: at, field: field, value: v) }
        return Int(v)
    }

    /// Reads exactly `count` raw bytes.
    public mutating func readBytes(_ count: Int) throws(ByteReaderError) -> [UInt8] {
        try require(count)
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    /// Reads a varint length (at most `limit`) followed by that many bytes.
    public mutating func readLengthPrefixedBytes(limit: Int = Int(Int32.max)) throws(ByteReaderError) -> [UInt8] {
        let at = offset
        let length = try readVarUInt()
        guard length <= UInt64(limit) else { throw .lengthTooLarge(offset: at, length: length, limit: limit) }
        return try readBytes(Int(length))
    }

    /// Reads a varint length (at most `limit`) followed by that many bytes of UTF-8.
    public mutating func readLengthPrefixedString(limit: Int = 1 << 20) throws(ByteReaderError) -> String {
        let at = offset
        let raw = try readLengthPrefixedBytes(limit: limit)
        guard let s = String(validating: raw, as: UTF8.self) else { throw .invalidUTF8(offset: at) }
        return s
    }
}
