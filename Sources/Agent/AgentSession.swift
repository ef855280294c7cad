import Net
import Scenario
import Stats
import WireProtocol

/// One coordinator's connection to an agent, as an explicit state machine:
/// greeting → authenticating → authenticated → prepared → running → authenticated (idle
/// again) → closed. Runs on the agent's control loop; the run itself is an `AgentRun`.
public final class AgentSession: WireChannelDelegate, TimerTarget {
    enum State {
        /// Our hello is out; waiting for the coordinator's hello.
        case greeting
        /// Waiting for the coordinator's proof of the token.
        case authenticating(coordinatorNonce: [UInt8])
        /// Trusted; no run prepared.
        case authenticated
        case prepared(AgentRun)
        case running(AgentRun)
        case closed
    }

    unowned let host: AgentHost
    var channel: WireChannel?
    private(set) var state = State.greeting
    private let nonce = SecureRandom.bytes(32)
    private var timerGeneration: UInt64 = 0
    /// Keeps the session alive while its channel is open (the channel holds it weakly).
    private var retainedSelf: AgentSession?

    /// How often a run's lease, stats and end are looked after.
    static let tickInterval = Nanoseconds.milliseconds(100)
    /// A connection that has not authenticated by then is dropped.
    static let authenticationTimeout = Nanoseconds.seconds(10)

    init(host: AgentHost, channel: WireChannel) {
        self.host = host
        self.channel = channel
        channel.delegate = self
    }

    private var who: String { "coordinator \(channel?.peerDescription ?? "")" }
    var clock: AgentClock { host.configuration.clock }

    func begin() {
        retainedSelf = self
        channel?.send(.hello(.init(role: .agent, software: VolleyVersion.string, nonce: nonce)))
        schedule(after: Self.authenticationTimeout)
    }

    private func fail(_ code: WireMessage.ErrorCode, _ message: String) {
        Log.error("volley agent: \(who): \(message)")
        channel?.send(.error(code: code, message: message), thenClose: true)
    }

    func send(_ message: WireMessage) { channel?.send(message) }

    // MARK: Messages

    public func wire(_ channel: WireChannel, received message: WireMessage) {
        switch (state, message) {
        case let (.greeting, .hello(hello)):
            guard hello.protocolVersion == wireProtocolVersion else {
                fail(.versionMismatch, "protocol version mismatch: the coordinator speaks version \(hello.protocolVersion), this agent speaks version \(wireProtocolVersion); run the same volley build on both")
                return
            }
            guard hello.role == .coordinator, hello.nonce.count == 32 else {
                fail(.protocolViolation, "expected a coordinator's hello")
                return
            }
            state = .authenticating(coordinatorNonce: hello.nonce)
        case let (.authenticating(coordinatorNonce), .authenticate(proof)):
            let token = host.configuration.token ?? []
            let expected = Authentication.coordinatorProof(token: token, agentNonce: nonce, coordinatorNonce: coordinatorNonce)
            guard Authentication.verify(proof, expected: expected) else {
                fail(.authenticationFailed, "authentication failed: the coordinator's token does not match this agent's --token-file")
                return
            }
            channel.authenticated = true
            state = .authenticated
            timerGeneration += 1
            channel.send(.authenticated(proof: Authentication.agentProof(token: token, agentNonce: nonce, coordinatorNonce: coordinatorNonce)))
            channel.send(.capacity(host.capacity))
        case (.greeting, _), (.authenticating, _):
            fail(.authenticationFailed, "expected authentication first, received a \(message.name) message")
        case let (_, .clockProbe(id, sentAt)):
            let received = clock.wallNanoseconds()
            channel.send(.clockReply(id: id, sentAt: sentAt, receivedAt: received, repliedAt: clock.wallNanoseconds()))
        case let (.authenticated, .prepare(plan, agent)):
            prepare(plan, agent: agent)
        case (.prepared, .prepare), (.running, .prepare):
            channel.send(.error(code: .busy, message: "this session already has a run"))
        case let (.prepared(run), .start(runID, at, offset)) where runID == run.id:
            run.start(atAgentWall: at, coordinatorOffset: offset)
            state = .running(run)
        case let (.running(run), .heartbeat), let (.prepared(run), .heartbeat):
            run.heard()
        case (_, .heartbeat):
            break
        case let (.running(run), .clockOffset(offset)), let (.prepared(run), .clockOffset(offset)):
            run.engine.setClockOffset(clock.testOffset - offset)
            run.heard()
        case let (.running(run), .barrierRelease(barrier, generation, at, timedOut)):
            run.heard()
            run.engine.releaseBarrier(barrier: Int(barrier), generation: Int(generation),
                                      at: clock.monotonicInstant(atWall: at), timedOut: timedOut)
        case let (.running(run), .deliveryBook(runID, senders)) where runID == run.id:
            run.receiveBook(senders)
        case let (.running(run), .stop(reason)):
            host.logRun("run \(run.id) stopped by the coordinator: \(reason)")
            run.stop()
        case let (.prepared(run), .stop):
            run.engine.shutdown()
            runEnded()
        default:
            fail(.protocolViolation, "unexpected \(message.name) message in this state")
        }
    }

    private func prepare(_ plan: RunPlan, agent: Int) {
        if let other = host.activeRun, other !== self {
            channel?.send(.error(code: .busy, message: "this agent is busy with another coordinator's run"))
            return
        }
        // Refuse targets outside the allow-list before any connection is made.
        let targets: ResolvedTargets
        do {
            targets = try ResolvedTargets(plan.scenario)
        } catch {
            channel?.send(.error(code: .targetUnreachable, message: "\(error)"))
            return
        }
        for target in targets.hosts(of: plan.scenario) {
            if let refusal = host.configuration.targets.refusal(host: target.host, address: target.address, url: target.url) {
                Log.error("volley agent: \(who): \(refusal)")
                channel?.send(.error(code: .targetNotAllowed, message: refusal))
                return
            }
        }
        let run = AgentRun(session: self, plan: plan, agent: agent)
        do {
            try run.makeEngine(targets)
        } catch {
            channel?.send(.error(code: .targetUnreachable, message: "\(error)"))
            return
        }
        host.activeRun = self
        state = .prepared(run)
        channel?.send(.prepared(runID: plan.runID))
        host.logRun("run \(plan.runID) prepared for \(who): \(plan.scenario.name), agent \(agent + 1) of \(plan.slices.count)")
        schedule(after: Self.tickInterval)
    }

    /// The run ended (finished, dropped before its start, or abandoned): the agent is free.
    func runEnded() {
        if case .closed = state {} else { state = .authenticated }
        if host.activeRun === self { host.activeRun = nil }
    }

    // MARK: Timers

    private func schedule(after nanoseconds: Int64) {
        timerGeneration += 1
        host.loop.schedule(at: host.loop.clock.now().advanced(by: nanoseconds), target: self, token: timerGeneration)
    }

    public func timerFired(token: UInt64, now: Instant) {
        guard token == timerGeneration else { return }
        switch state {
        case .greeting, .authenticating:
            channel?.close(reason: "no authentication within \(Self.authenticationTimeout / 1_000_000_000) s")
        case let .prepared(run):
            if run.leaseExpired(now: now) {
                Log.error("volley agent: run \(run.id): lease expired before the start; dropping it")
                run.engine.shutdown()
                runEnded()
                return
            }
            schedule(after: Self.tickInterval)
        case let .running(run):
            run.tick(now: now)
            if case .running = state { schedule(after: Self.tickInterval) }
        case .authenticated, .closed:
            break
        }
    }

    /// Stops the run at once and closes (the agent is shutting down).
    func abortRun(reason: String) {
        switch state {
        case let .running(run):
            run.engine.stopNow()
            run.engine.shutdown()
        case let .prepared(run):
            run.engine.shutdown()
        default:
            break
        }
        channel?.send(.event(level: .error, message: reason))
        channel?.close(reason: reason)
    }

    public func wireClosed(_ channel: WireChannel, reason: String?) {
        switch state {
        case let .running(run):
            // Nobody will collect the results: stop the load now rather than at the lease.
            Log.error("volley agent: run \(run.id): the coordinator went away (\(reason ?? "closed")); stopping the load")
            run.abandon()
        case let .prepared(run):
            run.engine.shutdown()
        case .greeting, .authenticating:
            // Refused before it was trusted (a failed handshake, a plaintext or older peer).
            if let reason { Log.error("volley agent: \(who): \(reason)") }
        default:
            break
        }
        state = .closed
        self.channel = nil
        if host.activeRun === self { host.activeRun = nil }
        retainedSelf = nil
    }
}
