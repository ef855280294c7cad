import JSON
import Net
import Report
import Scenario
import Stats

/// Where a run's outputs go and who hears of a failed verdict.
public struct OutputSettings: Sendable {
    /// The results directory (default volley-results/NAME-TIME/).
    public var directory: String?
    /// Where to POST a summary when the verdict is not "passed".
    public var notifyURL: String?

    public init(directory: String? = nil, notifyURL: String? = nil) {
        self.directory = directory
        self.notifyURL = notifyURL
    }
}

/// The end of every run: the summary, the thresholds and the verdict on the terminal; the
/// results directory (results.json, report.html, junit.xml, one .hlog per latency metric,
/// series.csv); the webhook when the verdict is not "passed"; the exit code.
public enum RunOutputs {
    public static func finish(_ results: RunResults, settings: OutputSettings) -> Int32 {
        let thresholds = results.evaluateThresholds()
        let verdict = results.verdict(thresholds)
        Log.out(SummaryTable.render(results) + VerdictTable.render(thresholds, verdict: verdict, stoppedBy: results.abortingThreshold,
                                                                   conditions: results.conditions))
        let directory = settings.directory ?? "volley-results/\(safeName(results.scenario.name))-\(timestamp(results.startedAt))"
        let document = ResultsDocument.build(results, thresholds: thresholds, verdict: verdict)
        var written: [String] = []
        func write(_ text: String, _ name: String) {
            do {
                try FileSystem.write(text, to: directory + "/" + name)
                written.append(name)
            } catch {
                Log.error("volley: \(error)")
            }
        }
        write(document.serialized(indent: 1) + "\n", "results.json")
        var report: RunReport?
        do {
            report = try RunReport(json: document, file: directory + "/results.json")
        } catch {
            Log.error("volley: cannot read back the results for the report: \(error)")
        }
        // The simplest files first, the HTML last: what is written stays if a later step fails.
        if let report { write(JUnitReport.render(report), "junit.xml") }
        for log in IntervalExports.histogramLogs(results.series, startedAt: results.startedAt, runID: results.runID) {
            write(log.text, IntervalExports.fileName(metric: log.metric))
        }
        write(IntervalExports.csv(results.series, histograms: MetricCatalog.histograms(of: results.scenario)), "series.csv")
        if let report { write(HTMLReport.render(report), "report.html") }
        Log.out("results: \(directory)/ (\(written.joined(separator: ", ")))")
        if verdict.status != .passed, let url = settings.notifyURL, let report {
            notify(url, report: report, directory: directory)
        }
        return verdict.exitCode
    }

    /// Posts the failed run's summary to the webhook; a webhook that fails is reported and does
    /// not change the verdict.
    static func notify(_ url: String, report: RunReport, directory: String) {
        let body = WebhookPayload.build(report, reportLocation: directory + "/report.html").serialized() + "\n"
        let file = directory + "/notification.json"
        do {
            try FileSystem.write(body, to: file)
            let status = try WebhookSender.post(body, to: url, bodyFile: file)
            if (200..<300).contains(status) {
                Log.out("notified \(url) (HTTP \(status))")
            } else {
                Log.error("volley: the webhook \(url) answered HTTP \(status); the notification is in \(file)")
            }
        } catch {
            Log.error("volley: could not notify \(url): \(error); the notification is in \(file)")
        }
    }

    static func safeName(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "-" })
    }

    /// "20261122-051930" (UTC), for default output directories.
    static func timestamp(_ epochSeconds: Double) -> String {
        let iso = Array(CivilTime.iso8601(epochSeconds: epochSeconds))   // 2026-11-22T05:19:30.123Z
        let date = String(iso[0..<10]).filter { $0 != "-" }
        let time = String(iso[11..<19]).filter { $0 != ":" }
        return date + "-" + time
    }
}
