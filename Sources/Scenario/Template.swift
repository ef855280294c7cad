/// Text with `{{placeholders}}`, parsed once and rendered per message without allocating.
///
/// Placeholders: `seq` (the virtual user's send counter, from 1), `now_us` / `now_ms` (wall clock
/// when the message is built), `vu` (virtual user number, unique across agents), `iteration`
/// (loop iteration, from 1), `agent` (agent number), `phase` (phase name), `user.FIELD` (feeder
/// column), `random(A,B)` (integer in A...B), `random_string(N)` (N letters and digits), `uuid`,
/// `run` (the run's identifier, the same on every agent), `users` (the planned number of users).
public struct Template: Sendable, Equatable, CustomStringConvertible {
    public enum Segment: Sendable, Equatable {
        case literal([UInt8])
        case seq
        case nowMicros
        case nowMillis
        case vu
        case iteration
        case agent
        case phase
        case group
        /// A per-user variable a capture set (`{{vars.NAME}}`), by slot.
        case variable(slot: Int)
        case userField(column: Int)
        case randomInt(Int64, Int64)
        case randomString(Int)
        case uuid
        /// The run's identifier (the same on every agent).
        case run
        /// The scenario's planned number of users (its largest phase).
        case users
    }

    public let segments: [Segment]
    /// The template as written.
    public let source: String

    /// True when the template has no placeholders.
    public var isConstant: Bool { segments.allSatisfy { if case .literal = $0 { return true } else { return false } } }

    /// True when rendering depends on the send counter (`{{seq}}`).
    public var usesSeq: Bool { segments.contains(.seq) }

    public var description: String { source }

    /// A template without placeholders.
    public init(literal text: String) {
        segments = text.isEmpty ? [] : [.literal(Array(text.utf8))]
        source = text
    }

    /// Parses `text`, reporting errors at `line`/`column` (where the text starts) in `file`.
    /// `feederColumns` are the names `user.FIELD` may use (nil: no feeder); `variables` the
    /// names `vars.NAME` may use (what the scenario's captures set, in slot order).
    public init(_ text: String, file: String, line: Int, column: Int, feederColumns: [String]?, variables: [String] = []) throws(ScenarioError) {
        source = text
        var segments: [Segment] = []
        var literal: [UInt8] = []
        let bytes = Array(text.utf8)
        var i = 0
        func fail(_ message: String) -> ScenarioError {
            ScenarioError(file: file, line: line, column: column, message: "in \"\(text.count > 60 ? String(text.prefix(60)) + "…" : text)\": \(message)")
        }
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "{"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "{") {
                guard let end = Self.find("}}", in: bytes, from: i + 2) else { throw fail("\"{{\" is not closed by \"}}\"") }
                let name = String(decoding: bytes[(i + 2)..<end], as: UTF8.self).trimmingCharacters(in: " ")
                if !literal.isEmpty {
                    segments.append(.literal(literal))
                    literal = []
                }
                segments.append(try Self.placeholder(name, feederColumns: feederColumns, variables: variables, fail: fail))
                i = end + 2
            } else {
                literal.append(bytes[i])
                i += 1
            }
        }
        if !literal.isEmpty { segments.append(.literal(literal)) }
        self.segments = segments
    }

    private static func find(_ needle: String, in bytes: [UInt8], from start: Int) -> Int? {
        let n = Array(needle.utf8)
        var i = start
        while i + n.count <= bytes.count {
            if Array(bytes[i..<(i + n.count)]) == n { return i }
            i += 1
        }
        return nil
    }

    static let placeholderNames = ["seq", "now_us", "now_ms", "vu", "iteration", "agent", "phase", "group", "user.FIELD", "vars.NAME",
                                   "random(A,B)", "random_string(N)", "uuid", "run", "users"]

    private static func placeholder(_ name: String, feederColumns: [String]?, variables: [String], fail: (String) -> ScenarioError) throws(ScenarioError) -> Segment {
        switch name {
        case "seq": return .seq
        case "now_us": return .nowMicros
        case "now_ms": return .nowMillis
        case "vu": return .vu
        case "iteration": return .iteration
        case "agent": return .agent
        case "phase": return .phase
        case "group": return .group
        case "uuid": return .uuid
        case "run": return .run
        case "users": return .users
        default: break
        }
        if name.hasPrefix("vars.") {
            let variable = String(name.dropFirst(5))
            guard let slot = variables.firstIndex(of: variable) else {
                let hint = Suggest.closest(to: variable, among: variables).map { " (did you mean vars.\($0)?)" } ?? ""
                throw fail(variables.isEmpty ? "{{\(name)}} is not set by any capture: add \"capture: { \(variable): { json: FIELD } }\" to an expect step"
                                             : "no capture sets \"\(variable)\"\(hint); the captures set \(variables.joined(separator: ", "))")
            }
            return .variable(slot: slot)
        }
        if name.hasPrefix("user.") {
            let field = String(name.dropFirst(5))
            guard let columns = feederColumns else { throw fail("{{\(name)}} needs a feeder: add \"feeder: FILE.csv\" to the scenario") }
            guard let index = columns.firstIndex(of: field) else {
                let hint = Suggest.closest(to: field, among: columns).map { " (did you mean user.\($0)?)" } ?? ""
                throw fail("the feeder has no column \"\(field)\"\(hint); its columns are \(columns.joined(separator: ", "))")
            }
            return .userField(column: index)
        }
        if let args = arguments(name, function: "random") {
            guard args.count == 2, let a = Int64(args[0]), let b = Int64(args[1]), a <= b else {
                throw fail("random takes two whole numbers A <= B: {{random(1,100)}}")
            }
            return .randomInt(a, b)
        }
        if let args = arguments(name, function: "random_string") {
            guard args.count == 1, let n = Int(args[0]), (1...4096).contains(n) else {
                throw fail("random_string takes a length from 1 to 4096: {{random_string(16)}}")
            }
            return .randomString(n)
        }
        let hint = Suggest.closest(to: name, among: ["seq", "now_us", "now_ms", "vu", "iteration", "agent", "phase", "group", "uuid", "run", "users"])
            .map { " (did you mean {{\($0)}}?)" } ?? ""
        throw fail("unknown placeholder {{\(name)}}\(hint); known: \(placeholderNames.map { "{{\($0)}}" }.joined(separator: ", "))")
    }

    private static func arguments(_ text: String, function: String) -> [String]? {
        guard text.hasPrefix(function + "("), text.hasSuffix(")") else { return nil }
        let inner = text.dropFirst(function.count + 1).dropLast()
        return inner.split(separator: ",").map { String($0).trimmingCharacters(in: " ") }
    }

    /// Appends the rendered template to `out`.
    @inlinable
    public func render(_ context: inout RenderContext, into out: inout [UInt8]) {
        for i in 0..<segments.count {
            switch segments[i] {
            case let .literal(bytes): out.append(contentsOf: bytes)
            case .seq: Self.appendDecimal(context.seq, to: &out)
            case .nowMicros: Self.appendDecimal(context.nowMicros, to: &out)
            case .nowMillis: Self.appendDecimal(context.nowMicros / 1000, to: &out)
            case .vu: Self.appendDecimal(context.vu, to: &out)
            case .iteration: Self.appendDecimal(context.iteration, to: &out)
            case .agent: Self.appendDecimal(context.agent, to: &out)
            case .phase: out.append(contentsOf: context.phaseName.utf8)
            case .group: out.append(contentsOf: context.groupName.utf8)
            case let .variable(slot):
                if slot < context.variables.count { out.append(contentsOf: context.variables[slot].utf8) }
            case let .userField(column):
                if let row = context.row, column < row.count { out.append(contentsOf: row[column].utf8) }
            case let .randomInt(a, b):
                let span = UInt64(bitPattern: b &- a) &+ 1
                let r = span == 0 ? context.nextRandom() : context.nextRandom() % span
                Self.appendDecimal(a &+ Int64(bitPattern: r), to: &out)
            case let .randomString(n):
                for _ in 0..<n { out.append(Self.alphabet[Int(context.nextRandom() % 62)]) }
            case .run: out.append(contentsOf: context.runID.utf8)
            case .users: Self.appendDecimal(context.users, to: &out)
            case .uuid:
                let hi = context.nextRandom(), lo = context.nextRandom()
                Self.appendUUID(hi: (hi & ~0xF000) | 0x4000, lo: (lo & ~(0xC << 60)) | (0x8 << 60), to: &out)
            }
        }
    }

    /// The rendered template as a String (allocates; for URLs and headers).
    public func renderString(_ context: inout RenderContext) -> String {
        var out: [UInt8] = []
        render(&context, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @usableFromInline static let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)

    /// Appends the decimal digits of `value` without allocating.
    @inlinable
    public static func appendDecimal(_ value: Int64, to out: inout [UInt8]) {
        if value == 0 { out.append(UInt8(ascii: "0")); return }
        var v = value.magnitude
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            while v > 0 {
                d[n] = UInt8(v % 10) + 48
                v /= 10
                n += 1
            }
            for i in stride(from: n - 1, through: 0, by: -1) { out.append(d[i]) }
        }
    }

    @usableFromInline
    static func appendUUID(hi: UInt64, lo: UInt64, to out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        var nibbles: [UInt8] = []
        for i in (0..<16).reversed() { nibbles.append(hex[Int(hi >> (UInt64(i) * 4) & 0xF)]) }
        for i in (0..<16).reversed() { nibbles.append(hex[Int(lo >> (UInt64(i) * 4) & 0xF)]) }
        for (i, c) in nibbles.enumerated() {
            if i == 8 || i == 12 || i == 16 || i == 20 { out.append(UInt8(ascii: "-")) }
            out.append(c)
        }
    }
}

/// What a template can refer to while rendering.
public struct RenderContext {
    public var vu: Int64 = 0
    public var seq: Int64 = 0
    public var iteration: Int64 = 0
    public var agent: Int64 = 0
    public var phaseName: String = ""
    /// The user's group ("default" without `groups:`).
    public var groupName: String = "default"
    /// The user's captured variables, by slot ("" until captured).
    public var variables: [String] = []
    public var nowMicros: Int64 = 0
    public var row: [String]?
    public var runID: String = ""
    public var users: Int64 = 0
    public var randomState: UInt64

    public init(seed: UInt64) { randomState = seed | 1 }

    @inlinable
    public mutating func nextRandom() -> UInt64 {
        randomState ^= randomState >> 12
        randomState ^= randomState << 25
        randomState ^= randomState >> 27
        return randomState &* 0x2545_F491_4F6C_DD1D
    }
}

/// "Did you mean" suggestions by edit distance.
public enum Suggest {
    /// The candidate closest to `word`, if close enough to be a likely typo.
    public static func closest(to word: String, among candidates: [String]) -> String? {
        let scored = candidates.map { ($0, distance(word.lowercased(), $0.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
        return best.1 <= Swift.max(2, word.count / 3) ? best.0 : nil
    }

    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + [Int](repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
