import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import Coordinator
import JSON
import Report
import Scenario
import Stats
import TestSupport

/// The files a run leaves behind, read back the way other tools read them: results.json with
/// its verdict, junit.xml through an XML parser, the .hlog through the reference
/// HdrHistogram's log reader, series.csv, report.html, the webhook payload and `compare`.
@Suite("Output files")
struct OutputFilesTests {
    /// Three seconds of echo round trips around 800 µs with two expect timeouts in second 1.
    static func results(thresholds: [String], name: String = "output-test") throws -> RunResults {
        let scenario = try ScenarioLoader.load(source: """
        name: \(name)
        target: ws://127.0.0.1:1/echo
        phases:
          - { name: warm, duration: 1s, connections: 10, rate: 2/s }
          - { name: steady, duration: 2s, connections: 10, rate: 2/s }
        steps:
          - connect
          - loop:
              - send: x
              - expect: { contains: x, measure: rtt }
        \(thresholds.isEmpty ? "" : "thresholds:\n" + thresholds.map { "  - \($0)" }.joined(separator: "\n"))
        """, file: "out.yaml") { (_) throws(ScenarioError) -> Feeder? in nil }
        var series = IntervalSeries()
        var rng = SplitMix64(seed: 9)
        for second in 0..<3 {
            var set = MetricSet()
            var rtt = HDRHistogram()
            for _ in 0..<100 { rtt.record(rng.nextLatency(median: 800)) }
            set.merge(rtt, into: "rtt")
            set.add(second == 0 ? 10 : 0, to: "connections.attempted")
            set.add(second == 0 ? 10 : 0, to: "connections.opened")
            set.add(100, to: "messages.sent")
            set.add(98, to: "messages.received")
            set.add(second == 1 ? 2 : 0, to: "errors.expect_timeout")
            set.add(10_000, to: "connections.held_ms")        // 10 connections held all second
            set.add(10_000, to: "connections.due_ms")         // as the plan asked
            set.gauges["connections.open"] = 10
            series.merge(set, at: second)
        }
        return RunResults(scenario: scenario, runID: "r1", startedAt: 1_795_305_600, duration: 3.0, status: .completed,
                          series: series, agents: [AgentResult(index: 0, name: "local", host: "h", series: series)])
    }

    static let mixed = ["p99(rtt) < 1us", "errors_expect_timeout == 0", "rate(messages.sent) > 50/s",
                        "{ threshold: 'count(rtt) == 200', phase: steady }", "connect_success > 99%"]

    static func report(_ r: RunResults) throws -> (JSONValue, RunReport) {
        let text = ResultsDocument.build(r).serialized(indent: 1)
        let json = try JSONParser.parse(text)
        return (json, try RunReport.load(text: text, file: "results.json"))
    }

    @Test("results.json: every threshold with its observed value, limit, verdict and line; the verdict and exit code; phase totals")
    func resultsThresholds() throws {
        let (json, report) = try Self.report(try Self.results(thresholds: Self.mixed))
        let thresholds = try #require(json["thresholds"]?.arrayValue)
        #expect(thresholds.count == 5)
        #expect(thresholds.map { $0["passed"]?.boolValue } == [false, false, true, true, true])
        #expect(thresholds[1]["observed"]?.doubleValue == 2)
        #expect(thresholds[1]["line"]?.intValue == 13)
        #expect(thresholds[2]["observed"]?.doubleValue == 100)
        #expect(thresholds[2]["unit"]?.stringValue == "per_second")
        #expect(thresholds[3]["phase"]?.stringValue == "steady")
        #expect(thresholds[3]["observed"]?.doubleValue == 200)
        #expect(json["verdict"]?["status"]?.stringValue == "failed")
        #expect(json["verdict"]?["exit_code"]?.intValue == 1)
        #expect(json["phases"]?[1]?["totals"]?["counters"]?["messages.sent"]?.intValue == 200)
        #expect(json["phases"]?[0]?["totals"]?["histograms"]?["rtt"]?["count"]?.intValue == 100)
        #expect(json["errors"]?["total"]?.intValue == 2)
        #expect(json["run"]?["scenario_source"]?.stringValue?.contains("  - errors_expect_timeout == 0") == true)
        #expect(json["errors"]?["classes"]?["expect_timeout"]?.intValue == 2)
        #expect(json["errors"]?["rate"]?.doubleValue == 2.0 / 310)
        #expect(report.verdict.status == .failed)
        #expect(report.thresholds.filter { !$0.passed }.map(\.expression) == ["p99(rtt) < 1us", "errors_expect_timeout == 0"])
        #expect(report.totals.latencies["rtt"]?.histogram?.totalCount == 300)
    }

    @Test("a run stopped by an abort_on_fail threshold has failed (exit 1); one stopped by Ctrl-C is aborted (exit 3)")
    func stoppedRuns() throws {
        var r = try Self.results(thresholds: ["{ threshold: 'errors_expect_timeout == 0', abort_on_fail: true }"])
        r.status = .aborted
        r.abortReason = "threshold errors_expect_timeout == 0 failed (2)"
        let t = r.evaluateThresholds()
        r.abortingThreshold = t[0]
        let (json, _) = try Self.report(r)
        #expect(json["verdict"]?["exit_code"]?.intValue == 1)
        #expect(json["verdict"]?["reason"]?.stringValue?.contains("run stopped early by errors_expect_timeout == 0") == true)
        #expect(json["thresholds"]?[0]?["stopped_run"]?["observed"]?.doubleValue == 2)
        r.abortingThreshold = nil
        r.abortReason = "interrupted"
        let (aborted, _) = try Self.report(r)
        #expect(aborted["verdict"]?["status"]?.stringValue == "aborted")
        #expect(aborted["verdict"]?["exit_code"]?.intValue == 3)
    }

    #if canImport(FoundationXML)
    final class JUnitReader: NSObject, XMLParserDelegate {
        var suites: [[String: String]] = []
        var cases: [(name: String, failure: String?)] = []
        var properties: [String: String] = [:]
        func parser(_ parser: XMLParser, didStartElement element: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            switch element {
            case "testsuite": suites.append(attributes)
            case "testcase": cases.append((attributes["name"] ?? "", nil))
            case "failure": cases[cases.count - 1].failure = attributes["message"]
            case "property": properties[attributes["name"] ?? ""] = attributes["value"]
            default: break
            }
        }
    }

    @Test("junit.xml parses as XML: one test case per threshold, failures with the observed value and the limit")
    func junit() throws {
        var r = try Self.results(thresholds: Self.mixed, name: "junit <&> \"quoted\"")
        r.runID = "r&1"
        let (_, report) = try Self.report(r)
        let xml = JUnitReport.render(report)
        let parser = XMLParser(data: Data(xml.utf8))
        let reader = JUnitReader()
        parser.delegate = reader
        #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")\n\(xml)")
        #expect(reader.suites.first?["tests"] == "7")
        #expect(reader.suites.first?["failures"] == "2")
        #expect(reader.suites.first?["name"] == "junit <&> \"quoted\"")
        #expect(reader.cases.map(\.name) == ["p99(rtt) < 1us", "errors_expect_timeout == 0", "rate(messages.sent) > 50/s",
                                             "count(rtt) == 200 [steady]", "connect_success > 99%", "load delivered as planned [warm]",
                                             "load delivered as planned [steady]"])
        #expect(reader.cases[5].failure == nil && reader.cases[6].failure == nil)
        #expect(reader.cases[1].failure == "errors_expect_timeout == 0: observed 2, limit == 0")
        #expect(reader.cases[2].failure == nil)
        #expect(reader.properties["run"] == "r&1")
        #expect(reader.properties["verdict"] == "failed")
    }
    #endif

    @Test(".hlog: one line per second per metric, each decoding to that second's histogram")
    func histogramLog() throws {
        let r = try Self.results(thresholds: [])
        let logs = IntervalExports.histogramLogs(r.series, startedAt: r.startedAt, runID: r.runID)
        #expect(logs.map(\.metric) == ["rtt"])
        let lines = logs[0].text.split(separator: "\n")
        #expect(lines.contains("#[StartTime: 1795305600.000 (seconds since epoch), 2026-11-22T00:00:00.000Z]"))
        let data = lines.filter { !$0.hasPrefix("#") && !$0.hasPrefix("\"") }
        #expect(data.count == 3)
        for (second, line) in data.enumerated() {
            let fields = line.split(separator: ",")
            #expect(fields.count == 4)
            #expect(Double(fields[0]) == Double(second))
            #expect(fields[1] == "1.000")
            let h = try HDRHistogram(v2Base64: String(fields[3]))
            #expect(h == r.series[second].histograms["rtt"])
            #expect(fields[2] == "\(Format.fixed(Double(h.max) / 1000, 3))")
        }
        #expect(IntervalExports.fileName(metric: "rtt") == "rtt.hlog")
        #expect(IntervalExports.fileName(metric: "../x") == "metric.._x.hlog")
    }

    @Test(".hlog is read by the reference HdrHistogram's HistogramLogReader", .enabled(if: ReferencePython.shouldRun))
    func histogramLogReference() throws {
        #expect(ReferencePython.available, "reference python missing at \(ReferencePython.path); see README")
        let r = try Self.results(thresholds: [])
        let path = NSTemporaryDirectory() + "rtt-\(UUID().uuidString).hlog"
        try IntervalExports.histogramLogs(r.series, startedAt: r.startedAt, runID: r.runID)[0].text.write(toFile: path, atomically: true, encoding: .utf8)
        let script = """
        import sys
        from hdrh.log import HistogramLogReader
        from hdrh.histogram import HdrHistogram
        reader = HistogramLogReader(sys.argv[1], HdrHistogram(1, 3600000000, 3))
        while True:
            h = reader.get_next_interval_histogram()
            if h is None: break
            print(h.get_total_count(), h.get_value_at_percentile(50), h.get_value_at_percentile(99), h.get_max_value())
        """
        let result = try Subprocess.run(ReferencePython.path, ["-c", script, path])
        #expect(result.status == 0, "\(result.stderr)")
        let rows = result.stdout.split(separator: "\n").map { $0.split(separator: " ").compactMap { Int64($0) } }
        #expect(rows.count == 3)
        for (second, row) in rows.enumerated() {
            let h = try #require(r.series[second].histograms["rtt"])
            #expect(row == [h.totalCount, h.value(atPercentile: 50), h.value(atPercentile: 99), h.max])
        }
    }

    @Test("series.csv: a header and one row per second with the counters, errors and each latency's percentiles")
    func seriesCSV() throws {
        let r = try Self.results(thresholds: [])
        let rows = IntervalExports.csv(r.series, histograms: ["connect", "rtt"]).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows.count == 4)
        let header = rows[0]
        func column(_ name: String) throws -> Int { try #require(header.firstIndex(of: name), "\(name) in \(header)") }
        #expect(rows.dropFirst().map { $0.count }.allSatisfy { $0 == header.count })
        #expect(rows[1][try column("messages_sent")] == "100")
        #expect(rows[2][try column("errors")] == "2")
        #expect(rows[3][try column("connections_open")] == "10")
        #expect(header.contains("connect_count") == false)   // nothing measured for connect
        let h = try #require(r.series[2].histograms["rtt"])
        #expect(rows[3][try column("rtt_p99_us")] == String(h.value(atPercentile: 99)))
        #expect(rows[3][try column("rtt_count")] == "100")
    }

    @Test("report.html: self-contained, verdict and thresholds first, charts as inline SVG, text escaped")
    func html() throws {
        let (_, report) = try Self.report(try Self.results(thresholds: Self.mixed, name: "html <script>alert(1)</script>"))
        let html = HTMLReport.render(report)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(!html.contains("<script"))
        #expect(html.contains("html &lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(!html.contains(" src="))
        #expect(!html.contains("href=\"http"))
        #expect(!html.contains("url("))
        let verdict = try #require(html.range(of: "FAILED"))
        let firstChart = try #require(html.range(of: "<svg"))
        #expect(verdict.lowerBound < firstChart.lowerBound)
        #expect(html.components(separatedBy: "<svg").count - 1 >= 5)
        #expect(html.components(separatedBy: "<svg").count == html.components(separatedBy: "</svg>").count)
        #expect(html.contains("p99(rtt) &lt; 1us"))
        #expect(html.contains("Percentile distribution"))
        #expect(html.contains(">p99 limit 1µs</text>"))   // the threshold drawn on the rtt chart
        #expect(html.contains(">steady<"))
        #expect(html.contains("expect_timeout"))
    }

    @Test("volley compare: a p99 regression beyond the limit fails; within it, or under the noise floor, passes")
    func compare() throws {
        let baseline = try Self.report(try Self.results(thresholds: [])).1
        var slower = baseline
        slower.totals.latencies["rtt"]!.p99 = baseline.totals.latencies["rtt"]!.p99 * 13 / 10
        let c1 = RunComparison(baseline: baseline, current: slower, maxRegression: 0.10)
        #expect(!c1.passed)
        #expect(c1.regressions.map(\.name) == ["p99(rtt)"])
        #expect(c1.render(baselineName: "a", currentName: "b").contains("REGRESSION beyond 10%"))
        // Phases both runs had are compared too, for context.
        let steady = try #require(c1.rows.first { $0.name == "p99(rtt) [steady]" })
        #expect(!steady.judged && !steady.regressed)
        #expect(c1.render(baselineName: "a", currentName: "b").contains("judged against the limit: p99(rtt), messages received/s, error rate"))
        #expect(RunComparison(baseline: baseline, current: slower, maxRegression: 0.50).passed)
        #expect(RunComparison(baseline: baseline, current: baseline, maxRegression: 0).passed)

        var noisy = baseline
        noisy.totals.latencies["rtt"]!.p99 = baseline.totals.latencies["rtt"]!.p99 + 90   // +90 µs: under the floor
        #expect(RunComparison(baseline: baseline, current: noisy, maxRegression: 0.01).passed)

        var slowerThroughput = baseline
        slowerThroughput.totals.counters["messages.received"] = baseline.totals.counter("messages.received") * 8 / 10
        #expect(RunComparison(baseline: baseline, current: slowerThroughput, maxRegression: 0.10).regressions.map(\.name) == ["messages received/s"])

        var errors = baseline
        errors.totals.counters["errors.refused"] = 1   // 2 → 3 errors in 310 operations: +0.32pp
        #expect(RunComparison(baseline: baseline, current: errors, maxRegression: 0.10).regressions.map(\.name) == ["error rate"])
        #expect(RunComparison(baseline: baseline, current: errors, maxRegression: 1.0).passed)
    }

    @Test("the webhook payload: Slack-style text naming the failed thresholds, and the same facts as fields")
    func webhookPayload() throws {
        let (_, report) = try Self.report(try Self.results(thresholds: Self.mixed))
        let payload = WebhookPayload.build(report, reportLocation: "out/report.html")
        let text = try #require(payload["text"]?.stringValue)
        #expect(text.hasPrefix("volley: output-test FAILED (run r1, 3.0 s)"))
        #expect(text.contains("errors_expect_timeout == 0: 2 (limit == 0)"))
        #expect(text.contains("report: out/report.html"))
        #expect(payload["failed_thresholds"]?.arrayValue?.count == 2)
        #expect(payload["verdict"]?["exit_code"]?.intValue == 1)
        #expect(payload["figures"]?["p99(rtt)"]?.stringValue == Format.micros(report.totals.latencies["rtt"]!.p99))
    }

    @Test("every renderer copes with odd measurements: zeros only, one sample, the histogram's ceiling, empty seconds, nothing at all")
    func oddMeasurements() throws {
        let cases: [[Int64]] = [[0], [0, 0, 0], [1], [3_600_000_000], [0, 3_600_000_000], [7, 7, 7, 7], []]
        for values in cases {
            let base = try Self.results(thresholds: Self.mixed)
            var series = IntervalSeries()
            for second in [0, 2] {   // second 1 has nothing at all
                var set = MetricSet()
                var rtt = HDRHistogram()
                for v in values { rtt.record(v) }
                set.merge(rtt, into: "rtt")
                series.merge(set, at: second)
            }
            var r = base
            r.series = series
            r.agents = [AgentResult(index: 0, name: "local", host: "h", series: series)]
            r.duration = values.isEmpty ? 0 : 3
            let (_, report) = try Self.report(r)
            let html = HTMLReport.render(report)
            #expect(html.hasSuffix("</html>\n"), "\(values)")
            #expect(JUnitReport.render(report).contains("</testsuites>"))
            #expect(!IntervalExports.csv(r.series, histograms: ["rtt"]).isEmpty)
            #expect(IntervalExports.histogramLogs(r.series, startedAt: r.startedAt, runID: "x").count == (values.isEmpty ? 0 : 1))
            #expect(!RunComparison(baseline: report, current: report, maxRegression: 0.1).rows.isEmpty)
            #expect(WebhookPayload.build(report, reportLocation: nil)["text"] != nil)
        }
        // A distribution reaching the top of Int64's range (another tool's histogram in a file).
        var wide = HDRHistogram(configuration: try HistogramConfiguration(lowestDiscernibleValue: 1, highestTrackableValue: Int64.max / 2,
                                                                          significantFigures: 2))
        wide.record(1)
        wide.record(Int64.max / 4)
        var set = MetricSet()
        set.merge(wide, into: "rtt")
        var series = IntervalSeries()
        series.merge(set, at: 0)
        var r = try Self.results(thresholds: Self.mixed)
        r.series = series
        let (_, report) = try Self.report(r)
        #expect(report.totals.latencies["rtt"]?.histogram?.max ?? 0 > Int64.max / 8)
        #expect(HTMLReport.render(report).hasSuffix("</html>\n"))
        #expect(LatencyRanges(wide).ranges.map(\.count).reduce(0, +) == 2)
    }

    /// `value` with one leaf (chosen by `rng`) replaced by an odd value: negative, huge, zero, the
    /// wrong type, or removed.
    static func mutate(_ value: JSONValue, _ rng: inout SplitMix64) -> JSONValue {
        switch value {
        case let .object(fields) where !fields.isEmpty:
            var f = fields
            let i = Int(rng.next() % UInt64(f.count))
            if rng.next() % 8 == 0 { f.remove(at: i) } else { f[i].value = mutate(f[i].value, &rng) }
            return .object(f)
        case let .array(items) where !items.isEmpty:
            var a = items
            let i = Int(rng.next() % UInt64(a.count))
            a[i] = mutate(a[i], &rng)
            return .array(a)
        default:
            let odd: [JSONValue] = [.integer(-1), .integer(Int64.max), .integer(Int64.min), .integer(0), .double(-1e300), .double(1e300),
                                    .string(""), .string("<&>"), .null, .bool(true), .array([]), .object([])]
            return odd[Int(rng.next() % UInt64(odd.count))]
        }
    }

    @Test("a tampered results file never crashes volley report: a located error or a report")
    func tamperedResults() throws {
        let original = ResultsDocument.build(try Self.results(thresholds: Self.mixed))
        var rng = SplitMix64(seed: 77)
        var rendered = 0
        for _ in 0..<200 {
            var doc = original
            for _ in 0..<Int(1 + rng.next() % 4) { doc = Self.mutate(doc, &rng) }
            guard let report = try? RunReport(json: doc, file: "t.json") else { continue }
            _ = HTMLReport.render(report)
            _ = JUnitReport.render(report)
            _ = RunComparison(baseline: report, current: try Self.report(try Self.results(thresholds: [])).1, maxRegression: 0.1)
            _ = WebhookPayload.build(report, reportLocation: nil)
            rendered += 1
        }
        #expect(rendered > 60)
    }

    @Test("results files that are not volley's, or newer, are refused with the file named")
    func badResultsFiles() {
        func message(_ text: String) -> String {
            do { _ = try RunReport.load(text: text, file: "x.json"); return "loaded" } catch { return error.description }
        }
        #expect(message("{").hasPrefix("x.json: not JSON"))
        #expect(message("{}") == "x.json: no \"schema\" field: not a volley results file")
        #expect(message("{\"schema\": \"volley-results/2\"}").contains("newer than this volley reads"))
        #expect(message("{\"schema\": \"volley-results/1\", \"run\": {}}") == "x.json: no \"totals\" object")
        #expect(message("{\"schema\": \"volley-results/1\", \"run\": {}, \"totals\": {\"histograms\": {\"rtt\": {\"hdr\": \"AAAA\"}}}}").contains("bad HdrHistogram encoding"))
    }
}
