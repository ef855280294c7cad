import Foundation
import Net
import Testing
import TestSupport
import WebSocket

/// wss:// on volley's own client and server: the non-blocking handshake on the event loop,
/// records in both directions, verification failures by class, resumption, and peers that do
/// not speak TLS.
@Suite("TLS (wss://)")
struct TLSTests {
    @Test("echo over TLS 1.3 with a private CA: small and multi-record messages arrive intact")
    func echo() throws {
        let cert = try TestCertificate()
        defer { cert.remove() }
        let server = try EchoServer(options: try cert.serverOptions())
        let ws = try BlockingWebSocket("wss://localhost:\(server.port)/echo", tls: try cert.trustingClient())
        #expect(ws.tlsDescription?.hasPrefix("TLSv1.3") == true)
        #expect(ws.secured?.resumed == false)
        for size in [0, 1, 125, 126, 16_000, 16_384, 70_000, 300_000] {
            let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            ws.send(binary: payload)
            let echoed = try ws.receive()
            #expect(echoed.bytes == payload, "size \(size)")
        }
        for i in 0..<200 { ws.send("message \(i)") }
        for i in 0..<200 { #expect(try ws.receiveText() == "message \(i)") }
        try ws.close()
        #expect(ws.outcome == .closed(initiatedLocally: true, code: CloseCode.normal, reason: ""))
        #expect(server.secured.handshakes == 1)
    }

    @Test("a certificate no trusted CA signed fails verification, named as such")
    func unknownCA() throws {
        let cert = try TestCertificate()
        defer { cert.remove() }
        let server = try EchoServer(options: try cert.serverOptions())
        let systemRoots = ClientTLS(context: try TLSContext(client: TLSContext.ClientOptions()))
        let outcome = try BlockingWebSocket.attempt("wss://localhost:\(server.port)/", tls: systemRoots)
        guard case let .tlsFailed(error)? = outcome else { Issue.record("expected a TLS failure, got \(String(describing: outcome))"); return }
        #expect(error.kind == .verifyFailed)
        #expect(error.reason.contains("self-signed") || error.reason.contains("self signed"), "\(error.reason)")
    }

    @Test("a certificate for another host name fails verification: hostname mismatch")
    func wrongHost() throws {
        let cert = try TestCertificate(name: "localhost")
        defer { cert.remove() }
        let server = try EchoServer(options: try cert.serverOptions())
        let outcome = try BlockingWebSocket.attempt("wss://127.0.0.1:\(server.port)/", tls: try cert.trustingClient(serverName: "chat.example.com"))
        guard case let .tlsFailed(error)? = outcome else { Issue.record("expected a TLS failure, got \(String(describing: outcome))"); return }
        #expect(error.kind == .verifyFailed)
        #expect(error.reason.contains("hostname mismatch"), "\(error.reason)")
        // The same certificate by its IP address (in its subjectAltName) verifies.
        #expect(try BlockingWebSocket.attempt("wss://127.0.0.1:\(server.port)/", tls: try cert.trustingClient()) == nil)
    }

    @Test("an expired certificate fails verification: certificate has expired")
    func expired() throws {
        let cert = try TestCertificate(validity: -7 * 86400 ... -86400)
        defer { cert.remove() }
        let server = try EchoServer(options: try cert.serverOptions())
        let outcome = try BlockingWebSocket.attempt("wss://localhost:\(server.port)/", tls: try cert.trustingClient())
        guard case let .tlsFailed(error)? = outcome else { Issue.record("expected a TLS failure, got \(String(describing: outcome))"); return }
        #expect(error.kind == .verifyFailed)
        #expect(error.reason.contains("expired"), "\(error.reason)")
    }

    @Test("insecure skips verification: an unknown, expired certificate connects")
    func insecure() throws {
        let cert = try TestCertificate(validity: -7 * 86400 ... -86400)
        defer { cert.remove() }
        let server = try EchoServer(options: try cert.serverOptions())
        var options = TLSContext.ClientOptions()
        options.verify = false
        let ws = try BlockingWebSocket("wss://localhost:\(server.port)/", tls: ClientTLS(context: try TLSContext(client: options)))
        ws.send("hello")
        #expect(try ws.receiveText() == "hello")
    }

    @Test("a session from a cleanly closed connection resumes the next handshake; none, a full one")
    func resumption() throws {
        let cert = try TestCertificate()
        defer { cert.remove() }
        let server = try EchoServer(options: try cert.serverOptions())
        let tls = try cert.trustingClient()
        let url = "wss://localhost:\(server.port)/"
        let first = try BlockingWebSocket(url, tls: tls)
        first.send("ticket please")
        _ = try first.receiveText()    // TLS 1.3 tickets arrive after the handshake
        try first.close()
        let session = try #require(first.session)
        var resuming = tls
        resuming.session = session
        let second = try BlockingWebSocket(url, tls: resuming)
        #expect(second.secured?.resumed == true)
        try second.close()
        let third = try BlockingWebSocket(url, tls: tls)
        #expect(third.secured?.resumed == false)
        try third.close()
        #expect(server.secured.handshakes == 3)
        #expect(server.secured.resumed == 1)
    }

    @Test("a TLS client meeting a plain server fails its handshake with a TLS error, promptly")
    func tlsToPlain() throws {
        let cert = try TestCertificate()
        defer { cert.remove() }
        let server = try EchoServer()
        let started = Instant.now
        let outcome = try BlockingWebSocket.attempt("wss://localhost:\(server.port)/", tls: try cert.trustingClient())
        guard case let .tlsFailed(error)? = outcome else { Issue.record("expected a TLS failure, got \(String(describing: outcome))"); return }
        #expect(error.kind == .handshake || error.kind == .closedDuringHandshake, "\(error)")
        #expect(started.nanoseconds(to: Instant.now) < Nanoseconds.seconds(4))
    }

    @Test("a plain client meeting a TLS server is refused; the server counts a TLS handshake failure and serves on")
    func plainToTLS() throws {
        let cert = try TestCertificate()
        defer { cert.remove() }
        let server = try EchoServer(options: try cert.serverOptions())
        let outcome = try BlockingWebSocket.attempt("ws://localhost:\(server.port)/", timeout: 5)
        #expect(outcome != nil)
        let deadline = Instant.now.advanced(by: Nanoseconds.seconds(3))
        while server.outcomes.isEmpty && Instant.now < deadline { usleep(10_000) }
        guard case let .tlsFailed(error)? = server.outcomes.first else {
            Issue.record("expected the server to count a TLS failure, got \(server.outcomes)")
            return
        }
        #expect(error.kind == .handshake, "\(error)")
        let ws = try BlockingWebSocket("wss://localhost:\(server.port)/", tls: try cert.trustingClient())
        ws.send("still serving")
        #expect(try ws.receiveText() == "still serving")
    }

    @Test("a server that accepts TCP and never answers the TLS handshake times out as errors.tls.timeout")
    func handshakeTimeout() throws {
        let cert = try TestCertificate()
        defer { cert.remove() }
        let listener = try Socket.listen(on: SocketAddress(ip: .v4(0x7F00_0001), port: 0))
        defer { listener.close() }
        let port = listener.localAddress!.port
        let loop = try EventLoop()
        final class Ends: WebSocketDelegate {
            var outcome: CloseOutcome?
            func webSocketDidOpen(_ connection: WebSocketConnection) {}
            func webSocket(_ connection: WebSocketConnection, didReceive payload: UnsafeRawBufferPointer, opcode: Opcode) {}
            func webSocket(_ connection: WebSocketConnection, didCloseWith outcome: CloseOutcome) { self.outcome = outcome }
        }
        let ends = Ends()
        var options = ClientOptions()
        options.tls = try cert.trustingClient()
        options.openTimeout = Nanoseconds.milliseconds(300)
        let connection = try WebSocketConnection.connect(to: SocketAddress(ip: .v4(0x7F00_0001), port: port),
                                                         url: WebSocketURL("wss://localhost:\(port)/")!, on: loop, options: options, delegate: ends)
        let deadline = Instant.now.advanced(by: Nanoseconds.seconds(5))
        while ends.outcome == nil && Instant.now < deadline { loop.runOnce(maximumWait: Nanoseconds.milliseconds(10)) }
        guard case let .tlsFailed(error)? = ends.outcome else { Issue.record("expected a TLS timeout, got \(String(describing: ends.outcome))"); return }
        #expect(error.kind == .timeout)
        #expect(connection.phase == .closed)
    }
}
