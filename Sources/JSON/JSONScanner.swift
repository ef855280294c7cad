/// Finds top-level fields of a JSON object in raw bytes without building a tree or allocating:
/// the hot path of message matching ("is `type` equal to `say`?").
///
/// The scanner trusts the input only as far as it reads it: malformed JSON makes it return nil,
/// never crash.
public enum JSONScanner {
    /// A field value located in the message.
    public struct Field: Equatable, Sendable {
        /// Byte range of the value's text (for strings: the content between the quotes).
        public let range: Range<Int>
        public let kind: Kind
        /// True when a string value contains escapes (then compare decoded, not raw).
        public let hasEscapes: Bool

        public enum Kind: Equatable, Sendable { case string, number, bool, null, object, array }
    }

    /// The value of top-level field `name` in the object `bytes`, or nil.
    public static func field(_ name: UnsafeRawBufferPointer, in bytes: UnsafeRawBufferPointer) -> Field? {
        var i = skipWhitespace(bytes, 0)
        guard i < bytes.count, bytes[i] == UInt8(ascii: "{") else { return nil }
        i += 1
        while true {
            i = skipWhitespace(bytes, i)
            guard i < bytes.count else { return nil }
            if bytes[i] == UInt8(ascii: "}") { return nil }
            guard bytes[i] == UInt8(ascii: "\"") else { return nil }
            guard let (keyRange, keyEscaped, afterKey) = scanString(bytes, i) else { return nil }
            i = skipWhitespace(bytes, afterKey)
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return nil }
            i = skipWhitespace(bytes, i + 1)
            guard let (value, afterValue) = scanValue(bytes, i, depth: 0) else { return nil }
            if !keyEscaped, equal(bytes, keyRange, name) {
                return value
            }
            if keyEscaped, decode(bytes, keyRange) == Array(name) { return value }
            i = skipWhitespace(bytes, afterValue)
            guard i < bytes.count else { return nil }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            return nil
        }
    }

    /// True when field `name` is a string equal to `expected` (compared decoded).
    public static func field(_ name: UnsafeRawBufferPointer, in bytes: UnsafeRawBufferPointer, equalsString expected: UnsafeRawBufferPointer) -> Bool {
        guard let f = field(name, in: bytes), f.kind == .string else { return false }
        if !f.hasEscapes {
            return equal(bytes, f.range, expected)
        }
        return decode(bytes, f.range) == Array(expected)
    }

    /// The integer value of field `name`, if it is a number without fraction or exponent.
    public static func integer(_ name: UnsafeRawBufferPointer, in bytes: UnsafeRawBufferPointer) -> Int64? {
        guard let f = field(name, in: bytes), f.kind == .number else { return nil }
        return parseInteger(bytes, f.range)
    }

    /// The decoded string value of field `name` (allocates; off the hot path).
    public static func string(_ name: String, in bytes: UnsafeRawBufferPointer) -> String? {
        var key = name
        return key.withUTF8 { k in
            guard let f = field(UnsafeRawBufferPointer(k), in: bytes) else { return nil }
            switch f.kind {
            case .string:
                return String(decoding: f.hasEscapes ? decode(bytes, f.range) : Array(bytes[f.range]), as: UTF8.self)
            default:
                return String(decoding: bytes[f.range], as: UTF8.self)
            }
        }
    }

    /// Parses an optionally negative run of decimal digits.
    public static func parseInteger(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int64? {
        var i = range.lowerBound
        var negative = false
        if i < range.upperBound, bytes[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        guard i < range.upperBound else { return nil }
        var v: Int64 = 0
        while i < range.upperBound {
            let d = bytes[i]
            guard d >= 48, d <= 57 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(d - 48))
            guard !o1, !o2 else { return nil }
            v = a
            i += 1
        }
        return negative ? -v : v
    }

    /// True when `bytes[range]` equals `other`.
    @inline(__always)
    static func equal(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ other: UnsafeRawBufferPointer) -> Bool {
        guard range.count == other.count else { return false }
        guard let a = bytes.baseAddress, let b = other.baseAddress else { return range.isEmpty }
        return memcmp(a + range.lowerBound, b, range.count) == 0
    }

    @inline(__always)
    static func skipWhitespace(_ bytes: UnsafeRawBufferPointer, _ start: Int) -> Int {
        var i = start
        while i < bytes.count {
            let b = bytes[i]
            guard b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D else { break }
            i += 1
        }
        return i
    }

    /// Scans a string starting at its opening quote: (content range, has escapes, index after closing quote).
    static func scanString(_ bytes: UnsafeRawBufferPointer, _ start: Int) -> (Range<Int>, Bool, Int)? {
        var i = start + 1
        var escaped = false
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") { return (start + 1..<i, escaped, i + 1) }
            if b == UInt8(ascii: "\\") { escaped = true; i += 2; continue }
            i += 1
        }
        return nil
    }

    static func scanValue(_ bytes: UnsafeRawBufferPointer, _ start: Int, depth: Int) -> (Field, Int)? {
        guard start < bytes.count, depth < 64 else { return nil }
        let b = bytes[start]
        switch b {
        case UInt8(ascii: "\""):
            guard let (range, escaped, after) = scanString(bytes, start) else { return nil }
            return (Field(range: range, kind: .string, hasEscapes: escaped), after)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let close = b == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            var i = start + 1
            while true {
                i = skipWhitespace(bytes, i)
                guard i < bytes.count else { return nil }
                if bytes[i] == close {
                    return (Field(range: start..<i + 1, kind: b == UInt8(ascii: "{") ? .object : .array, hasEscapes: false), i + 1)
                }
                if bytes[i] == UInt8(ascii: ",") || bytes[i] == UInt8(ascii: ":") { i += 1; continue }
                guard let (_, after) = scanValue(bytes, i, depth: depth + 1) else { return nil }
                i = after
            }
        default:
            var i = start
            while i < bytes.count {
                let c = bytes[i]
                if c == UInt8(ascii: ",") || c == UInt8(ascii: "}") || c == UInt8(ascii: "]") || c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 || c == UInt8(ascii: ":") { break }
                i += 1
            }
            guard i > start else { return nil }
            let kind: Field.Kind
            switch b {
            case UInt8(ascii: "t"), UInt8(ascii: "f"): kind = .bool
            case UInt8(ascii: "n"): kind = .null
            default: kind = .number
            }
            return (Field(range: start..<i, kind: kind, hasEscapes: false), i)
        }
    }

    /// Decodes the escapes of a string's content.
    static func decode(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> [UInt8] {
        var quoted = [UInt8(ascii: "\"")] + Array(bytes[range]) + [UInt8(ascii: "\"")]
        return quoted.withUnsafeMutableBytes { raw in
            (try? JSONParser.parse(UnsafeRawBufferPointer(raw)))?.stringValue.map { Array($0.utf8) } ?? []
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
