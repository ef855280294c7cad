import CVolleyLinux

/// Random bytes from the kernel (getrandom): nonces, tokens and run identifiers.
public enum SecureRandom {
    /// `count` random bytes.
    public static func bytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        _ = volley_random_bytes(&bytes, count)
        return bytes
    }

    /// `count` random bytes as lowercase hex (2 × count characters).
    public static func hex(_ count: Int) -> String {
        bytes(count).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// A random 64-bit number (seeds, when the user gave none).
    public static func uint64() -> UInt64 {
        bytes(8).reduce(0) { $0 << 8 | UInt64($1) }
    }
}
