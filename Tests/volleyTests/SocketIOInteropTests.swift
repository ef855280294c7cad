import Foundation
import Testing
import TestSupport

/// scenarios/socketio-chat.yaml against a real python-socketio server (PyPI, under uvicorn):
/// Engine.IO open and heartbeats, namespace connect, acknowledged events, room broadcasts
/// counted with delivery tracking, locally and across agents.
@Suite("Socket.IO interoperability (python-socketio)", .serialized, .enabled(if: InteropPython.shouldRun))
struct SocketIOInteropTests {
    static let scenario = Repository.root + "/scenarios/socketio-chat.yaml"

    func check(_ run: VolleyRun, server: SocketIOServer, users: Int) throws {
        #expect(run.passedApartFromLatency, "\(run.stdout)\n\(run.stderr)")
        let r = try run.results()
        let rooms = 5, publishers = 5, messages = 20
        // Each publisher's 20 messages reach every user of its room (users split evenly over 5 rooms).
        #expect(r.counter("delivery.expected") == Int64(users / rooms * messages * publishers))
        #expect(r.counter("delivery.missing") == 0 && r.counter("delivery.duplicated") == 0)
        #expect(r.histogram("ack", "count") as? Int == publishers * messages)
        #expect(r.counter("connections.opened") == Int64(users) && r.errorCount == 0)
        // The server pinged every second; every ping was answered by the handler, none dropped a user.
        #expect(r.counter("handlers.engineio_ping.matched") >= Int64(users), "\(r.counter("handlers.engineio_ping.matched")) pings answered")
        #expect(r.counter("handlers.replies") == r.counter("handlers.engineio_ping.matched"))
        usleep(700_000)
        let counts = try #require(server.counts)
        #expect(counts.messages == publishers * messages)
        #expect(counts.connects == users && counts.disconnects == users, "\(counts)")
    }

    @Test("5 publishers and 95 viewers in 5 rooms on one machine: heartbeats answered, acks measured, every broadcast delivered")
    func local() throws {
        let server = try SocketIOServer(pingInterval: 1)
        let run = try VolleyRun.run(["run", Self.scenario, "--quiet", "--target-host", "127.0.0.1:\(server.port)"])
        try check(run, server: server, users: 100)
    }

    @Test("the same over two agents: each group's count and every room's delivery exact")
    func acrossAgents() throws {
        let server = try SocketIOServer(pingInterval: 1)
        let agents = try (0..<2).map { _ in try AgentProcess() }
        let run = try VolleyRun.run(["run", Self.scenario, "--quiet", "--connections", "200", "--target-host", "127.0.0.1:\(server.port)",
                                     "--agents", agents.map(\.address).joined(separator: ","), "--token-file", agents[0].tokenFile])
        try check(run, server: server, users: 200)
        #expect(try run.results().agents.count == 2)
    }
}
