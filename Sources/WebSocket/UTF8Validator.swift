/// Incremental UTF-8 validation (Unicode 15, table 3-7): feed a text message in pieces of any
/// size, split anywhere, and learn as soon as a byte makes it invalid ("fail fast").
public struct UTF8Validator: Sendable, Equatable {
    @usableFromInline var needed: UInt8 = 0
    @usableFromInline var lower: UInt8 = 0x80
    @usableFromInline var upper: UInt8 = 0xBF

    public init() {}

    /// True when the bytes so far end on a character boundary.
    @inlinable
    public var isComplete: Bool { needed == 0 }

    /// Feeds more bytes; false as soon as they cannot be part of valid UTF-8.
    @inlinable
    public mutating func validate(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var i = 0
        while i < count {
            if needed == 0 {
                // ASCII runs, eight bytes at a time.
                while i + 8 <= count, base.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                    i += 8
                }
                guard i < count else { return true }
                let b = base.load(fromByteOffset: i, as: UInt8.self)
                i += 1
                switch b {
                case 0x00...0x7F: continue
                case 0xC2...0xDF: needed = 1; lower = 0x80; upper = 0xBF
                case 0xE0: needed = 2; lower = 0xA0; upper = 0xBF
                case 0xE1...0xEC, 0xEE...0xEF: needed = 2; lower = 0x80; upper = 0xBF
                case 0xED: needed = 2; lower = 0x80; upper = 0x9F
                case 0xF0: needed = 3; lower = 0x90; upper = 0xBF
                case 0xF1...0xF3: needed = 3; lower = 0x80; upper = 0xBF
                case 0xF4: needed = 3; lower = 0x80; upper = 0x8F
                default: return false
                }
            } else {
                let b = base.load(fromByteOffset: i, as: UInt8.self)
                i += 1
                guard b >= lower && b <= upper else { return false }
                lower = 0x80
                upper = 0xBF
                needed -= 1
            }
        }
        return true
    }

    /// Starts over for a new message.
    @inlinable
    public mutating func reset() { self = UTF8Validator() }

    /// Validates a complete byte string.
    public static func isValid(_ bytes: [UInt8]) -> Bool {
        var v = UTF8Validator()
        return bytes.withUnsafeBytes { v.validate($0) } && v.isComplete
    }
}
