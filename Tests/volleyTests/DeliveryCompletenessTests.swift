import Foundation
import Testing
import TestSupport

/// Delivery completeness against a target that drops deliveries on purpose: volley's missing
/// count must equal what the target dropped, exactly, locally and across agents.
@Suite("Delivery completeness against a lossy target", .serialized)
struct DeliveryCompletenessTests {
    static let scenarios = Repository.root + "/scenarios"

    /// Ten users in one room; the feeder gives user 0, 4 and 8 `mute=1` (every message of theirs
    /// is dropped: senders never heard from), users 1, 5, 9 `drop_after=5` (the last five of
    /// their ten are dropped: tail losses), users 2 and 6 `drop_every=7` (every 7th message to
    /// them is dropped).
    static func scenario(target: TargetProcess) throws -> String {
        let dir = NSTemporaryDirectory() + "lossy-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "params\nmute=1\ndrop_after=5\ndrop_every=7\nx=0\n".write(toFile: dir + "/users.csv", atomically: true, encoding: .utf8)
        try """
        name: lossy-rooms
        target: "\(target.url("/rooms/lossy"))?{{user.params}}"
        feeder: users.csv
        model: closed
        delivery: { sender: from, sequence: seq }
        phases: [{ duration: 20s, connections: 10 }]
        steps:
          - connect
          - barrier: joined
          - loop:
              count: 10
              steps:
                - send: '{"from":"u{{vu}}","seq":{{seq}}}'
                - sleep: 50ms
          - sleep: 1s
          - barrier: done
          - close
        thresholds:
          - delivery_missing == 0
        """.write(toFile: dir + "/lossy.yaml", atomically: true, encoding: .utf8)
        return dir + "/lossy.yaml"
    }

    static func delivery(_ r: RunResultsFile) -> [String: Any] { r.root["delivery"] as? [String: Any] ?? [:] }
    static func int(_ v: Any?) -> Int64 { (v as? NSNumber)?.int64Value ?? -1 }

    @Test("missing equals exactly what the target dropped: muted senders, stream tails, every 7th message; the run fails")
    func local() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        let run = try VolleyRun.run(["run", try Self.scenario(target: target), "--quiet"])
        let r = try run.results()
        let dropped = try target.metric("volley_target_deliveries_dropped_total")
        let d = Self.delivery(r)
        #expect(dropped > 300, "the lossy rules dropped \(dropped)")
        #expect(Self.int(d["expected"]) == 1000)          // 10 receivers × 10 senders × 10 messages, connected throughout
        #expect(Self.int(d["missing"]) == dropped)
        #expect(r.counter("delivery.missing") == dropped && r.counter("delivery.expected") == 1000)
        #expect(Self.int(d["received"]) == 1000 - dropped)
        #expect(run.status == 1 && r.failedThresholds == ["delivery_missing == 0"], "\(run.stderr)")
    }

    @Test("across two agents the senders' book is shared: missing still equals what was dropped")
    func cluster() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        let agents = try (0..<2).map { _ in try AgentProcess() }
        let run = try VolleyRun.run(["run", try Self.scenario(target: target), "--quiet", "--agents", agents.map(\.address).joined(separator: ","),
                                     "--token-file", agents[0].tokenFile])
        let r = try run.results()
        let dropped = try target.metric("volley_target_deliveries_dropped_total")
        #expect(dropped > 300)
        #expect(Self.int(Self.delivery(r)["expected"]) == 1000 && Self.int(Self.delivery(r)["missing"]) == dropped, "\(run.stderr)")
    }

    @Test("the bundled broadcast scenarios fail when deliveries are dropped, and count exactly what was")
    func bundledFail() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        var before: Int64 = 0
        for (name, path) in [("rooms-broadcast", "/rooms/lobby?drop_every=97"), ("broadcast-order", "/rooms/order-{{run}}?drop_every=53")] {
            let run = try VolleyRun.run(["run", "\(Self.scenarios)/\(name).yaml", "--quiet", "--target", target.url(path)])
            let r = try run.results()
            let dropped = try target.metric("volley_target_deliveries_dropped_total") - before
            before += dropped
            #expect(dropped > 0)
            #expect(run.status == 1 && r.failedThresholds.contains("delivery_missing == 0"), "\(name): \(run.stderr)")
            #expect(r.counter("delivery.missing") == dropped, "\(name)")
        }
    }
}
