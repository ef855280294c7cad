import Net
import WireProtocol

/// Makes the engine of a prepared run: the real `LoadEngine`, or a scripted one in tests.
public typealias EngineFactory = (_ plan: RunPlan, _ agent: Int, _ targets: ResolvedTargets, _ host: AgentHost,
                                  _ events: LoadEvents) throws -> LoadRunner

/// What an agent's coordinator sessions share, whether the agent is a `volley agent` daemon or
/// lives in the coordinator's process: its configuration, its control loop, what it reports
/// as its capacity, and the one run it may hold at a time.
public final class AgentHost {
    public let configuration: AgentConfiguration
    /// The control loop: sessions, leases and stats run here, never on a load loop.
    public let loop: EventLoop
    /// What the agent reports to coordinators.
    public let capacity: WireMessage.Capacity
    let makeEngine: EngineFactory
    /// The session that holds the current run, if any.
    var activeRun: AgentSession?

    /// A host whose sessions run on `loop`.
    public init(configuration: AgentConfiguration, loop: EventLoop, capacity: WireMessage.Capacity = AgentConfiguration.capacity(),
                makeEngine: @escaping EngineFactory = AgentHost.loadEngine) {
        self.configuration = configuration
        self.loop = loop
        self.capacity = capacity
        self.makeEngine = makeEngine
    }

    /// The real engine: the plan's loops (or the agent's, or one per core) on this host's clock.
    public static func loadEngine(plan: RunPlan, agent: Int, targets: ResolvedTargets, host: AgentHost, events: LoadEvents) throws -> LoadRunner {
        let loops = plan.loopsPerAgent > 0 ? Int(plan.loopsPerAgent) : host.configuration.loops
        return try LoadEngine(plan: plan, agent: agent, targets: targets, loops: loops, clock: host.loop.clock,
                              controlLoop: host.loop, events: events)
    }

    /// Starts a session with a coordinator on `channel` (greets it and waits for its proof).
    @discardableResult
    public func accept(_ channel: WireChannel) -> AgentSession {
        let session = AgentSession(host: self, channel: channel)
        session.begin()
        return session
    }

    /// Notes a run's progress in the agent's log (when it keeps one).
    func logRun(_ message: String) {
        if configuration.logsRuns { Log.out("volley agent: \(message)") }
    }

    /// Stops any run at once (the agent is shutting down).
    public func abortActiveRun(reason: String) {
        activeRun?.abortRun(reason: reason)
    }
}
