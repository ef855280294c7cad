import Foundation
import Testing
import TestSupport

/// The cluster as on separate hosts: four agents and a target in their own network namespaces
/// (deploy/netns-cluster.sh), the coordinator in the root namespace. Needs root.
@Suite("Several hosts (network namespaces)", .serialized,
       .enabled(if: NetnsCluster.unavailableReason == nil, Comment(rawValue: NetnsCluster.unavailableReason ?? "")))
struct MultiHostTests {
    static let scenarios = Repository.root + "/scenarios"

    @Test("12,000 connections across 4 agent hosts collide at barriers; every collision scenario's merged counts are complete")
    func collisionsAcrossHosts() throws {
        let cluster = try NetnsCluster(agents: 4, workers: 2)
        defer { cluster.down() }
        func run(_ name: String, _ extra: [String] = []) throws -> RunResultsFile {
            let run = try cluster.run(Self.scenarios + "/\(name).yaml", extra)
            #expect(run.passedApartFromLatency, "\(name): \(run.stderr)")
            return try run.results()
        }
        let echo = try run("collision-echo", ["--connections", "12000"])
        CollisionChecks.collisionEcho(echo, users: 12_000, agents: 4)
        #expect(echo.gauge("connections.open") == 12_000)
        #expect(echo.agents.count == 4)
        for agent in echo.agents {
            let sent = (((agent["totals"] as? [String: Any])?["counters"] as? [String: Any])?["messages.sent"] as? NSNumber)?.int64Value
            #expect(sent == 9_000, "each agent host holds 3000 users, 3 bursts each")
        }
        #expect(echo.startSpreadMicros != nil)

        CollisionChecks.reconnectRace(try run("reconnect-race", ["--connections", "2000"]), users: 2000, agents: 4)
        // Two target workers relay the room between them: receivers on different workers may
        // see different orders, so only completeness is exact here.
        CollisionChecks.broadcastOrder(try run("broadcast-order"), users: 200, agents: 4, orderingPoints: 2)
        // Every increment is pushed to every client (n² messages): kept at its bundled size.
        CollisionChecks.stateConvergence(try run("state-convergence"), users: 300, agents: 4)
        CollisionChecks.privateCollision(try run("private-collision"), users: 1000, agents: 4)
    }

    @Test("wss:// across the namespace hosts: 2,000 connections verified against the target's certificate for its address")
    func secureAcrossHosts() throws {
        let cluster = try NetnsCluster(agents: 2, workers: 2, tls: true)
        defer { cluster.down() }
        let ca = try #require(cluster.targetCertificate)
        let scenario = NSTemporaryDirectory() + "volley-wss-\(UUID().uuidString).yaml"
        try """
        name: wss-hosts
        target: wss://placeholder:1/echo
        model: open
        phases:
          - { name: steady, duration: 10s, connections: 2000, rate: 2/s }
        steps:
          - connect
          - loop:
              - send: '{"type":"ping","seq":{{seq}}}'
              - expect: { json: { type: ping, seq: "{{seq}}" }, within: 3s, measure: rtt }
        thresholds:
          - connect_success == 100%
          - error_rate == 0
        """.write(toFile: scenario, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: scenario) }
        let run = try cluster.run(scenario, ["--tls-ca", ca])
        #expect(run.passedApartFromLatency, "\(run.stdout)\n\(run.stderr)")
        let results = try run.results()
        #expect(results.counter("tls.handshakes") == 2000 && results.counter("connections.opened") == 2000)
        #expect(results.errorCount == 0)
        #expect(results.counter("messages.received") == results.counter("messages.sent"))
        #expect(results.agents.count == 2)
    }
}
