import Testing
@testable import Agent
import Scenario
import Stats

@Suite("Agent engine parts")
struct AgentTests {
    func scenario(_ steps: String) throws -> Scenario {
        try ScenarioLoader.load(source: """
        target: ws://127.0.0.1:1/
        phases:
          - { duration: 1s, connections: 1 }
        steps:
        \(steps)
        """, file: "t.yaml") { (_) throws(ScenarioError) -> Feeder? in nil }
    }

    @Test("nested loops compile to jumps, with each step's enclosing loop")
    func programLoops() throws {
        let s = try scenario("""
          - connect
          - loop:
              count: 3
              steps:
                - send: a
                - loop:
                    - send: b
                    - expect: { contains: b, measure: rtt }
          - close
        """)
        let p = Program(s)
        // connect, loopStart0, send a, loopStart1, send b, expect, loopEnd1, loopEnd0, close, end
        #expect(p.instructions.count == 10)
        guard case .loopEnd(slot: 1, count: nil, bodyStart: 4) = p.instructions[6],
              case .loopEnd(slot: 0, count: 3, bodyStart: 2) = p.instructions[7] else {
            Issue.record("unexpected loop layout: \(p.instructions)")
            return
        }
        #expect(p.loopSlots == 2)
        #expect(p.enclosingSlot[2] == 0 && p.enclosingSlot[4] == 1 && p.enclosingSlot[0] == nil && p.enclosingSlot[8] == nil)
        guard case let .expect(unmanaged) = p.instructions[5] else { Issue.record("no expect"); return }
        let e = unmanaged.takeUnretainedValue()
        #expect(e.pacedAfterSend && e.measure == 0 && p.measureNames == ["rtt"])
        #expect(p.lines[2] == 9)   // "- send: a" is line 9 of the source above
    }

    @Test("sequence tracking counts duplicates, reordering and gaps exactly")
    func sequenceTracker() {
        var t = SequenceTracker()
        for s: Int64 in [1, 2, 4, 3, 3, 7] { _ = t.record(s) }
        // 5 and 6 never arrived; 3 came late; one 3 was a duplicate.
        #expect(t.distinct == 5 && t.duplicates == 1 && t.count(in: 1...7) == 5 && t.count(in: 5...6) == 0)
        var u = SequenceTracker()
        #expect(u.record(1) == .new)
        #expect(u.record(3) == .new)
        #expect(u.record(2) == .outOfOrder)
        #expect(u.record(2) == .duplicate)
        #expect(u.record(0) == .invalid)
        #expect(u.count(in: 1...3) == 3)
        var big = SequenceTracker()
        for s in stride(from: Int64(10_000), through: 1, by: -1) { _ = big.record(s) }
        #expect(big.count(in: 1...10_000) == 10_000 && big.count(in: 65...190) == 126 && big.lowest == 1)
    }

    @Test("loop metrics: a swap retires the interval's buffer; the reader drains it to named counters while the loop counts on")
    func metricsSwapAndDrain() {
        let m = LoopMetrics(measureNames: ["rtt"])
        m.add(.messagesSent, 3)
        m.add(.errorRefused)
        m.add(named: "errors.handshake_status.403")
        m.measures[0].record(1500)
        for i in 0..<4 { m.opened(now: 0, runTime: Int64(i)) }
        m.swap(now: 0, threadCPU: 0)
        // The loop goes on counting into the other buffer while the reader drains.
        m.add(.messagesSent, 10)
        let first = m.drain(m.retired)
        #expect(first.counter("messages.sent") == 3 && first.counter("errors.refused") == 1)
        #expect(first.counter("errors.handshake_status.403") == 1)
        #expect(first.histograms["rtt"]?.totalCount == 1 && first.gauge("connections.open") == 4 && first.gauge("connections.peak") == 4)
        #expect(first.histograms["rtt"]?.values(atPercentiles: [50]) == [HDRHistogram.single(1500).value(atPercentile: 50)])
        m.swap(now: 0, threadCPU: 0)
        let second = m.drain(m.retired)
        #expect(second.counter("messages.sent") == 10 && second.histograms["rtt"]?.totalCount == 0)
        #expect(second.gauge("connections.open") == 4 && second.counter("errors.refused") == 0)
        // The first buffer was emptied by its drain: a third interval starts from zero.
        m.swap(now: 0, threadCPU: 0)
        let third = m.drain(m.retired)
        #expect(third.counter("messages.sent") == 0 && third.counters.isEmpty)
    }

    @Test("connection time held is the integral of open connections over time, carried across intervals")
    func connectionTimeHeld() {
        let m = LoopMetrics(measureNames: [])
        let ms: Int64 = 1_000_000
        m.opened(now: 0, runTime: 0)
        m.opened(now: 0, runTime: 0)
        m.closed(now: 500 * ms)
        m.swap(now: 1000 * ms, threadCPU: 7)
        let first = m.drain(m.retired)
        #expect(first.counter("connections.held_ms") == 1500)      // 2 × 0.5 s + 1 × 0.5 s
        #expect(m.retired.threadCPU == 7)                          // the thread CPU at the swap
        m.opened(now: 1250 * ms, runTime: 0)
        m.swap(now: 2000 * ms, threadCPU: 9)
        #expect(m.drain(m.retired).counter("connections.held_ms") == 1750)   // 1 × 1 s + 1 × 0.75 s
    }

    @Test("every 1000th connection opened is a milestone, taken with the interval it fell in")
    func milestones() {
        let m = LoopMetrics(measureNames: [])
        for i in 1...2500 { m.opened(now: 0, runTime: Int64(i)) }
        m.swap(now: 0, threadCPU: 0)
        #expect(m.takeMilestones(m.retired) == [1000, 2000])
        m.swap(now: 0, threadCPU: 0)
        #expect(m.takeMilestones(m.retired).isEmpty)
    }
}

extension HDRHistogram {
    static func single(_ v: Int64) -> HDRHistogram {
        var h = HDRHistogram()
        h.record(v)
        return h
    }
}
