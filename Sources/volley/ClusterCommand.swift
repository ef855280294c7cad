import Coordinator
import Net
import Scenario
import WireProtocol

/// `volley run --agents`: the coordinator of a run across agents.
enum ClusterCommand {
    static func run(_ scenario: Scenario, agents: [SocketAddress], token: [UInt8], leaseMillis: UInt32, settings: RunSettings) -> Int32 {
        var cluster = ClusterSettings(agents: agents, token: token)
        cluster.leaseMillis = leaseMillis
        cluster.quiet = settings.quiet
        cluster.loopsPerAgent = UInt16(settings.loops ?? 0)
        if settings.targetOverridden { cluster.targetOverride = scenario.targets.map(\.source) }
        if let feeder = scenario.feeder {
            guard let text = ScenarioLoader.readFile(feeder.file) else {
                Log.error("volley run: cannot read the feeder \(feeder.file)")
                return ExitCode.couldNotRun
            }
            cluster.feeder = WireMessage.Prepare.FeederFile(name: feeder.file, text: text)
        }
        let results: RunResults
        do {
            let run = try ClusterRun(scenario: scenario, settings: cluster, runID: Files.randomID())
            results = try run.run()
        } catch {
            Log.error("volley run: \(error)")
            return ExitCode.couldNotRun
        }
        return Reporting.finish(results, settings: settings)
    }
}
