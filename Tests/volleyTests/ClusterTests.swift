import Foundation
import Testing
import Net
import Stats
import TestSupport
import WireProtocol

/// Real processes on loopback: a target, agents and a coordinator, as users run them.
@Suite("Cluster runs", .serialized)
struct ClusterTests {
    static let scenarios = Repository.root + "/scenarios"

    func writeScenario(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "cluster-\(UUID().uuidString).yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func cluster(_ scenario: String, agents: [AgentProcess], target: TargetProcess, path: String = "/echo",
                 extra: [String] = [], timeout: Double = 120) throws -> VolleyRun {
        try VolleyRun.run(["run", scenario, "--quiet", "--target", target.url(path), "--agents",
                           agents.map(\.address).joined(separator: ","), "--token-file", agents[0].tokenFile] + extra, timeout: timeout)
    }

    @Test("three agents: merged totals are the sums, merged percentiles are those of one histogram of everything")
    func mergedEqualsSum() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        let agents = try (0..<3).map { _ in try AgentProcess() }
        let run = try cluster(Self.scenarios + "/echo-open.yaml", agents: agents, target: target)
        #expect(run.passedApartFromLatency, "\(run.stderr)")
        let r = try run.results()
        #expect(r.agents.count == 3)
        for counter in ["messages.sent", "messages.received", "connections.opened", "bytes.sent"] {
            let sum = r.agents.reduce(Int64(0)) { total, agent in
                total + ((((agent["totals"] as? [String: Any])?["counters"] as? [String: Any])?[counter] as? NSNumber)?.int64Value ?? 0)
            }
            #expect(sum == r.counter(counter), "\(counter)")
            #expect(sum > 0, "\(counter)")
        }
        // Decode each agent's rtt histogram, merge them here, compare with the coordinator's.
        var mergedHere = HDRHistogram()
        for agent in r.agents {
            let encoded = (((agent["totals"] as? [String: Any])?["histograms"] as? [String: Any])?["rtt"] as? [String: Any])?["hdr"] as? String
            mergedHere.merge(try HDRHistogram(v2Base64: try #require(encoded)))
        }
        let total = try HDRHistogram(v2Base64: try #require(r.histogram("rtt", "hdr") as? String))
        #expect(mergedHere == total)
        for p in [50.0, 90, 99, 99.9] { #expect(mergedHere.value(atPercentile: p) == total.value(atPercentile: p)) }
        #expect(total.totalCount > 30_000)
    }

    @Test("the collision scenarios on three agents: barriers release everyone everywhere; counts are complete and converge")
    func collisionScenarios() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        let agents = try (0..<3).map { _ in try AgentProcess() }
        func run(_ name: String, connections: Int? = nil) throws -> RunResultsFile {
            var extra = ["--target-host", "127.0.0.1:\(target.port)"]
            if let connections { extra += ["--connections", "\(connections)"] }
            let run = try VolleyRun.run(["run", Self.scenarios + "/\(name).yaml", "--quiet", "--agents", agents.map(\.address).joined(separator: ","),
                                         "--token-file", agents[0].tokenFile] + extra)
            #expect(run.passedApartFromLatency, "\(name): \(run.stderr)")
            return try run.results()
        }
        CollisionChecks.collisionEcho(try run("collision-echo", connections: 600), users: 600, agents: 3)
        CollisionChecks.reconnectRace(try run("reconnect-race", connections: 300), users: 300, agents: 3)
        CollisionChecks.broadcastOrder(try run("broadcast-order", connections: 90), users: 90, agents: 3)
        CollisionChecks.stateConvergence(try run("state-convergence"), users: 300, agents: 3)
        CollisionChecks.privateCollision(try run("private-collision"), users: 1000, agents: 3)
    }

    @Test("5 publishers and 295 viewers over three agents: each group's count exact across agents, delivery complete, latency per group")
    func publishersAndViewers() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        let agents = try (0..<3).map { _ in try AgentProcess() }
        let run = try VolleyRun.run(["run", Self.scenarios + "/publishers-viewers.yaml", "--quiet", "--connections", "300",
                                     "--target-host", "127.0.0.1:\(target.port)", "--agents", agents.map(\.address).joined(separator: ","),
                                     "--token-file", agents[0].tokenFile])
        #expect(run.passedApartFromLatency, "\(run.stdout)\n\(run.stderr)")
        let r = try run.results()
        // Only the 5 publishers send (20 each), however the agents split them; everyone receives all.
        #expect(r.counter("messages.sent") == 100)
        #expect(r.counter("messages.received") == 300 * 100)
        #expect(r.counter("delivery.expected") == 300 * 100 && r.counter("delivery.missing") == 0)
        #expect(r.histogram("delivery@publishers", "count") as? Int == 5 * 100)
        #expect(r.histogram("delivery@viewers", "count") as? Int == 295 * 100)
        #expect(r.histogram("delivery", "count") as? Int == 300 * 100)
        #expect(r.agents.count == 3 && r.errorCount == 0)
        #expect(run.stdout.contains("delivery@viewers"))
    }

    @Test("an agent killed with SIGKILL mid-run is reported lost; the run finishes with the others and fails: its load was not delivered")
    func agentKilled() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        let agents = try (0..<3).map { _ in try AgentProcess() }
        let dir = NSTemporaryDirectory() + "lost-\(UUID().uuidString)"
        let coordinator = try VolleyProcess(["run", Self.scenarios + "/soak-short.yaml", "--quiet", "--target", target.url("/echo"),
                                             "--agents", agents.map(\.address).joined(separator: ","),
                                             "--token-file", agents[0].tokenFile, "--out", dir])
        usleep(5_000_000)
        agents[1].kill()
        let result = coordinator.wait(timeout: 60)
        let r = try RunResultsFile(path: dir + "/results.json")
        #expect(result.status == 1, "\(result.stderr)")
        #expect(r.verdict == "failed" && r.verdictReason.contains("1 agent lost"), "\(r.verdictReason)")
        #expect(result.stderr.contains("lost at"))
        let lost = r.agents.filter { ($0["lost"] as? Bool) == true }
        #expect(lost.count == 1)
        let lostAt = (lost.first?["lost_at_seconds"] as? NSNumber)?.doubleValue ?? 0
        #expect(lostAt > 3 && lostAt < 10)
        // What it reported before dying is kept.
        let lostSent = (((lost.first?["totals"] as? [String: Any])?["counters"] as? [String: Any])?["messages.sent"] as? NSNumber)?.int64Value ?? 0
        #expect(lostSent > 0)
        #expect(r.status == "completed")
    }

    @Test("a killed coordinator: every agent stops its load within the lease")
    func coordinatorKilled() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        let agents = try (0..<2).map { _ in try AgentProcess() }
        let coordinator = try VolleyProcess(["run", Self.scenarios + "/soak-short.yaml", "--quiet", "--target", target.url("/echo"),
                                             "--agents", agents.map(\.address).joined(separator: ","),
                                             "--token-file", agents[0].tokenFile, "--lease", "2s",
                                             "--out", NSTemporaryDirectory() + "ck-\(UUID().uuidString)"])
        // Wait until the load is on.
        var open = 0
        for _ in 0..<100 where open < 200 {
            usleep(100_000)
            open = connections(target)
        }
        #expect(open == 200)
        coordinator.signal(SIGKILL)
        coordinator.wait(timeout: 5)
        let killed = Date()
        while connections(target) > 0 && Date().timeIntervalSince(killed) < 10 { usleep(100_000) }
        #expect(connections(target) == 0)
        #expect(Date().timeIntervalSince(killed) < 2 + 2)   // the lease, plus the close handshakes
        for agent in agents { #expect(agent.volley.process.isRunning) }
    }

    func connections(_ target: TargetProcess) -> Int {
        guard let body = try? HTTPGet.get(port: target.port, path: "/metrics").body,
              let line = body.split(separator: "\n").first(where: { $0.hasPrefix("volley_target_connections ") }) else { return -1 }
        return Int(line.split(separator: " ").last!) ?? -1
    }

    @Test("a wrong token and random bytes are rejected; the agent still serves the next valid run")
    func badClients() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        let agent = try AgentProcess()
        // Random bytes.
        try RawClient.send(port: agent.port, bytes: (0..<3000).map { _ in UInt8.random(in: 0...255) })
        // A wrong token.
        let wrong = NSTemporaryDirectory() + "wrong-\(UUID().uuidString)"
        try "not-the-token".write(toFile: wrong, atomically: true, encoding: .utf8)
        let rejected = try VolleyRun.run(["run", Self.scenarios + "/chat.yaml", "--quiet", "--agents", agent.address, "--token-file", wrong,
                                          "--target", target.url("/chat?name=user{{vu}}")])
        #expect(rejected.status == 2)
        #expect(rejected.stderr.contains("authentication failed"), "\(rejected.stderr)")
        // A protocol version this agent does not speak: the error names both versions.
        let reply = try RawClient.helloWithVersion(99, port: agent.port)
        #expect(reply.contains("version 99") && reply.contains("version \(wireProtocolVersion)"), "\(reply)")
        // And a valid run afterwards.
        let ok = try cluster(Self.scenarios + "/chat.yaml", agents: [agent], target: target, path: "/chat?name=user{{vu}}")
        #expect(ok.passedApartFromLatency, "\(ok.stderr)")
        #expect(try ok.results().counter("messages.sent") == 100)
        #expect(agent.volley.process.isRunning)
    }

    @Test("a target outside --allow-target is refused before any connection, naming the target and the flag")
    func disallowedTarget() throws {
        let agent = try AgentProcess()
        let scenario = try writeScenario("""
        target: ws://10.255.255.1:9/echo
        phases:
          - { duration: 2s, connections: 5 }
        steps: [connect]
        """)
        let run = try VolleyRun.run(["run", scenario, "--quiet", "--agents", agent.address, "--token-file", agent.tokenFile])
        #expect(run.status == 2)
        #expect(run.stderr.contains("ws://10.255.255.1:9/echo") && run.stderr.contains("--allow-target"), "\(run.stderr)")
    }

    @Test("the coordinator's clock offset estimate finds an agent's shifted clock within 100 µs")
    func clockOffset() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        let shifted = try AgentProcess(environment: ["VOLLEY_TEST_CLOCK_OFFSET_US": "250000"])
        let plain = try AgentProcess(token: "test-token")
        let run = try cluster(Self.scenarios + "/chat.yaml", agents: [shifted, plain], target: target, path: "/chat?name=user{{vu}}")
        #expect(run.passedApartFromLatency, "\(run.stderr)")
        let r = try run.results()
        let offsets = r.agents.map { ($0["clock_offset_us"] as? NSNumber)?.doubleValue ?? .nan }
        #expect(abs(offsets[0] - 250_000) <= 100, "estimated \(offsets[0]) µs for a 250000 µs shift")
        #expect(abs(offsets[1]) <= 100, "estimated \(offsets[1]) µs for an unshifted clock")
        // With the offset corrected, the chat still works across the two agents' users.
        #expect(r.errorCount == 0)
    }
}

/// A raw TCP client speaking (or not) the wire protocol, for abuse tests.
enum RawClient {
    static func connect(_ port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw HTTPGet.Failure(description: "connect failed") }
        return fd
    }

    static func send(port: UInt16, bytes: [UInt8]) throws {
        let fd = try connect(port)
        defer { close(fd) }
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var sink = [UInt8](repeating: 0, count: 4096)
        while recv(fd, &sink, sink.count, 0) > 0 {}
    }

    /// Says hello with `version` and returns the agent's error message.
    static func helloWithVersion(_ version: UInt16, port: UInt16) throws -> String {
        let fd = try connect(port)
        defer { close(fd) }
        let hello = WireMessage.hello(.init(protocolVersion: version, role: .coordinator, software: "test", nonce: [UInt8](repeating: 1, count: 32)))
        _ = WireFrame.encode(hello.encode()).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var assembler = FrameAssembler(limit: 1 << 20)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { return "" }
            buffer[0..<n].withUnsafeBytes { assembler.append($0) }
            while let payload = try assembler.next() {
                if case let .error(_, message) = try WireMessage.decode(payload) { return message }
            }
        }
    }
}
