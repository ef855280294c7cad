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
        .init(connections: ConnectionTarget(from: 3, to: 1667), rate: .perConnection(10)),
        .init(connections: .steady(500), rate: .total(333.5)),
        .init(connections: .steady(0), rate: nil),
    ])

    static let messages: [WireMessage] = [
        .hello(.init(role: .agent, software: "volley 0.1", nonce: [UInt8](repeating: 7, count: 32))),
        .authenticate(proof: [UInt8](repeating: 1, count: 32)),
        .authenticated(proof: [UInt8](repeating: 2, count: 32)),
        .capacity(.init(hostName: "load-1", cores: 8, descriptorLimit: 1_048_576, memoryBytes: 24 << 30, software: "volley")),
        .clockProbe(id: 9, sentAt: 1_795_305_600_123_456_789),
        .clockReply(id: 9, sentAt: 1, receivedAt: 2, repliedAt: -3),
        .prepare(.init(runID: "r1", scenarioFile: "s.yaml", scenarioSource: "name: x\n", feeder: .init(name: "u.csv", text: "a,b\n1,2\n"),
                       slice: slice, seed: 42, leaseMillis: 5000, loops: 2, targetOverride: ["ws://10.0.0.1:80/chat?u={{vu}}"])),
        .prepare(.init(runID: "r2", scenarioFile: "s.yaml", scenarioSource: "", feeder: nil, slice: slice, seed: 0, leaseMillis: 1, loops: 0, peakConnections: 12_000)),
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
    ]

    @Test("every message encodes and decodes to itself", arguments: messages)
    func roundTrip(message: WireMessage) throws {
        #expect(try WireMessage.decode(message.encode()) == message)
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
