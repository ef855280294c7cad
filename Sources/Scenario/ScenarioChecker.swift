/// Semantic checks of a decoded scenario: what the YAML types cannot say.
struct ScenarioChecker {
    let file: String

    func fail(_ step: Step, _ message: String) -> ScenarioError {
        ScenarioError(file: file, line: step.line, column: step.column, message: message)
    }

    func check(_ scenario: Scenario, stepsNode: YAMLNode) throws(ScenarioError) {
        for group in scenario.groups {
            var connected = false
            var sentBefore = false
            try walk(group.steps, connected: &connected, sent: &sentBefore, scenario: scenario)
            let whose = scenario.declaredGroups.isEmpty ? "the steps" : "the steps of the group \"\(group.name)\""
            if !containsConnect(group.steps) {
                let line = scenario.declaredGroups.isEmpty ? stepsNode.line : group.line
                let column = scenario.declaredGroups.isEmpty ? stepsNode.column : 1
                throw ScenarioError(file: file, line: line, column: column, message: "\(whose) never connect; start them with \"- connect\"")
            }
            if scenario.model == .open && group.rate == nil && containsSend(group.steps) {
                for phase in scenario.phases where phase.rate == nil && phase.connections.to > 0 {
                    throw ScenarioError(file: file, line: phase.line, column: 1,
                                        message: "model: open sends on a schedule, so the phase \"\(phase.name)\" needs a rate (rate: 10/s per connection, or total_rate: 1000/s)\(scenario.declaredGroups.isEmpty ? "" : ", or the group \"\(group.name)\" one")")
                }
            }
        }
    }

    private func containsConnect(_ steps: [Step]) -> Bool {
        steps.contains { s in
            switch s.kind {
            case .connect, .reconnect: return true
            case let .loop(l): return containsConnect(l.steps)
            default: return false
            }
        }
    }

    private func containsSend(_ steps: [Step]) -> Bool {
        steps.contains { s in
            switch s.kind {
            case .send: return true
            case let .loop(l): return containsSend(l.steps)
            default: return false
            }
        }
    }

    /// Follows the script in order, tracking whether the user is connected and has sent.
    private func walk(_ steps: [Step], connected: inout Bool, sent: inout Bool, scenario: Scenario) throws(ScenarioError) {
        for step in steps {
            switch step.kind {
            case let .connect(c):
                if connected { throw fail(step, "connect while already connected; use reconnect to drop the connection and open a new one") }
                // A connect expected to be refused leaves the user without a connection.
                connected = c.refusal == nil
            case .reconnect:
                connected = true
            case .close:
                if !connected { throw fail(step, "close before connect") }
                connected = false
            case .send:
                if !connected { throw fail(step, "send before connect; add \"- connect\" before it") }
                sent = true
            case let .expect(e):
                if !connected { throw fail(step, "expect before connect; add \"- connect\" before it") }
                if e.measure != nil && e.latencyFrom == .lastSend && !sent {
                    throw fail(step, "expect measures latency from the last send, but nothing is sent before it; add a send step or use latency_from: FIELD")
                }
            case .expectNone:
                if !connected { throw fail(step, "expect_none before connect") }
            case .ping:
                if !connected { throw fail(step, "ping before connect; add \"- connect\" before it") }
            case .sleep, .barrier:
                break
            case let .loop(l):
                // The body may run with the state at loop entry; after one pass, it loops back.
                var c = connected
                var s = sent
                try walk(l.steps, connected: &c, sent: &s, scenario: scenario)
                if c != connected {
                    throw fail(step, c ? "this loop connects and never closes, so its second iteration would connect twice; add close or use reconnect"
                                     : "this loop closes the connection and does not reconnect, so its second iteration would be disconnected; add reconnect")
                }
                sent = s
            }
        }
    }
}
