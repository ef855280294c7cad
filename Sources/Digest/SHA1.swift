/// SHA-1 (FIPS 180-4 / RFC 3174). Used only where a protocol requires it: the WebSocket
/// handshake's Sec-WebSocket-Accept. Not for anything that needs collision resistance.
public struct SHA1: BlockHash, Sendable {
    private var h0: UInt32 = 0x6745_2301, h1: UInt32 = 0xEFCD_AB89, h2: UInt32 = 0x98BA_DCFE
    private var h3: UInt32 = 0x1032_5476, h4: UInt32 = 0xC3D2_E1F0
    var block = BlockBuffer()
    var totalBytes: UInt64 = 0

    /// A fresh hash.
    public init() {}

    /// The digest of `data` in one call.
    public static func hash<Bytes: Sequence>(_ data: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        var h = SHA1()
        h.update(data)
        return h.finalize()
    }

    /// The 20-byte digest of `data`, written to `output` (no allocation).
    public static func hash(_ data: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) {
        var h = SHA1()
        h.absorb(data)
        h.padWithLength()
        for (i, word) in [h.h0, h.h1, h.h2, h.h3, h.h4].enumerated() {
            output.storeBytes(of: word.bigEndian, toByteOffset: 4 * i, as: UInt32.self)
        }
    }

    /// Feeds more input.
    public mutating func update<Bytes: Sequence>(_ data: Bytes) where Bytes.Element == UInt8 {
        absorb(data)
    }

    /// The 20-byte digest; the hash must not be updated afterwards.
    public mutating func finalize() -> [UInt8] {
        padWithLength()
        var out = [UInt8]()
        out.reserveCapacity(20)
        for word in [h0, h1, h2, h3, h4] { out.appendBigEndian(word) }
        return out
    }

    mutating func compress() {
        // The message schedule lives on the stack: no allocation per block.
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 80) { w in
            block.withWords { words in for i in 0..<16 { w[i] = words[i] } }
            for i in 16..<80 { w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotatedLeft(1) }
            var a = h0, b = h1, c = h2, d = h3, e = h4
            for i in 0..<80 {
                let f: UInt32, k: UInt32
                switch i {
                case 0..<20: f = (b & c) | (~b & d); k = 0x5A82_7999
                case 20..<40: f = b ^ c ^ d; k = 0x6ED9_EBA1
                case 40..<60: f = (b & c) | (b & d) | (c & d); k = 0x8F1B_BCDC
                default: f = b ^ c ^ d; k = 0xCA62_C1D6
                }
                let t = a.rotatedLeft(5) &+ f &+ e &+ k &+ w[i]
                e = d
                d = c
                c = b.rotatedLeft(30)
                b = a
                a = t
            }
            h0 &+= a; h1 &+= b; h2 &+= c; h3 &+= d; h4 &+= e
        }
        block.count = 0
    }
}

/// What SHA-1 and SHA-256 share: 64-byte blocks compressed as they fill, and the final padding
/// (a 1 bit, zeros, the message length in bits as 64 bits big-endian).
protocol BlockHash {
    var block: BlockBuffer { get set }
    var totalBytes: UInt64 { get set }
    /// Folds the full block into the state and empties it.
    mutating func compress()
}

extension BlockHash {
    /// Feeds bytes, compressing every full block.
    mutating func absorb<Bytes: Sequence>(_ data: Bytes) where Bytes.Element == UInt8 {
        for byte in data {
            totalBytes &+= 1
            if block.append(byte) { compress() }
        }
    }

    /// Appends the padding and the length; the state then holds the digest.
    mutating func padWithLength() {
        let bitLength = totalBytes &* 8
        if block.append(0x80) { compress() }
        while block.count != 56 { if block.append(0) { compress() } }
        for i in (0..<8).reversed() { if block.append(UInt8(truncatingIfNeeded: bitLength >> (8 * UInt64(i)))) { compress() } }
    }
}

/// A 64-byte input block held inline (no heap storage), shared by SHA-1 and SHA-256.
struct BlockBuffer: Sendable {
    private var bytes: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    var count = 0

    /// Appends a byte; true when the block is full (and must be compressed).
    @inline(__always)
    mutating func append(_ byte: UInt8) -> Bool {
        withUnsafeMutableBytes(of: &bytes) { $0[count] = byte }
        count += 1
        return count == 64
    }

    /// The block as sixteen big-endian words.
    func withWords(_ body: (UnsafeBufferPointer<UInt32>) -> Void) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 16) { w in
            withUnsafeBytes(of: bytes) { raw in
                for i in 0..<16 { w[i] = UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
            }
            body(UnsafeBufferPointer(w))
        }
    }
}

extension Array where Element == UInt8 {
    mutating func appendBigEndian(_ word: UInt32) {
        append(UInt8(word >> 24))
        append(UInt8(truncatingIfNeeded: word >> 16))
        append(UInt8(truncatingIfNeeded: word >> 8))
        append(UInt8(truncatingIfNeeded: word))
    }
}

extension UInt32 {
    @inline(__always)
    func rotatedLeft(_ n: UInt32) -> UInt32 { (self << n) | (self >> (32 - n)) }

    @inline(__always)
    func rotatedRight(_ n: UInt32) -> UInt32 { (self >> n) | (self << (32 - n)) }
}
