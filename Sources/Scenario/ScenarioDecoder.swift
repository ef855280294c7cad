/// Builds a `Scenario` from a parsed YAML document: checks every key, type and unit, and the
/// script's logic (connect before send, a rate for the open model...), reporting each problem
/// at its line and column.
struct ScenarioDecoder {
    let file: String
    /// Reads a feeder file named in the scenario (relative paths are resolved by the caller).
    let loadFeeder: (String) throws(ScenarioError) -> Feeder?
    /// Reads a certificate or key file named in the scenario.
    let readFile: (String) throws(ScenarioError) -> String
    /// Every variable the scenario's captures set, in slot order (found before the steps are
    /// read, so a template may use a variable a later step captures).
    var variables: [String] = []

    // MARK: Node helpers

    func error(_ node: YAMLNode, _ message: String) -> ScenarioError {
        ScenarioError(file: file, line: node.line, column: node.column, message: message)
    }

    func error(_ entry: YAMLEntry, _ message: String) -> ScenarioError {
        ScenarioError(file: file, line: entry.line, column: entry.column, message: message)
    }

    /// The entries of a mapping node, checking that every key is one of `allowed`.
    func mapping(_ node: YAMLNode, allowed: [String], what: String) throws(ScenarioError) -> [String: YAMLEntry] {
        guard case let .mapping(entries) = node.value else {
            throw error(node, "expected \(what) (a mapping with \(allowed.prefix(4).joined(separator: ", "))...), found \(node.kindDescription)")
        }
        var out: [String: YAMLEntry] = [:]
        for entry in entries {
            guard allowed.contains(entry.key) else {
                let hint = Suggest.closest(to: entry.key, among: allowed).map { "did you mean \"\($0)\"? " } ?? ""
                throw error(entry, "unknown key \"\(entry.key)\" in \(what); \(hint)expected one of: \(allowed.joined(separator: ", "))")
            }
            out[entry.key] = entry
        }
        return out
    }

    func text(_ node: YAMLNode, what: String) throws(ScenarioError) -> String {
        guard case let .scalar(s, _) = node.value else {
            throw error(node, "expected \(what) (text), found \(node.kindDescription)")
        }
        return s
    }

    func template(_ node: YAMLNode, what: String, columns: [String]?) throws(ScenarioError) -> Template {
        let s = try text(node, what: what)
        return try Template(s, file: file, line: node.line, column: node.column, feederColumns: columns, variables: variables)
    }

    func integer(_ node: YAMLNode, what: String, range: ClosedRange<Int>) throws(ScenarioError) -> Int {
        let s = try text(node, what: what)
        guard let v = Int(s.replacingOccurrences(of: "_", with: "")), range.contains(v) else {
            throw error(node, "expected \(what): a whole number from \(range.lowerBound) to \(range.upperBound), found \"\(s)\"")
        }
        return v
    }

    func duration(_ node: YAMLNode, what: String, allowZero: Bool = false) throws(ScenarioError) -> Int64 {
        let s = try text(node, what: what)
        guard let d = Units.duration(s), d > 0 || (allowZero && d == 0) else {
            throw error(node, "expected \(what) as a duration such as 500ms, 30s, 5m or 1h, found \"\(s)\"")
        }
        return d
    }

    /// A pause: a duration, `A..B` (uniform) or `exp(MEAN)` (exponential).
    func delay(_ node: YAMLNode, what: String) throws(ScenarioError) -> Delay {
        let s = try text(node, what: what)
        guard let d = Delay.parse(s) else {
            throw error(node, "expected \(what) as a duration (500ms), a uniform range (1s..3s) or an exponential mean (exp(2s)), found \"\(s)\"")
        }
        return d
    }

    func bool(_ node: YAMLNode, what: String) throws(ScenarioError) -> Bool {
        let s = try text(node, what: what)
        switch s {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(node, "expected \(what): true or false, found \"\(s)\"")
        }
    }

    func list(_ node: YAMLNode, what: String) throws(ScenarioError) -> [YAMLNode] {
        switch node.value {
        case let .sequence(items): return items
        default: throw error(node, "expected \(what) (a list of \"- item\" lines), found \(node.kindDescription)")
        }
    }

    // MARK: Scenario

    static let topLevelKeys = ["name", "description", "target", "targets", "headers", "subprotocols", "feeder", "model",
                               "phases", "steps", "groups", "on", "thresholds", "delivery", "options", "tls", "compression"]

    func decode(_ root: YAMLNode, source: String) throws(ScenarioError) -> Scenario {
        var decoder = self
        decoder.variables = Self.captureNames(in: root)
        return try decoder.decodeScenario(root, source: source)
    }

    /// The names under every `capture:` mapping of the document, in order of appearance.
    static func captureNames(in node: YAMLNode) -> [String] {
        var names: [String] = []
        func visit(_ node: YAMLNode) {
            switch node.value {
            case let .mapping(entries):
                for e in entries {
                    if e.key == "capture", case let .mapping(captures) = e.value.value {
                        for c in captures where !names.contains(c.key) { names.append(c.key) }
                    }
                    visit(e.value)
                }
            case let .sequence(items):
                for item in items { visit(item) }
            default:
                break
            }
        }
        visit(node)
        return names
    }

    func decodeScenario(_ root: YAMLNode, source: String) throws(ScenarioError) -> Scenario {
        let top = try mapping(root, allowed: Self.topLevelKeys, what: "the scenario")
        func required(_ key: String, _ example: String) throws(ScenarioError) -> YAMLEntry {
            guard let e = top[key] else {
                throw ScenarioError(file: file, line: 1, column: 1, message: "the scenario has no \"\(key)\"; add for example \(example)")
            }
            return e
        }
        let name = try top["name"].map { (e) throws(ScenarioError) in try text(e.value, what: "the scenario name") } ?? file.split(separator: "/").last.map(String.init) ?? file

        let feeder = try top["feeder"].map { (e) throws(ScenarioError) in try feederFile(e.value) } ?? nil
        let columns = feeder?.columns

        // Targets.
        var targets: [Template] = []
        if let e = top["target"] { targets.append(try targetURL(e.value, columns: columns)) }
        if let e = top["targets"] {
            guard top["target"] == nil else { throw error(e, "use either \"target\" or \"targets\", not both") }
            for item in try list(e.value, what: "targets") { targets.append(try targetURL(item, columns: columns)) }
            if targets.isEmpty { throw error(e.value, "targets is empty; list at least one ws:// URL") }
        }
        if targets.isEmpty {
            _ = try required("target", "\"target: ws://127.0.0.1:8080/echo\"")
        }

        var headers: [(name: String, value: Template)] = []
        if let e = top["headers"] {
            guard case let .mapping(entries) = e.value.value else { throw error(e.value, "expected headers as a mapping of Name: value") }
            for h in entries {
                guard !h.key.isEmpty, h.key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
                    throw error(h, "\"\(h.key)\" is not a valid HTTP header name")
                }
                let lower = h.key.lowercased()
                if ["host", "upgrade", "connection", "sec-websocket-key", "sec-websocket-version"].contains(lower) {
                    throw error(h, "the \(h.key) header is set by volley for the WebSocket handshake and cannot be overridden")
                }
                headers.append((h.key, try template(h.value, what: "the value of header \(h.key)", columns: columns)))
            }
        }
        var subprotocols: [String] = []
        if let e = top["subprotocols"] {
            for item in try list(e.value, what: "subprotocols") { subprotocols.append(try text(item, what: "a subprotocol name")) }
        }

        var model = LoadModel.closed
        if let e = top["model"] {
            let s = try text(e.value, what: "the load model")
            guard let m = LoadModel(rawValue: s) else {
                throw error(e.value, "unknown model \"\(s)\"; expected open (sends on a schedule, latency from the scheduled time) or closed (send after the reply)")
            }
            model = m
        }

        let phasesEntry = try required("phases", "\"phases: [{ name: steady, duration: 30s, connections: 100, rate: 1/s }]\"")
        let phaseNodes = try list(phasesEntry.value, what: "phases")
        guard !phaseNodes.isEmpty else { throw error(phasesEntry.value, "phases is empty; add at least one phase") }
        var phases: [Phase] = []
        for (i, node) in phaseNodes.enumerated() { phases.append(try phase(node, index: i)) }

        var steps: [Step] = []
        var groups: [UserGroup] = []
        let stepsNode: YAMLNode
        if let g = top["groups"] {
            if let e = top["steps"] {
                throw error(e, "with groups, each group has its own steps; move these under a group (docs/scenarios.md, \"User groups\")")
            }
            groups = try userGroups(g.value, scenarioFeeder: feeder, model: model, phases: phases)
            stepsNode = g.value
        } else {
            let stepsEntry = try required("steps", "\"steps: [connect, { send: hello }, { expect: { contains: hello } }]\"")
            steps = try stepList(stepsEntry.value, columns: columns, depth: 0)
            guard !steps.isEmpty else { throw error(stepsEntry.value, "steps is empty; a virtual user needs at least \"- connect\"") }
            stepsNode = stepsEntry.value
        }

        var thresholdSources: [ThresholdSource] = []
        if let e = top["thresholds"] {
            for item in try list(e.value, what: "thresholds") { thresholdSources.append(try threshold(item)) }
        }

        var delivery: DeliveryTracking?
        if let e = top["delivery"] {
            let m = try mapping(e.value, allowed: ["sender", "sequence", "sent_at", "metric", "order", "group", "includes_sender", "settle", "envelope"],
                                what: "delivery")
            guard let sender = m["sender"], let sequence = m["sequence"] else {
                throw error(e.value, "delivery needs \"sender: FIELD\" and \"sequence: FIELD\" (top-level JSON fields of received messages)")
            }
            let sentAt = try m["sent_at"].map { (x) throws(ScenarioError) in try text(x.value, what: "the sent_at field") }
            var metric = try m["metric"].map { (x) throws(ScenarioError) in try text(x.value, what: "the metric name") }
            if sentAt != nil && metric == nil { metric = "delivery" }
            delivery = DeliveryTracking(senderField: try text(sender.value, what: "the sender field"),
                                        sequenceField: try text(sequence.value, what: "the sequence field"),
                                        sentAtField: sentAt, latencyMetric: metric,
                                        order: try m["order"].map { (x) throws(ScenarioError) in try bool(x.value, what: "order") } ?? false)
            delivery?.group = try m["group"].map { (x) throws(ScenarioError) in try template(x.value, what: "the delivery group", columns: columns) }
            if let x = m["includes_sender"] { delivery?.includesSender = try bool(x.value, what: "includes_sender") }
            if let x = m["settle"] { delivery?.settle = try duration(x.value, what: "settle", allowZero: true) }
            if let x = m["envelope"] {
                let t = try text(x.value, what: "envelope")
                guard let envelope = DeliveryEnvelope(rawValue: t) else {
                    throw error(x.value, "envelope is json (the message is the object) or socketio (the data of a 42[\"event\",{…}] packet), found \"\(t)\"")
                }
                delivery?.envelope = envelope
            }
        }

        var options = RunOptions()
        if let e = top["options"] {
            let m = try mapping(e.value, allowed: ["connect_timeout", "max_connecting", "close_timeout", "on_agent_loss",
                                                   "max_message_size", "local_addresses", "drain", "max_shortfall",
                                                   "generator_limited", "arrivals"], what: "options")
            if let x = m["arrivals"] {
                let t = try text(x.value, what: "arrivals")
                guard let a = Arrivals(rawValue: t) else {
                    throw error(x.value, "arrivals is uniform (sends evenly spaced at the rate) or poisson (exponential gaps with the rate's mean), found \"\(t)\"")
                }
                guard model == .open else { throw error(x, "arrivals spaces the open model's scheduled sends; this scenario is closed") }
                options.arrivals = a
            }
            if let x = m["drain"] { options.drain = try duration(x.value, what: "drain", allowZero: true) }
            if let x = m["max_shortfall"] {
                let t = try text(x.value, what: "max_shortfall")
                guard t.hasSuffix("%"), let v = Double(t.dropLast()), v >= 0, v <= 100 else {
                    throw error(x.value, "max_shortfall is a percentage of the planned load, such as 1% or 5%, found \"\(t)\"")
                }
                options.maxShortfall = v / 100
            }
            if let x = m["generator_limited"] {
                let t = try text(x.value, what: "generator_limited")
                guard let p = GeneratorLimitedPolicy(rawValue: t) else {
                    throw error(x.value, "generator_limited is warn (the verdict says so) or fail (the run fails), found \"\(t)\"")
                }
                options.generatorLimited = p
            }
            if let x = m["connect_timeout"] { options.connectTimeout = try duration(x.value, what: "connect_timeout") }
            if let x = m["close_timeout"] { options.closeTimeout = try duration(x.value, what: "close_timeout") }
            if let x = m["max_connecting"] { options.maxConnecting = try integer(x.value, what: "max_connecting", range: 1...100_000) }
            if let x = m["max_message_size"] { options.maxMessageSize = try integer(x.value, what: "max_message_size (bytes)", range: 125...(256 << 20)) }
            if let x = m["on_agent_loss"] {
                let s = try text(x.value, what: "on_agent_loss")
                guard let p = AgentLossPolicy(rawValue: s) else { throw error(x.value, "on_agent_loss is continue or abort, found \"\(s)\"") }
                options.onAgentLoss = p
            }
            if let x = m["local_addresses"] {
                for item in try list(x.value, what: "local_addresses") {
                    let a = try text(item, what: "a local IP address")
                    guard a.contains(".") || a.contains(":") else { throw error(item, "\"\(a)\" is not an IP address") }
                    options.localAddresses.append(a)
                }
            }
        }

        let handlers = try top["on"].map { (e) throws(ScenarioError) in try messageHandlers(e.value, columns: columns) } ?? []
        let tls = try top["tls"].map { (e) throws(ScenarioError) in try tlsOptions(e.value) } ?? TLSOptions()
        let compression = try top["compression"].map { (e) throws(ScenarioError) in try compressionOptions(e.value) } ?? CompressionOptions()

        var scenario = Scenario(name: name, description: try top["description"].map { (e) throws(ScenarioError) in try text(e.value, what: "the description") },
                                targets: targets, headers: headers, subprotocols: subprotocols, feeder: feeder, model: model,
                                phases: phases, steps: steps, declaredGroups: groups, variables: variables, handlers: handlers, thresholds: [],
                                delivery: delivery, options: options, source: source, file: file)
        scenario.tls = tls
        scenario.compression = compression
        try ScenarioChecker(file: file).check(scenario, stepsNode: stepsNode)
        // Threshold expressions are read last: they name the metrics and phases defined above.
        var checked = scenario
        let parser = ThresholdParser(file: file, histograms: MetricCatalog.histograms(of: scenario), phases: phases.map(\.name),
                                     groups: scenario.recordsPerGroup ? groups.map(\.name) : [])
        for source in thresholdSources {
            var t = try parser.parse(source)
            if let p = source.phase { t.phase = try parser.phase(p.name, line: p.line, column: p.column) }
            checked.thresholds.append(t)
        }
        return checked
    }

    func targetURL(_ node: YAMLNode, columns: [String]?) throws(ScenarioError) -> Template {
        let s = try text(node, what: "a target URL")
        guard s.hasPrefix("ws://") || s.hasPrefix("wss://") else {
            throw error(node, "expected a WebSocket URL starting with ws:// or wss://, found \"\(s)\"")
        }
        return try Template(s, file: file, line: node.line, column: node.column, feederColumns: columns, variables: variables)
    }

    /// A feeder: `feeder: users.csv` or `feeder: { file: users.csv }`.
    func feederFile(_ node: YAMLNode) throws(ScenarioError) -> Feeder? {
        let path: String
        if case .mapping = node.value {
            let m = try mapping(node, allowed: ["file"], what: "feeder")
            guard let f = m["file"] else { throw error(node, "feeder needs \"file: users.csv\"") }
            path = try text(f.value, what: "the feeder file")
        } else {
            path = try text(node, what: "the feeder file (a CSV path)")
        }
        return try loadFeeder(path)
    }

    // MARK: TLS and compression

    func tlsOptions(_ node: YAMLNode) throws(ScenarioError) -> TLSOptions {
        let m = try mapping(node, allowed: ["ca", "insecure", "server_name", "client_cert", "client_key", "session_reuse", "min_version"],
                            what: "tls")
        var t = TLSOptions()
        func pem(_ key: String, what: String) throws(ScenarioError) -> PEMFile? {
            guard let e = m[key] else { return nil }
            let path = try text(e.value, what: what)
            let contents: String
            do {
                contents = try readFile(path)
            } catch {
                throw self.error(e.value, error.message)
            }
            guard contents.contains("-----BEGIN ") else {
                throw self.error(e.value, "\(path) is not a PEM file (no \"-----BEGIN\" line); \(what) must be in PEM format")
            }
            return PEMFile(path: path, contents: contents)
        }
        t.ca = try pem("ca", what: "the CA certificate file")
        t.clientCertificate = try pem("client_cert", what: "the client certificate file")
        t.clientKey = try pem("client_key", what: "the client key file")
        if (t.clientCertificate == nil) != (t.clientKey == nil) {
            throw error(node, "mutual TLS needs both client_cert and client_key")
        }
        if let e = m["insecure"] { t.insecure = try bool(e.value, what: "insecure") }
        if t.insecure && t.ca != nil {
            throw error(m["insecure"]!, "insecure: true skips verification, so ca would be ignored; use one or the other")
        }
        if let e = m["server_name"] { t.serverName = try text(e.value, what: "the TLS server name") }
        if let e = m["session_reuse"] { t.sessionReuse = try bool(e.value, what: "session_reuse") }
        if let e = m["min_version"] {
            let v = try text(e.value, what: "min_version")
            switch v {
            case "1.2", "TLSv1.2": t.minimumVersion = 12
            case "1.3", "TLSv1.3": t.minimumVersion = 13
            default: throw error(e.value, "min_version is 1.2 or 1.3, found \"\(v)\"")
            }
        }
        return t
    }

    func compressionOptions(_ node: YAMLNode) throws(ScenarioError) -> CompressionOptions {
        let m = try mapping(node, allowed: ["deflate", "client_no_context_takeover", "server_no_context_takeover",
                                            "client_max_window_bits", "server_max_window_bits"], what: "compression")
        var c = CompressionOptions()
        if let e = m["deflate"] { c.deflate = try bool(e.value, what: "deflate") }
        if let e = m["client_no_context_takeover"] { c.clientNoContextTakeover = try bool(e.value, what: "client_no_context_takeover") }
        if let e = m["server_no_context_takeover"] { c.serverNoContextTakeover = try bool(e.value, what: "server_no_context_takeover") }
        if let e = m["client_max_window_bits"] { c.clientMaxWindowBits = try integer(e.value, what: "client_max_window_bits", range: 8...15) }
        if let e = m["server_max_window_bits"] { c.serverMaxWindowBits = try integer(e.value, what: "server_max_window_bits", range: 8...15) }
        if !c.deflate && m.count > (m["deflate"] == nil ? 0 : 1) {
            throw error(node, "the compression parameters apply to permessage-deflate; add \"deflate: true\"")
        }
        return c
    }

    // MARK: Phases

    func phase(_ node: YAMLNode, index: Int) throws(ScenarioError) -> Phase {
        let m = try mapping(node, allowed: ["name", "duration", "connections", "rate", "total_rate", "think"], what: "a phase")
        let name = try m["name"].map { (e) throws(ScenarioError) in try text(e.value, what: "the phase name") } ?? "phase \(index + 1)"
        guard let d = m["duration"] else { throw error(node, "the phase \"\(name)\" needs a duration, e.g. \"duration: 30s\"") }
        guard let c = m["connections"] else { throw error(node, "the phase \"\(name)\" needs connections, e.g. \"connections: 100\" or \"connections: 10 -> 1000\"") }
        let connectionsText = try text(c.value, what: "connections")
        let connections: ConnectionTarget
        let parts = connectionsText.replacingOccurrences(of: " ", with: "").replacingOccurrences(of: "_", with: "").components(separatedBy: "->")
        if parts.count == 1, let n = Int(parts[0]), n >= 0 {
            connections = .steady(n)
        } else if parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]), a >= 0, b >= 0 {
            connections = ConnectionTarget(from: a, to: b)
        } else {
            throw error(c.value, "expected connections as a count (100) or a ramp (10 -> 1000), found \"\(connectionsText)\"")
        }
        guard Swift.max(connections.from, connections.to) <= 10_000_000 else { throw error(c.value, "more than 10,000,000 connections in one phase") }
        var rate: MessageRate?
        if let r = m["rate"] {
            let s = try text(r.value, what: "rate")
            guard let v = Units.ratePerSecond(s), v > 0 else {
                throw error(r.value, "expected rate as messages per connection per unit of time, such as 10/s or 30/m, found \"\(s)\"")
            }
            rate = .perConnection(v)
        }
        if let r = m["total_rate"] {
            guard rate == nil else { throw error(r, "use either rate (per connection) or total_rate (all connections together), not both") }
            let s = try text(r.value, what: "total_rate")
            guard let v = Units.ratePerSecond(s), v > 0 else {
                throw error(r.value, "expected total_rate as messages per unit of time across all connections, such as 5000/s, found \"\(s)\"")
            }
            rate = .total(v)
        }
        let think = try m["think"].map { (e) throws(ScenarioError) in try delay(e.value, what: "think") }
        return Phase(name: name, duration: try duration(d.value, what: "the phase duration"), connections: connections,
                     rate: rate, think: think, line: node.line)
    }
}

extension String {
    func components(separatedBy separator: String) -> [String] {
        var parts: [String] = []
        var rest = Substring(self)
        while let r = rest.range(of: separator) {
            parts.append(String(rest[..<r.lowerBound]))
            rest = rest[r.upperBound...]
        }
        parts.append(String(rest))
        return parts
    }
}
