import Coordinator
import JSON
import Report
import Scenario
import Stats

/// The end of a long run: how long a one-hour soak's results take to write, read back and render,
/// and how large each file is.
struct ReportBenchmark {
    func run() {
        print("report benchmark (release build expected): a 1-hour run, 3600 one-second intervals of 10,000 round trips")
        let scenario: Scenario
        do {
            scenario = try ScenarioLoader.load(source: """
            name: soak-hour
            target: ws://127.0.0.1:8080/echo
            model: open
            phases:
              - { name: ramp, duration: 5m, connections: 0 -> 1000, rate: 10/s }
              - { name: soak, duration: 55m, connections: 1000, rate: 10/s }
            steps:
              - connect
              - loop:
                  - send: x
                  - expect: { contains: x, measure: rtt }
            thresholds:
              - p99(rtt) < 100ms
              - error_rate < 1%
              - { threshold: 'p99(rtt) < 50ms', phase: soak }
            """, file: "soak-hour.yaml") { (_) throws(ScenarioError) -> Feeder? in nil }
        } catch {
            print("  scenario: \(error)")
            return
        }
        var series = IntervalSeries()
        let distinct = (0..<60).map { ControlPlaneBenchmark.typicalInterval(seed: UInt64($0 + 1)) }
        for second in 0..<3600 { series.merge(distinct[second % distinct.count], at: second) }
        let results = RunResults(scenario: scenario, runID: "bench", startedAt: 1_795_305_600, duration: 3600, status: .completed,
                                 series: series, agents: [AgentResult(index: 0, name: "local", host: "bench", series: series)])
        var text = ""
        let build = Stopwatch.measure { text = ResultsDocument.build(results).serialized(indent: 1) }
        var report: RunReport?
        let read = Stopwatch.measure { report = try? RunReport.load(text: text, file: "results.json") }
        guard let report else { print("  (could not read the results back)"); return }
        var html = "", junit = "", csv = ""
        var logs: [(metric: String, text: String)] = []
        let renderHTML = Stopwatch.measure { html = HTMLReport.render(report) }
        let renderJUnit = Stopwatch.measure { junit = JUnitReport.render(report) }
        let renderLogs = Stopwatch.measure { logs = IntervalExports.histogramLogs(series, startedAt: results.startedAt, runID: "bench") }
        let renderCSV = Stopwatch.measure { csv = IntervalExports.csv(series, histograms: ["connect", "rtt"]) }
        func mb(_ s: String) -> String { format(Double(s.utf8.count) / 1_048_576) + " MiB" }
        print("  results.json: build + serialize \(format(build / 1e6)) ms, \(mb(text)); read back (parse + decode) \(format(read / 1e6)) ms")
        print("  report.html:  \(format(renderHTML / 1e6)) ms, \(mb(html))")
        print("  junit.xml:    \(format(renderJUnit / 1e6)) ms, \(junit.utf8.count) bytes")
        print("  .hlog:        \(format(renderLogs / 1e6)) ms for \(logs.count) logs, \(logs.map { "\($0.metric) \(mb($0.text))" }.joined(separator: ", "))")
        print("  series.csv:   \(format(renderCSV / 1e6)) ms, \(mb(csv))")
        print("  all outputs:  \(format((build + read + renderHTML + renderJUnit + renderLogs + renderCSV) / 1e9)) s")
    }
}
