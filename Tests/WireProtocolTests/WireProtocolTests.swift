import Testing
import ByteCoding
import Scenario
import Stats
import TestSupport
@testable import WireProtocol

@Suite("Wire protocol")
struct WireProtocolTests {
    static func sampleMetrics() -> CompactMetricSet {
        var set = MetricSet()
        var h = HDRHistogram()
        var rng = SplitMix64(seed: 8)
        for _ in 0..<2000 { h.record(rng.nextLatency()) }
        set.merge(h, into: "rtt")
        set.merge(HDRHistogram(), into: "connect")
        set.add(1234, to: "messages.sent")
        set.add(-3, to: "odd.counter")
        set.gauges["connections.open"] = 999
        return CompactMetricSet(set)
    }

    static let slice = LoadSlice(agentIndex: 1, agentCount: 3, phases: [
        .init(groups: [ConnectionTarget(from: 3, to: 1667)], rate: .perConnection(10)),
        .init(groups: [.steady(500)], rate: .total(333.5)),
        .init(groups: [.steady(0)], rate: nil),
    ])

    /// A scenario with a feeder, overridden as `--target` and `--connections` would.
    static let scenarioWithFeeder: Scenario = {
        let feeder = Feeder(file: "/data/u.csv", columns: ["user", "token"], rows: [["ann", "t,1"], ["bob", "t\"2"], ["cy", ""]])
        let source = """
        name: plan
        target: ws://127.0.0.1:1/echo
        feeder: u.csv
        phases:
          - { name: a, duration: 1s, connections: 3 -> 1667, rate: 10/s }
          - { name: b, duration: 2s, connections: 500, total_rate: 333.5/s }
          - { name: c, duration: 1s, connections: 0 }
        steps:
          - connect
          - send: '{{user.token}}'
        """
        let loaded = try! ScenarioLoader.load(source: source, file: "s.yaml") { (_) throws(ScenarioError) -> Feeder? in feeder }
        return try! loaded.replacingTargets(["ws://10.0.0.1:80/chat?u={{vu}}&n={{user.user}}"], origin: "--target")
            .replacingConnections([ConnectionTarget(from: 9, to: 5001), .steady(1500), .steady(0)])
    }()

    static let plainScenario: Scenario = try! ScenarioLoader.load(source: """
        target: ws://127.0.0.1:1/
        phases: [{ duration: 1s, connections: 1 }]
        steps: [connect]
        """, file: "p.yaml") { (_) throws(ScenarioError) -> Feeder? in nil }

    static let plan = RunPlan(runID: "r1", scenario: scenarioWithFeeder, slices: [
        LoadSlice(agentIndex: 0, agentCount: 3, phases: slice.phases), slice, LoadSlice(agentIndex: 2, agentCount: 3, phases: slice.phases),
    ], seed: 42, leaseMillis: 5000, loopsPerAgent: 2)

    static let messages: [WireMessage] = [
        .hello(.init(role: .agent, software: "volley 0.1", nonce: [UInt8](repeating: 7, count: 32))),
        .authenticate(proof: [UInt8](repeating: 1, count: 32)),
        .authenticated(proof: [UInt8](repeating: 2, count: 32)),
        .capacity(.init(hostName: "load-1", cores: 8, descriptorLimit: 1_048_576, memoryBytes: 24 << 30, software: "volley")),
        .clockProbe(id: 9, sentAt: 1_795_305_600_123_456_789),
        .clockReply(id: 9, sentAt: 1, receivedAt: 2, repliedAt: -3),
        .prepare(plan, agent: 1),
        .prepare(RunPlan(runID: "r2", scenario: plainScenario, slices: [LoadSlice.whole(plainScenario)], seed: 0, leaseMillis: 1, loopsPerAgent: 0), agent: 0),
        .prepared(runID: "r1"),
        .start(runID: "r1", atAgentWall: 1_795_305_601_000_000_000, clockOffset: -250_000_000),
        .started(runID: "r1", actualStartWall: 5),
        .heartbeat(sequence: 77),
        .clockOffset(12_345),
        .stats(runID: "r1", second: 17, metrics: sampleMetrics()),
        .barrierArrived(barrier: 2, generation: 5, count: 1000),
        .barrierRelease(barrier: 2, generation: 5, atAgentWall: 99, timedOut: true),
        .barrierReport(BarrierRelease(barrier: 2, generation: 5, loop: 1, users: 3000, timedOut: false, releaseOffset: -12_000,
                                      firstSendOffset: 15_000, lastSendOffset: nil, sendCost: 9_000_000, readyMargin: -3_000)),
        .event(level: .warning, message: "target refused 12 connections"),
        .stop(reason: "lease expired"),
        .finished(runID: "r1", timeline: [100, 2000, 30000]),
        .error(code: .versionMismatch, message: "coordinator speaks protocol 1, agent speaks 2"),
        .deliverySenders(runID: "r1", groups: ["/rooms/a", "/rooms/b"], senders: [
            SenderSummary(group: "/rooms/a", sender: 0xDEAD_BEEF_0000_0001, firstSequence: 1, lastSequence: 20, count: 20,
                          firstSentAt: 1_795_305_600_000_000_000, lastSentAt: 1_795_305_602_000_000_000),
        ]),
        .deliveryBook(runID: "r1", senders: []),
        .deliveryTotals(runID: "r1", groups: [GroupCompleteness(group: "/rooms/a", receivers: 50, senders: 5, expected: 5000, received: 4990,
                                                               missing: 10, duplicated: 3)]),
    ]

    @Test("every message encodes and decodes to itself", arguments: messages)
    func roundTrip(message: WireMessage) throws {
        #expect(try WireMessage.decode(message.encode()) == message)
    }

    @Test("a run plan arrives whole: the agent's scenario has the coordinator's overridden targets, phase sizes and feeder rows")
    func planArrivesWhole() throws {
        guard case let .prepare(decoded, agent) = try WireMessage.decode(WireMessage.prepare(Self.plan, agent: 1).encode()) else {
            Issue.record("not a prepare message")
            return
        }
        #expect(agent == 1)
        let s = decoded.scenario, original = Self.scenarioWithFeeder
        #expect(s.targets.map(\.source) == ["ws://10.0.0.1:80/chat?u={{vu}}&n={{user.user}}"])
        #expect(s.phases.map(\.connections) == original.phases.map(\.connections))
        #expect(s.phases.map(\.rate) == original.phases.map(\.rate))
        #expect(s.feeder == original.feeder)
        #expect(s.feeder?.rows[1] == ["bob", "t\"2"])
        #expect(decoded.slices == Self.plan.slices && decoded.seed == 42 && decoded.leaseMillis == 5000 && decoded.loopsPerAgent == 2)
        #expect(s.describePlan() == original.describePlan())
    }

    @Test("a plan whose slices do not fit its scenario is refused")
    func planThatDoesNotFit() {
        var bad = Self.plan
        bad.slices = [LoadSlice(agentIndex: 0, agentCount: 1, phases: [Self.slice.phases[0]])]
        #expect(throws: WireError.self) { try WireMessage.decode(WireMessage.prepare(bad, agent: 0).encode()) }
    }

    @Test("every truncation of every message is rejected with a reason, never a crash")
    func truncations() {
        for message in Self.messages {
            let bytes = message.encode()
            for n in 0..<bytes.count {
                #expect(throws: WireError.self) { try WireMessage.decode(Array(bytes[0..<n])) }
            }
            #expect(throws: WireError.self) { try WireMessage.decode(bytes + [0]) }
        }
    }

    @Test("found by the fuzzer: a stats message with a zero counter decodes to what it encodes to; a nameless metric is refused")
    func zeroCountersAreCanonical() throws {
        var w = ByteWriter(capacity: 64)
        WireMessage.encode(CompactMetricSet(counters: ["messages.sent": 4]), into: &w)
        // The same set written by hand with an extra zero counter.
        var manual = ByteWriter(capacity: 64)
        manual.writeVarUInt(2)
        manual.writeLengthPrefixed("errors.refused")
        manual.writeVarInt(0)
        manual.writeLengthPrefixed("messages.sent")
        manual.writeVarInt(4)
        manual.writeVarUInt(0)
        manual.writeVarUInt(0)
        var r = ByteReader(manual.bytes)
        let decoded = try WireMessage.decodeMetrics(&r)
        #expect(decoded.counters == ["messages.sent": 4])
        var again = ByteReader(w.bytes)
        #expect(try WireMessage.decodeMetrics(&again).counters == decoded.counters)
        // The fuzzer's input: a stats message whose only counter is nameless and zero.
        let input = Array(Base64.decode("LgAAAA0BcgMQAAAAAAAAACUAAAAAAAAASQAAAAAA/////////x8AAAAAAAAAAAAAAAAAAAAAADgAAAAAAAAA")!)
        var assembler = FrameAssembler(limit: 1 << 20)
        input.withUnsafeBytes { assembler.append($0) }
        let payload = try #require(try assembler.next())
        #expect(throws: (any Error).self) { try WireMessage.decode(payload) }
    }

    @Test("random bytes and corrupted messages never crash the decoder")
    func randomBytes() {
        var rng = SplitMix64(seed: 12)
        let encoded = Self.messages.map { $0.encode() }
        for i in 0..<20_000 {
            var bytes: [UInt8]
            if i % 2 == 0 {
                bytes = (0..<Int.random(in: 0..<80, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            } else {
                bytes = encoded[i % encoded.count]
                for _ in 0..<Int.random(in: 1...3, using: &rng) where !bytes.isEmpty {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            }
            _ = try? WireMessage.decode(bytes)
        }
    }

    @Test("a length field cannot make the decoder allocate more than the input holds")
    func hugeLengths() {
        var w = ByteWriter()
        w.write(UInt8(7))                         // prepare
        w.writeVarUInt(UInt64(1) << 40)           // run id "length"
        #expect(throws: WireError.self) { try WireMessage.decode(w.bytes) }
        var f = FrameAssembler()
        let header: [UInt8] = [0xff, 0xff, 0xff, 0x7f]
        header.withUnsafeBytes { f.append($0) }
        #expect(throws: WireError.self) { try f.next() }
    }

    @Test("frames: split anywhere, several per read; unauthenticated frames are capped at 4 KiB")
    func frames() throws {
        let payloads = Self.messages.map { $0.encode() }
        let stream = payloads.flatMap { WireFrame.encode($0) }
        for chunk in [1, 3, 64, 4096, stream.count] {
            var f = FrameAssembler(limit: WireFrame.maximumLength)
            var got: [[UInt8]] = []
            var i = 0
            while i < stream.count {
                let end = min(stream.count, i + chunk)
                stream[i..<end].withUnsafeBytes { f.append($0) }
                while let p = try f.next() { got.append(p) }
                i = end
            }
            #expect(got == payloads)
        }
        var strict = FrameAssembler()
        WireFrame.encode([UInt8](repeating: 0, count: 5000)).withUnsafeBytes { strict.append($0) }
        #expect(throws: WireError.self) { try strict.next() }
    }

    @Test("authentication: proofs verify with the token, fail with another, and differ per side and nonce")
    func authentication() {
        let token = Authentication.token(fromFile: "  s3cret-token\n")
        #expect(token == Array("s3cret-token".utf8))
        let a = [UInt8](repeating: 1, count: 32), c = [UInt8](repeating: 2, count: 32)
        let coordinator = Authentication.coordinatorProof(token: token, agentNonce: a, coordinatorNonce: c)
        #expect(Authentication.verify(coordinator, expected: Authentication.coordinatorProof(token: token, agentNonce: a, coordinatorNonce: c)))
        #expect(!Authentication.verify(coordinator, expected: Authentication.coordinatorProof(token: Array("other".utf8), agentNonce: a, coordinatorNonce: c)))
        #expect(!Authentication.verify(coordinator, expected: Authentication.agentProof(token: token, agentNonce: a, coordinatorNonce: c)))
        #expect(!Authentication.verify(coordinator, expected: Authentication.coordinatorProof(token: token, agentNonce: c, coordinatorNonce: a)))
    }
}

extension WireMessage: CustomTestStringConvertible {
    public var testDescription: String { name }
}
