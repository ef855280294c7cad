import Testing
import Coordinator
import JSON
import Scenario
import Report
import Stats

@Suite("Barriers across the cluster")
struct BarrierTests {
    static func scenario() throws -> Scenario {
        try ScenarioLoader.load(source: """
        name: barriers
        target: ws://127.0.0.1:1/echo
        phases:
          - { duration: 10s, connections: 100 }
        steps:
          - connect
          - barrier: all-joined
          - loop:
              count: 3
              steps:
                - barrier: { name: most, release: 90%, timeout: 2s }
                - send: x
        """, file: "b.yaml") { (_) throws(ScenarioError) -> Feeder? in nil }
    }

    static let second: Int64 = 1_000_000_000

    @Test("a barrier releases once the arrivals of every agent add up to the expected users, not before")
    func releasesOnAll() throws {
        var c = BarrierCoordinator(scenario: try Self.scenario())
        #expect(c.names == ["all-joined", "most"])
        let key = BarrierCoordinator.Key(barrier: 0, generation: 0)
        #expect(c.arrived(key, count: 40, expected: 100, now: 0) == .wait)
        #expect(c.arrived(key, count: 59, expected: 100, now: 1) == .wait)
        #expect(c.arrivals(key) == 99)
        #expect(c.arrived(key, count: 1, expected: 100, now: 2) == .release(timedOut: false))
        // A straggler after the release (a reconnected user, say) goes through at once.
        #expect(c.arrived(key, count: 1, expected: 100, now: 3) == .releaseLate)
        #expect(c.expired(now: 100 * Self.second).isEmpty)
    }

    @Test("release: 90% lets the barrier go at 90 of 100 users; generations are independent")
    func fractionAndGenerations() throws {
        var c = BarrierCoordinator(scenario: try Self.scenario())
        let g0 = BarrierCoordinator.Key(barrier: 1, generation: 0), g1 = BarrierCoordinator.Key(barrier: 1, generation: 1)
        #expect(c.arrived(g0, count: 89, expected: 100, now: 0) == .wait)
        #expect(c.arrived(g1, count: 50, expected: 100, now: 0) == .wait)
        #expect(c.arrived(g0, count: 1, expected: 100, now: 0) == .release(timedOut: false))
        #expect(c.arrivals(g1) == 50)
        // Fewer users expected now (some were lost): the same arrivals suffice.
        #expect(c.arrived(g1, count: 0, expected: 55, now: 0) == .release(timedOut: false))
    }

    @Test("a generation whose users never all arrive releases at its timeout, counted from the first arrival")
    func timeout() throws {
        var c = BarrierCoordinator(scenario: try Self.scenario())
        let key = BarrierCoordinator.Key(barrier: 1, generation: 2)
        #expect(c.arrived(key, count: 10, expected: 100, now: 5 * Self.second) == .wait)
        #expect(c.expired(now: 6 * Self.second).isEmpty)
        #expect(c.expired(now: 7 * Self.second) == [key])
        #expect(c.expired(now: 8 * Self.second).isEmpty)   // released once
        #expect(c.arrived(key, count: 1, expected: 100, now: 8 * Self.second) == .releaseLate)
        // The all-joined barrier has the default 30 s timeout.
        let joined = BarrierCoordinator.Key(barrier: 0, generation: 0)
        _ = c.arrived(joined, count: 1, expected: 100, now: 0)
        #expect(c.expired(now: 29 * Self.second).isEmpty)
        #expect(c.expired(now: 30 * Self.second) == [joined])
    }

    static func release(_ barrier: Int, _ generation: Int, loop: Int, users: Int, at offset: Int64, sends: (Int64, Int64)?,
                        cost: Int64, timedOut: Bool = false) -> BarrierRelease {
        BarrierRelease(barrier: barrier, generation: generation, loop: loop, users: users, timedOut: timedOut, releaseOffset: offset,
                       firstSendOffset: sends?.0, lastSendOffset: sends?.1, sendCost: cost, readyMargin: 5_000_000)
    }

    static func ledger() -> BarrierLedger {
        var ledger = BarrierLedger(names: ["all-joined", "most"])
        // Generation 1 of "most" arrives first; the ledger orders by barrier and generation.
        ledger.add(agent: 1, release(1, 1, loop: 0, users: 10, at: 900_000, sends: nil, cost: 1_000, timedOut: true))
        // "all-joined": agent 0 has two loops, agent 1 and 2 one each.
        ledger.add(agent: 0, release(0, 0, loop: 0, users: 30, at: 40_000, sends: (45_000, 2_045_000), cost: 2_000_000))
        ledger.add(agent: 0, release(0, 0, loop: 1, users: 30, at: 250_000, sends: (260_000, 1_900_000), cost: 1_600_000))
        ledger.add(agent: 1, release(0, 0, loop: 0, users: 20, at: -60_000, sends: (-50_000, 1_000_000), cost: 1_050_000))
        ledger.add(agent: 2, release(0, 0, loop: 0, users: 20, at: 440_000, sends: (450_000, 3_000_000), cost: 2_500_000))
        return ledger
    }

    @Test("the ledger gathers loop reports into per-generation outcomes with release and send spreads")
    func ledgerSpreads() throws {
        let outcomes = Self.ledger().outcomes
        #expect(outcomes.map(\.name) == ["all-joined", "most"])
        let joined = outcomes[0]
        #expect(joined.generation == 0 && !joined.timedOut)
        #expect(joined.users == 100)
        // Each agent's release is its earliest loop: 40 µs, -60 µs, 440 µs.
        #expect(joined.agentReleases.map(\.agent) == [0, 1, 2])
        #expect(joined.agentReleases.map(\.offset) == [40_000, -60_000, 440_000])
        #expect(joined.releaseSpread == 500_000)
        #expect(joined.loopReleaseSpread == 500_000)
        #expect(joined.sendSpread == 3_050_000)
        #expect(joined.slowestLoopSendCost == 2_500_000)
        #expect(joined.totalSendCost == 7_150_000)
        let most = outcomes[1]
        #expect(most.generation == 1 && most.timedOut && most.sendSpread == nil)
        #expect(most.releaseSpread == 0)
    }

    @Test("results.json lists each barrier generation with its spreads and every loop's offsets")
    func resultsDocument() throws {
        var results = try ReportingTests.results()
        results.barriers = Self.ledger().outcomes
        let json = try JSONParser.parse(ResultsDocument.build(results).serialized(indent: 1))
        let barriers = try #require(json["barriers"]?.arrayValue)
        #expect(barriers.count == 2)
        #expect(barriers[0]["name"]?.stringValue == "all-joined")
        #expect(barriers[0]["users"]?.intValue == 100)
        #expect(barriers[0]["release_spread_us"]?.doubleValue == 500)
        #expect(barriers[0]["send_spread_us"]?.doubleValue == 3050)
        #expect(barriers[0]["slowest_loop_send_cost_us"]?.doubleValue == 2500)
        #expect(barriers[0]["agents"]?[1]?["release_offset_us"]?.doubleValue == -60)
        #expect(barriers[0]["loops"]?.arrayValue?.count == 4)
        #expect(barriers[0]["loops"]?[1]?["loop"]?.intValue == 1)
        #expect(barriers[0]["loops"]?[1]?["send_cost_us"]?.doubleValue == 1600)
        #expect(barriers[1]["timed_out"]?.boolValue == true)
        #expect(barriers[1]["send_spread_us"] == .null)
        let summary = SummaryTable.render(results)
        #expect(summary.contains("all-joined #1"))
        #expect(summary.contains("most #2"))
        #expect(summary.contains("TIMED OUT"))
    }

    @Test("the release lead covers the slowest one-way delay, and grows when agents report frames ready too late")
    func releaseLead() {
        var lead = ReleaseLead()
        let ms: Int64 = 1_000_000
        #expect(lead.lead(oneWay: 0) == 10 * ms)
        #expect(lead.lead(oneWay: 20 * ms) == 61 * ms)      // 3 one-way delays and a millisecond
        // A loop ready 5 ms ahead of a 10 ms lead: enough margin, nothing changes.
        lead.observe(readyMargin: 5 * ms, lead: 10 * ms)
        #expect(lead.lead(oneWay: 0) == 10 * ms)
        // A loop that had its frames only 3 ms after the instant: 2 ms wanted, 5 ms short.
        lead.observe(readyMargin: -3 * ms, lead: 10 * ms)
        #expect(lead.lead(oneWay: 0) == 20 * ms)
        // Never shorter than learned, never longer than a second.
        lead.observe(readyMargin: 1 * ms, lead: 10 * ms)
        #expect(lead.lead(oneWay: 0) == 20 * ms)
        lead.observe(readyMargin: -10_000 * ms, lead: 20 * ms)
        #expect(lead.lead(oneWay: 0) == 1000 * ms)
    }

    @Test("the ledger keeps the lead each release was named with; named releases nobody reported are left out")
    func ledgerLead() {
        var ledger = Self.ledger()
        ledger.named(barrier: 0, generation: 0, lead: 12_000_000)
        ledger.named(barrier: 0, generation: 7, lead: 10_000_000)
        #expect(ledger.lead(barrier: 0, generation: 0) == 12_000_000)
        #expect(ledger.outcomes.count == 2)
        #expect(ledger.outcomes[0].lead == 12_000_000)
        #expect(ledger.outcomes[1].lead == nil)
    }
}
