import Foundation
import Testing
import TestSupport
import WireProtocol
#if canImport(Glibc)
import Glibc
#endif

/// The coordinator-agent channel is TLS 1.3 keyed by the token: an eavesdropper sees neither
/// the scenario, nor the feeder's rows, nor the token; peers of another version or none are
/// refused with words that say so, and the agent serves on.
@Suite("The encrypted control channel", .serialized)
struct ControlChannelTests {
    @Test("a relay on the control link records the whole run and finds neither the token, nor the scenario, nor a feeder row")
    func nothingReadableOnTheWire() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        let token = "token-marker-e7c4-\(UInt32.random(in: 0...UInt32.max))"
        let agent = try AgentProcess(token: token)
        let relay = try RecordingRelay(upstreamPort: agent.port)
        defer { relay.stop() }
        let directory = NSTemporaryDirectory() + "volley-channel-\(UUID().uuidString)/"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let rows = "user,secret\n" + (0..<5).map { "u\($0),feeder-marker-row-\($0)-b91f\n" }.joined()
        try rows.write(toFile: directory + "rows.csv", atomically: true, encoding: .utf8)
        try """
        name: scenario-marker-5d1e
        target: ws://127.0.0.1:9/echo
        feeder: rows.csv
        phases: [{ duration: 2s, connections: 5 }]
        steps:
          - connect
          - send: 'hello {{user.secret}}'
          - expect: { contains: feeder-marker-row, within: 2s, measure: rtt }
        thresholds: [error_rate == 0]
        """.write(toFile: directory + "s.yaml", atomically: true, encoding: .utf8)
        let run = try VolleyRun.run(["run", directory + "s.yaml", "--quiet", "--target", target.url("/echo"),
                                     "--agents", "127.0.0.1:\(relay.port)", "--token-file", agent.tokenFile])
        #expect(run.passedApartFromLatency, "\(run.stderr)")
        let results = try run.results()
        // The agent did get the plan and the rows: its users echoed the feeder's values.
        #expect(results.counter("messages.received") == 5 && results.errorCount == 0)
        #expect(relay.connectionCount >= 1 && relay.bytes.count > 2000, "relayed \(relay.bytes.count) bytes")
        for marker in [token, "scenario-marker-5d1e", "feeder-marker-row", "hello {{user.secret}}", "127.0.0.1:9/echo", "volley agent"] {
            #expect(!relay.saw(marker), "\(marker) crossed the control link in clear")
        }
    }

    @Test("an agent answers a plaintext peer (an older coordinator, a silent one, an HTTP client) with its version and serves on")
    func agentRefusesPlaintext() throws {
        let agent = try AgentProcess()
        // A hello of another version, in plaintext: the refusal names both versions.
        let reply = try RawClient.helloWithVersion(2, port: agent.port)
        #expect(reply.contains("version 2") && reply.contains("version \(wireProtocolVersion)"), "\(reply)")
        // A coordinator of protocol 2 says nothing first (the agent spoke first then): after a
        // second it hears the agent's hello, so it reports the mismatch itself, and the error.
        let silent = try RawClient.replies(port: agent.port, sending: [])
        #expect(silent.versions == [wireProtocolVersion], "\(silent)")
        #expect(silent.errors.first?.contains("sent nothing") == true, "\(silent)")
        let http = try RawClient.replies(port: agent.port, sending: Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(http.errors.first?.contains("does not speak TLS") == true, "\(http)")
        #expect(agent.volley.process.isRunning)
        agent.volley.signal()
        let log = agent.volley.wait(timeout: 10).stderr
        #expect(log.contains("protocol version mismatch"), "\(log)")
    }

    @Test("a coordinator meeting an agent that greets in plaintext (protocol 2) names both versions")
    func coordinatorMeetsOlderAgent() throws {
        let old = try PlaintextGreeter(hello: .hello(.init(protocolVersion: 2, role: .agent, software: "volley 0.12",
                                                            nonce: [UInt8](repeating: 7, count: 32))))
        defer { old.stop() }
        let scenario = NSTemporaryDirectory() + "old-agent-\(UUID().uuidString).yaml"
        try "target: ws://127.0.0.1:9/\nphases: [{ duration: 1s, connections: 1 }]\nsteps: [connect]\n"
            .write(toFile: scenario, atomically: true, encoding: .utf8)
        let run = try VolleyRun.run(["run", scenario, "--quiet", "--agents", "127.0.0.1:\(old.port)"], timeout: 30)
        #expect(run.status == 2)
        #expect(run.stderr.contains("protocol version 2") && run.stderr.contains("version \(wireProtocolVersion)"), "\(run.stderr)")
    }

    @Test("a wrong token fails the handshake on both sides with words naming --token-file")
    func wrongToken() throws {
        let agent = try AgentProcess(token: "right")
        let wrong = NSTemporaryDirectory() + "wrong-\(UUID().uuidString)"
        try "wrong".write(toFile: wrong, atomically: true, encoding: .utf8)
        let scenario = NSTemporaryDirectory() + "wrong-token-\(UUID().uuidString).yaml"
        try "target: ws://127.0.0.1:9/\nphases: [{ duration: 1s, connections: 1 }]\nsteps: [connect]\n"
            .write(toFile: scenario, atomically: true, encoding: .utf8)
        let run = try VolleyRun.run(["run", scenario, "--quiet", "--agents", agent.address, "--token-file", wrong], timeout: 30)
        #expect(run.status == 2)
        #expect(run.stderr.contains("authentication failed") && run.stderr.contains("--token-file"), "\(run.stderr)")
        #expect(agent.volley.process.isRunning)
        agent.volley.signal()
        let log = agent.volley.wait(timeout: 10).stderr
        #expect(log.contains("authentication failed") && log.contains("--token-file"), "\(log)")
    }
}

extension RawClient {
    /// Sends `bytes`, then reads plaintext frames until the agent closes: the hello versions
    /// and error messages it sent.
    static func replies(port: UInt16, sending bytes: [UInt8]) throws -> (versions: [UInt16], errors: [String]) {
        let fd = try connect(port)
        defer { close(fd) }
        if !bytes.isEmpty { _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
        var assembler = FrameAssembler(limit: 1 << 20)
        var buffer = [UInt8](repeating: 0, count: 4096)
        var versions: [UInt16] = [], errors: [String] = []
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { return (versions, errors) }
            buffer[0..<n].withUnsafeBytes { assembler.append($0) }
            while let payload = try assembler.next() {
                switch try WireMessage.decode(payload) {
                case let .hello(h): versions.append(h.protocolVersion)
                case let .error(_, message): errors.append(message)
                default: break
                }
            }
        }
    }
}

/// A TCP server that greets every connection with one plaintext frame, as an agent of
/// protocol 2 did, then holds the connection until the peer closes it.
final class PlaintextGreeter: @unchecked Sendable {
    let port: UInt16
    private let listener: Int32

    init(hello: WireMessage) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, size) == 0 && getsockname(listener, $0, &size) == 0 }
        }
        guard bound, listen(listener, 4) == 0 else { throw HTTPGet.Failure(description: "cannot listen") }
        port = UInt16(bigEndian: address.sin_port)
        let frame = WireFrame.encode(hello.encode())
        Thread.detachNewThread {
            while true {
                let fd = accept(listener, nil, nil)
                guard fd >= 0 else { return }
                _ = frame.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                var sink = [UInt8](repeating: 0, count: 4096)
                while recv(fd, &sink, sink.count, 0) > 0 {}
                close(fd)
            }
        }
    }

    func stop() { shutdown(listener, Int32(SHUT_RDWR)); close(listener) }
}
