import Testing
@testable import Agent
import CAllocationCounter
import Net
import TestSupport
import WebSocket

/// The steady-state path of a virtual user allocates nothing per message: one frame in (read
/// into the loop's buffer, parsed and matched in place), one latency recorded, one frame out
/// (built in the loop's scratch space). Counted on the loop's thread by the test binary's
/// malloc counter, as SwiftNIO's allocation tests count.
@Suite("Allocations on the hot path")
struct AllocationTests {
    @Test("a closed-loop echo user: zero allocations per round trip in the steady state")
    func echoRoundTrip() throws {
        let h = try UserHarness("""
        target: ws://127.0.0.1:9/
        phases: [{ duration: 1h, connections: 1 }]
        steps:
          - connect
          - loop:
              - send: '{"type":"ping","n":1}'
              - expect: { json: { type: ping }, within: 10s, measure: rtt }
        """)
        h.acceptAll()
        let peer = h.peers[0]
        let reply = RawServerPeer.frame(.text, Array(#"{"type":"ping","n":1}"#.utf8))
        func roundTrips(_ n: Int) -> Int {
            var done = 0
            for _ in 0..<n {
                guard peer.nextFrame() != nil else { break }
                peer.write(reply)
                h.embedded.loop.runOnce(maximumWait: 0)
                done += 1
            }
            return done
        }
        #expect(roundTrips(200) == 200)              // warm-up: buffers, extras, dictionaries
        let before = volley_allocations_on_this_thread()
        let measured = roundTrips(2000)
        let allocations = volley_allocations_on_this_thread() - before
        #expect(measured == 2000)
        #expect(allocations == 0, "\(allocations) allocations in \(measured) round trips")
        let rtt = h.interval().histograms["rtt"]
        #expect(rtt?.totalCount == 2200)
    }

    @Test("the interval hand-off allocates nothing on the loop: the swap is a pointer exchange")
    func intervalSwap() throws {
        let h = try UserHarness("""
        target: ws://127.0.0.1:9/
        phases: [{ duration: 1h, connections: 1 }]
        steps: [connect, { sleep: 1h }]
        """)
        h.acceptAll()
        final class Count: @unchecked Sendable { var n = 0 }
        let notices = Count()
        let notice: @Sendable () -> Void = { notices.n += 1 }
        let control = try EventLoop()
        func handOff() {
            h.driver.metrics.add(.messagesSent)
            h.driver.swapMetrics(notice: notice, controlLoop: control)   // on the load loop
            control.runOnce(maximumWait: 0)                               // the control loop hears of it
        }
        for _ in 0..<10 { handOff() }                                     // warm-up: the inboxes' capacity
        let before = volley_allocations_on_this_thread()
        for _ in 0..<1000 { handOff() }
        #expect(volley_allocations_on_this_thread() - before == 0)
        #expect(notices.n == 1010)
    }
}

/// TLS record I/O: volley's client and server over a socket pair on one loop, both ends' work
/// counted. OpenSSL 3.0 itself allocates on every record: two small WPACKET structures per
/// record encrypted or decrypted (seen in gdb: `wpacket_intern_init_len`,
/// `WPACKET_start_sub_packet_len__` under `do_ssl3_write` and `tls13_enc`), and, because idle
/// connections must hold no record buffers (SSL_MODE_RELEASE_BUFFERS), its record buffer. That
/// is 3 per record operation; the test pins that volley's own code adds nothing to it.
@Suite("Allocations on the TLS path")
struct TLSAllocationTests {
    final class End: WebSocketDelegate, WebSocketRouter {
        var received = 0
        var opened = false
        let echo: Bool
        init(echo: Bool) { self.echo = echo }
        func route(_ request: HTTPRequestHead, connection: WebSocketConnection) -> ServerRoute { .upgrade(self, subprotocol: nil) }
        func webSocketDidOpen(_ connection: WebSocketConnection) { opened = true }
        func webSocket(_ connection: WebSocketConnection, didReceive payload: UnsafeRawBufferPointer, opcode: Opcode) {
            received += 1
            if echo { connection.send(opcode, payload) }
        }
        func webSocket(_ connection: WebSocketConnection, didCloseWith outcome: CloseOutcome) {}
    }

    @Test("a TLS echo round trip: volley allocates nothing; OpenSSL one buffer per record it reads or writes")
    func echoRoundTrip() throws {
        let cert = try TestCertificate()
        defer { cert.remove() }
        let loop = try EventLoop()
        let (a, b) = try Socket.pair()
        let server = End(echo: true), client = End(echo: false)
        let serverConnection = try WebSocketConnection.accept(b, peer: nil, on: loop, router: server, options: try cert.serverOptions())
        var options = ClientOptions()
        options.tls = try cert.trustingClient()
        let connection = try WebSocketConnection.connect(socket: a, connected: true, peer: nil, url: WebSocketURL("wss://localhost/")!,
                                                         on: loop, options: options, delegate: client)
        while !client.opened { loop.runOnce(maximumWait: Nanoseconds.milliseconds(10)) }
        let message = Array(#"{"type":"ping","n":1}"#.utf8)
        func roundTrips(_ n: Int) -> Int {
            let start = client.received
            for _ in 0..<n {
                let before = client.received
                message.withUnsafeBytes { _ = connection.send(text: $0) }
                while client.received == before { loop.runOnce(maximumWait: Nanoseconds.milliseconds(10)) }
            }
            return client.received - start
        }
        #expect(roundTrips(200) == 200)   // warm-up: session tickets, buffers
        let before = volley_allocations_on_this_thread()
        #expect(roundTrips(2000) == 2000)
        let allocations = volley_allocations_on_this_thread() - before
        // Per round trip, 4 record operations (the client writes and the server reads the
        // frame; the server writes and the client reads the echo), 3 OpenSSL allocations each.
        let openSSL = 2000 * 4 * 3
        #expect(allocations >= openSSL && allocations <= openSSL + 20,
                "\(allocations) allocations in 2000 TLS round trips; OpenSSL's own account for \(openSSL)")
        withExtendedLifetime(serverConnection) {}
    }
}

/// Idle wss:// connections hold no TLS record buffers: OpenSSL 3.0 would keep a 16 KiB write
/// buffer on every client that read session tickets and wrote nothing since.
@Suite("Idle TLS memory", .serialized)
struct IdleTLSMemoryTests {
    final class Client: WebSocketDelegate {
        var opened = 0
        func webSocketDidOpen(_ connection: WebSocketConnection) { opened += 1 }
        func webSocket(_ connection: WebSocketConnection, didReceive payload: UnsafeRawBufferPointer, opcode: Opcode) {}
        func webSocket(_ connection: WebSocketConnection, didCloseWith outcome: CloseOutcome) {}
    }

    @Test("300 idle wss:// client connections: heap in use per connection stays near OpenSSL's own state, without record buffers")
    func idleClients() throws {
        let cert = try TestCertificate()
        defer { cert.remove() }
        let target = try TargetProcess(certificate: cert)   // the server's memory is in another process
        let loop = try EventLoop()
        let client = Client()
        var options = ClientOptions()
        options.tls = try cert.trustingClient()
        let address = SocketAddress(ip: .v4(0x7F00_0001), port: target.port)
        let url = WebSocketURL("wss://localhost:\(target.port)/echo")!
        var connections: [WebSocketConnection] = []
        // One first, so the context's one-time state (the parsed CA, method tables) is not counted.
        connections.append(try WebSocketConnection.connect(to: address, url: url, on: loop, options: options, delegate: client))
        while client.opened < 1 { loop.runOnce(maximumWait: Nanoseconds.milliseconds(10)) }
        for _ in 0..<20 { loop.runOnce(maximumWait: Nanoseconds.milliseconds(5)) }   // its tickets
        let before = volley_heap_held_by_this_thread()   // this thread's: other tests run in parallel
        for _ in 0..<300 {
            connections.append(try WebSocketConnection.connect(to: address, url: url, on: loop, options: options, delegate: client))
        }
        let deadline = Instant.now.advanced(by: Nanoseconds.seconds(30))
        while client.opened < 301 && Instant.now < deadline { loop.runOnce(maximumWait: Nanoseconds.milliseconds(10)) }
        for _ in 0..<50 { loop.runOnce(maximumWait: Nanoseconds.milliseconds(5)) }   // late tickets
        #expect(client.opened == 301)
        let perConnection = Double(volley_heap_held_by_this_thread() - before) / 300
        // OpenSSL 3.0's state after a full handshake is ≈ 17.5 KiB (the SSL object, two AES-GCM
        // contexts, the session with its ticket and certificate); a record buffer would add 16 KiB.
        #expect(perConnection < 24 * 1024, "\(Int(perConnection)) bytes of heap per idle wss:// connection")
        for c in connections { c.abort() }
    }
}
