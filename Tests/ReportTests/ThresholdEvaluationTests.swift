import Testing
import Report
import Scenario
import Stats

@Suite("Threshold evaluation")
struct ThresholdEvaluationTests {
    static func scenario(_ thresholds: [String]) throws -> Scenario {
        try ScenarioLoader.load(source: """
        target: ws://127.0.0.1:8080/echo
        phases:
          - { name: warm-up, duration: 3s, connections: 5 }
          - { name: spike, duration: 2s, connections: 50 }
        steps:
          - connect
          - send: hi
          - expect: { contains: hi, measure: rtt }
        thresholds:
        \(thresholds.map { "  - \($0)" }.joined(separator: "\n"))
        """, file: "t.yaml") { (_) throws(ScenarioError) -> Feeder? in nil }
    }

    /// Five seconds: 1000 round trips a second at 1–2 ms in warm-up, 10 ms in the spike, with
    /// some failures in the spike.
    static func series() -> IntervalSeries {
        var series = IntervalSeries()
        for second in 0..<5 {
            var set = MetricSet()
            var rtt = HDRHistogram()
            let spike = second >= 3
            for i in 0..<1000 { rtt.record(spike ? 10_000 : Int64(1000 + i)) }
            set.merge(rtt, into: "rtt")
            set.add(1000, to: "messages.sent")
            set.add(1000, to: "messages.received")
            set.add(spike ? 100 : 10, to: "connections.attempted")
            set.add(spike ? 90 : 10, to: "connections.opened")
            set.add(spike ? 10 : 0, to: "errors.refused")
            set.add(spike ? 5 : 0, to: "errors.expect_timeout")
            series.merge(set, at: second)
        }
        return series
    }

    func results(_ thresholds: [String], seconds: Double = 5) throws -> [ThresholdResult] {
        ThresholdEvaluator.evaluate(try Self.scenario(thresholds), series: Self.series(), runSeconds: seconds)
    }

    @Test("whole-run thresholds read the merged totals")
    func wholeRun() throws {
        let r = try results(["p50(rtt) < 5ms", "p99(rtt) < 5ms", "max(rtt) < 11ms", "error_rate < 0.5%", "connect_success > 90%",
                             "rate(messages.received) >= 1000/s", "count(rtt) == 5000", "errors_expect_timeout == 0"])
        #expect(r.map(\.passed) == [true, false, true, false, true, true, true, false])
        let all = Self.series().total.histograms["rtt"]!
        #expect(r[0].observed == Double(all.value(atPercentile: 50)))
        #expect(r[1].observed == Double(all.value(atPercentile: 99)))
        // 30 errors over 5000 sends and 230 connection attempts.
        #expect(r[3].observed == 30.0 / 5230.0)
        #expect(r[4].observed == 210.0 / 230.0)
        #expect(r[5].observed == 1000)
        #expect(r[7].observed == 10)
        #expect(r[3].observedText == "0.574%")
        #expect(r[1].summary.hasPrefix("p99(rtt) < 5ms: 10.0ms (limit < 5.00ms)"))
    }

    @Test("phase thresholds read only that phase's intervals, and rates its length")
    func phases() throws {
        let s = try Self.scenario([
            "{ threshold: 'p99(rtt) < 5ms', phase: warm-up }", "{ threshold: 'p99(rtt) < 5ms', phase: spike }",
            "{ threshold: 'error_rate < 1%', phase: warm-up }", "{ threshold: 'rate(messages.sent) == 1000/s', phase: spike }",
        ])
        let r = ThresholdEvaluator.evaluate(s, series: Self.series(), runSeconds: 5)
        #expect(r.map(\.passed) == [true, false, true, true])
        #expect(r[0].observed! < 2100)
        #expect(r[1].observed == Double(HistogramConfiguration.latencyMicroseconds.highestEquivalentValue(10_000)))
        #expect(PhaseWindow("spike", in: s)?.seconds == 3..<5)
        #expect(PhaseWindow("warm-up", in: s)?.measuredLength(runSeconds: 2) == 2)
    }

    @Test("a latency nobody measured fails the threshold and says so")
    func nothingMeasured() throws {
        let s = try Self.scenario(["p99(rtt) < 5ms"])
        let r = ThresholdEvaluator.evaluate(s, series: IntervalSeries(), runSeconds: 5)
        #expect(r[0].observed == nil && !r[0].passed)
        #expect(r[0].observedText == "no rtt measurements")
    }

    @Test("abort_on_fail: nothing is checked during the grace period; a failure after it is reported once measured")
    func monitor() throws {
        let s = try Self.scenario(["{ threshold: 'errors_refused == 0', abort_on_fail: true, grace: 4500ms }",
                                   "{ threshold: 'p99(rtt) < 5ms', phase: spike, abort_on_fail: true }",
                                   "{ threshold: 'count(rtt) < 100000', phase: spike, abort_on_fail: true }",
                                   "p99(rtt) < 1us"])
        var monitor = ThresholdMonitor(scenario: s)
        #expect(monitor.isWatching)
        let series = Self.series()
        var firstFailure: (second: Int, label: String)?
        for second in 0..<5 {
            monitor.record(series[second], second: second)
            if firstFailure == nil, let f = monitor.failing(elapsed: Double(second + 1)) {
                firstFailure = (second, f.threshold.label)
            }
        }
        // The spike starts at 3 s; its p99 fails on its first interval (checked at 4 s), before the
        // 4.5 s grace of the other has passed.
        #expect(firstFailure?.second == 3)
        #expect(firstFailure?.label == "p99(rtt) < 5ms [spike]")
        #expect(monitor.failing(elapsed: 5) != nil)
    }

    @Test("a phase's intervals are counted once however many watched thresholds share it")
    func monitorCountsPhaseOnce() throws {
        let s = try Self.scenario(["{ threshold: 'count(rtt) <= 2000', phase: spike, abort_on_fail: true }",
                                   "{ threshold: 'p50(rtt) < 1s', phase: spike, abort_on_fail: true }"])
        var monitor = ThresholdMonitor(scenario: s)
        let series = Self.series()
        for second in 0..<5 { monitor.record(series[second], second: second) }
        #expect(monitor.failing(elapsed: 5) == nil)
    }

    @Test("verdicts: passed, failed with the failing thresholds named, aborted by a person, stopped by a threshold")
    func verdicts() throws {
        let s = try Self.scenario(["p99(rtt) < 20ms", "error_rate < 0.5%"])
        let results = ThresholdEvaluator.evaluate(s, series: Self.series(), runSeconds: 5)
        let passedOnly = results.filter(\.passed)
        #expect(Verdict.decide(results: passedOnly, abortReason: nil).status == .passed)
        #expect(Verdict.decide(results: passedOnly, abortReason: nil).exitCode == 0)
        let failed = Verdict.decide(results: results, abortReason: nil)
        #expect(failed.status == .failed && failed.exitCode == 1)
        #expect(failed.reason.contains("error_rate < 0.5%"))
        #expect(!failed.reason.contains("p99(rtt)"))
        let interrupted = Verdict.decide(results: results, abortReason: "interrupted")
        #expect(interrupted.status == .aborted && interrupted.exitCode == 3)
        let stopped = Verdict.decide(results: passedOnly, abortReason: "threshold", abortingThreshold: results[1])
        #expect(stopped.status == .failed && stopped.exitCode == 1)
        #expect(stopped.reason.contains("stopped early by error_rate < 0.5%"))
        #expect(Verdict.decide(results: [], abortReason: nil).reason == "passed (no thresholds)")
        let table = VerdictTable.render(results, verdict: failed)
        #expect(table.contains("✓ p99(rtt) < 20ms") && table.contains("✗ error_rate < 0.5%") && table.contains("verdict: FAILED (exit 1)"))
        #expect(VerdictTable.render([], verdict: Verdict.decide(results: [], abortReason: nil)).contains("no thresholds: every run of this scenario passes"))
        #expect(VerdictTable.noThresholdsHint(s).contains("p99(rtt) < 100ms"))
    }
}

@Suite("Latency ranges")
struct LatencyRangesTests {
    @Test("samples regroup into contiguous 1-2-5 ranges covering min to max, every sample counted once")
    func ranges() {
        var h = HDRHistogram()
        for v in [150, 180, 199, 200, 450, 999, 1000, 4_999, 5_000, 70_000] as [Int64] { h.record(v) }
        let r = LatencyRanges(h).ranges
        #expect(r.map(\.lower) == [100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000])
        #expect(r.last?.upper == 100_000)
        #expect(r.map(\.count) == [3, 2, 1, 1, 1, 1, 0, 0, 1])
        #expect(r.map(\.count).reduce(0, +) == h.totalCount)
        #expect(zip(r, r.dropFirst()).allSatisfy { $0.upper == $1.lower })
        var zero = HDRHistogram()
        zero.record(0)
        zero.record(1)
        #expect(LatencyRanges(zero).ranges.map { [$0.lower, $0.upper, $0.count] } == [[0, 2, 2]])
        #expect(LatencyRanges(HDRHistogram()).ranges.isEmpty)
        var zeros = HDRHistogram()
        zeros.record(0, count: 5)
        #expect(LatencyRanges(zeros).ranges.map { [$0.lower, $0.upper, $0.count] } == [[0, 2, 5]])
    }
}

@Suite("Thresholds judged second by second")
struct SecondsThresholdTests {
    static func scenario(_ threshold: String) throws -> Scenario {
        try ScenarioLoader.load(source: """
        target: ws://127.0.0.1:1/
        phases: [{ name: soak, duration: 100s, connections: 1 }]
        steps: [connect, { send: x }, { expect: { contains: x, measure: rtt } }]
        thresholds:
          - \(threshold)
        """, file: "s.yaml") { (_) throws(ScenarioError) -> Feeder? in nil }
    }

    /// 100 seconds of round trips around 10 ms, with the seconds in `spikes` at 500 ms.
    static func series(spikes: Set<Int>) -> IntervalSeries {
        var series = IntervalSeries()
        for second in 0..<100 {
            var set = MetricSet()
            var h = HDRHistogram()
            for _ in 0..<50 { h.record(spikes.contains(second) ? 500_000 : 10_000) }
            set.merge(h, into: "rtt")
            series.merge(set, at: second)
        }
        return series
    }

    @Test("two bad seconds in a hundred: 98% of the seconds held; a 99% objective fails and names them, 98% passes")
    func shareOfSeconds() throws {
        let series = Self.series(spikes: [41, 42])
        let strict = try Self.scenario("{ threshold: 'p99(rtt) < 100ms', seconds: 99% }")
        let r = try #require(ThresholdEvaluator.evaluate(strict, series: series, runSeconds: 100).first)
        #expect(!r.passed && r.seconds?.judged == 100 && r.seconds?.held == 98 && r.seconds?.failedSeconds == [41, 42])
        #expect(r.observedText == "held in 98.0% of 100 s")
        #expect(r.threshold.label == "p99(rtt) < 100ms in 99% of seconds")
        let lenient = try Self.scenario("{ threshold: 'p99(rtt) < 100ms', seconds: 98% }")
        #expect(ThresholdEvaluator.evaluate(lenient, series: series, runSeconds: 100).first?.passed == true)
        // Judged on the whole run, two bad seconds (2% of the samples) flip the plain p99 to failed.
        let plain = try Self.scenario("'p99(rtt) < 100ms'")
        #expect(ThresholdEvaluator.evaluate(plain, series: series, runSeconds: 100).first?.passed == false)
    }

    @Test("abort_on_fail on a per-second objective stops the run only once it can no longer pass")
    func abortWhenHopeless() throws {
        let scenario = try Self.scenario("{ threshold: 'p99(rtt) < 100ms', seconds: 98%, abort_on_fail: true }")
        let series = Self.series(spikes: [3, 4, 5])
        var monitor = ThresholdMonitor(scenario: scenario)
        var stoppedAt: Int?
        for second in 0..<10 {
            monitor.record(series[second], second: second)
            if monitor.failing(elapsed: Double(second + 1)) != nil { stoppedAt = second; break }
        }
        #expect(stoppedAt == 5)     // 2 bad seconds of 100 are allowed; the third cannot be
    }

    @Test("seconds takes a share, located when wrong")
    func badShare() {
        #expect(throws: ScenarioError.self) { try Self.scenario("{ threshold: 'p99(rtt) < 100ms', seconds: often }") }
    }
}
