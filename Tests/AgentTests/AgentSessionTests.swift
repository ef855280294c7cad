import Testing
@testable import Agent
import Net
import Scenario
import Stats
import TestSupport
import WireProtocol

/// A load engine played by the test: it records what the agent asks of it and reports what
/// the test says it measured.
final class ScriptedEngine: LoadRunner {
    let loop: EventLoop
    var loopCount: Int { 1 }
    private(set) var startedAt: Instant?
    private(set) var stops = 0
    private(set) var shutdowns = 0
    private(set) var offsets: [Int64] = []
    private(set) var releases: [(Int, Int, Instant, Bool)] = []
    var isFinished = false
    var actualStart: Instant?
    /// What the next collection reports.
    var sent: Int64 = 0

    init(loop: EventLoop) { self.loop = loop }

    func start(at instant: Instant) { startedAt = instant }
    func stopNow() { stops += 1 }
    func collect(_ completion: @escaping (CompactMetricSet, [Int64]) -> Void) {
        let set = CompactMetricSet(counters: sent > 0 ? ["messages.sent": sent] : [:])
        sent = 0
        // Like the real engine: the completion runs later, on the control loop.
        let done = LoopBound(completion)
        loop.execute { done.value(set, []) }
    }
    func releaseBarrier(barrier: Int, generation: Int, at instant: Instant, timedOut: Bool) {
        releases.append((barrier, generation, instant, timedOut))
    }
    func setClockOffset(_ nanoseconds: Int64) { offsets.append(nanoseconds) }
    func shutdown() { shutdowns += 1 }
    var deliveryLedger: DeliveryLedger? { nil }
}

/// The coordinator's end of an in-process channel, played by the test.
final class CoordinatorEnd: WireChannelDelegate {
    var received: [WireMessage] = []
    var closedReason: String??
    func wire(_ channel: WireChannel, received message: WireMessage) { received.append(message) }
    func wireClosed(_ channel: WireChannel, reason: String?) { closedReason = .some(reason) }
    func names() -> [String] { received.map(\.name) }
    func take() -> [WireMessage] {
        defer { received.removeAll() }
        return received
    }
}

final class AgentHarness {
    static let token = Array("agent-token".utf8)
    let embedded = EmbeddedLoop()
    var engines: [ScriptedEngine] = []
    let host: AgentHost

    init(policy: TargetPolicy = .loopbackOnly) {
        let configuration = AgentConfiguration(listen: SocketAddress(ip: .v4(0x7F00_0001), port: 7000), token: Self.token,
                                               targets: policy, clock: AgentClock(source: embedded.clock))
        let capacity = WireMessage.Capacity(hostName: "test", cores: 2, descriptorLimit: 1000, memoryBytes: 1 << 30, software: "t")
        var engines: [ScriptedEngine] = []
        let loop = embedded.loop
        host = AgentHost(configuration: configuration, loop: loop, capacity: capacity) { _, _, _, _, _ in
            let e = ScriptedEngine(loop: loop)
            engines.append(e)
            return e
        }
        self.engineList = { engines }
    }

    private var engineList: () -> [ScriptedEngine] = { [] }
    var engine: ScriptedEngine? { engineList().last }

    /// A coordinator connected and authenticated (with `token`); returns its end and channel.
    func connect(token: [UInt8] = AgentHarness.token) -> (CoordinatorEnd, WireChannel) {
        let end = CoordinatorEnd()
        let (coordinatorSide, agentSide) = InProcessChannel.pair(embedded.loop, name: "coordinator", embedded.loop, peerName: "agent")
        coordinatorSide.delegate = end
        host.accept(agentSide)
        embedded.run()
        guard case let .hello(hello)? = end.received.first else { return (end, coordinatorSide) }
        let nonce = [UInt8](repeating: 3, count: 32)
        coordinatorSide.send(.hello(.init(role: .coordinator, software: "test", nonce: nonce)))
        coordinatorSide.send(.authenticate(proof: Authentication.coordinatorProof(token: token, agentNonce: hello.nonce, coordinatorNonce: nonce)))
        embedded.run()
        return (end, coordinatorSide)
    }

    /// A coordinator that prepared and started a run now; returns its end, channel and the engine.
    func startRun(leaseMillis: UInt32 = 3000) throws -> (CoordinatorEnd, WireChannel, ScriptedEngine) {
        let (end, channel) = connect()
        channel.send(.prepare(try Self.plan(leaseMillis: leaseMillis), agent: 0))
        embedded.run()
        channel.send(.start(runID: "r", atAgentWall: embedded.clock.wallNanoseconds(), clockOffset: 0))
        embedded.run()
        return (end, channel, engine!)
    }

    static func plan(target: String = "ws://127.0.0.1:9/", leaseMillis: UInt32 = 3000) throws -> RunPlan {
        let scenario = try ScenarioLoader.load(source: """
        target: \(target)
        phases: [{ duration: 10s, connections: 10 }]
        steps: [connect]
        """, file: "a.yaml") { (_) throws(ScenarioError) -> Feeder? in nil }
        return RunPlan(runID: "r", scenario: scenario, slices: [.whole(scenario)], seed: 1, leaseMillis: leaseMillis, loopsPerAgent: 1)
    }
}

@Suite("Agent sessions and runs on a manual clock")
struct AgentSessionTests {
    @Test("a coordinator that proves the token hears the agent's proof and capacity; a wrong token is refused and the agent serves on")
    func authentication() throws {
        let h = AgentHarness()
        let (bad, _) = h.connect(token: Array("wrong".utf8))
        guard case let .error(code, message)? = bad.received.last else { Issue.record("no error: \(bad.names())"); return }
        #expect(code == .authenticationFailed && message.contains("--token-file"))
        #expect(bad.closedReason != nil)
        let (good, _) = h.connect()
        #expect(good.names() == ["hello", "authenticated", "capacity"])
    }

    @Test("start: the engine begins at the monotonic instant matching the agent-clock wall time named")
    func startInstant() throws {
        let h = AgentHarness()
        let (end, channel) = h.connect()
        channel.send(.prepare(try AgentHarness.plan(), agent: 0))
        h.embedded.run()
        #expect(end.names().last == "prepared")
        let wall = h.embedded.clock.wallNanoseconds() + Nanoseconds.milliseconds(300)
        channel.send(.start(runID: "r", atAgentWall: wall, clockOffset: 1234))
        h.embedded.run()
        let engine = try #require(h.engine)
        #expect(engine.startedAt == h.embedded.now.advanced(by: Nanoseconds.milliseconds(300)))
        #expect(engine.offsets == [-1234])
        engine.actualStart = engine.startedAt
        h.embedded.advance(by: Nanoseconds.milliseconds(400))
        guard case let .started(_, actual)? = end.received.first(where: { $0.name == "started" }) else { Issue.record("no started"); return }
        #expect(actual == wall)
    }

    @Test("stats once a second in order, heartbeats from the agent, then the last stats and finished when the engine is done")
    func statsCadence() throws {
        let h = AgentHarness()
        let (end, channel, engine) = try h.startRun()
        _ = end.take()
        for second in 0..<3 {
            engine.sent = Int64(10 + second)
            h.embedded.advance(by: Nanoseconds.seconds(1))
            channel.send(.heartbeat(sequence: UInt64(second)))
        }
        h.embedded.advance(by: Nanoseconds.milliseconds(150))
        let stats = end.received.compactMap { m -> (UInt32, Int64)? in
            if case let .stats(_, s, metrics) = m { return (s, metrics.counter("messages.sent")) }
            return nil
        }
        #expect(stats.map(\.0) == [0, 1, 2] && stats.map(\.1) == [10, 11, 12])
        #expect(end.names().filter { $0 == "heartbeat" }.count == 3)
        engine.sent = 5
        engine.isFinished = true
        h.embedded.advance(by: Nanoseconds.milliseconds(200))
        #expect(Array(end.names().suffix(2)) == ["stats", "finished"])
        #expect(engine.shutdowns == 1)
        // The agent is free again: a new run can be prepared on the same session.
        channel.send(.prepare(try AgentHarness.plan(), agent: 0))
        h.embedded.run()
        #expect(end.names().last == "prepared")
    }

    @Test("a lease with no word from the coordinator stops the load; a run prepared but never started is dropped")
    func lease() throws {
        let h = AgentHarness()
        let (end, channel) = h.connect()
        channel.send(.prepare(try AgentHarness.plan(leaseMillis: 2000), agent: 0))
        h.embedded.run()
        let dropped = try #require(h.engine)
        h.embedded.advance(by: Nanoseconds.milliseconds(2150))
        #expect(dropped.shutdowns == 1)
        channel.send(.prepare(try AgentHarness.plan(leaseMillis: 2000), agent: 0))
        h.embedded.run()
        channel.send(.start(runID: "r", atAgentWall: h.embedded.clock.wallNanoseconds(), clockOffset: 0))
        h.embedded.run()
        let engine = try #require(h.engine)
        #expect(engine !== dropped)
        for s in 0..<3 {
            h.embedded.advance(by: Nanoseconds.seconds(1))
            channel.send(.heartbeat(sequence: UInt64(s)))
        }
        #expect(engine.stops == 0)
        h.embedded.advance(by: Nanoseconds.milliseconds(2150))
        #expect(engine.stops == 1)
        engine.isFinished = true
        h.embedded.advance(by: Nanoseconds.milliseconds(200))
        #expect(end.names().last == "finished" && engine.shutdowns == 1)
    }

    @Test("a coordinator that goes away mid-run stops the load, and the engine is shut down once it has finished")
    func coordinatorGoesAway() throws {
        let h = AgentHarness()
        let (_, channel, engine) = try h.startRun()
        channel.close(reason: "gone")
        h.embedded.run()
        #expect(engine.stops == 1 && engine.shutdowns == 0)
        engine.isFinished = true
        h.embedded.advance(by: Nanoseconds.milliseconds(100))
        #expect(engine.shutdowns == 1)
        // The agent serves the next coordinator.
        let (next, nextChannel) = h.connect()
        nextChannel.send(.prepare(try AgentHarness.plan(), agent: 0))
        h.embedded.run()
        #expect(next.names().last == "prepared")
    }

    @Test("a target outside the allow-list is refused before any engine exists; a second coordinator meets a busy agent")
    func refusals() throws {
        let h = AgentHarness()
        let (end, channel) = h.connect()
        channel.send(.prepare(try AgentHarness.plan(target: "ws://10.9.8.7:80/"), agent: 0))
        h.embedded.run()
        guard case let .error(code, message)? = end.received.last else { Issue.record("not refused"); return }
        #expect(code == .targetNotAllowed && message.contains("--allow-target") && h.engine == nil)
        channel.send(.prepare(try AgentHarness.plan(), agent: 0))
        h.embedded.run()
        let (other, otherChannel) = h.connect()
        otherChannel.send(.prepare(try AgentHarness.plan(), agent: 0))
        h.embedded.run()
        guard case let .error(busy, _)? = other.received.last else { Issue.record("not busy"); return }
        #expect(busy == .busy)
    }

    @Test("barrier releases reach the engine at the monotonic instant of the agent-clock time named")
    func barrierRelease() throws {
        let h = AgentHarness()
        let (_, channel, engine) = try h.startRun()
        let at = h.embedded.clock.wallNanoseconds() + Nanoseconds.milliseconds(12)
        channel.send(.barrierRelease(barrier: 1, generation: 4, atAgentWall: at, timedOut: true))
        h.embedded.run()
        #expect(engine.releases.count == 1)
        #expect(engine.releases.first?.0 == 1 && engine.releases.first?.1 == 4 && engine.releases.first?.3 == true)
        #expect(engine.releases.first?.2 == h.embedded.now.advanced(by: Nanoseconds.milliseconds(12)))
    }
}
