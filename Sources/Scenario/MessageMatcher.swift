import JSON

/// A compiled regular expression, shareable across threads (each match builds its own state).
public final class CompiledRegex: @unchecked Sendable {
    public let pattern: String
    nonisolated(unsafe) let regex: Regex<AnyRegexOutput>

    init(_ pattern: String) throws {
        self.pattern = pattern
        regex = try Regex(pattern)
    }

    func matches(_ text: String) -> Bool { (try? regex.firstMatch(in: text)) != nil }
}

/// Decides whether a received message is the one an `expect` step waits for.
///
/// JSON field conditions compare text: the field's value (a string's content, a number's digits,
/// `true`/`false`/`null`) against the rendered expected value, so `seq: "{{seq}}"` matches both
/// `"seq": 42` and `"seq": "42"`. All conditions must hold.
public struct MessageMatcher: Sendable {
    public enum Condition: Sendable {
        /// The JSON field at `path` (top-level key, or dotted path into nested objects) has this text.
        case jsonField(path: [[UInt8]], expected: Template)
        /// The JSON field at `path` exists.
        case jsonFieldExists(path: [[UInt8]])
        case contains(Template)
        case equals(Template)
        case regex(CompiledRegex)
        /// The message is binary (true) or text (false).
        case binary(Bool)
    }

    public var conditions: [Condition]

    public init(conditions: [Condition] = []) { self.conditions = conditions }

    /// True when the matcher needs the send counter (so a pending expectation can be told apart).
    public var usesSeq: Bool {
        conditions.contains { c in
            switch c {
            case let .jsonField(_, t), let .contains(t), let .equals(t): return t.usesSeq
            default: return false
            }
        }
    }

    /// True when `payload` satisfies every condition. `scratch` is reused for rendered values.
    public func matches(_ payload: UnsafeRawBufferPointer, binary: Bool, context: inout RenderContext, scratch: inout [UInt8]) -> Bool {
        // Indexed loops here and below: the per-message path, which must not allocate even
        // unoptimized (the allocation test runs on debug builds).
        for c in 0..<conditions.count {
            switch conditions[c] {
            case let .binary(wanted):
                if wanted != binary { return false }
            case let .jsonField(path, expected):
                guard let (range, kind, escaped) = Self.locate(path, in: payload) else { return false }
                scratch.removeAll(keepingCapacity: true)
                expected.render(&context, into: &scratch)
                if kind == .string && escaped {
                    let decoded = JSONScanner.string(String(decoding: path.last!, as: UTF8.self), in: Self.container(path, payload))
                    if decoded.map({ Array($0.utf8) }) != scratch { return false }
                } else if !Self.equal(payload, range, scratch) {
                    return false
                }
            case let .jsonFieldExists(path):
                if Self.locate(path, in: payload) == nil { return false }
            case let .contains(t):
                scratch.removeAll(keepingCapacity: true)
                t.render(&context, into: &scratch)
                if !Self.contains(payload, scratch) { return false }
            case let .equals(t):
                scratch.removeAll(keepingCapacity: true)
                t.render(&context, into: &scratch)
                if !Self.equal(payload, 0..<payload.count, scratch) { return false }
            case let .regex(r):
                if !r.matches(String(decoding: payload, as: UTF8.self)) { return false }
            }
        }
        return true
    }

    /// The object holding the last key of `path`.
    static func container(_ path: [[UInt8]], _ payload: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var object = payload
        for key in path.dropLast() {
            guard let f = key.withUnsafeBytes({ JSONScanner.field($0, in: object) }), f.kind == .object else { return UnsafeRawBufferPointer(start: nil, count: 0) }
            object = UnsafeRawBufferPointer(rebasing: object[f.range])
        }
        return object
    }

    /// Finds the value at `path`: its byte range in `payload`, its kind, and whether it has escapes.
    static func locate(_ path: [[UInt8]], in payload: UnsafeRawBufferPointer) -> (Range<Int>, JSONScanner.Field.Kind, Bool)? {
        var object = payload
        var offset = 0
        for i in 0..<path.count {
            let key = path[i]
            guard let f = key.withUnsafeBytes({ JSONScanner.field($0, in: object) }) else { return nil }
            if i == path.count - 1 {
                return (f.range.lowerBound + offset..<f.range.upperBound + offset, f.kind, f.hasEscapes)
            }
            guard f.kind == .object else { return nil }
            offset += f.range.lowerBound
            object = UnsafeRawBufferPointer(rebasing: object[f.range])
        }
        return nil
    }

    @inline(__always)
    static func equal(_ payload: UnsafeRawBufferPointer, _ range: Range<Int>, _ expected: [UInt8]) -> Bool {
        guard range.count == expected.count else { return false }
        var i = 0
        for p in range {
            if payload[p] != expected[i] { return false }
            i += 1
        }
        return true
    }

    static func contains(_ payload: UnsafeRawBufferPointer, _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty else { return true }
        guard payload.count >= needle.count else { return false }
        let first = needle[0]
        var i = 0
        while i + needle.count <= payload.count {
            if payload[i] == first && equal(payload, i..<(i + needle.count), needle) { return true }
            i += 1
        }
        return false
    }
}
