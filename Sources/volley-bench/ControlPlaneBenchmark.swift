import ByteCoding
import Stats
import WireProtocol

/// The control plane's cost: the size of one agent's per-second stats report, and the
/// coordinator's time to decode and merge one interval's reports from 100 agents.
struct ControlPlaneBenchmark {
    /// One second of a busy agent: 1000 connections at 10 messages/s (10,000 round trips),
    /// a handful of connects, the usual counters.
    static func typicalInterval(seed: UInt64) -> MetricSet {
        var rng = BenchRandom(seed: seed)
        var set = MetricSet()
        var rtt = HDRHistogram()
        for _ in 0..<10_000 { rtt.record(200 + Int64(rng.latency() / 100)) }
        var connect = HDRHistogram()
        for _ in 0..<20 { connect.record(1000 + Int64(rng.latency() / 50)) }
        set.merge(rtt, into: "rtt")
        set.merge(connect, into: "connect")
        for (name, value) in [("messages.sent", 10_000), ("messages.received", 10_000), ("bytes.sent", 320_000),
                              ("bytes.received", 320_000), ("connections.attempted", 20), ("connections.opened", 20),
                              ("iterations", 10_000), ("errors.expect_timeout", 1)] as [(String, Int64)] {
            set.add(value, to: name)
        }
        set.gauges["connections.open"] = 1000
        set.gauges["users.active"] = 1000
        return set
    }

    func run() {
        print("control-plane benchmark (release build expected)")
        let agents = 100
        let reports = (0..<agents).map { i in
            WireFrame.encode(WireMessage.stats(runID: "0123456789abcdef", second: 42,
                                               metrics: CompactMetricSet(Self.typicalInterval(seed: UInt64(i + 1)))).encode())
        }
        let sizes = reports.map(\.count).sorted()
        print("  stats report of one agent-second (10,000 round trips, 1000 connections): \(sizes[sizes.count / 2]) bytes (median of \(agents)); goal <= 10 KB/s per agent")
        let rounds = 20
        var series = IntervalSeries()
        var perAgent = [IntervalSeries](repeating: IntervalSeries(keepsIntervalHistograms: false), count: agents)
        let nanos = Stopwatch.measure {
            for round in 0..<rounds {
                for (i, frame) in reports.enumerated() {
                    let payload = Array(frame[4...])
                    guard case let .stats(_, _, metrics)? = try? WireMessage.decode(payload) else { fatalError("decode") }
                    series.merge(metrics, at: round)
                    perAgent[i].merge(metrics, at: round)
                }
            }
        }
        print("  decode + merge one interval from \(agents) agents (merged and per-agent series): \(format(nanos / Double(rounds) / 1e6)) ms; goal <= 10 ms")
        if series.total.counter("messages.sent") != Int64(rounds * agents * 10_000) { print("  (unexpected total)") }
    }
}
