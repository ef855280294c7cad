import Report
import Foundation
import Testing
import Coordinator
import JSON
import Scenario
import Stats
import TestSupport

@Suite("Reporting")
struct ReportingTests {
    static func scenario() throws -> Scenario {
        try ScenarioLoader.load(source: """
        name: report-test
        target: ws://127.0.0.1:1/echo
        phases:
          - { name: steady, duration: 3s, connections: 10, rate: 2/s }
        steps:
          - connect
          - loop:
              - send: x
              - expect: { contains: x, measure: rtt }
        """, file: "r.yaml") { (_) throws(ScenarioError) -> Feeder? in nil }
    }

    static func results() throws -> RunResults {
        var series = IntervalSeries()
        var rng = SplitMix64(seed: 4)
        for second in 0..<3 {
            var set = MetricSet()
            var rtt = HDRHistogram()
            for _ in 0..<100 { rtt.record(rng.nextLatency(median: 800)) }
            set.merge(rtt, into: "rtt")
            set.add(100, to: "messages.sent")
            set.add(98, to: "messages.received")
            set.add(second == 1 ? 2 : 0, to: "errors.expect_timeout")
            set.gauges["connections.open"] = Int64(10 - second)
            series.merge(set, at: second)
        }
        return RunResults(scenario: try scenario(), runID: "abc", startedAt: 1_795_305_600, duration: 3.0,
                          status: .completed, series: series,
                          agents: [AgentResult(index: 0, name: "local", host: "h", series: series)])
    }

    @Test("results.json carries totals, intervals and agents, with histograms as HdrHistogram V2")
    func resultsDocument() throws {
        let r = try Self.results()
        let json = try JSONParser.parse(ResultsDocument.build(r).serialized(indent: 1))
        #expect(json["schema"]?.stringValue == "volley-results/1")
        #expect(json["run"]?["status"]?.stringValue == "completed")
        #expect(json["run"]?["started_at"]?.stringValue == "2026-11-22T00:00:00.000Z")
        #expect(json["totals"]?["counters"]?["messages.sent"]?.intValue == 300)
        #expect(json["totals"]?["gauges"]?["connections.open"]?.intValue == 10)   // the peak
        #expect(json["intervals"]?.arrayValue?.count == 3)
        #expect(json["intervals"]?[1]?["counters"]?["errors.expect_timeout"]?.intValue == 2)
        let encoded = try #require(json["totals"]?["histograms"]?["rtt"]?["hdr"]?.stringValue)
        let decoded = try HDRHistogram(v2Base64: encoded)
        #expect(decoded == r.totals.histograms["rtt"])
        #expect(json["totals"]?["histograms"]?["rtt"]?["p99_us"]?.intValue == decoded.value(atPercentile: 99))
        #expect(json["phases"]?[0]?["rate_per_connection"]?.doubleValue == 2)
    }

    @Test("the summary shows every latency metric, rates, connections and errors by class")
    func summary() throws {
        let text = SummaryTable.render(try Self.results())
        #expect(text.contains("report-test: completed in 3.0 s"))
        #expect(text.contains("rtt") && text.contains("300"))
        #expect(text.contains("sent 300 (100/s"))
        #expect(text.contains("errors       expect_timeout 2"))
    }

    @Test("progress lines name the phase and the figures of the interval")
    func progress() throws {
        let r = try Self.results()
        let printer = ProgressPrinter(scenario: r.scenario, interactive: false)
        let line = printer.line(second: 1, set: r.series[1], agents: (3, 1))
        #expect(line.hasPrefix("[   2s] steady"))
        #expect(line.contains("conns 9") && line.contains("sent 100/s") && line.contains("errors 2") && line.contains("agents 3 (1 lost)"))
    }

    @Test("formatting of latencies, counts and percentages", arguments: [
        (Int64(850), "850µs"), (1234, "1.23ms"), (45_600, "45.6ms"), (2_500_000, "2.50s"),
    ])
    func micros(value: Int64, text: String) {
        #expect(Format.micros(value) == text)
    }

    @Test("counts and percentages")
    func counts() {
        #expect(Format.count(950) == "950" && Format.count(12_345) == "12.3k" && Format.count(4_560_000) == "4.56M")
        #expect(Format.percent(0.999) == "99.900%" && Format.percent(1) == "100%" && Format.percent(0.5) == "50.0%")
    }
}
