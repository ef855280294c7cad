import Net
import Report
import Scenario
#if canImport(Glibc)
import Glibc
#endif

/// `volley report` (re-render a finished run) and `volley compare` (regression check).
enum ReportCommand {
    static let reportUsage = """
    usage: volley report RESULTS.json|RESULTS_DIR [--html OUT.html] [--junit OUT.xml]
      Re-renders a finished run's report from its results.json: the HTML report (default
      report.html next to RESULTS.json), and with --junit the JUnit file. Prints the verdict and
      exits with the run's exit code.
    """

    static let compareUsage = """
    usage: volley compare BASELINE.json RESULTS.json [--max-regression 10%]   (or their directories)
      Compares a run with a baseline run: p50/p99/max of every latency both measured, throughput
      and error rate side by side. Fails (exit 1) when p99 latency grew, or throughput fell, by
      more than the limit (changes under 100µs are noise, not regressions), or when the error
      rate grew by more than the limit and at least 0.1 percentage points.
    """

    static func report(_ arguments: [String]) throws(UsageError) -> Int32 {
        let options = try CommandLineOptions(arguments, valued: ["html", "junit"])
        guard options.positionals.count == 1 else { throw UsageError("expected one results file\n\(reportUsage)") }
        let path = resultsPath(options.positionals[0])
        guard let report = load(path) else { return ExitCode.couldNotRun }
        let html = options.value("html") ?? directory(of: path) + "report.html"
        try writeFile(HTMLReport.render(report), to: html)
        Log.out("report: \(html)")
        if let junit = options.value("junit") {
            try writeFile(JUnitReport.render(report), to: junit)
            Log.out("junit: \(junit)")
        }
        Log.out("\(report.scenario): \(report.verdict.status.word) (exit \(report.verdict.exitCode)) - \(report.verdict.reason)")
        return report.verdict.exitCode
    }

    static func compare(_ arguments: [String]) throws(UsageError) -> Int32 {
        let options = try CommandLineOptions(arguments, valued: ["max-regression"])
        guard options.positionals.count == 2 else { throw UsageError("expected a baseline and a results file\n\(compareUsage)") }
        var limit = 0.10
        if let text = options.value("max-regression") {
            let value: Double? = text.hasSuffix("%") ? Double(text.dropLast()).map { $0 / 100 } : Double(text)
            guard let value, value >= 0, value <= 10 else {
                throw UsageError("--max-regression takes a percentage such as 10% or a fraction such as 0.1, got \"\(text)\"")
            }
            limit = value
        }
        guard let baseline = load(options.positionals[0]), let current = load(options.positionals[1]) else { return ExitCode.couldNotRun }
        let comparison = RunComparison(baseline: baseline, current: current, maxRegression: limit)
        Log.out("\(options.positionals[1]) (\(current.scenario), run \(current.runID)) against baseline \(options.positionals[0]) (run \(baseline.runID))\n")
        Log.out(comparison.render(baselineName: options.positionals[0], currentName: options.positionals[1]))
        return comparison.passed ? ExitCode.passed : ExitCode.thresholdsFailed
    }

    /// A results file, or the results.json in a results directory.
    static func resultsPath(_ path: String) -> String {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { return path }
        return (path.hasSuffix("/") ? path : path + "/") + "results.json"
    }

    static func load(_ given: String) -> RunReport? {
        let path = resultsPath(given)
        guard let text = FileSystem.readText(path) else {
            Log.error("volley: cannot read \(path)")
            return nil
        }
        do {
            return try RunReport.load(text: text, file: path)
        } catch {
            Log.error("volley: \(error)")
            return nil
        }
    }

    /// "dir/" of "dir/results.json", "" of "results.json".
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[...slash])
    }
}

/// Writes a file for a command, as a usage error when it cannot.
func writeFile(_ text: String, to path: String) throws(UsageError) {
    do {
        try FileSystem.write(text, to: path)
    } catch {
        throw UsageError("\(error)")
    }
}
