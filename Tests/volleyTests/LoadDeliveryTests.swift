import Foundation
import Testing
import TestSupport

/// The verdict judges the load itself: an agent driven past what it can generate is flagged
/// generator-limited and fails on its shortfall; agents closing thousands of connections at once
/// stay in touch with the coordinator.
@Suite("Delivered load and the generator's own limits", .serialized)
struct LoadDeliveryTests {
    static func scenario(_ body: String) throws -> String {
        let path = NSTemporaryDirectory() + "load-\(UUID().uuidString).yaml"
        try body.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func overload(_ target: TargetProcess, policy: String) throws -> String {
        try scenario("""
        name: overload
        target: \(target.url("/echo"))
        model: open
        phases: [{ duration: 4s, connections: 1000, rate: 500/s }]
        options: { drain: 0s, generator_limited: \(policy) }
        steps:
          - connect
          - loop:
              - send: x
        """)
    }

    @Test("one loop asked for 500,000 messages a second: every second is generator-limited, the shortfall fails the run")
    func overloadedAgent() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        let run = try VolleyRun.run(["run", try Self.overload(target, policy: "warn"), "--quiet", "--loops", "1"])
        let r = try run.results()
        let limited = (r.root["generator"] as? [String: Any])?["limited_seconds"] as? [Int] ?? []
        #expect(limited.count >= 3, "\(r.root["generator"] ?? "")")
        #expect(run.status == 1 && r.verdict == "failed")
        #expect(r.verdictFailures.contains { $0.contains("delivered") && $0.contains("planned load") }, "\(r.verdictFailures)")
        #expect(r.verdictReason.contains("warning: the load generator was saturated"))
        #expect(run.stdout.contains("! generator-limited in"))
        let phase = (r.root["phases"] as? [[String: Any]])?.first?["delivery"] as? [String: Any]
        #expect(((phase?["message_shortfall"] as? NSNumber)?.doubleValue ?? 0) > 0.2)
        #expect(r.intervals.contains { (($0["histograms"] as? [String: Any])?["generator_lag"] as? [String: Any])?["p99_us"] as? Int ?? 0 > 10_000 })
    }

    @Test("replies still awaited when the run ends are counted, beside sent and received; each loop's CPU is reported")
    func unansweredAtEnd() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        let path = try Self.scenario("""
        name: stalled
        target: \(target.url("/delay?ms=4000"))
        model: open
        phases: [{ duration: 2s, connections: 20, rate: 5/s }]
        options: { drain: 500ms }
        steps:
          - connect
          - loop:
              - send: 'ping {{seq}}'
              - expect: { contains: 'ping {{seq}}', within: 10s, measure: rtt }
        thresholds:
          - expect_unanswered == 0
        """)
        let run = try VolleyRun.run(["run", path, "--quiet", "--loops", "2"])
        let r = try run.results()
        let sent = r.counter("messages.sent"), received = r.counter("messages.received")
        #expect(sent > 100 && received == 0)
        #expect(r.counter("expect.unanswered") == sent, "every reply was still awaited")
        #expect(run.status == 1 && r.failedThresholds == ["expect_unanswered == 0"])
        #expect(run.stdout.contains("\(sent) replies still awaited when the users stopped"))
        #expect(r.counter("generator.loop_cpu_ms") >= r.counter("generator.loop_cpu_ms.0"))
    }

    @Test("generator_limited: fail makes saturation itself a failure")
    func saturationFails() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        let run = try VolleyRun.run(["run", try Self.overload(target, policy: "fail"), "--quiet", "--loops", "1"])
        let r = try run.results()
        #expect(run.status == 1 && r.verdictFailures.contains { $0.contains("generator-limited") }, "\(r.verdictFailures)")
    }

    @Test("two agents closing 3,000 connections each at once stay live: none is lost, the load was delivered, the run passes")
    func massCloseStaysLive() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        let agents = try (0..<2).map { _ in try AgentProcess() }
        let path = try Self.scenario("""
        name: mass-close
        target: \(target.url("/echo"))
        phases: [{ duration: 6s, connections: 6000 }]
        options: { drain: 0s }
        steps: [connect, { sleep: 1h }]
        thresholds:
          - connect_success > 99%
        """)
        let run = try VolleyRun.run(["run", path, "--quiet", "--agents", agents.map(\.address).joined(separator: ","),
                                     "--token-file", agents[0].tokenFile], timeout: 90)
        let r = try run.results()
        #expect(r.agents.allSatisfy { ($0["lost"] as? Bool) == false }, "\(run.stderr)")
        #expect(r.gauge("connections.peak") == 6000)
        #expect(run.status == 0, "\(r.verdictReason)")
    }
}
