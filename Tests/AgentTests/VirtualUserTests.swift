import Testing
@testable import Agent
import Net
import Scenario
import Stats
import TestSupport
import WebSocket
import WireProtocol

extension SocketPairDialer: Dialer {
    public func dial(_ address: SocketAddress, from local: IPAddress?) throws(SocketError) -> (Socket, connected: Bool) {
        try dialPair()
    }
}

/// Records what an engine's loops tell the agent.
final class EventRecorder: LoadEvents {
    var arrivals: [BarrierArrival] = []
    var releases: [BarrierRelease] = []
    func barrierArrivals(_ arrivals: [BarrierArrival]) { self.arrivals += arrivals }
    func barrierReleased(_ release: BarrierRelease) { releases.append(release) }
}

/// One loop's virtual users on an embedded loop with a manual clock, connected through socket
/// pairs to servers the test plays frame by frame: a user's steps, matching and timing are
/// observed exactly, with no network and no sleeping.
final class UserHarness {
    let embedded = EmbeddedLoop()
    let dialer = SocketPairDialer()
    let events = EventRecorder()
    let engine: LoadEngine
    let driver: LoopDriver

    init(_ yaml: String, seed: UInt64 = 1) throws {
        let scenario = try ScenarioLoader.load(source: yaml, file: "vu.yaml") { (_) throws(ScenarioError) -> Feeder? in nil }
        let plan = RunPlan(runID: "vu-test", scenario: scenario, slices: [.whole(scenario)], seed: seed, leaseMillis: 5000, loopsPerAgent: 1)
        engine = try LoadEngine(plan: plan, agent: 0, targets: try ResolvedTargets(scenario), loops: 1, clock: embedded.clock,
                                controlLoop: embedded.loop, events: events, dialer: dialer)
        driver = LoopDriver(loop: embedded.loop, engine: engine, index: 0, loopCount: 1, scenario: scenario, slice: plan.slices[0],
                            program: engine.program, clock: embedded.clock, seed: seed)
        driver.begin(at: embedded.now)
        embedded.run()
    }

    var peers: [RawServerPeer] { dialer.peers }

    /// Accepts every pending handshake.
    func acceptAll() {
        for peer in peers { peer.acceptHandshake() }
        embedded.run()
    }

    /// The text of every message a peer has received since the last call (close frames noted
    /// in `closes`).
    func frames(_ peer: RawServerPeer) -> [String] {
        var out: [String] = []
        while let f = peer.nextFrame() {
            if f.opcode == Opcode.close.rawValue {
                closes += 1
            } else {
                out.append(String(decoding: f.payload, as: UTF8.self))
            }
        }
        return out
    }

    /// Close frames the peers have received.
    var closes = 0

    /// Ends the loop's interval and drains it, as the agent does once a second.
    func interval() -> CompactMetricSet {
        driver.metrics.swap(now: embedded.now.nanoseconds, threadCPU: 0)
        return driver.metrics.drain(driver.metrics.retired)
    }
}

@Suite("Virtual users fed raw frames")
struct VirtualUserTests {
    static let echo = """
    target: ws://127.0.0.1:9/echo
    phases: [{ duration: 60s, connections: 1 }]
    steps:
      - connect
      - loop:
          count: 3
          steps:
            - send: '{"seq":{{seq}},"vu":{{vu}}}'
            - expect: { json: { seq: "{{seq}}" }, within: 1s, measure: rtt }
    """

    @Test("a closed loop: each send waits for its matching reply, measured exactly from the send; other messages are skipped")
    func closedLoop() throws {
        let h = try UserHarness(Self.echo)
        #expect(h.peers.count == 1)
        let peer = h.peers[0]
        h.acceptAll()
        #expect(peer.request?.hasPrefix("GET /echo HTTP/1.1") == true)
        for seq in 1...3 {
            #expect(h.frames(peer) == ["{\"seq\":\(seq),\"vu\":0}"])
            h.embedded.advance(by: Nanoseconds.microseconds(700))
            peer.send(text: "{\"seq\":\(seq + 100)}")        // not the reply: skipped
            h.embedded.run()
            #expect(h.frames(peer).isEmpty)                   // still waiting
            h.embedded.advance(by: Nanoseconds.microseconds(1300))
            peer.send(text: "{\"seq\":\(seq),\"echo\":true}")
            h.embedded.run()
        }
        let m = h.interval()
        let rtt = try #require(m.histograms["rtt"])
        #expect(rtt.totalCount == 3 && rtt.exactMin == 2000 && rtt.exactMax == 2000)
        #expect(m.counter("messages.sent") == 3 && m.counter("messages.received") == 6 && m.counter("messages.unmatched") == 3)
        #expect(m.counter("iterations") == 3 && m.counter("connections.opened") == 1)
        #expect(m.histograms["connect"]?.totalCount == 1)
        // The script ended: the user closes the connection properly.
        _ = h.frames(peer)
        #expect(h.closes == 1)
    }

    @Test("a reply that arrives before its expect step is taken from the inbox, with its arrival time")
    func earlyReply() throws {
        let h = try UserHarness("""
        target: ws://127.0.0.1:9/
        phases: [{ duration: 60s, connections: 1 }]
        steps:
          - connect
          - send: hello
          - sleep: 100ms
          - expect: { contains: welcome, within: 1s, measure: rtt }
          - send: done
        """)
        let peer = h.peers[0]
        h.acceptAll()
        #expect(h.frames(peer) == ["hello"])
        h.embedded.advance(by: Nanoseconds.milliseconds(5))
        peer.send(text: "welcome!")
        h.embedded.run()
        h.embedded.advance(by: Nanoseconds.milliseconds(100))
        #expect(h.frames(peer) == ["done"])
        let m = h.interval()
        #expect(m.histograms["rtt"]?.exactMax == 5000 && m.counter("messages.unmatched") == 0 && m.counter("errors.expect_timeout") == 0)
    }

    @Test("an expect that sees nothing matching within its time counts errors.expect_timeout and the script goes on")
    func expectTimeout() throws {
        let h = try UserHarness("""
        target: ws://127.0.0.1:9/
        phases: [{ duration: 60s, connections: 1 }]
        steps:
          - connect
          - expect: { contains: never, within: 300ms }
          - send: after
        """)
        let peer = h.peers[0]
        h.acceptAll()
        h.embedded.advance(by: Nanoseconds.milliseconds(290))
        #expect(h.frames(peer).isEmpty)
        h.embedded.advance(by: Nanoseconds.milliseconds(70))    // the 50 ms sweep notices
        #expect(h.frames(peer) == ["after"])
        #expect(h.interval().counter("errors.expect_timeout") == 1)
    }

    @Test("a strict expect fails on the first message that does not match")
    func strictExpect() throws {
        let h = try UserHarness("""
        target: ws://127.0.0.1:9/
        phases: [{ duration: 60s, connections: 1 }]
        steps:
          - connect
          - expect: { json: { type: welcome }, strict: true }
          - send: next
        """)
        let peer = h.peers[0]
        h.acceptAll()
        peer.send(text: "{\"type\":\"error\"}")
        h.embedded.run()
        #expect(h.frames(peer) == ["next"])
        #expect(h.interval().counter("errors.expect_mismatch") == 1)
    }

    @Test("open model: a late reply is measured from the scheduled send, not from when the user got to send")
    func openModelLatencyFromSchedule() throws {
        let h = try UserHarness("""
        target: ws://127.0.0.1:9/
        model: open
        phases: [{ duration: 60s, connections: 1, rate: 10/s }]
        steps:
          - connect
          - loop:
              - send: '{"seq":{{seq}}}'
              - expect: { json: { seq: "{{seq}}" }, within: 5s, measure: rtt }
        """)
        let peer = h.peers[0]
        h.acceptAll()
        h.embedded.advance(by: Nanoseconds.milliseconds(100))    // the first slot is spread within one interval
        var sent: [String] = h.frames(peer)
        #expect(sent.count >= 1)
        // The server answers nothing for 250 ms: the schedule goes on without waiting (open model).
        h.embedded.advance(by: Nanoseconds.milliseconds(250))
        sent += h.frames(peer)
        #expect(sent.count >= 3)
        for s in sent { peer.send(text: s) }
        h.embedded.run()
        let rtt = try #require(h.interval().histograms["rtt"])
        #expect(rtt.totalCount == Int64(sent.count))
        // Each reply arrived at the same instant; their latencies are 100 ms apart (the schedule).
        #expect(rtt.exactMax - rtt.exactMin >= 190_000)
    }

    @Test("the seed drives every random choice: the same seed gives the same messages, another seed others")
    func seededRandomness() throws {
        func messages(seed: UInt64) throws -> [String] {
            let h = try UserHarness("""
            target: ws://127.0.0.1:9/
            phases: [{ duration: 60s, connections: 3 }]
            steps:
              - connect
              - send: '{{random_string(12)}} {{random(1,1000000)}} {{uuid}}'
            """, seed: seed)
            h.acceptAll()
            return h.peers.flatMap { h.frames($0) }
        }
        let a = try messages(seed: 42), b = try messages(seed: 42), c = try messages(seed: 43)
        #expect(a.count == 3 && Set(a).count == 3)
        #expect(a == b)
        #expect(Set(a).isDisjoint(with: Set(c)))
    }

    @Test("users follow the planned ramp: started as the plan rises, stopped newest first as it falls")
    func rampFollowed() throws {
        let h = try UserHarness("""
        target: ws://127.0.0.1:9/
        phases:
          - { duration: 1s, connections: 0 -> 100 }
          - { duration: 1s, connections: 100 -> 20 }
        steps: [connect, { sleep: 1h }]
        """)
        h.embedded.advance(by: Nanoseconds.milliseconds(495))
        h.acceptAll()
        #expect((48...50).contains(h.driver.users.count))
        h.embedded.advance(by: Nanoseconds.milliseconds(510))
        h.acceptAll()
        #expect((99...100).contains(h.driver.users.count))
        h.embedded.advance(by: Nanoseconds.milliseconds(500))
        #expect((59...61).contains(h.driver.users.count))
        // The users stopped are the newest: the oldest ones keep their connections.
        #expect(h.driver.users.map(\.number).max()! < 62)
        #expect(h.dialer.peers.count == 100)
    }

    @Test("user groups: each group gets its share of the users and runs its own steps; a group's latency is kept apart and in the total")
    func groupsRunTheirSteps() throws {
        let h = try UserHarness("""
        target: ws://127.0.0.1:9/
        phases: [{ duration: 60s, connections: 5 }]
        groups:
          - name: talkers
            count: 2
            steps:
              - connect
              - send: 'talk {{group}} {{vu}}'
              - expect: { contains: ok, within: 5s, measure: rtt }
              - sleep: 1h
          - name: lurkers
            steps:
              - connect
              - send: 'lurk {{group}} {{vu}}'
              - expect: { contains: ok, within: 5s, measure: rtt }
              - sleep: 1h
        """)
        h.acceptAll()
        #expect(h.driver.users.count == 5)
        var sent: [String] = []
        for peer in h.peers { sent += h.frames(peer) }
        #expect(sent.filter { $0.hasPrefix("talk talkers ") }.count == 2)
        #expect(sent.filter { $0.hasPrefix("lurk lurkers ") }.count == 3)
        // {{vu}} stays unique across the groups.
        #expect(Set(sent.map { $0.split(separator: " ").last! }).count == 5)
        h.embedded.advance(by: Nanoseconds.milliseconds(3))
        for peer in h.peers { peer.send(text: "ok") }
        h.embedded.run()
        let m = h.interval()
        #expect(m.histograms["rtt@talkers"]?.totalCount == 2)
        #expect(m.histograms["rtt@lurkers"]?.totalCount == 3)
        #expect(m.histograms["rtt"]?.totalCount == 5 && m.histograms["rtt"]?.exactMax == 3000)
    }

    @Test("captures: values from a matched message become the user's variables; one not found is a counted, named error")
    func captures() throws {
        let h = try UserHarness("""
        target: ws://127.0.0.1:9/
        phases: [{ duration: 60s, connections: 1 }]
        steps:
          - connect
          - send: hello
          - expect:
              contains: welcome
              capture:
                room: { json: room.id }
                token: { regex: 'token=(\\w+)' }
                missing: { json: nope }
          - send: 'join {{vars.room}} {{vars.token}} [{{vars.missing}}]'
          - sleep: 1h
        """)
        let peer = h.peers[0]
        h.acceptAll()
        #expect(h.frames(peer) == ["hello"])
        peer.send(text: #"{"room":{"id":"r-\"42"},"msg":"welcome token=abc123"}"#)
        h.embedded.run()
        #expect(h.frames(peer) == [#"join r-"42 abc123 []"#])
        let m = h.interval()
        #expect(m.counter("errors.capture") == 1 && m.counter("errors.capture.missing") == 1)
    }

    @Test("on: handlers answer heartbeats while a strict expect waits; the steps never see the handled messages")
    func handlersAnswerWhileWaiting() throws {
        let h = try UserHarness("""
        target: ws://127.0.0.1:9/
        phases: [{ duration: 60s, connections: 1 }]
        on:
          - { equals: '2', reply: '3', name: heartbeat }
          - { json: { type: ack }, capture: { last: { json: id } }, measure: ack_delay, latency_from: sent_us }
        steps:
          - connect
          - send: hello
          - expect: { contains: welcome, within: 10s, strict: true, measure: rtt }
          - send: 'acked {{vars.last}}'
          - sleep: 1h
        """)
        let peer = h.peers[0]
        h.acceptAll()
        #expect(h.frames(peer) == ["hello"])
        for _ in 0..<3 {
            peer.send(text: "2")
            h.embedded.advance(by: Nanoseconds.milliseconds(100))
        }
        #expect(h.frames(peer) == ["3", "3", "3"])
        peer.send(text: #"{"type":"ack","id":"m-9","sent_us":\#(h.driver.wallMicros() - 1500)}"#)
        h.embedded.run()
        peer.send(text: "welcome")
        h.embedded.run()
        #expect(h.frames(peer) == ["acked m-9"])
        let m = h.interval()
        #expect(m.counter("handlers.matched") == 4 && m.counter("handlers.replies") == 3 && m.counter("handlers.heartbeat.matched") == 3)
        #expect(m.counter("errors.expect_mismatch") == 0 && m.counter("messages.unmatched") == 0 && m.counter("messages.received") == 5)
        #expect(m.histograms["rtt"]?.totalCount == 1)
        #expect(m.histograms["ack_delay"]?.exactMax == 1500, "\(String(describing: m.histograms["ack_delay"]?.exactMax)) \(m.histograms.keys.sorted())")
    }

    @Test("connect: { expect_status: 403 }: a refusal as expected is counted, not an error; an accepted connection is the error")
    func expectedRefusal() throws {
        let yaml = """
        target: ws://127.0.0.1:9/
        phases: [{ duration: 60s, connections: 1 }]
        options: { drain: 0s }
        steps:
          - connect: { expect_status: 403 }
          - sleep: 1h
        """
        let refused = try UserHarness(yaml)
        refused.peers[0].acceptHandshake(status: 403)
        refused.embedded.run()
        refused.embedded.advance(by: Nanoseconds.milliseconds(500))
        let r = refused.interval()
        #expect(r.counter("connections.refused_as_expected") == 1 && r.counter("errors.handshake_status") == 0)
        #expect(refused.peers.count == 1 && refused.driver.users.count == 1)      // not replaced: the script goes on
        #expect(r.counter("connections.due_ms") == r.counter("connections.held_ms"))   // and owes no connection

        let accepted = try UserHarness(yaml)
        accepted.acceptAll()
        let a = accepted.interval()
        #expect(a.counter("errors.handshake_accepted") == 1 && a.counter("connections.refused_as_expected") == 0)
        _ = accepted.frames(accepted.peers[0])
        #expect(accepted.closes == 1)

        let other = try UserHarness(yaml)
        other.peers[0].acceptHandshake(status: 500)
        other.embedded.run()
        let o = other.interval()
        #expect(o.counter("errors.handshake_status.500") == 1 && o.counter("connections.refused_as_expected") == 0)
    }

    @Test("ping: the pong's round trip is measured exactly; a pong that never comes is errors.pong_timeout and the script goes on")
    func pingStep() throws {
        let h = try UserHarness("""
        target: ws://127.0.0.1:9/
        phases: [{ duration: 60s, connections: 1 }]
        steps:
          - connect
          - ping: { measure: heartbeat, within: 1s }
          - send: after-first
          - ping: { measure: heartbeat, within: 1s }
          - send: after-second
          - sleep: 1h
        """)
        let peer = h.peers[0]
        h.acceptAll()
        guard let ping = peer.nextFrame() else { Issue.record("no ping"); return }
        #expect(ping.opcode == Opcode.ping.rawValue && ping.payload.count == 8)
        let payload = Array(ping.payload)
        h.embedded.advance(by: Nanoseconds.microseconds(2500))
        peer.write(RawServerPeer.frame(.pong, payload))
        h.embedded.run()
        #expect(h.frames(peer).first == "after-first")
        // The second ping is never answered.
        h.embedded.advance(by: Nanoseconds.milliseconds(1100))
        #expect(h.frames(peer).contains("after-second"))
        let m = h.interval()
        #expect(m.histograms["heartbeat"]?.totalCount == 1 && m.histograms["heartbeat"]?.exactMax == 2500)
        #expect(m.counter("pings.sent") == 2 && m.counter("errors.pong_timeout") == 1)
    }

    @Test("open model with arrivals: poisson: sends at the rate on average, with exponential gaps (not evenly spaced)")
    func poissonArrivals() throws {
        let h = try UserHarness("""
        target: ws://127.0.0.1:9/
        model: open
        options: { arrivals: poisson }
        phases: [{ duration: 200s, connections: 1, rate: 10/s }]
        steps: [connect, { loop: [{ send: x }] }]
        """)
        let peer = h.peers[0]
        h.acceptAll()
        var arrivals: [Int64] = []
        for _ in 0..<10_000 {
            h.embedded.advance(by: Nanoseconds.milliseconds(10))
            for _ in h.frames(peer) { arrivals.append(h.embedded.now.nanoseconds) }
        }
        // 100 s at 10/s: 1000 expected, a Poisson count's standard deviation is about 32.
        #expect(abs(arrivals.count - 1000) < 130, "\(arrivals.count) sends")
        let gaps = zip(arrivals.dropFirst(), arrivals).map { $0 - $1 }
        let evenly = gaps.filter { abs($0 - 100_000_000) <= 10_000_000 }.count
        #expect(Double(evenly) < 0.3 * Double(gaps.count), "\(evenly) of \(gaps.count) gaps near 100 ms")
        #expect(gaps.contains { $0 >= 300_000_000 } && gaps.contains { $0 <= 20_000_000 })
    }

    @Test("think times drawn from a distribution: 1s..3s stays in range and varies; exp(2s) averages about 2 s")
    func thinkDistributions() throws {
        var random = SplitMix64(seed: 9)
        let uniform = try #require(Delay.parse("1s..3s"))
        let draws = (0..<2000).map { _ in uniform.sample(random.next()) }
        #expect(draws.allSatisfy { (1_000_000_000...3_000_000_000).contains($0) } && Set(draws).count > 1000)
        let exponential = try #require(Delay.parse("exp(2s)"))
        let mean = Double((0..<20_000).map { _ in exponential.sample(random.next()) }.reduce(0, +)) / 20_000
        #expect(abs(mean - 2e9) < 0.05 * 2e9, "mean \(mean)")
        #expect(Delay.parse("500ms") == .fixed(500_000_000) && Delay.parse("3s..1s") == nil && Delay.parse("exp(x)") == nil)
    }

    @Test("a server that breaks every connection right after the handshake is backed off like refused connects")
    func backoffAfterQuickFailures() throws {
        let h = try UserHarness("""
        target: ws://127.0.0.1:9/
        phases: [{ duration: 60s, connections: 50 }]
        steps: [connect, { sleep: 1h }]
        """)
        var served = 0
        for _ in 0..<300 {                      // 3 s
            for peer in h.peers[served...] where peer.acceptHandshake() {
                peer.socket.shutdownWrite()      // opened, then closed by the server at once
            }
            served = h.peers.count
            h.embedded.advance(by: Nanoseconds.milliseconds(10))
        }
        let m = h.interval()
        #expect(m.counter("connections.opened") >= 50)
        // Without back-off the loop replaced them every 10 ms tick: thousands in 3 s.
        #expect(h.peers.count < 50 * 8, "\(h.peers.count) connections in 3 s")
        #expect(m.counter("errors.closed_by_server") + m.counter("errors.connection_lost") > 0)
    }

    @Test("a user whose script reconnects is not owed a connection from its reconnect step until the new one opens")
    func scriptedReconnectExcused() throws {
        let h = try UserHarness("""
        target: ws://127.0.0.1:9/
        phases: [{ duration: 60s, connections: 1 }]
        steps: [connect, { sleep: 200ms }, reconnect, { sleep: 1h }]
        """)
        h.acceptAll()
        h.embedded.advance(by: Nanoseconds.milliseconds(200))
        let first = h.peers[0]
        _ = h.frames(first)
        #expect(h.closes == 1)
        first.write(RawServerPeer.frame(.close, [0x03, 0xE8]))
        h.embedded.run()
        #expect(h.peers.count == 2)
        // The new connection takes 300 ms to open: the script's gap, not load the loop owed.
        h.embedded.advance(by: Nanoseconds.milliseconds(300))
        h.acceptAll()
        h.embedded.advance(by: Nanoseconds.milliseconds(500))
        let m = h.interval()
        #expect(m.counter("connections.held_ms") == 700)
        #expect(m.counter("connections.due_ms") == 700)
        #expect(m.counter("connections.opened") == 2)
    }

    @Test("the end of the run stops users a slice at a time, so the loop answers in between; every connection is closed")
    func massCloseInSlices() throws {
        let h = try UserHarness("""
        target: ws://127.0.0.1:9/
        phases: [{ duration: 1s, connections: 1200 }]
        options: { drain: 0s }
        steps: [connect, { sleep: 1h }]
        """)
        h.embedded.advance(by: Nanoseconds.milliseconds(300))
        h.acceptAll()
        h.acceptAll()     // the last 200 start as the first handshakes complete (max_connecting 1000)
        #expect(h.driver.users.count == 1200 && h.driver.connecting == 0)
        h.driver.beginStopping(h.embedded.now)
        // One loop iteration stops one slice; the rest wait for the next iterations.
        #expect(h.driver.users.count == 1200 - LoopDriver.stopSlice)
        h.embedded.advance(by: 1)
        #expect(h.driver.users.count == 1200 - 2 * LoopDriver.stopSlice)
        h.embedded.advance(by: 1)
        #expect(h.driver.users.isEmpty)
        _ = h.peers.map { h.frames($0) }
        #expect(h.closes == 1200)
    }

    @Test("a delivery latency recorded after a swap lands in the new interval")
    func deliveryLatencyAcrossSwaps() throws {
        let h = try UserHarness("""
        target: ws://127.0.0.1:9/
        phases: [{ duration: 60s, connections: 1 }]
        delivery: { sender: from, sequence: seq, sent_at: at }
        steps: [connect, { sleep: 1h }]
        """)
        h.acceptAll()
        let peer = h.peers[0]
        let now = (h.embedded.clock.wallNanoseconds()) / 1000
        peer.send(text: "{\"from\":\"a\",\"seq\":1,\"at\":\(now - 1500)}")
        h.embedded.run()
        #expect(h.interval().histograms["delivery"]?.totalCount == 1)
        peer.send(text: "{\"from\":\"a\",\"seq\":2,\"at\":\(now - 700)}")
        h.embedded.run()
        let second = h.interval()
        #expect(second.histograms["delivery"]?.totalCount == 1 && second.histograms["delivery"]?.exactMax == 700)
        #expect(second.counter("delivery.received") == 1)
    }

    @Test("barrier arrivals are counted on the loop and handed to the agent once per loop iteration")
    func barrierArrivalsBatched() throws {
        let h = try UserHarness("""
        target: ws://127.0.0.1:9/
        phases: [{ duration: 60s, connections: 20 }]
        steps: [connect, { barrier: all-in }, { send: go }]
        """)
        h.acceptAll()
        #expect(h.events.arrivals.reduce(0) { $0 + $1.count } == 20)
        #expect(h.events.arrivals.count < 20)
        #expect(h.events.arrivals.allSatisfy { $0.barrier == 0 && $0.generation == 0 })
        // Released at an instant 5 ms ahead: every user sends then, with its frame prepared.
        let at = h.embedded.now.advanced(by: Nanoseconds.milliseconds(5))
        h.driver.release(barrier: 0, generation: 0, at: at, timedOut: false)
        h.embedded.advance(by: Nanoseconds.milliseconds(4))
        #expect(h.peers.allSatisfy { h.frames($0).isEmpty })
        h.embedded.advance(by: Nanoseconds.milliseconds(1))
        #expect(h.peers.allSatisfy { h.frames($0) == ["go"] })
        #expect(h.events.releases.count == 1 && h.events.releases[0].users == 20 && h.events.releases[0].releaseOffset == 0)
    }
}
