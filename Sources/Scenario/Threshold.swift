/// A pass/fail criterion over the run's results: `p99(rtt) < 100ms`, `error_rate < 1%`,
/// `connect_success > 99%`, `rate(messages.received) > 1000/s`, `delivery_missing == 0`,
/// for the whole run or one phase.
public struct Threshold: Sendable, Equatable {
    /// What the threshold measures.
    public enum Quantity: Sendable, Equatable {
        /// A percentile of a latency histogram (µs).
        case percentile(Double, of: String)
        case max(String)
        case min(String)
        case mean(String)
        case stddev(String)
        /// Events in a histogram, or a counter's total.
        case count(String)
        /// Events per second over the run or the phase: a counter's or a histogram's.
        case rate(String)
        /// Failed operations (every `errors.*` counter) per operation attempted (connection
        /// attempts plus messages sent), as a fraction.
        case errorRate
        /// Connections opened per connection attempted, as a fraction.
        case connectSuccess

        /// The kind of number the quantity is compared as.
        public var unit: Unit {
            switch self {
            case .percentile, .max, .min, .mean, .stddev: return .microseconds
            case .count: return .count
            case .rate: return .perSecond
            case .errorRate, .connectSuccess: return .fraction
            }
        }

        /// The metric the quantity reads, if one.
        public var metric: String? {
            switch self {
            case let .percentile(_, m), let .max(m), let .min(m), let .mean(m), let .stddev(m), let .count(m), let .rate(m): return m
            case .errorRate, .connectSuccess: return nil
            }
        }
    }

    public enum Unit: Sendable, Equatable { case microseconds, count, perSecond, fraction }

    public enum Comparison: String, Sendable, CaseIterable {
        case lessOrEqual = "<=", greaterOrEqual = ">=", equal = "==", notEqual = "!=", less = "<", greater = ">"

        /// Whether `observed` satisfies the comparison with `limit`.
        public func holds(_ observed: Double, _ limit: Double) -> Bool {
            switch self {
            case .less: return observed < limit
            case .lessOrEqual: return observed <= limit
            case .greater: return observed > limit
            case .greaterOrEqual: return observed >= limit
            case .equal: return observed == limit
            case .notEqual: return observed != limit
            }
        }
    }

    /// The expression as written.
    public var text: String
    public var quantity: Quantity
    public var comparison: Comparison
    /// The limit in the quantity's unit (µs, a count, per second, a fraction).
    public var limit: Double
    /// The phase it applies to (nil: the whole run).
    public var phase: String?
    /// Stop the run as soon as the threshold fails (after `abortGrace`).
    public var abortOnFail: Bool
    /// Nanoseconds from the start before an abort-on-fail threshold is checked.
    public var abortGrace: Int64
    /// Judged second by second: passes when it holds in at least this share of the seconds
    /// (`seconds: 99%`), as a service level objective is scored; nil: judged on the whole scope.
    public var secondsShare: Double?
    public var line: Int
    public var column: Int

    public init(text: String, quantity: Quantity, comparison: Comparison, limit: Double, phase: String? = nil,
                abortOnFail: Bool = false, abortGrace: Int64 = 0, line: Int = 0, column: Int = 0) {
        self.text = text
        self.quantity = quantity
        self.comparison = comparison
        self.limit = limit
        self.phase = phase
        self.abortOnFail = abortOnFail
        self.abortGrace = abortGrace
        self.line = line
        self.column = column
    }

    /// The threshold as a label: the expression, the share of seconds when judged per second,
    /// and the phase when scoped.
    public var label: String {
        let seconds = secondsShare.map { " in \(Self.percent($0)) of seconds" } ?? ""
        return text + seconds + (phase.map { " [\($0)]" } ?? "")
    }

    static func percent(_ share: Double) -> String {
        let p = share * 100
        return (p == p.rounded() ? String(Int(p)) : String(p)) + "%"
    }
}

/// Reads threshold expressions; errors point at the offending token.
public struct ThresholdParser {
    let file: String
    let histograms: [String]
    let phases: [String]
    /// Groups whose metrics are kept apart (`p99(rtt, group: viewers)`); empty without groups.
    let groups: [String]

    /// A parser for `scenario`'s thresholds: its histograms, phases and groups are the valid names.
    public init(file: String, histograms: [String], phases: [String], groups: [String] = []) {
        self.file = file
        self.histograms = histograms
        self.phases = phases
        self.groups = groups
    }

    static let aggregates = ["max", "min", "mean", "stddev", "count", "rate"]
    static let named = ["error_rate", "connect_success"]
    static let example = "e.g. p99(rtt) < 100ms, error_rate < 1%, connect_success > 99%, rate(messages.received) > 1000/s, delivery_missing == 0"

    /// Parses `source` (written at `line`:`column`) into a threshold.
    public func parse(_ source: ThresholdSource) throws(ScenarioError) -> Threshold {
        let text = source.text
        var scanner = Scanner(text: text)
        func fail(_ offset: Int, _ message: String) -> ScenarioError {
            ScenarioError(file: file, line: source.line, column: source.column + offset, message: "in threshold \"\(text)\": \(message)")
        }
        scanner.skipSpaces()
        let nameStart = scanner.offset
        let name = scanner.identifier()
        guard !name.isEmpty else { throw fail(nameStart, "expected a metric expression; \(Self.example)") }
        scanner.skipSpaces()
        var quantity: Threshold.Quantity
        if scanner.peek == "(" {
            scanner.advance()
            scanner.skipSpaces()
            let argumentStart = scanner.offset
            var argument = scanner.identifier()
            scanner.skipSpaces()
            if !argument.isEmpty, scanner.peek == "," {
                // p99(rtt, group: viewers): the group's own share of the metric.
                scanner.advance()
                scanner.skipSpaces()
                let keyStart = scanner.offset
                guard scanner.identifier() == "group" else { throw fail(keyStart, "expected \"group: NAME\" after the metric") }
                scanner.skipSpaces()
                guard scanner.peek == ":" else { throw fail(scanner.offset, "expected \":\" after \"group\"") }
                scanner.advance()
                scanner.skipSpaces()
                argument = try groupMetric(argument, group: scanner.identifier(), at: argumentStart, fail: fail)
                scanner.skipSpaces()
            }
            if scanner.peek == "@" {
                // p99(rtt@viewers): the same, in the metric's recorded name (no quotes needed in YAML).
                scanner.advance()
                argument = try groupMetric(argument, group: scanner.identifier(), at: argumentStart, fail: fail)
                scanner.skipSpaces()
            }
            guard !argument.isEmpty, scanner.peek == ")" else {
                throw fail(argumentStart, "expected a metric name and \")\" after \"\(name)(\"")
            }
            scanner.advance()
            quantity = try aggregate(name, argument, at: nameStart, argumentAt: argumentStart, fail: fail)
        } else {
            quantity = try bare(name, at: nameStart, fail: fail)
        }
        let written = String(scanner.characters[nameStart..<scanner.offset])
        scanner.skipSpaces()
        let comparisonStart = scanner.offset
        guard let comparison = scanner.comparison() else {
            throw fail(comparisonStart, "expected a comparison (<, <=, >, >=, ==, !=) after \"\(written)\"")
        }
        scanner.skipSpaces()
        let valueStart = scanner.offset
        let valueText = scanner.rest.trimmingCharacters(in: " ")
        guard !valueText.isEmpty else { throw fail(valueStart, "expected a value after \"\(comparison.rawValue)\"") }
        let limit = try value(valueText, for: quantity, at: valueStart, fail: fail)
        var threshold = Threshold(text: text, quantity: quantity, comparison: comparison, limit: limit, phase: nil,
                                  abortOnFail: source.abortOnFail, abortGrace: source.abortGrace, line: source.line, column: source.column)
        threshold.secondsShare = source.secondsShare
        return threshold
    }

    /// Checks a phase name given with a threshold.
    public func phase(_ name: String, line: Int, column: Int) throws(ScenarioError) -> String {
        guard phases.contains(name) else {
            let hint = Suggest.closest(to: name, among: phases).map { "did you mean \"\($0)\"? " } ?? ""
            throw ScenarioError(file: file, line: line, column: column,
                                message: "no phase named \"\(name)\"; \(hint)phases: \(phases.joined(separator: ", "))")
        }
        return name
    }

    /// `metric`'s share recorded by `group` (`rtt@viewers`), checked.
    private func groupMetric(_ metric: String, group: String, at offset: Int, fail: (Int, String) -> ScenarioError) throws(ScenarioError) -> String {
        guard groups.contains(group) else {
            let hint = Suggest.closest(to: group, among: groups).map { "did you mean \"\($0)\"? " } ?? ""
            throw fail(offset, groups.isEmpty ? "metrics are kept per group only when the scenario has two or more groups"
                                              : "no group named \"\(group)\"; \(hint)groups: \(groups.joined(separator: ", "))")
        }
        guard histograms.contains(metric) else {
            throw fail(offset, "a group's share applies to latency metrics; \"\(metric)\" is not one (\(histograms.joined(separator: ", ")))")
        }
        let grouped = Scenario.groupMetric(metric, group: group)
        guard histograms.contains(grouped) else {
            throw fail(offset, "the group \"\(group)\" does not record \(metric): none of its steps measures it")
        }
        return grouped
    }

    private func aggregate(_ name: String, _ metric: String, at offset: Int, argumentAt: Int,
                           fail: (Int, String) -> ScenarioError) throws(ScenarioError) -> Threshold.Quantity {
        if let p = Self.percentile(name) {
            return .percentile(p, of: try histogram(metric, for: name, at: argumentAt, fail: fail))
        }
        switch name {
        case "max": return .max(try histogram(metric, for: name, at: argumentAt, fail: fail))
        case "min": return .min(try histogram(metric, for: name, at: argumentAt, fail: fail))
        case "mean", "avg": return .mean(try histogram(metric, for: name, at: argumentAt, fail: fail))
        case "stddev": return .stddev(try histogram(metric, for: name, at: argumentAt, fail: fail))
        case "count": return .count(try anyMetric(metric, at: argumentAt, fail: fail))
        case "rate": return .rate(try anyMetric(metric, at: argumentAt, fail: fail))
        default:
            let hint = Suggest.closest(to: name, among: Self.aggregates + ["p50", "p90", "p95", "p99", "p99.9"]).map { " (did you mean \($0)?)" } ?? ""
            throw fail(offset, "unknown function \"\(name)\"\(hint); expected p50 … p99.99, max, min, mean, stddev, count or rate")
        }
    }

    private func bare(_ name: String, at offset: Int, fail: (Int, String) -> ScenarioError) throws(ScenarioError) -> Threshold.Quantity {
        switch name {
        case "error_rate": return .errorRate
        case "connect_success": return .connectSuccess
        default: break
        }
        if let counter = Self.counterName(name) { return .count(counter) }
        if Self.percentile(name) != nil || Self.aggregates.contains(name) {
            throw fail(offset, "\"\(name)\" needs a metric, e.g. \(name)(\(histograms.last ?? "rtt"))")
        }
        if histograms.contains(name) {
            throw fail(offset, "\"\(name)\" is a latency metric: compare one of its figures, e.g. p99(\(name)) < 100ms")
        }
        let candidates = Self.named + MetricCatalog.counters.map { $0.replacingOccurrences(of: ".", with: "_") }
        let hint = Suggest.closest(to: name, among: candidates).map { " (did you mean \($0)?)" } ?? ""
        throw fail(offset, "unknown metric \"\(name)\"\(hint); \(Self.example)")
    }

    private func histogram(_ name: String, for function: String, at offset: Int,
                           fail: (Int, String) -> ScenarioError) throws(ScenarioError) -> String {
        if histograms.contains(name) { return name }
        if Self.counterName(name) != nil {
            throw fail(offset, "\"\(name)\" is a counter; \(function)() takes a latency metric (\(histograms.joined(separator: ", ")))")
        }
        let hint = Suggest.closest(to: name, among: histograms).map { " (did you mean \($0)?)" } ?? ""
        throw fail(offset, "no latency metric named \"\(name)\"\(hint); this scenario records \(histograms.joined(separator: ", "))")
    }

    private func anyMetric(_ name: String, at offset: Int, fail: (Int, String) -> ScenarioError) throws(ScenarioError) -> String {
        if histograms.contains(name) { return name }
        if let counter = Self.counterName(name) { return counter }
        let candidates = histograms + MetricCatalog.counters
        let hint = Suggest.closest(to: name, among: candidates).map { " (did you mean \($0)?)" } ?? ""
        throw fail(offset, "unknown metric \"\(name)\"\(hint); give a counter such as messages.received or a latency metric")
    }

    /// "p99" → 99, "p99.9" → 99.9 (0 < p ≤ 100).
    static func percentile(_ name: String) -> Double? {
        guard name.hasPrefix("p"), let p = Double(name.dropFirst()), p > 0, p <= 100 else { return nil }
        return p
    }

    /// A counter's catalog name from how a threshold may spell it: as is
    /// (`errors.expect_timeout`) or with its first dot as an underscore (`errors_expect_timeout`).
    static func counterName(_ name: String) -> String? {
        if MetricCatalog.isCounter(name) { return name }
        guard let underscore = name.firstIndex(of: "_") else { return nil }
        let dotted = name[..<underscore] + "." + name[name.index(after: underscore)...]
        return MetricCatalog.isCounter(String(dotted)) ? String(dotted) : nil
    }

    private func value(_ text: String, for quantity: Threshold.Quantity, at offset: Int,
                       fail: (Int, String) -> ScenarioError) throws(ScenarioError) -> Double {
        switch quantity.unit {
        case .microseconds:
            guard let ns = Units.duration(text) else {
                if Double(text) != nil { throw fail(offset, "\"\(text)\" needs a unit: a latency is compared as a duration, e.g. 100ms or 250us") }
                throw fail(offset, "expected a duration such as 100ms, 1.5s or 250us, found \"\(text)\"")
            }
            return Double(ns) / 1000
        case .fraction:
            if text.hasSuffix("%"), let p = Double(String(text.dropLast()).trimmingCharacters(in: " ")), p >= 0, p <= 100 {
                return p / 100
            }
            if let f = Double(text), f >= 0, f <= 1 { return f }
            throw fail(offset, "expected a percentage such as 1% or 99.5% (or a fraction from 0 to 1), found \"\(text)\"")
        case .perSecond:
            if let r = Units.ratePerSecond(text) { return r }
            if let r = Double(text), r >= 0 { return r }
            throw fail(offset, "expected a rate such as 1000/s or 60/m, found \"\(text)\"")
        case .count:
            guard let n = Double(text), n >= 0, n == n.rounded() else {
                throw fail(offset, "expected a whole number, found \"\(text)\"")
            }
            return n
        }
    }

    /// A cursor over the expression's characters, with offsets in characters for columns.
    struct Scanner {
        let characters: [Character]
        var offset = 0

        init(text: String) { characters = Array(text) }

        var peek: Character? { offset < characters.count ? characters[offset] : nil }
        var rest: String { String(characters[offset...]) }

        mutating func advance() { offset += 1 }

        mutating func skipSpaces() { while peek == " " || peek == "\t" { advance() } }

        /// Letters, digits, `_` and `.`, starting with a letter or `_`.
        mutating func identifier() -> String {
            guard let first = peek, first.isLetter || first == "_" else { return "" }
            var out = ""
            while let c = peek, c.isLetter || c.isNumber || c == "_" || c == "." {
                out.append(c)
                advance()
            }
            return out
        }

        mutating func comparison() -> Threshold.Comparison? {
            for c in Threshold.Comparison.allCases {   // two-character operators first
                let symbol = Array(c.rawValue)
                if offset + symbol.count <= characters.count, Array(characters[offset..<offset + symbol.count]) == symbol {
                    offset += symbol.count
                    return c
                }
            }
            return nil
        }
    }
}
