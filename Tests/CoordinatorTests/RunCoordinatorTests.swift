import Testing
import Coordinator
import Net
import Report
import Scenario
import Stats
import TestSupport
import WireProtocol

/// The run pipeline on an embedded loop with a manual clock and scripted agents: no sockets,
/// no sleeping; every step of a run (handshake, clock sync, plan, start, seconds, barriers,
/// loss, abort) happens when the test moves time.
@Suite("Run coordinator on a manual clock")
struct RunCoordinatorTests {
    static let token = Array("secret-token".utf8)

    struct Harness {
        let embedded = EmbeddedLoop()
        let coordinator: RunCoordinator
        let agents: [ScriptedAgent]
        var seconds: [(Int, MetricSet)] { intervals.seconds }
        let intervals = Intervals()
        let notices = Notices()

        final class Intervals { var seconds: [(Int, MetricSet)] = [] }
        final class Notices { var lines: [String] = [] }

        init(_ yaml: String, offsets: [Int64] = [0, 0], cores: [UInt16]? = nil, agentToken: [UInt8] = RunCoordinatorTests.token) throws {
            let scenario = try ScenarioLoader.load(source: yaml, file: "run.yaml") { (_) throws(ScenarioError) -> Feeder? in nil }
            var request = RunRequest(scenario: scenario, runID: "run-1", seed: 7, token: RunCoordinatorTests.token)
            request.quiet = true
            coordinator = try RunCoordinator(request: request, loop: embedded.loop)
            let loop = embedded.loop, clock = embedded.clock
            agents = offsets.enumerated().map { i, offset in
                ScriptedAgent(name: "agent\(i)", loop: loop, clock: clock, token: agentToken, wallOffset: offset, cores: cores?[i] ?? 1)
            }
            let intervals = self.intervals, notices = self.notices
            coordinator.onInterval = { second, metrics, _ in intervals.seconds.append((second, metrics)) }
            coordinator.onNotice = { notices.lines.append($0) }
            coordinator.begin(agents: agents.map(\.endpoint))
            for agent in agents { agent.greet() }
        }

        /// Runs the handshake, clock sync and preparation until every agent was told to start.
        func start() {
            let started = embedded.advance(until: { agents.allSatisfy { $0.startWall != nil } }, step: Nanoseconds.milliseconds(5))
            precondition(started, "the agents were never started")
        }

        /// Moves time to `seconds` after the named start.
        func advance(toRunTime seconds: Double) {
            let startWall = agents[0].startWall! - agents[0].wallOffset
            let target = startWall + Nanoseconds.fromSeconds(seconds)
            let now = embedded.clock.wallNanoseconds()
            if target > now { embedded.advance(by: target - now) }
        }

        func finishAll() {
            for a in agents where !a.closed { a.finish() }
            embedded.run()
        }
    }

    static let steady = """
    name: steady
    target: ws://127.0.0.1:1/echo
    phases:
      - { name: one, duration: 10s, connections: 100 }
      - { name: two, duration: 10s, connections: 10 -> 40, rate: 2/s }
    steps:
      - connect
      - barrier: all-in
      - loop:
          - barrier: { name: most, release: 50%, timeout: 2s }
          - send: x
    """

    @Test("every agent is authenticated, sent the whole plan, and started at one instant on its own clock")
    func startsAtOneInstant() throws {
        let h = try Harness(Self.steady, offsets: [Nanoseconds.milliseconds(250), -Nanoseconds.seconds(1)], cores: [1, 3])
        h.start()
        let a = h.agents[0], b = h.agents[1]
        #expect(a.agentIndex == 0 && b.agentIndex == 1)
        let plan = try #require(a.plan)
        #expect(plan == b.plan && plan.seed == 7 && plan.runID == "run-1")
        // Slices weigh the agents' cores (1 : 3) and add up exactly.
        #expect(plan.slices[0].phases[0].connections == .steady(25) && plan.slices[1].phases[0].connections == .steady(75))
        #expect(plan.slices[0].phases[1].connections.to + plan.slices[1].phases[1].connections.to == 40)
        // The same coordinator instant, named on each agent's clock (estimated exactly here:
        // the scripted replies take no time).
        #expect(a.startWall! - a.wallOffset == b.startWall! - b.wallOffset)
        #expect(a.startWall! - a.wallOffset > h.embedded.clock.wallNanoseconds())
        #expect(a.count("clock probe") >= 8 && b.count("clock probe") >= 8)
    }

    @Test("a second is handed on once every live agent reported it, merged exactly; a late agent holds it at most 2 s")
    func secondsWaitForEveryAgent() throws {
        let h = try Harness(Self.steady)
        h.start()
        h.advance(toRunTime: 1.1)
        h.agents[0].report(second: 0, counters: ["messages.sent": 10], histograms: ["connect": [100, 200]])
        h.embedded.run()
        #expect(h.seconds.isEmpty)
        h.agents[1].report(second: 0, counters: ["messages.sent": 5], histograms: ["connect": [300]])
        h.embedded.run()
        #expect(h.seconds.count == 1)
        #expect(h.seconds.first?.1.counter("messages.sent") == 15)
        #expect(h.seconds.first?.1.histograms["connect"]?.totalCount == 3)
        // Agent 1 says nothing about second 1: it is handed on when 2 s overdue, with agent 0's data.
        h.agents[0].report(second: 1, counters: ["messages.sent": 7])
        h.advance(toRunTime: 3.5)
        #expect(h.seconds.count == 1)
        h.advance(toRunTime: 4.05)
        #expect(h.seconds.count == 2 && h.seconds[1].1.counter("messages.sent") == 7)
        // A late report still counts in the run's totals.
        h.agents[1].report(second: 1, counters: ["messages.sent": 1])
        h.finishAll()
        let results = try h.coordinator.end()
        #expect(results.totals.counter("messages.sent") == 23)
        #expect(results.status == .completed && results.seed == 7)
    }

    @Test("an agent silent for 5 s is lost; what it reported is kept and the run goes on; heartbeats keep an agent alive")
    func silentAgentIsLost() throws {
        let h = try Harness(Self.steady)
        h.start()
        h.advance(toRunTime: 1.05)
        h.agents[0].report(second: 0, counters: ["messages.sent": 3])
        h.agents[1].report(second: 0, counters: ["messages.sent": 4])
        // Agent 0 only sends heartbeats (as an agent busy closing thousands of connections does);
        // agent 1 falls silent.
        for s in 2...7 {
            h.advance(toRunTime: Double(s))
            h.agents[0].tell(.heartbeat(sequence: UInt64(s)))
        }
        #expect(h.notices.lines.contains { $0.contains("agent agent1 lost at") && $0.contains("silent for 5 s") })
        #expect(!h.notices.lines.contains { $0.contains("agent agent0 lost") })
        #expect(h.agents[0].stopReason == nil)
        h.agents[0].finish()
        h.embedded.run()
        #expect(h.coordinator.isDone)
        let results = try h.coordinator.end()
        #expect(results.agents[1].lostAt != nil && results.agents[0].lostAt == nil)
        #expect((6.0...6.3).contains(results.agents[1].lostAt!))
        #expect(results.totals.counter("messages.sent") == 7)
        #expect(results.status == .completed)
    }

    @Test("on_agent_loss: abort stops every other agent at once and the run is aborted")
    func lossAborts() throws {
        let h = try Harness(Self.steady.replacingOccurrences(of: "steps:", with: "options: { on_agent_loss: abort }\nsteps:"))
        h.start()
        h.advance(toRunTime: 2)
        h.agents[1].vanish()
        h.embedded.run()
        #expect(h.agents[0].stopReason?.contains("on_agent_loss: abort") == true)
        h.agents[0].finish()
        h.embedded.run()
        let results = try h.coordinator.end()
        #expect(results.status == .aborted && results.abortReason?.contains("agent1 was lost") == true)
        #expect(results.verdict(results.evaluateThresholds()).exitCode == 3)
    }

    @Test("an abort_on_fail threshold that fails on a merged second stops every agent; the verdict is failed")
    func abortOnFail() throws {
        let yaml = Self.steady + """

        thresholds:
          - { threshold: 'errors_refused == 0', abort_on_fail: true }
          - connect_success > 50%
        """
        let h = try Harness(yaml)
        h.start()
        h.advance(toRunTime: 1.05)
        h.agents[0].report(second: 0, counters: ["errors.refused": 2, "connections.attempted": 10, "connections.opened": 8])
        h.embedded.run()
        #expect(h.agents[0].stopReason == nil)    // waits for agent 1's second 0
        h.agents[1].report(second: 0, counters: ["connections.attempted": 10, "connections.opened": 10])
        h.embedded.run()
        #expect(h.agents.allSatisfy { $0.stopReason?.contains("errors_refused == 0") == true })
        #expect(h.notices.lines.contains { $0.contains("stopping the run: errors_refused == 0") })
        h.finishAll()
        let results = try h.coordinator.end()
        #expect(results.abortingThreshold?.observed == 2)
        let verdict = results.verdict(results.evaluateThresholds())
        #expect(verdict.status == .failed && verdict.exitCode == 1)
    }

    @Test("a barrier releases once arrivals across agents reach the expected users, at one instant on every clock; a timeout releases the rest")
    func barriers() throws {
        let h = try Harness(Self.steady, offsets: [Nanoseconds.milliseconds(40), -Nanoseconds.milliseconds(70)])
        h.start()
        h.advance(toRunTime: 0.5)
        // 100 users expected in phase one (50 per agent).
        h.agents[0].arrive(barrier: 0, generation: 0, count: 50)
        h.agents[1].arrive(barrier: 0, generation: 0, count: 49)
        h.embedded.run()
        #expect(h.agents[0].releases.isEmpty && h.agents[1].releases.isEmpty)
        let before = h.embedded.clock.wallNanoseconds()
        h.agents[1].arrive(barrier: 0, generation: 0, count: 1)
        h.embedded.run()
        let r0 = try #require(h.agents[0].releases.first), r1 = try #require(h.agents[1].releases.first)
        #expect(r0.barrier == 0 && r0.generation == 0 && !r0.timedOut)
        // One coordinator instant, at least the minimum lead ahead, on each agent's clock.
        #expect(r0.atAgentWall - h.agents[0].wallOffset == r1.atAgentWall - h.agents[1].wallOffset)
        #expect(r0.atAgentWall - h.agents[0].wallOffset - before >= ReleaseLead.minimum)
        // "most" releases at 50%: 30 arrivals wait, then its 2 s timeout releases them.
        h.agents[0].arrive(barrier: 1, generation: 0, count: 30)
        h.embedded.run()
        #expect(h.agents[0].releases.count == 1)
        h.embedded.advance(by: Nanoseconds.milliseconds(1900))
        #expect(h.agents[0].releases.count == 1)
        h.embedded.advance(by: Nanoseconds.milliseconds(200))
        #expect(h.agents[0].releases.count == 2 && h.agents[0].releases[1].timedOut && h.agents[1].releases[1].timedOut)
        // A straggler after the release is let through at once.
        h.agents[1].arrive(barrier: 1, generation: 0, count: 1)
        h.embedded.run()
        #expect(h.agents[1].releases.count == 3)
    }

    @Test("Ctrl-C stops every agent and the run still reports; an agent that never finishes is lost 10 s later")
    func interrupt() throws {
        let h = try Harness(Self.steady)
        h.start()
        h.advance(toRunTime: 3)
        h.agents[0].report(second: 0, counters: ["messages.sent": 1])
        h.agents[1].report(second: 0, counters: ["messages.sent": 1])
        h.coordinator.interrupt()
        h.embedded.run()
        #expect(h.agents.allSatisfy { $0.stopReason == "interrupted" })
        h.agents[0].finish()
        for s in 1...11 {
            h.embedded.advance(by: Nanoseconds.seconds(1))
            h.agents[1].tell(.heartbeat(sequence: UInt64(s)))
        }
        #expect(h.coordinator.isDone)
        let results = try h.coordinator.end()
        #expect(results.status == .aborted && results.abortReason == "interrupted")
        #expect(results.agents[1].lostReason == "did not finish within 10 s of the stop")
        #expect(results.totals.counter("messages.sent") == 2)
    }

    @Test("an agent that cannot prove the token stops the run before anything starts")
    func wrongToken() throws {
        let h = try Harness(Self.steady, agentToken: Array("other".utf8))
        h.embedded.advance(by: Nanoseconds.seconds(1))
        #expect(h.coordinator.isDone)
        #expect(throws: ClusterError.self) { try h.coordinator.end() }
        #expect(h.agents.allSatisfy { $0.startWall == nil && $0.plan == nil })
    }

    @Test("an agent that never answers clock probes times the run out with its name")
    func syncTimeout() throws {
        let h = try Harness(Self.steady)
        h.agents[1].answersProbes = false
        h.embedded.advance(by: Nanoseconds.seconds(11))
        #expect(h.coordinator.isDone)
        do {
            _ = try h.coordinator.end()
            Issue.record("the run should not have been carried out")
        } catch {
            #expect(error.description.contains("agent1") && error.description.contains("clock synchronisation"))
        }
    }
}
