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

/// Takes a value from a received message into a per-user variable (`{{vars.NAME}}`).
public struct Capture: Sendable {
    public enum Source: Sendable {
        /// The JSON field at a dotted path: a string's content, else the value's text.
        case json(path: [[UInt8]])
        /// The first group of the first match of the expression, else the whole match.
        case regex(CompiledRegex)
    }

    public var variable: String
    /// The variable's index among the scenario's variables.
    public var slot: Int
    public var source: Source

    public init(variable: String, slot: Int, source: Source) {
        self.variable = variable
        self.slot = slot
        self.source = source
    }

    /// The value in `payload`, or nil when it is not there.
    public func value(in payload: UnsafeRawBufferPointer) -> String? {
        switch source {
        case let .json(path):
            guard let (range, kind, escaped) = MessageMatcher.locate(path, in: payload) else { return nil }
            if kind == .string && escaped {
                return JSONScanner.string(String(decoding: path.last!, as: UTF8.self), in: MessageMatcher.container(path, payload))
            }
            return String(decoding: UnsafeRawBufferPointer(rebasing: payload[range]), as: UTF8.self)
        case let .regex(r):
            guard let match = try? r.regex.firstMatch(in: String(decoding: payload, as: UTF8.self)) else { return nil }
            let output = match.output
            let group = output.count > 1 ? output[1].substring : output[0].substring
            return group.map(String.init)
        }
    }
}
