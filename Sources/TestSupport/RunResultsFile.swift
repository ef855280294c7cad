import Foundation

/// A results.json written by `volley run`, read for assertions.
public struct RunResultsFile {
    public let root: [String: Any]

    public init(path: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        root = try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    private var totals: [String: Any] { root["totals"] as? [String: Any] ?? [:] }

    /// A total counter (0 when absent).
    public func counter(_ name: String) -> Int64 {
        ((totals["counters"] as? [String: Any])?[name] as? NSNumber)?.int64Value ?? 0
    }

    /// A total gauge's peak (0 when absent).
    public func gauge(_ name: String) -> Int64 {
        ((totals["gauges"] as? [String: Any])?[name] as? NSNumber)?.int64Value ?? 0
    }

    /// A field of a total histogram's summary ("count", "p99_us", "hdr"...).
    public func histogram(_ name: String, _ field: String) -> Any? {
        ((totals["histograms"] as? [String: Any])?[name] as? [String: Any])?[field]
    }

    /// The total of every "errors.X" counter (one level).
    public var errorCount: Int64 {
        ((totals["counters"] as? [String: Any]) ?? [:]).filter { $0.key.hasPrefix("errors.") && $0.key.split(separator: ".").count == 2 }
            .reduce(0) { $0 + (($1.value as? NSNumber)?.int64Value ?? 0) }
    }

    /// run.status ("completed", "aborted").
    public var status: String? { (root["run"] as? [String: Any])?["status"] as? String }

    public var intervals: [[String: Any]] { root["intervals"] as? [[String: Any]] ?? [] }

    public var agents: [[String: Any]] { root["agents"] as? [[String: Any]] ?? [] }

    /// Barrier generations: name, users, spreads, per-agent and per-loop offsets.
    public var barriers: [[String: Any]] { root["barriers"] as? [[String: Any]] ?? [] }

    /// Receivers' order agreement ("receivers", "distinct_orders", "divergent"), when fingerprinted.
    public var order: [String: Any]? { root["order"] as? [String: Any] }

    /// verdict.status ("passed", "failed", "aborted").
    public var verdict: String? { (root["verdict"] as? [String: Any])?["status"] as? String }

    /// Each threshold's record (expression, phase, unit, observed, passed, ...).
    public var thresholds: [[String: Any]] { root["thresholds"] as? [[String: Any]] ?? [] }

    /// The expressions of the thresholds that failed.
    public var failedThresholds: [String] {
        thresholds.filter { ($0["passed"] as? Bool) == false }.compactMap { $0["expression"] as? String }
    }

    /// Whether every failed threshold is a latency one: tests run on shared, loaded machines that
    /// cannot promise a p99, while counts and error rates must hold anywhere.
    public var failedOnlyOnLatency: Bool {
        verdictFailures.isEmpty && thresholds.allSatisfy { ($0["passed"] as? Bool) == true || ($0["unit"] as? String) == "us" }
    }

    /// What besides thresholds failed the run (lost agents, load short of the plan).
    public var verdictFailures: [String] { (root["verdict"] as? [String: Any])?["failures"] as? [String] ?? [] }

    /// The verdict's one-line reason.
    public var verdictReason: String { (root["verdict"] as? [String: Any])?["reason"] as? String ?? "" }

    /// run.start_spread_us, when measured.
    public var startSpreadMicros: Int64? { ((root["run"] as? [String: Any])?["start_spread_us"] as? NSNumber)?.int64Value }
}

/// A `volley run` (or other command) to completion, with its output and results.
public struct VolleyRun {
    public let status: Int32
    public let stdout: String
    public let stderr: String
    public let outputDirectory: String

    /// Runs `volley ARGUMENTS --out DIR` (DIR fresh under /tmp) and waits (at most `timeout` s).
    public static func run(_ arguments: [String], timeout: Double = 120, addOut: Bool = true,
                           environment: [String: String] = [:]) throws -> VolleyRun {
        let dir = NSTemporaryDirectory() + "volley-test-\(UUID().uuidString)"
        let process = try VolleyProcess(arguments + (addOut ? ["--out", dir] : []), environment: environment)
        let result = process.wait(timeout: timeout)
        return VolleyRun(status: result.status, stdout: result.stdout, stderr: result.stderr, outputDirectory: dir)
    }

    public func results() throws -> RunResultsFile {
        try RunResultsFile(path: outputDirectory + "/results.json")
    }

    /// Exit 0, or exit 1 with only latency thresholds failed (see `failedOnlyOnLatency`).
    public var passedApartFromLatency: Bool {
        if status == 0 { return true }
        guard status == 1, let r = try? results() else { return false }
        return r.verdict == "failed" && r.failedOnlyOnLatency
    }
}
