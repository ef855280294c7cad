/// A run's outcome as CI gates on it: passed, failed thresholds, or aborted, with its exit code.
public struct Verdict: Sendable, Equatable {
    public enum Status: String, Sendable {
        /// The run went to the end (or was stopped by nobody) and every threshold held.
        case passed
        /// A threshold failed, at the end or while the run went on (`abort_on_fail`).
        case failed
        /// Stopped by a person (Ctrl-C) or by the lost-agent policy before it could be judged.
        case aborted

        /// "PASSED", "FAILED", "ABORTED", as the terminal and the report show it.
        public var word: String { rawValue.uppercased() }
    }

    /// Exit codes (README, "Exit codes"); 2 is for runs that could not be carried out at all.
    public enum ExitCode {
        public static let passed: Int32 = 0
        public static let thresholdsFailed: Int32 = 1
        public static let couldNotRun: Int32 = 2
        public static let aborted: Int32 = 3
    }

    public var status: Status
    /// One line saying why: which thresholds failed, or what stopped the run.
    public var reason: String

    public init(status: Status, reason: String) {
        self.status = status
        self.reason = reason
    }

    /// The process exit code for this verdict.
    public var exitCode: Int32 {
        switch status {
        case .passed: return ExitCode.passed
        case .failed: return ExitCode.thresholdsFailed
        case .aborted: return ExitCode.aborted
        }
    }

    /// The verdict of a run: `abortReason` is why it stopped early (nil when it ran to the end),
    /// `abortingThreshold` the threshold that stopped it, if one did; `conditions` what else
    /// keeps a run from passing. A run a person or the agent policy stopped is aborted whatever
    /// its thresholds say, since its figures cover only part of the plan; a run a threshold
    /// stopped has failed; a run that lost an agent, fell short of its planned load, or (by
    /// policy) was limited by its own generator has failed even when every threshold held.
    public static func decide(results: [ThresholdResult], abortReason: String?, abortingThreshold: ThresholdResult? = nil,
                              conditions: RunConditions = RunConditions()) -> Verdict {
        if let abortReason, abortingThreshold == nil {
            return Verdict(status: .aborted, reason: "aborted: \(abortReason)")
        }
        var failed = results.filter { !$0.passed }
        if let aborting = abortingThreshold, !failed.contains(where: { $0.threshold == aborting.threshold }) {
            failed.insert(aborting, at: 0)
        }
        let warnings = conditions.warnings.isEmpty ? "" : " (warning: \(conditions.warnings.joined(separator: "; ")))"
        guard !failed.isEmpty || !conditions.failures.isEmpty else {
            let n = results.count
            return Verdict(status: .passed, reason: (n == 0 ? "passed (no thresholds)" : "passed: \(n) threshold\(n == 1 ? "" : "s") held") + warnings)
        }
        var reason = "failed: " + (failed.map(\.summary) + conditions.failures).joined(separator: "; ")
        if let aborting = abortingThreshold { reason += " (run stopped early by \(aborting.threshold.label))" }
        return Verdict(status: .failed, reason: reason + warnings)
    }
}
