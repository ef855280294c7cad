/// `groups:`: kinds of users with their own steps, share of the connections, feeder, rate and
/// think time.
extension ScenarioDecoder {
    static let groupKeys = ["name", "count", "weight", "steps", "feeder", "rate", "think", "on"]

    func userGroups(_ node: YAMLNode, scenarioFeeder: Feeder?, model: LoadModel, phases: [Phase]) throws(ScenarioError) -> [UserGroup] {
        let items = try list(node, what: "groups")
        guard !items.isEmpty else { throw error(node, "groups is empty; add at least one group with its steps") }
        var groups: [UserGroup] = []
        for item in items {
            let m = try mapping(item, allowed: Self.groupKeys, what: "a group")
            guard let n = m["name"] else { throw error(item, "a group needs a name, e.g. \"name: viewers\"") }
            let name = try text(n.value, what: "the group name")
            guard let first = name.first, first.isLetter, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw error(n.value, "a group name is a letter, then letters, digits and \"_\" (it names metrics: rtt@viewers), found \"\(name)\"")
            }
            guard !groups.contains(where: { $0.name == name }) else { throw error(n.value, "a second group named \"\(name)\"") }
            var share = UserGroup.Share.weight(1)
            switch (m["count"], m["weight"]) {
            case let (c?, w?):
                throw error(w.line < c.line ? c : w, "a group has a count (a fixed number of users) or a weight (a share of the rest), not both")
            case let (c?, nil):
                share = .count(try integer(c.value, what: "count", range: 0...10_000_000))
            case let (nil, w?):
                share = .weight(try integer(w.value, what: "weight", range: 1...1_000_000))
            case (nil, nil):
                break
            }
            let feeder = try m["feeder"].map { (e) throws(ScenarioError) in try feederFile(e.value) } ?? nil
            guard let stepsEntry = m["steps"] else { throw error(item, "the group \"\(name)\" needs steps") }
            let steps = try stepList(stepsEntry.value, columns: (feeder ?? scenarioFeeder)?.columns, depth: 0)
            guard !steps.isEmpty else { throw error(stepsEntry.value, "the steps of \"\(name)\" are empty; a virtual user needs at least \"- connect\"") }
            var rate: Double?
            if let r = m["rate"] {
                let t = try text(r.value, what: "rate")
                guard let v = Units.ratePerSecond(t), v > 0 else {
                    throw error(r.value, "expected rate as messages per connection per unit of time, such as 10/s or 30/m, found \"\(t)\"")
                }
                guard model == .open else { throw error(r, "rate paces sends in the open model; with model: closed each user sends after the reply (use think for pauses)") }
                rate = v
            }
            let think = try m["think"].map { (e) throws(ScenarioError) in try delay(e.value, what: "think") }
            var group = UserGroup(name: name, share: share, steps: steps, feeder: feeder, rate: rate, think: think, line: item.line)
            group.handlers = try m["on"].map { (e) throws(ScenarioError) in try messageHandlers(e.value, columns: (feeder ?? scenarioFeeder)?.columns) } ?? []
            groups.append(group)
        }
        // With only fixed counts, no phase may ask for more connections than they add up to.
        if !groups.contains(where: { if case .weight = $0.share { return true } else { return false } }) {
            let counted = groups.reduce(0) { sum, g in if case let .count(n) = g.share { return sum + n } else { return sum } }
            for phase in phases where Swift.max(phase.connections.from, phase.connections.to) > counted {
                throw ScenarioError(file: file, line: phase.line, column: 1,
                                    message: "the phase \"\(phase.name)\" asks for \(Swift.max(phase.connections.from, phase.connections.to)) connections but the groups' counts add up to \(counted); give a group a weight to take the rest")
            }
        }
        return groups
    }
}

/// `on:`: message handlers.
extension ScenarioDecoder {
    static let handlerKeys = ["name", "reply", "reply_binary", "capture", "measure", "latency_from"]

    func messageHandlers(_ node: YAMLNode, columns: [String]?) throws(ScenarioError) -> [MessageHandler] {
        var out: [MessageHandler] = []
        for item in try list(node, what: "on (a list of handlers)") {
            let m = try mapping(item, allowed: Self.matcherKeys + Self.handlerKeys, what: "a handler")
            let matcher = try self.matcher(m, columns: columns)
            guard !matcher.conditions.isEmpty else {
                throw error(item, "a handler needs what to match (json, contains, equals, regex or binary): it takes every message it matches")
            }
            let name = try m["name"].map { (e) throws(ScenarioError) in try metricName(e.value) }
            if m["reply"] != nil && m["reply_binary"] != nil { throw error(item, "a handler replies with reply: (text) or reply_binary:, not both") }
            let reply = try (m["reply"] ?? m["reply_binary"]).map { (e) throws(ScenarioError) in try template(e.value, what: "the reply", columns: columns) }
            let captures = try m["capture"].map { (e) throws(ScenarioError) in try self.captures(e.value) } ?? []
            let measure = try m["measure"].map { (e) throws(ScenarioError) in try metricName(e.value) }
            let field = try m["latency_from"].map { (e) throws(ScenarioError) in try text(e.value, what: "latency_from") }
            if measure != nil && field == nil {
                throw error(m["measure"]!, "a handler measures the one-way delay from a timestamp in the message: add latency_from: FIELD (wall-clock µs)")
            }
            if field != nil && measure == nil { throw error(m["latency_from"]!, "latency_from only matters with measure: NAME") }
            guard reply != nil || !captures.isEmpty || measure != nil || name != nil else {
                throw error(item, "a handler does something: reply:, capture:, measure: or at least name: (to count what it takes)")
            }
            out.append(MessageHandler(name: name, matcher: matcher, reply: reply, binary: m["reply_binary"] != nil, captures: captures,
                                      measure: measure, latencyField: field, line: item.line))
        }
        return out
    }
}
