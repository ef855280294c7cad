/// Base64 with the standard alphabet and padding (RFC 4648 section 4).
public enum Base64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    private static let decodeTable: [UInt8] = {
        var t = [UInt8](repeating: 0xff, count: 256)
        for (i, c) in alphabet.enumerated() { t[Int(c)] = UInt8(i) }
        return t
    }()

    /// Encodes bytes as padded Base64 text.
    public static func encode<Bytes: Collection>(_ data: Bytes) -> String where Bytes.Element == UInt8 {
        String(decoding: encodeToBytes(data), as: UTF8.self)
    }

    /// Encodes bytes as padded Base64, returned as ASCII bytes.
    public static func encodeToBytes<Bytes: Collection>(_ data: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        var out = [UInt8]()
        out.reserveCapacity((data.count + 2) / 3 * 4)
        var it = data.makeIterator()
        while let b0 = it.next() {
            let b1 = it.next()
            let b2 = it.next()
            let n = UInt32(b0) << 16 | UInt32(b1 ?? 0) << 8 | UInt32(b2 ?? 0)
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(b1 == nil ? UInt8(ascii: "=") : alphabet[Int(n >> 6 & 63)])
            out.append(b2 == nil ? UInt8(ascii: "=") : alphabet[Int(n & 63)])
        }
        return out
    }

    /// Writes the padded Base64 of `data` to `output` (which holds at least 4 × ⌈n/3⌉ bytes);
    /// returns the number of bytes written. No allocation.
    @discardableResult
    public static func encode(_ data: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int {
        var o = 0
        var i = 0
        let n = data.count
        while i < n {
            let b0 = data[i], b1: UInt8? = i + 1 < n ? data[i + 1] : nil, b2: UInt8? = i + 2 < n ? data[i + 2] : nil
            let v = UInt32(b0) << 16 | UInt32(b1 ?? 0) << 8 | UInt32(b2 ?? 0)
            output[o] = alphabet[Int(v >> 18 & 63)]
            output[o + 1] = alphabet[Int(v >> 12 & 63)]
            output[o + 2] = b1 == nil ? UInt8(ascii: "=") : alphabet[Int(v >> 6 & 63)]
            output[o + 3] = b2 == nil ? UInt8(ascii: "=") : alphabet[Int(v & 63)]
            o += 4
            i += 3
        }
        return o
    }

    /// Decodes padded Base64 text; returns nil for anything that is not canonical Base64.
    public static func decode(_ text: String) -> [UInt8]? {
        decode(bytes: Array(text.utf8))
    }

    /// Decodes padded Base64 given as ASCII bytes; nil for invalid length, characters or padding.
    public static func decode(bytes: [UInt8]) -> [UInt8]? {
        guard bytes.count % 4 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(bytes.count / 4 * 3)
        let pad = UInt8(ascii: "=")
        var i = 0
        while i < bytes.count {
            let isLast = i + 4 == bytes.count
            var n: UInt32 = 0
            var padding = 0
            for j in 0..<4 {
                let c = bytes[i + j]
                if c == pad {
                    // Padding only in the last group, only in its last two places, and only trailing.
                    guard isLast, j >= 2 else { return nil }
                    padding += 1
                    n <<= 6
                    continue
                }
                guard padding == 0 else { return nil }
                let v = decodeTable[Int(c)]
                guard v != 0xff else { return nil }
                n = n << 6 | UInt32(v)
            }
            out.append(UInt8(truncatingIfNeeded: n >> 16))
            if padding < 2 { out.append(UInt8(truncatingIfNeeded: n >> 8)) }
            if padding < 1 { out.append(UInt8(truncatingIfNeeded: n)) }
            i += 4
        }
        return out
    }
}
