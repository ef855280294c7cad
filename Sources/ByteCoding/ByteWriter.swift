/// Appends fixed-width integers, LEB128 varints and length-prefixed fields to a growing byte array.
///
/// Fixed-width integers are little-endian unless the method name says otherwise; the
/// HdrHistogram V2 header is the one big-endian format volley writes.
public struct ByteWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8]

    /// Creates an empty writer, reserving `capacity` bytes up front.
    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Number of bytes written so far.
    public var count: Int { bytes.count }

    /// Appends one byte.
    public mutating func write(_ byte: UInt8) {
        bytes.append(byte)
    }

    /// Appends raw bytes as they are.
    public mutating func write<Bytes: Sequence>(contentsOf data: Bytes) where Bytes.Element == UInt8 {
        bytes.append(contentsOf: data)
    }

    /// Appends a fixed-width little-endian integer.
    public mutating func writeLittleEndian<T: FixedWidthInteger>(_ value: T) {
        var v = value.littleEndian
        withUnsafeBytes(of: &v) { bytes.append(contentsOf: $0) }
    }

    /// Appends a fixed-width big-endian integer.
    public mutating func writeBigEndian<T: FixedWidthInteger>(_ value: T) {
        var v = value.bigEndian
        withUnsafeBytes(of: &v) { bytes.append(contentsOf: $0) }
    }

    /// Appends a Double as its IEEE 754 bit pattern, little-endian.
    public mutating func writeLittleEndian(_ value: Double) {
        writeLittleEndian(value.bitPattern)
    }

    /// Appends an unsigned LEB128 varint (1 to 10 bytes).
    public mutating func writeVarUInt(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// Appends a signed integer as a ZigZag-encoded LEB128 varint.
    public mutating func writeVarInt(_ value: Int64) {
        writeVarUInt(ZigZag.encode(value))
    }

    /// Appends a varint length followed by the bytes.
    public mutating func writeLengthPrefixed<Bytes: Collection>(_ data: Bytes) where Bytes.Element == UInt8 {
        writeVarUInt(UInt64(data.count))
        bytes.append(contentsOf: data)
    }

    /// Appends a varint length followed by the string's UTF-8 bytes.
    public mutating func writeLengthPrefixed(_ string: String) {
        writeLengthPrefixed(Array(string.utf8))
    }

    /// Appends a Bool as one byte (0 or 1).
    public mutating func write(_ flag: Bool) {
        bytes.append(flag ? 1 : 0)
    }

    /// Overwrites previously written bytes with a little-endian integer at `offset`.
    public mutating func patchLittleEndian<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        var v = value.littleEndian
        withUnsafeBytes(of: &v) { raw in
            for (i, b) in raw.enumerated() { bytes[offset + i] = b }
        }
    }

    /// Overwrites previously written bytes with a big-endian integer at `offset`.
    public mutating func patchBigEndian<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        var v = value.bigEndian
        withUnsafeBytes(of: &v) { raw in
            for (i, b) in raw.enumerated() { bytes[offset + i] = b }
        }
    }
}

/// ZigZag mapping of signed to unsigned integers, so small magnitudes give short varints.
public enum ZigZag {
    /// Maps 0, -1, 1, -2, ... to 0, 1, 2, 3, ...
    @inlinable
    public static func encode(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }

    /// Inverse of `encode`.
    @inlinable
    public static func decode(_ value: UInt64) -> Int64 {
        Int64(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
    }
}
