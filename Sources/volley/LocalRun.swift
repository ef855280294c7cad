import Agent
import Coordinator
import CVolleyLinux
import JSON
import Net
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
        return Reporting.finish(withTimeline, settings: settings)
    }
}

/// Exit codes, following the load-testing convention (documented in the README).
enum ExitCode {
    static let passed: Int32 = 0
    static let thresholdsFailed: Int32 = 1
    static let couldNotRun: Int32 = 2
    static let aborted: Int32 = 3
}

/// The end of every run: summary, results files, verdict.
enum Reporting {
    static func finish(_ results: RunResults, settings: RunSettings) -> Int32 {
        Log.out(SummaryTable.render(results))
        let directory = settings.outputDirectory ?? "volley-results/\(safeName(results.scenario.name))-\(Files.timestamp(results.startedAt))"
        do {
            try Files.write(ResultsDocument.build(results).serialized(indent: 1) + "\n", to: directory + "/results.json")
            Log.out("results: \(directory)/results.json")
        } catch {
            Log.error("volley: \(error)")
        }
        return results.status == .aborted ? ExitCode.aborted : ExitCode.passed
    }

    static func safeName(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "-" })
    }
}

