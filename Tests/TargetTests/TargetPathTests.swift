import Foundation
import JSON
import Net
import Testing
import TestSupport
import WebSocket

/// Every path of `volley target`, exercised over real sockets against the real binary.
@Suite("volley target paths", .serialized)
struct TargetPathTests {
    @Test("/ and /echo return every message as sent, text and binary, small and large")
    func echo() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        for path in ["/", "/echo"] {
            let ws = try BlockingWebSocket(target.url(path))
            ws.send("hello")
            #expect(try ws.receiveText() == "hello")
            let big = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            ws.send(binary: big)
            let reply = try ws.receive()
            #expect(reply.opcode == .binary && reply.bytes == big)
            try ws.close()
            #expect(ws.outcome == .closed(initiatedLocally: true, code: 1000, reason: ""))
        }
    }

    @Test("/rooms/NAME broadcasts to every member of that room only")
    func rooms() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        let a = try (0..<3).map { _ in try BlockingWebSocket(target.url("/rooms/alpha")) }
        let b = try BlockingWebSocket(target.url("/rooms/beta"))
        a[1].send("to alpha")
        for member in a { #expect(try member.receiveText() == "to alpha") }
        try b.expectSilence(for: 0.2)
    }

    @Test("/chat announces joins, messages and departures as {\"message\": ...}")
    func chat() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        let alice = try BlockingWebSocket(target.url("/chat?name=alice"))
        #expect(try message(alice) == "alice has connected")
        let bob = try BlockingWebSocket(target.url("/chat?name=bob"))
        #expect(try message(alice) == "bob has connected")
        #expect(try message(bob) == "bob has connected")
        alice.send("hi \"bob\"")
        #expect(try message(alice) == "alice: hi \"bob\"")
        #expect(try message(bob) == "alice: hi \"bob\"")
        try bob.close()
        #expect(try message(alice) == "bob has disconnected")
    }

    private func message(_ ws: BlockingWebSocket) throws -> String? {
        try JSONParser.parse(ws.receiveText())["message"]?.stringValue
    }

    @Test("/delay?ms=N echoes after N milliseconds; a bad N is a 400")
    func delay() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        let ws = try BlockingWebSocket(target.url("/delay?ms=150"))
        let start = Instant.now
        ws.send("later")
        #expect(try ws.receiveText() == "later")
        #expect(start.nanoseconds(to: .now) >= Nanoseconds.milliseconds(150))
        guard case let .handshakeFailed(.unexpectedStatus(status, _, body))? = try BlockingWebSocket.attempt(target.url("/delay?ms=abc")) else {
            Issue.record("expected a 400 for /delay?ms=abc")
            return
        }
        #expect(status == 400 && body.contains("ms=N"))
    }

    @Test("/counter pushes 1, 2, 3, ... every 100 ms")
    func counter() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        let ws = try BlockingWebSocket(target.url("/counter"))
        let start = Instant.now
        var values: [Int64] = []
        for _ in 0..<4 { values.append(try JSONParser.parse(ws.receiveText())["counter"]?.intValue ?? -1) }
        #expect(values == [1, 2, 3, 4])
        #expect(start.nanoseconds(to: .now) >= Nanoseconds.milliseconds(350))
    }

    @Test("/state: increments reach every client, which all converge on the total")
    func state() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        let clients = try (0..<4).map { _ in try BlockingWebSocket(target.url("/state")) }
        for c in clients { #expect(try value(c.receiveText()) == 0) }
        for c in clients { c.send("{\"op\":\"increment\"}") }
        for c in clients {
            var last: Int64 = 0
            while last < 4 { last = try value(c.receiveText()) }
            #expect(last == 4)
        }
        clients[0].send("{\"op\":\"get\"}")
        #expect(try value(clients[0].receiveText()) == 4)
        clients[1].send("{\"op\":\"nonsense\"}")
        #expect(try clients[1].receiveText().contains("error"))
    }

    private func value(_ text: String) throws -> Int64 {
        try JSONParser.parse(text)["value"]?.intValue ?? -1
    }

    @Test("/private?user=ID delivers {\"to\": ID} messages to that user only")
    func privateMessages() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        let u1 = try BlockingWebSocket(target.url("/private?user=u1"))
        let u2 = try BlockingWebSocket(target.url("/private?user=u2"))
        let u3 = try BlockingWebSocket(target.url("/private?user=u3"))
        u1.send("{\"to\":\"u2\",\"text\":\"psst\"}")
        #expect(try u2.receiveText() == "{\"to\":\"u2\",\"text\":\"psst\"}")
        try u1.expectSilence(for: 0.1)
        try u3.expectSilence(for: 0.1)
        u1.send("{\"text\":\"no recipient\"}")
        #expect(try u1.receiveText().contains("error"))
    }

    @Test("/health and /metrics answer plain HTTP with live figures; unknown paths are 404")
    func healthAndMetrics() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        let ws = try BlockingWebSocket(target.url("/echo"))
        for i in 0..<5 { ws.send("m\(i)"); _ = try ws.receiveText() }
        let health = try HTTPGet.get(port: target.port, path: "/health")
        #expect(health.status == 200)
        let json = try JSONParser.parse(health.body)
        #expect(json["status"]?.stringValue == "ok")
        #expect(json["connections"]?.intValue == 1)
        let metrics = try HTTPGet.get(port: target.port, path: "/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.body.contains("volley_target_connections 1"))
        #expect(metrics.body.contains("volley_target_messages_received_total 5"))
        #expect(metrics.body.contains("volley_target_messages_sent_total 5"))
        #expect(try HTTPGet.get(port: target.port, path: "/nowhere").status == 404)
        guard case let .handshakeFailed(.unexpectedStatus(status, _, body))? = try BlockingWebSocket.attempt(target.url("/nowhere")) else {
            Issue.record("expected a 404 handshake failure")
            return
        }
        #expect(status == 404 && body.contains("no such path /nowhere"))
    }

    @Test("SIGTERM closes every WebSocket with 1001 and exits cleanly")
    func gracefulShutdown() throws {
        let target = try TargetProcess()
        let ws = try BlockingWebSocket(target.url("/echo"))
        target.volley.signal(SIGTERM)
        let outcome = try ws.waitForClose()
        #expect(outcome == .closed(initiatedLocally: false, code: 1001, reason: "server shutting down"))
        #expect(target.volley.wait(timeout: 10).status == 0)
    }
}

/// Several worker processes behave as one server: broadcasts, private messages, the shared
/// counter and the metrics span every worker.
@Suite("volley target with several workers", .serialized)
struct TargetWorkersTests {
    @Test("rooms, chat, private messages and /state span all workers; metrics are totals")
    func crossWorker() throws {
        let target = try TargetProcess(workers: 3)
        defer { target.stop() }
        // Enough connections that SO_REUSEPORT spreads them over every worker.
        let room = try (0..<12).map { _ in try BlockingWebSocket(target.url("/rooms/shared")) }
        room[0].send("everyone")
        for member in room { #expect(try member.receiveText() == "everyone") }

        let users = try (0..<8).map { try BlockingWebSocket(target.url("/private?user=p\($0)")) }
        users[0].send("{\"to\":\"p7\",\"n\":1}")
        #expect(try users[7].receiveText() == "{\"to\":\"p7\",\"n\":1}")
        for u in users[1..<7] { try u.expectSilence(for: 0.05) }

        let state = try (0..<9).map { _ in try BlockingWebSocket(target.url("/state")) }
        for c in state { _ = try c.receiveText() }
        for c in state { c.send("{\"op\":\"increment\"}") }
        for c in state {
            var last: Int64 = 0
            while last < 9 { last = try JSONParser.parse(c.receiveText())["value"]?.intValue ?? -1 }
            #expect(last == 9)
        }
        usleep(600_000)   // counters reach the hub every 200 ms and come back summed
        let metrics = try HTTPGet.get(port: target.port, path: "/metrics").body
        #expect(metrics.contains("volley_target_connections 29"))
        #expect(metrics.contains("volley_target_workers 3"))
    }
}
