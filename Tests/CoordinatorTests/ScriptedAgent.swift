import Coordinator
import Net
import Scenario
import Stats
import WireProtocol

/// An agent played by the test: the coordinator's end of its channel, answering the
/// handshake, clock probes and prepare as a real agent would, and reporting what the test says
/// it measured. Everything it tells the coordinator goes through the coordinator's loop, so a
/// test on an `EmbeddedLoop` sees exactly the order a real agent would produce.
final class ScriptedAgent: WireChannel {
    weak var delegate: WireChannelDelegate?
    var authenticated = false
    let bytesReceived = 0
    let bytesSent = 0
    let peerDescription: String
    let loop: EventLoop
    let clock: any TimeSource
    let token: [UInt8]
    /// Agent wall clock minus coordinator wall clock.
    let wallOffset: Int64
    let cores: UInt16
    private let nonce = [UInt8](repeating: 9, count: 32)
    private var coordinatorNonce: [UInt8] = []

    /// Everything the coordinator sent, in order.
    private(set) var received: [WireMessage] = []
    private(set) var plan: RunPlan?
    private(set) var agentIndex: Int?
    /// The start instant, on this agent's wall clock.
    private(set) var startWall: Int64?
    private(set) var stopReason: String?
    private(set) var releases: [(barrier: Int, generation: Int, atAgentWall: Int64, timedOut: Bool)] = []
    private(set) var closed = false
    var answersProbes = true

    init(name: String, loop: EventLoop, clock: any TimeSource, token: [UInt8], wallOffset: Int64 = 0, cores: UInt16 = 1) {
        peerDescription = name
        self.loop = loop
        self.clock = clock
        self.token = token
        self.wallOffset = wallOffset
        self.cores = cores
    }

    var wall: Int64 { clock.wallNanoseconds() + wallOffset }

    /// The endpoint the coordinator is given for this agent.
    var endpoint: AgentEndpoint { .inProcess(name: peerDescription) { _ in self } }

    /// Says hello, as an agent does first.
    func greet() { tell(.hello(.init(role: .agent, software: "scripted", nonce: nonce))) }

    /// Hands `message` to the coordinator on its loop.
    func tell(_ message: WireMessage) {
        let me = LoopBound(self)
        loop.execute { me.value.delegate?.wire(me.value, received: message) }
    }

    /// Reports what was measured in interval `second`.
    func report(second: Int, counters: [String: Int64] = [:], gauges: [String: Int64] = [:], histograms: [String: [Int64]] = [:]) {
        var set = MetricSet(counters: counters, gauges: gauges)
        for (name, values) in histograms {
            var h = HDRHistogram()
            for v in values { h.record(v) }
            set.histograms[name] = h
        }
        tell(.stats(runID: plan!.runID, second: UInt32(second), metrics: CompactMetricSet(set)))
    }

    func arrive(barrier: Int, generation: Int, count: Int) {
        tell(.barrierArrived(barrier: UInt32(barrier), generation: UInt32(generation), count: UInt32(count)))
    }

    func finish() { tell(.finished(runID: plan!.runID, timeline: [])) }

    /// The connection drops (the process died).
    func vanish() {
        closed = true
        let me = LoopBound(self)
        loop.execute { me.value.delegate?.wireClosed(me.value, reason: "connection reset") }
    }

    // MARK: WireChannel (what the coordinator sends)

    func send(_ message: WireMessage) {
        guard !closed else { return }
        received.append(message)
        switch message {
        case let .hello(hello):
            coordinatorNonce = hello.nonce
        case let .authenticate(proof):
            let expected = Authentication.coordinatorProof(token: token, agentNonce: nonce, coordinatorNonce: coordinatorNonce)
            guard Authentication.verify(proof, expected: expected) else {
                tell(.error(code: .authenticationFailed, message: "authentication failed"))
                return
            }
            tell(.authenticated(proof: Authentication.agentProof(token: token, agentNonce: nonce, coordinatorNonce: coordinatorNonce)))
            tell(.capacity(.init(hostName: peerDescription, cores: cores, descriptorLimit: 20_000, memoryBytes: 1 << 30, software: "scripted")))
        case let .clockProbe(id, sentAt):
            if answersProbes { tell(.clockReply(id: id, sentAt: sentAt, receivedAt: wall, repliedAt: wall)) }
        case let .prepare(plan, agent):
            self.plan = plan
            agentIndex = agent
            tell(.prepared(runID: plan.runID))
        case let .start(_, at, _):
            startWall = at
        case let .stop(reason):
            stopReason = reason
        case let .barrierRelease(barrier, generation, at, timedOut):
            releases.append((Int(barrier), Int(generation), at, timedOut))
        default:
            break
        }
    }

    func send(_ message: WireMessage, thenClose: Bool) {
        send(message)
        if thenClose { close(reason: nil) }
    }

    func close(reason: String?) { closed = true }

    /// Messages of one kind the coordinator sent.
    func count(_ name: String) -> Int { received.filter { $0.name == name }.count }
}
