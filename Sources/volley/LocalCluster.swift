import Agent
import Coordinator
import Net
import Report

/// Wires a local run's agents: one agent in this process, or local agent processes when one
/// process may not hold the run's connections. Either way the run takes the cluster's path.
enum LocalCluster {
    static func run(_ request: RunRequest, outputs: OutputSettings) -> Int32 {
        var request = request
        let limit = Machine.raiseDescriptorLimit()
        if request.scenario.peakConnections + 256 > limit {
            let count = LocalAgentProcesses.count(connections: request.scenario.peakConnections, descriptorLimit: limit)
            if !request.quiet {
                Log.out("volley: \(request.scenario.peakConnections) connections exceed this process's \(limit) descriptors; starting \(count) local agent processes")
            }
            let agents: LocalAgentProcesses
            do {
                agents = try LocalAgentProcesses(count: count)
            } catch {
                Log.error("volley run: \(error)")
                return ExitCode.couldNotRun
            }
            defer { agents.stop() }
            request.token = agents.token
            return RunPipeline.run(request, agents: agents.addresses.map(AgentEndpoint.address), outputs: outputs)
        }
        request.token = SecureRandom.bytes(32)
        let token = request.token
        let loops = request.loopsPerAgent > 0 ? Int(request.loopsPerAgent) : nil
        var agent: InProcessAgent?
        defer { agent?.stop() }
        let endpoint = AgentEndpoint.inProcess(name: "local") { loop in
            // Started here, once the coordinator watches Ctrl-C, so its threads inherit that.
            let started = try InProcessAgent(token: token, loops: loops)
            agent = started
            return started.connect(coordinatorLoop: loop, name: "local")
        }
        return RunPipeline.run(request, agents: [endpoint], outputs: outputs)
    }
}
