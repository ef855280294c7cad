import Agent
import Coordinator
import CVolleyLinux
import JSON
import Net
import Report
import Scenario
import Stats
#if canImport(Glibc)
import Glibc
#endif

/// Options shared by `volley run` and `volley demo`.
struct RunSettings {
    var outputDirectory: String?
    var loops: Int?
    var quiet = false
    /// The scenario's targets were replaced on the command line (agents must be told).
    var targetOverridden = false
    /// Where to POST a summary when the verdict is not "passed".
    var notifyURL: String?
}

/// Runs a scenario with the engine in this process: progress every second, then the summary and
/// the results file.
enum LocalRun {
    /// Runs `scenario`; returns the exit code.
    static func run(_ scenario: Scenario, settings: RunSettings) -> Int32 {
        let limit = Int(volley_raise_fd_limit())
        if scenario.peakConnections + 256 > limit {
            // More connections than one process may hold: run local agent processes instead.
            return LocalAgents.run(scenario, settings: settings, descriptorLimit: limit)
        }
        // Block SIGINT/SIGTERM before the loop threads start, so they inherit the mask and the
        // signals arrive only through this thread's signalfd.
        let signals: [Int32] = [SIGINT, SIGTERM]
        let signalFD = signals.withUnsafeBufferPointer { volley_signalfd($0.baseAddress, Int32($0.count)) }
        defer { Glibc.close(signalFD) }

        let engine: LoadEngine
        let runID = Files.randomID()
        let barriers = LocalBarrierService(scenario: scenario)
        do {
            engine = try LoadEngine(scenario: scenario, slice: .whole(scenario), loops: settings.loops, barrierService: barriers, runID: runID)
            try engine.prepare()
        } catch {
            Log.error("volley run: \(error)")
            return ExitCode.couldNotRun
        }
        let startWall = WallClock.secondsSinceEpoch() + 0.05
        let start = Instant.now.advanced(by: Nanoseconds.milliseconds(50))
        if !settings.quiet {
            Log.out("volley: running \(scenario.name) for \(Units.describe(nanoseconds: scenario.duration)) with \(engine.loopCount) event loop\(engine.loopCount == 1 ? "" : "s") (Ctrl-C stops early and still reports)")
        }
        engine.start(at: start)

        var series = IntervalSeries()
        var ledger = BarrierLedger(names: scenario.barrierNames)
        func takeReleases() {
            for release in barriers.drainReleases() { ledger.add(agent: 0, release) }
        }
        var progress = ProgressPrinter(scenario: scenario)
        var second = 0
        var aborted: String?
        var monitor = ThresholdMonitor(scenario: scenario)
        var stoppedBy: ThresholdResult?
        while true {
            let boundary = start.advanced(by: Int64(second + 1) * 1_000_000_000)
            let wait = Int32(Swift.max(0, Instant.now.nanoseconds(to: boundary) / 1_000_000))
            if volley_wait_readable(signalFD, wait) == 1 {
                _ = volley_signalfd_read(signalFD)
                if aborted == nil {
                    aborted = "interrupted"
                    progress.finish()
                    Log.error("volley: stopping the run (interrupted); press Ctrl-C again to stop at once")
                    engine.stopNow()
                } else {
                    break
                }
                continue
            }
            if Instant.now < boundary { continue }
            let set = engine.collect()
            takeReleases()
            series.merge(set, at: second)
            if !settings.quiet { progress.show(second: second, set: set) }
            if monitor.isWatching && aborted == nil {
                monitor.record(set, second: second)
                if let failing = monitor.failing(elapsed: Double(second + 1)) {
                    stoppedBy = failing
                    aborted = "threshold \(failing.threshold.label) failed (\(failing.observedText))"
                    progress.finish()
                    Log.error("volley: stopping the run: \(failing.summary) and it is marked abort_on_fail")
                    engine.stopNow()
                }
            }
            second += 1
            if engine.isFinished { break }
        }
        let final = engine.collect()
        takeReleases()
        if !final.isEmpty { series.merge(final, at: Swift.max(0, second - 1)) }
        let timeline = engine.connectionTimeline().map { Double($0) / 1e9 }
        engine.shutdown()
        progress.finish()

        let duration = Double(start.nanoseconds(to: .now)) / 1e9
        let results = RunResults(scenario: scenario, runID: runID, startedAt: startWall, duration: duration,
                                 status: aborted == nil ? .completed : .aborted, abortReason: aborted, series: series,
                                 agents: [AgentResult(index: 0, name: "local", host: Host.name, series: series)])
        var withTimeline = results
        withTimeline.connectionTimeline = timeline
        withTimeline.barriers = ledger.outcomes
        withTimeline.abortingThreshold = stoppedBy
        return Reporting.finish(withTimeline, settings: settings)
    }
}
