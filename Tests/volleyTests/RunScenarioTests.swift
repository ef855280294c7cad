import Foundation
import Testing
import TestSupport

/// `volley run` of the bundled scenarios against `volley target`, as a user runs them, checking
/// the counts in results.json.
@Suite("volley run against volley target", .serialized)
struct RunScenarioTests {
    static let scenarios = Repository.root + "/scenarios"

    /// Runs a bundled scenario; it must pass (a latency threshold may fail on a loaded machine),
    /// or, with `failing`, fail some of those thresholds and no others.
    func run(_ scenario: String, target: TargetProcess, path: String? = nil, extra: [String] = [],
             failing: [String] = []) throws -> (VolleyRun, RunResultsFile) {
        var args = ["run", "\(Self.scenarios)/\(scenario).yaml", "--quiet"]
        if let path { args += ["--target", target.url(path)] } else { args += ["--target", target.url(Self.defaultPath(scenario))] }
        let run = try VolleyRun.run(args + extra)
        let results = try run.results()
        if failing.isEmpty {
            #expect(run.passedApartFromLatency, "\(scenario): exit \(run.status), failed \(results.failedThresholds)\n\(run.stderr)")
        } else {
            #expect(run.status == 1 && results.verdict == "failed", "\(scenario): exit \(run.status)")
            #expect(!results.failedThresholds.isEmpty && Set(results.failedThresholds).isSubset(of: failing), "\(scenario): \(results.failedThresholds)")
        }
        return (run, results)
    }

    static func defaultPath(_ scenario: String) -> String {

        switch scenario {
        case "chat": return "/chat?name=user{{vu}}"
        case "rooms-broadcast": return "/rooms/lobby"
        case "private-isolation": return "/private?user={{user.user}}"
        case "counter-ordering": return "/counter"
        default: return "/echo"
        }
    }

    @Test("rooms broadcast: every member receives every message exactly once, in order")
    func roomsBroadcast() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        let (_, r) = try run("rooms-broadcast", target: target)
        #expect(r.counter("messages.sent") == 50 * 20)
        #expect(r.counter("delivery.received") == 50 * 50 * 20)
        #expect(r.counter("delivery.missing") == 0)
        #expect(r.counter("delivery.duplicated") == 0)
        #expect(r.counter("delivery.out_of_order") == 0)
        #expect(count(r, "delivery") == 50 * 50 * 20)
        #expect(r.errorCount == 0)
    }

    @Test("private isolation: each user gets only its partner's message; a broadcasting server is caught")
    func privateIsolation() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        let (_, good) = try run("private-isolation", target: target)
        #expect(count(good, "private_delivery") == 10)
        #expect(good.errorCount == 0)
        // Against a room (every message to everyone), the strict expectation catches the leak.
        // Against a room (every message to everyone), the strict expectation catches the leak,
        // and the thresholds on it fail the run.
        let (_, leaky) = try run("private-isolation", target: target, path: "/rooms/leak",
                                 failing: ["errors_isolation_violation == 0", "errors_expect_mismatch == 0"])
        #expect(leaky.counter("errors.expect_mismatch") + leaky.counter("errors.isolation_violation") > 0)
    }

    @Test("counter ordering: 30 values per user, in order, no gaps")
    func counterOrdering() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        let (_, r) = try run("counter-ordering", target: target, extra: ["--seed", "4711"])
        #expect(r.counter("messages.received") >= 50 * 30)
        // The seed given is the one recorded (a run without --seed records the one it drew).
        #expect((r.root["run"] as? [String: Any])?["seed"] as? Int == 4711)
        #expect(r.counter("errors.expect_mismatch") == 0 && r.counter("errors.expect_timeout") == 0)
    }

    @Test("chat: announcements, broadcasts and departures reach every user")
    func chat() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        let (_, r) = try run("chat", target: target)
        #expect(r.counter("messages.sent") == 20 * 5)
        #expect(count(r, "chat_rtt") == 20 * 5)
        // Each user sees: 20 arrivals after its own, 100 chat lines, and the departures of those leaving before it.
        #expect(r.counter("messages.received") >= 20 * 100)
        #expect(r.errorCount == 0)
    }

    @Test("the shortened seed profiles run with the planned load and no errors")
    func seedProfiles() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        for (name, planned) in [("ramp-up-short", 0), ("spike-short", 34_000), ("soak-short", 200 * 5 * 15)] {
            let (_, r) = try run(name, target: target)
            let sent = r.counter("messages.sent")
            if planned > 0 { #expect(Double(sent) > Double(planned) * 0.9 && sent <= Int64(planned), "\(name) sent \(sent) of \(planned)") }
            #expect(r.counter("messages.received") >= sent - 50, "\(name)")
            #expect(r.errorCount == 0, "\(name)")
            #expect(r.counter("connections.opened") == r.counter("connections.attempted"), "\(name)")
            if name == "ramp-up-short" {
                // Connections follow the planned ramp (10 -> 300 over 10 s) smoothly, second by second.
                let open = r.intervals.prefix(10).map { (($0["gauges"] as? [String: Any])?["connections.open"] as? NSNumber)?.int64Value ?? 0 }
                for (second, value) in open.enumerated() {
                    let planned = 10 + 29 * Double(second + 1)
                    #expect(abs(Double(value) - planned) <= 30, "second \(second + 1): \(value) open, planned \(planned)")
                }
            }
        }
    }
}

@Suite("volley command line", .serialized)
struct CommandLineTests {
    @Test("a malformed scenario exits 2 with a located error")
    func badScenario() throws {
        let path = NSTemporaryDirectory() + "bad-\(UUID().uuidString).yaml"
        try "target: ws://127.0.0.1:1/\nphases:\n  - { duration: 1s, conections: 1 }\nsteps: [connect]\n".write(toFile: path, atomically: true, encoding: .utf8)
        for command in ["run", "validate"] {
            let run = try VolleyRun.run([command, path], addOut: false)
            #expect(run.status == 2)
            #expect(run.stderr.contains("\(path):3:21: unknown key \"conections\" in a phase; did you mean \"connections\"?"), "\(run.stderr)")
        }
    }

    @Test("unknown commands and options are named, with a suggestion")
    func usageErrors() throws {
        let a = try VolleyRun.run(["runn"], addOut: false)
        #expect(a.status == 2 && a.stderr.contains("did you mean \"run\"?"))
        let b = try VolleyRun.run(["run", "x.yaml", "--loop", "2"], addOut: false)
        #expect(b.status == 2 && b.stderr.contains("did you mean --loops?"))
    }

    @Test("an unreachable target is counted as refused connections, and the run still reports")
    func unreachable() throws {
        let port = VolleyProcess.freePort()
        let path = NSTemporaryDirectory() + "refused-\(UUID().uuidString).yaml"
        try """
        target: ws://127.0.0.1:\(port)/echo
        phases:
          - { duration: 2s, connections: 5 }
        steps: [connect]
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let run = try VolleyRun.run(["run", path, "--quiet"])
        let r = try run.results()
        #expect(r.counter("errors.refused") > 0)
        #expect(r.counter("connections.opened") == 0)
        #expect(run.stdout.contains("refused"))
    }

    @Test("volley demo starts the bundled target, runs the demo scenario and prints the summary")
    func demo() throws {
        let run = try VolleyRun.run(["demo", "--quiet"], timeout: 90)
        #expect(run.passedApartFromLatency, "\(run.stderr)")
        #expect(run.stdout.contains("demo: completed"))
        let r = try run.results()
        #expect(r.counter("connections.opened") >= 1000)
        #expect(r.errorCount == 0)
        #expect(count(r, "rtt") > 30_000)
    }
}

/// A histogram's count in a results file (-1 when absent).
func count(_ r: RunResultsFile, _ histogram: String) -> Int64 {
    (r.histogram(histogram, "count") as? NSNumber)?.int64Value ?? -1
}
