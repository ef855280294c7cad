import Net
import Report
import Scenario
import Stats

/// `volley run` and `volley demo` from the plan to the exit code, the same for every run: the
/// coordinator over the given agents with live progress, then the summary, the verdict and the
/// results directory.
public enum RunPipeline {
    /// Runs `request` on `agents`; returns the exit code (2 when the run could not be carried out).
    public static func run(_ request: RunRequest, agents: [AgentEndpoint], outputs: OutputSettings) -> Int32 {
        let coordinator: RunCoordinator
        do {
            coordinator = try RunCoordinator(request: request)
        } catch {
            Log.error("volley run: \(error)")
            return Verdict.ExitCode.couldNotRun
        }
        var progress = ProgressPrinter(scenario: request.scenario)
        let cluster = agents.count > 1 || agents.contains { if case .address = $0 { return true } else { return false } }
        coordinator.onInterval = { second, metrics, live in
            if !request.quiet { progress.show(second: second, set: metrics, agents: cluster ? (live.live, live.lost) : nil) }
        }
        coordinator.onNotice = { message in
            progress.finish()
            Log.error(message)
        }
        let results: RunResults
        do {
            results = try coordinator.run(agents: agents)
        } catch {
            progress.finish()
            Log.error("volley run: \(error)")
            return Verdict.ExitCode.couldNotRun
        }
        progress.finish()
        return RunOutputs.finish(results, settings: outputs)
    }
}
