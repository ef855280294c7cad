import Foundation
import Scenario
import Stats
import WebSocket
import WireProtocol

/// Starting inputs for each target, made with volley's own encoders so the fuzzer begins from
/// well-formed frames, heads and messages and mutates from there.
enum Seeds {
    static func write(to directory: String, scenarios: [String]) throws {
        func put(_ target: FuzzTarget, _ name: String, _ bytes: [UInt8]) throws {
            let dir = directory + "/" + target.rawValue
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: dir + "/" + name))
        }
        for (name, bytes) in frames { try put(.frames, name, bytes) }
        // The deflate target's first byte chooses the server's answer.
        for (choice, (name, bytes)) in deflatedFrames.enumerated() { try put(.framesDeflate, name, [UInt8(choice % 4)] + bytes) }
        for (name, text) in heads { try put(.http, name, Array(text.utf8)) }
        for (i, message) in try messages().enumerated() { try put(.wire, "message-\(i)", WireFrame.encode(message.encode())) }
        for path in scenarios {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            try put(.scenario, URL(fileURLWithPath: path).lastPathComponent, Array(data))
        }
    }

    /// A server frame: FIN and opcode, unmasked.
    static func frame(_ opcode: UInt8, fin: Bool = true, rsv1: Bool = false, _ payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [(fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode]
        switch payload.count {
        case ..<126: out.append(UInt8(payload.count))
        case ..<65536: out += [126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        default: out += [127] + (0..<8).reversed().map { UInt8(truncatingIfNeeded: UInt64(payload.count) >> (8 * $0)) }
        }
        return out + payload
    }

    static let frames: [(String, [UInt8])] = [
        ("text", frame(1, Array("hello".utf8))),
        ("binary-200", frame(2, [UInt8](repeating: 0xAB, count: 200))),
        ("fragments", frame(1, fin: false, Array("hel".utf8)) + frame(0, fin: false, Array("l".utf8)) + frame(0, Array("o".utf8))),
        ("ping-inside-fragments", frame(1, fin: false, Array("a".utf8)) + frame(9, Array("p".utf8)) + frame(0, Array("b".utf8))),
        ("close", frame(8, [0x03, 0xE8] + Array("bye".utf8))),
        ("utf8", frame(1, Array("κόσμε 🎉".utf8))),
        ("long-16", frame(2, [UInt8](repeating: 1, count: 70_000))),
    ]

    /// RFC 7692 section 7.2.3.1: "Hello" compressed, and the same with an empty stored block.
    static let deflatedFrames: [(String, [UInt8])] = [
        ("hello", frame(1, rsv1: true, [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])),
        ("hello-fragmented", frame(1, fin: false, rsv1: true, [0xF2, 0x48, 0xCD]) + frame(0, [0xC9, 0xC9, 0x07, 0x00])),
        ("hello-twice", frame(1, rsv1: true, [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]) + frame(1, rsv1: true, [0xF2, 0x00, 0x11, 0x00, 0x00])),
        ("uncompressed", frame(1, Array("plain".utf8)) + frame(8, [0x03, 0xE8])),
    ]

    static let heads: [(String, String)] = [
        ("request", "GET /chat?name=a%20b HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-webkit-deflate-frame\r\n\r\n"),
        ("response", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10; client_no_context_takeover\r\n\r\n"),
        ("refused", "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"),
        ("url", "wss://[::1]:8443/p?q=1"),
    ]

    static func messages() throws -> [WireMessage] {
        let scenario = try ScenarioLoader.load(source: """
        name: seed
        target: ws://127.0.0.1:9/echo
        phases: [{ duration: 2s, connections: 5 }]
        steps: [connect, { send: hi }, { expect: { contains: hi, within: 1s, measure: rtt } }]
        thresholds: [p99(rtt) < 10ms]
        """, file: "seed.yaml") { (_) throws(ScenarioError) -> Feeder? in nil }
        var hdr = HDRHistogram()
        hdr.record(1500)
        hdr.record(90_000)
        let histogram = CompactHistogram(hdr)
        let metrics = CompactMetricSet(histograms: ["rtt": histogram], counters: ["messages.sent": 10], gauges: ["connections.open": 5])
        return [
            .hello(.init(role: .agent, software: "volley", nonce: [UInt8](repeating: 1, count: 32))),
            .authenticate(proof: [UInt8](repeating: 2, count: 32)),
            .capacity(.init(hostName: "h", cores: 2, descriptorLimit: 20000, memoryBytes: 1 << 34, software: "volley")),
            .prepare(RunPlan(runID: "r", scenario: scenario, slices: [.whole(scenario)], seed: 1, leaseMillis: 3000, loopsPerAgent: 1), agent: 0),
            .start(runID: "r", atAgentWall: 1_000_000, clockOffset: -5),
            .stats(runID: "r", second: 3, metrics: metrics),
            .barrierRelease(barrier: 1, generation: 2, atAgentWall: 99, timedOut: false),
            .error(code: .busy, message: "busy"),
            .finished(runID: "r", timeline: [1, 2, 3]),
        ]
    }
}
