/// Decoding the script: steps, matchers, metric names and thresholds.
extension ScenarioDecoder {
    static let stepKeywords = ["connect", "send", "expect", "expect_none", "sleep", "barrier", "loop", "close", "reconnect", "ping"]

    func stepList(_ node: YAMLNode, columns: [String]?, depth: Int) throws(ScenarioError) -> [Step] {
        guard depth < 8 else { throw error(node, "loops nested more than 8 deep") }
        var steps: [Step] = []
        for item in try list(node, what: "steps") { steps.append(try step(item, columns: columns, depth: depth)) }
        return steps
    }

    func step(_ node: YAMLNode, columns: [String]?, depth: Int) throws(ScenarioError) -> Step {
        let keyword: String
        let argument: YAMLNode?
        let at: (line: Int, column: Int)
        switch node.value {
        case let .scalar(s, _):
            keyword = s
            argument = nil
            at = (node.line, node.column)
        case let .mapping(entries):
            guard entries.count == 1 else {
                throw error(node, "a step is one keyword (\(Self.stepKeywords.joined(separator: ", "))) with its arguments; found \(entries.count) keys: \(entries.map(\.key).joined(separator: ", ")) (indent the arguments under the keyword)")
            }
            keyword = entries[0].key
            argument = entries[0].value
            at = (entries[0].line, entries[0].column)
        default:
            throw error(node, "expected a step (\(Self.stepKeywords.joined(separator: ", "))), found \(node.kindDescription)")
        }
        func located(_ kind: Step.Kind) -> Step { Step(kind, line: at.line, column: at.column) }
        func need(_ what: String) throws(ScenarioError) -> YAMLNode {
            guard let argument, argument.value != .null else {
                throw ScenarioError(file: file, line: at.line, column: at.column, message: "\(keyword) needs \(what)")
            }
            return argument
        }
        switch keyword {
        case "connect":
            guard let argument, argument.value != .null else { return located(.connect(ConnectStep())) }
            let m = try mapping(argument, allowed: ["url", "expect_status", "expect"], what: "connect")
            var refusal: ExpectedRefusal?
            switch (m["expect_status"], m["expect"]) {
            case let (s?, nil):
                let status = try integer(s.value, what: "expect_status", range: 100...599)
                guard status != 101 else { throw error(s.value, "101 is the upgrade itself: a plain connect expects it") }
                refusal = .status(status)
            case let (nil, e?):
                guard try text(e.value, what: "expect") == "refused" else {
                    throw error(e.value, "connect's expect is \"refused\" (any status but 101); for one status use expect_status: 403")
                }
                refusal = .anyStatus
            case let (s?, _?):
                throw error(s, "use expect_status: N or expect: refused, not both")
            case (nil, nil):
                break
            }
            return located(.connect(ConnectStep(url: try m["url"].map { (e) throws(ScenarioError) in try targetURL(e.value, columns: columns) },
                                                refusal: refusal)))
        case "send":
            let a = try need("a message, e.g. send: '{\"type\":\"ping\",\"seq\":{{seq}}}'")
            if case .mapping = a.value {
                let m = try mapping(a, allowed: ["text", "binary"], what: "send")
                if let t = m["text"], m["binary"] == nil { return located(.send(SendStep(payload: try template(t.value, what: "the text to send", columns: columns)))) }
                if let b = m["binary"], m["text"] == nil { return located(.send(SendStep(payload: try template(b.value, what: "the bytes to send", columns: columns), binary: true))) }
                throw error(a, "send takes either text: or binary:")
            }
            return located(.send(SendStep(payload: try template(a, what: "the message to send", columns: columns))))
        case "expect":
            let a = try need("what to wait for, e.g. expect: { json: { type: reply }, within: 2s }")
            let m = try mapping(a, allowed: Self.matcherKeys + ["within", "measure", "latency_from", "strict", "capture"], what: "expect")
            let within = try m["within"].map { (e) throws(ScenarioError) in try duration(e.value, what: "within") } ?? 5_000_000_000
            let measure = try m["measure"].map { (e) throws(ScenarioError) in try metricName(e.value) }
            var origin = LatencyOrigin.lastSend
            if let f = m["latency_from"] {
                let s = try text(f.value, what: "latency_from")
                origin = s == "send" ? .lastSend : .field(s)
                if measure == nil { throw error(f, "latency_from only matters with measure: NAME") }
            }
            let strict = try m["strict"].map { (e) throws(ScenarioError) in try bool(e.value, what: "strict") } ?? false
            var expect = ExpectStep(matcher: try matcher(m, columns: columns), within: within, measure: measure,
                                    latencyFrom: origin, strict: strict)
            if let c = m["capture"] { expect.captures = try captures(c.value) }
            return located(.expect(expect))
        case "expect_none":
            let a = try need("what must not arrive and for how long, e.g. expect_none: { json: { to: other }, for: 2s }")
            let m = try mapping(a, allowed: Self.matcherKeys + ["for"], what: "expect_none")
            guard let f = m["for"] else { throw error(a, "expect_none needs \"for: DURATION\" (how long nothing matching may arrive)") }
            return located(.expectNone(ExpectNoneStep(matcher: try matcher(m, columns: columns), duration: try duration(f.value, what: "for"))))
        case "sleep":
            return located(.sleep(try delay(try need("a duration, e.g. sleep: 500ms (or 1s..3s, exp(2s))"), what: "the sleep")))
        case "barrier":
            let a = try need("a name, e.g. barrier: all-joined")
            if case .mapping = a.value {
                let m = try mapping(a, allowed: ["name", "release", "timeout"], what: "barrier")
                guard let n = m["name"] else { throw error(a, "barrier needs \"name: NAME\"") }
                var fraction = 1.0
                if let r = m["release"] {
                    let s = try text(r.value, what: "release")
                    if s == "all" {
                        fraction = 1
                    } else if s.hasSuffix("%"), let p = Double(s.dropLast()), p > 0, p <= 100 {
                        fraction = p / 100
                    } else {
                        throw error(r.value, "release is \"all\" or a percentage of the expected users such as 90%, found \"\(s)\"")
                    }
                }
                let timeout = try m["timeout"].map { (e) throws(ScenarioError) in try duration(e.value, what: "the barrier timeout") } ?? 30_000_000_000
                return located(.barrier(BarrierStep(name: try text(n.value, what: "the barrier name"), fraction: fraction, timeout: timeout)))
            }
            return located(.barrier(BarrierStep(name: try text(a, what: "the barrier name"), fraction: 1, timeout: 30_000_000_000)))
        case "loop":
            let a = try need("steps to repeat")
            if case .mapping = a.value {
                let m = try mapping(a, allowed: ["count", "steps"], what: "loop")
                guard let s = m["steps"] else { throw error(a, "loop needs \"steps:\" with the steps to repeat") }
                let count = try m["count"].map { (e) throws(ScenarioError) in try integer(e.value, what: "the loop count", range: 1...1_000_000_000) }
                let body = try stepList(s.value, columns: columns, depth: depth + 1)
                guard !body.isEmpty else { throw error(s.value, "the loop has no steps") }
                return located(.loop(LoopStep(count: count, steps: body)))
            }
            let body = try stepList(a, columns: columns, depth: depth + 1)
            guard !body.isEmpty else { throw error(a, "the loop has no steps") }
            return located(.loop(LoopStep(count: nil, steps: body)))
        case "close":
            if let argument, argument.value != .null { throw error(argument, "close takes no arguments") }
            return located(.close)
        case "ping":
            guard let argument, argument.value != .null else { return located(.ping(PingStep())) }
            let m = try mapping(argument, allowed: ["within", "measure"], what: "ping")
            var ping = PingStep()
            if let w = m["within"] { ping.within = try duration(w.value, what: "within") }
            if let n = m["measure"] { ping.measure = try metricName(n.value) }
            return located(.ping(ping))
        case "reconnect":
            if let argument, argument.value != .null { throw error(argument, "reconnect takes no arguments") }
            return located(.reconnect)
        default:
            let hint = Suggest.closest(to: keyword, among: Self.stepKeywords).map { "did you mean \"\($0)\"? " } ?? ""
            throw ScenarioError(file: file, line: at.line, column: at.column,
                                message: "unknown step \"\(keyword)\"; \(hint)expected one of: \(Self.stepKeywords.joined(separator: ", "))")
        }
    }

    static let matcherKeys = ["json", "contains", "equals", "regex", "binary"]

    /// `capture: { NAME: { json: PATH } | { regex: PATTERN }, … }` of an expect step.
    func captures(_ node: YAMLNode) throws(ScenarioError) -> [Capture] {
        guard case let .mapping(entries) = node.value, !entries.isEmpty else {
            throw error(node, "capture expects a mapping of variable: source, e.g. capture: { room: { json: room.id } }")
        }
        var out: [Capture] = []
        for e in entries {
            guard let first = e.key.first, first.isLetter, e.key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw error(e, "a variable name is letters, digits and _, starting with a letter; found \"\(e.key)\"")
            }
            let m = try mapping(e.value, allowed: ["json", "regex"], what: "a capture")
            let slot = variables.firstIndex(of: e.key)!
            switch (m["json"], m["regex"]) {
            case let (j?, nil):
                let path = try text(j.value, what: "a JSON field path").split(separator: ".").map { Array($0.utf8) }
                guard !path.isEmpty, path.allSatisfy({ !$0.isEmpty }) else { throw error(j.value, "expected a JSON field or dotted path, e.g. room.id") }
                out.append(Capture(variable: e.key, slot: slot, source: .json(path: path)))
            case let (nil, r?):
                let pattern = try text(r.value, what: "a regular expression")
                do {
                    out.append(Capture(variable: e.key, slot: slot, source: .regex(try CompiledRegex(pattern))))
                } catch {
                    throw self.error(r.value, "invalid regular expression \"\(pattern)\": \(error)")
                }
            default:
                throw error(e.value, "a capture takes its value from json: PATH or regex: PATTERN (the first group, else the whole match), one of them")
            }
        }
        return out
    }

    func matcher(_ m: [String: YAMLEntry], columns: [String]?) throws(ScenarioError) -> MessageMatcher {
        var conditions: [MessageMatcher.Condition] = []
        if let j = m["json"] {
            guard case let .mapping(fields) = j.value.value else {
                throw error(j.value, "json expects a mapping of field: value, e.g. json: { type: say, seq: \"{{seq}}\" }")
            }
            for f in fields {
                let path = f.key.split(separator: ".").map { Array($0.utf8) }
                guard !path.isEmpty else { throw error(f, "empty JSON field name") }
                switch f.value.value {
                case let .scalar(s, _):
                    if s == "*" {
                        conditions.append(.jsonFieldExists(path: path))
                    } else {
                        conditions.append(.jsonField(path: path, expected: try Template(s, file: file, line: f.value.line, column: f.value.column, feederColumns: columns, variables: variables)))
                    }
                case .null:
                    conditions.append(.jsonField(path: path, expected: Template(literal: "null")))
                default:
                    throw error(f.value, "JSON field values are compared as text; write a scalar (use \"*\" to require only that the field exists, or dotted names for nested fields), found \(f.value.kindDescription)")
                }
            }
        }
        if let c = m["contains"] { conditions.append(.contains(try template(c.value, what: "the text to look for", columns: columns))) }
        if let e = m["equals"] { conditions.append(.equals(try template(e.value, what: "the exact message", columns: columns))) }
        if let r = m["regex"] {
            let pattern = try text(r.value, what: "a regular expression")
            do {
                conditions.append(.regex(try CompiledRegex(pattern)))
            } catch {
                throw self.error(r.value, "invalid regular expression \"\(pattern)\": \(error)")
            }
        }
        if let b = m["binary"] { conditions.append(.binary(try bool(b.value, what: "binary"))) }
        return MessageMatcher(conditions: conditions)
    }

    func metricName(_ node: YAMLNode) throws(ScenarioError) -> String {
        let s = try text(node, what: "a metric name")
        guard let first = s.first, first.isLetter, s.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
            throw error(node, "a metric name is letters, digits and _, starting with a letter; found \"\(s)\"")
        }
        let reserved = MetricCatalog.builtInHistograms
        guard !reserved.contains(s) else { throw error(node, "\"\(s)\" is a built-in metric name; choose another") }
        return s
    }

    func threshold(_ node: YAMLNode) throws(ScenarioError) -> ThresholdSource {
        switch node.value {
        case let .scalar(s, quoted):
            return ThresholdSource(text: s, line: node.line, column: node.column + (quoted ? 1 : 0))
        case .mapping:
            let m = try mapping(node, allowed: ["threshold", "phase", "abort_on_fail", "grace", "seconds"], what: "a threshold")
            var share: Double?
            if let e = m["seconds"] {
                let t = try text(e.value, what: "seconds")
                guard t.hasSuffix("%"), let v = Double(t.dropLast()), v > 0, v <= 100 else {
                    throw error(e.value, "seconds is the share of the run's seconds in which the threshold must hold, such as 99% or 99.9%, found \"\(t)\"")
                }
                share = v / 100
            }
            guard let t = m["threshold"] else { throw error(node, "expected \"threshold: EXPRESSION\", e.g. threshold: p99(rtt) < 100ms") }
            let abort = try m["abort_on_fail"].map { (e) throws(ScenarioError) in try bool(e.value, what: "abort_on_fail") } ?? false
            let grace = try m["grace"].map { (e) throws(ScenarioError) in try duration(e.value, what: "grace", allowZero: true) } ?? 0
            let phase = try m["phase"].map { (e) throws(ScenarioError) in
                (name: try text(e.value, what: "the phase name"), line: e.value.line, column: e.value.column)
            }
            var quoted = false
            if case let .scalar(_, q) = t.value.value { quoted = q }
            var source = ThresholdSource(text: try text(t.value, what: "the threshold expression"), line: t.value.line,
                                         column: t.value.column + (quoted ? 1 : 0), abortOnFail: abort, abortGrace: grace, phase: phase)
            source.secondsShare = share
            return source
        default:
            throw error(node, "expected a threshold such as \"p99(rtt) < 100ms\", found \(node.kindDescription)")
        }
    }
}
