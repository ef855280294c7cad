import CVolleyLinux
import Net
import Scenario
import Stats
import WebSocket
import WireProtocol
#if canImport(Glibc)
import Glibc
#endif

/// What `volley agent` runs with.
public struct AgentConfiguration: Sendable {
    public var listen: SocketAddress
    /// The shared token; nil only when listening on loopback (then any coordinator may connect).
    public var token: [UInt8]?
    public var targets: TargetPolicy
    public var clock: AgentClock
    /// Event loops for runs (nil: one per core).
    public var loops: Int?

    public init(listen: SocketAddress, token: [UInt8]?, targets: TargetPolicy = .loopbackOnly, clock: AgentClock = .fromEnvironment(), loops: Int? = nil) {
        self.listen = listen
        self.token = token
        self.targets = targets
        self.clock = clock
        self.loops = loops
    }

    /// Checks the safety rules: a non-loopback listener requires a token.
    public func validate() throws(AgentError) {
        if token == nil && !listen.ip.isLoopback {
            throw AgentError("an agent listening on \(listen) needs --token-file: only loopback listeners may run without authentication")
        }
        if let token, token.isEmpty { throw AgentError("the token file is empty") }
    }
}

/// Why the agent could not start.
public struct AgentError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The long-running agent: accepts coordinators, serves one run at a time, and survives any
/// number of runs, bad clients and lost coordinators. Runs on the calling thread's event loop.
public final class AgentDaemon: EventHandler {
    let configuration: AgentConfiguration
    let loop: EventLoop
    private let listener: Socket
    private var sessions: [ObjectIdentifier: AgentSession] = [:]
    /// The session that holds the current run, if any.
    var activeRun: AgentSession?
    private var signalFD: Int32 = -1

    public init(configuration: AgentConfiguration) throws {
        try configuration.validate()
        self.configuration = configuration
        loop = try EventLoop()
        listener = try Socket.listen(on: configuration.listen)
        try loop.register(fd: listener.fd, interest: .readable, handler: self)
    }

    /// The address actually bound.
    public var localAddress: SocketAddress? { listener.localAddress }

    /// Serves until SIGINT or SIGTERM.
    public func run() {
        let signals: [Int32] = [SIGINT, SIGTERM]
        signalFD = signals.withUnsafeBufferPointer { volley_signalfd($0.baseAddress, Int32($0.count)) }
        let stopper = SignalHandler(fd: signalFD) { [unowned self] in
            Log.error("volley agent: stopping")
            activeRun?.abortRun(reason: "the agent is shutting down")
            loop.stop()
        }
        try? loop.register(fd: signalFD, interest: .readable, handler: stopper)
        let auth = configuration.token == nil ? "no authentication (loopback only)" : "token authentication"
        Log.out("volley agent: listening on \(localAddress.map { "\($0)" } ?? "\(configuration.listen)") with \(auth); targets allowed: \(configuration.targets)")
        loop.run()
    }

    public func handleEvents(_ events: IOEvents) {
        for _ in 0..<64 {
            guard let accepted = try? listener.accept(), let (socket, peer) = Optional(accepted) else { return }
            do {
                let session = AgentSession(daemon: self, peer: peer)
                session.connection = try WireConnection(socket: socket, peer: peer, loop: loop, delegate: session)
                sessions[ObjectIdentifier(session)] = session
                session.begin()
            } catch {
                socket.close()
            }
        }
    }

    func sessionEnded(_ session: AgentSession) {
        sessions[ObjectIdentifier(session)] = nil
        if activeRun === session { activeRun = nil }
    }
}

/// Hands signals from a signalfd to a closure on the loop.
final class SignalHandler: EventHandler {
    let fd: Int32
    let body: () -> Void
    init(fd: Int32, body: @escaping () -> Void) {
        self.fd = fd
        self.body = body
    }
    func handleEvents(_ events: IOEvents) {
        if volley_signalfd_read(fd) != 0 { body() }
    }
}

/// One coordinator connection to an agent, as an explicit state machine:
/// greeting → authenticated → prepared → running → authenticated (idle again) → closed.
final class AgentSession: WireConnectionDelegate, TimerTarget {
    enum State {
        /// Our hello is out; waiting for the coordinator's hello.
        case greeting
        /// Waiting for the coordinator's proof of the token.
        case authenticating(coordinatorNonce: [UInt8])
        /// Trusted; no run prepared.
        case authenticated
        case prepared(Run)
        case running(Run)
        case closed
    }

    /// A run this session prepared or is running.
    final class Run {
        let id: String
        let engine: LoadEngine
        let leaseNanos: Int64
        var lastHeard: Instant = .now
        var stopping = false
        var finishedSent = false
        var statsSecond = 0
        var startInstant: Instant?
        var sentStarted = false
        init(id: String, engine: LoadEngine, leaseNanos: Int64) {
            self.id = id
            self.engine = engine
            self.leaseNanos = leaseNanos
        }
    }

    unowned let daemon: AgentDaemon
    let peer: SocketAddress?
    var connection: WireConnection?
    private(set) var state = State.greeting
    private let nonce: [UInt8]
    private var timerGeneration: UInt64 = 0

    init(daemon: AgentDaemon, peer: SocketAddress?) {
        self.daemon = daemon
        self.peer = peer
        var bytes = [UInt8](repeating: 0, count: 32)
        _ = volley_random_bytes(&bytes, 32)
        nonce = bytes
    }

    private var who: String { peer.map { "coordinator \($0)" } ?? "coordinator" }
    private var clock: AgentClock { daemon.configuration.clock }

    func begin() {
        connection?.send(.hello(.init(role: .agent, software: VolleyVersion.string, nonce: nonce)))
        // A connection that does not authenticate promptly is dropped.
        timerGeneration += 1
        daemon.loop.schedule(at: Instant.now.advanced(by: Nanoseconds.seconds(10)), target: self, token: timerGeneration)
    }

    private func fail(_ code: WireMessage.ErrorCode, _ message: String) {
        Log.error("volley agent: \(who): \(message)")
        connection?.send(.error(code: code, message: message), thenClose: true)
    }

    // MARK: Messages

    func wire(_ connection: WireConnection, received message: WireMessage) {
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
            let token = daemon.configuration.token ?? []
            let expected = Authentication.coordinatorProof(token: token, agentNonce: nonce, coordinatorNonce: coordinatorNonce)
            guard Authentication.verify(proof, expected: expected) else {
                fail(.authenticationFailed, "authentication failed: the coordinator's token does not match this agent's --token-file")
                return
            }
            connection.authenticated = true
            state = .authenticated
            timerGeneration += 1
            connection.send(.authenticated(proof: Authentication.agentProof(token: token, agentNonce: nonce, coordinatorNonce: coordinatorNonce)))
            connection.send(.capacity(.init(hostName: Host.name, cores: UInt16(clamping: volley_cpu_count()),
                                            descriptorLimit: UInt32(clamping: volley_raise_fd_limit()),
                                            memoryBytes: UInt64(clamping: volley_physical_memory()), software: VolleyVersion.string)))
        case (.greeting, _), (.authenticating, _):
            fail(.authenticationFailed, "expected authentication first, received a \(message.name) message")
        case let (_, .clockProbe(id, sentAt)):
            let received = clock.wallNanoseconds()
            connection.send(.clockReply(id: id, sentAt: sentAt, receivedAt: received, repliedAt: clock.wallNanoseconds()))
        case let (.authenticated, .prepare(p)):
            prepare(p)
        case (.prepared, .prepare), (.running, .prepare):
            connection.send(.error(code: .busy, message: "this session already has a run"))
        case let (.prepared(run), .start(runID, at, offset)) where runID == run.id:
            start(run, atAgentWall: at, coordinatorOffset: offset)
        case let (.running(run), .heartbeat), let (.prepared(run), .heartbeat):
            run.lastHeard = .now
        case (_, .heartbeat):
            break
        case let (.running(run), .clockOffset(offset)), let (.prepared(run), .clockOffset(offset)):
            run.engine.setClockOffset(clock.testOffset - offset)
            run.lastHeard = .now
        case let (.running(run), .barrierRelease(barrier, generation, at, timedOut)):
            run.lastHeard = .now
            run.engine.releaseBarrier(barrier: Int(barrier), generation: Int(generation),
                                      at: clock.monotonicInstant(atWall: at), timedOut: timedOut)
        case let (.running(run), .stop(reason)):
            Log.error("volley agent: run \(run.id) stopped by the coordinator: \(reason)")
            run.stopping = true
            run.engine.stopNow()
        case let (.prepared(run), .stop):
            run.engine.shutdown()
            state = .authenticated
            daemon.activeRun = nil
        default:
            fail(.protocolViolation, "unexpected \(message.name) message in this state")
        }
    }

    private func prepare(_ p: WireMessage.Prepare) {
        if let other = daemon.activeRun, other !== self {
            connection?.send(.error(code: .busy, message: "this agent is busy with another coordinator's run"))
            return
        }
        var scenario: Scenario
        do {
            scenario = try ScenarioLoader.load(source: p.scenarioSource, file: p.scenarioFile) { (name) throws(ScenarioError) -> Feeder? in
                guard let f = p.feeder else {
                    throw ScenarioError(file: p.scenarioFile, line: 1, column: 1, message: "the coordinator did not send the feeder \(name)")
                }
                return try Feeder.parse(f.text, file: f.name)
            }
            if p.peakConnections > 0 { scenario = scenario.scaled(toPeakConnections: Int(p.peakConnections)) }
            if !p.targetOverride.isEmpty {
                scenario.targets = try p.targetOverride.map { (url) throws(ScenarioError) in
                    try Template(url, file: "--target", line: 1, column: 1, feederColumns: scenario.feeder?.columns)
                }
            }
        } catch {
            connection?.send(.error(code: .badScenario, message: "\(error)"))
            return
        }
        guard p.slice.phases.count == scenario.phases.count else {
            connection?.send(.error(code: .badScenario, message: "the slice has \(p.slice.phases.count) phases, the scenario \(scenario.phases.count)"))
            return
        }
        // Refuse targets outside the allow-list before any connection is made.
        var context = RenderContext(seed: 1)
        for target in scenario.targets {
            let url = target.renderString(&context)
            guard let parsed = WebSocketURL(url) else { continue }
            let address: IPAddress
            do {
                address = try Resolver.resolve(host: parsed.host, port: parsed.port)[0].ip
            } catch {
                connection?.send(.error(code: .targetUnreachable, message: "cannot resolve the target \(url) on this agent: \(error)"))
                return
            }
            if let refusal = daemon.configuration.targets.refusal(host: parsed.host, address: address, url: target.source) {
                Log.error("volley agent: \(who): \(refusal)")
                connection?.send(.error(code: .targetNotAllowed, message: refusal))
                return
            }
        }
        let engine: LoadEngine
        do {
            let loops = p.loops > 0 ? Int(p.loops) : daemon.configuration.loops
            // Runs on the control loop (this session's loop), where the session lives.
            let forward = LoopBound({ [weak self] (b: Int, g: Int, n: Int) in
                self?.connection?.send(.barrierArrived(barrier: UInt32(b), generation: UInt32(g), count: UInt32(n)))
            })
            let report = LoopBound({ [weak self] (release: BarrierRelease) in self?.connection?.send(.barrierReport(release)) })
            let service = RemoteBarrierService(controlLoop: daemon.loop, send: { b, g, n in forward.value(b, g, n) },
                                               report: { report.value($0) })
            engine = try LoadEngine(scenario: scenario, slice: p.slice, loops: loops, clockOffset: 0,
                                    barrierService: service, runID: p.runID)
            try engine.prepare()
        } catch {
            connection?.send(.error(code: .targetUnreachable, message: "\(error)"))
            return
        }
        let run = Run(id: p.runID, engine: engine, leaseNanos: Int64(p.leaseMillis) * 1_000_000)
        daemon.activeRun = self
        state = .prepared(run)
        connection?.send(.prepared(runID: p.runID))
        Log.out("volley agent: run \(p.runID) prepared for \(who): \(scenario.name), agent \(p.slice.agentIndex + 1) of \(p.slice.agentCount)")
        scheduleTick()
    }

    private func start(_ run: Run, atAgentWall wall: Int64, coordinatorOffset: Int64) {
        run.engine.setClockOffset(clock.testOffset - coordinatorOffset)
        let instant = clock.monotonicInstant(atWall: wall)
        run.startInstant = instant
        run.lastHeard = .now
        state = .running(run)
        run.engine.start(at: instant)
    }

    // MARK: Once per interval: stats, lease, end of run

    private func scheduleTick() {
        timerGeneration += 1
        daemon.loop.schedule(at: Instant.now.advanced(by: Nanoseconds.milliseconds(100)), target: self, token: timerGeneration)
    }

    func timerFired(token: UInt64, now: Instant) {
        guard token == timerGeneration else { return }
        switch state {
        case .greeting, .authenticating:
            connection?.close(reason: "no authentication within 10 s")
        case let .prepared(run):
            if now.nanoseconds - run.lastHeard.nanoseconds > run.leaseNanos {
                Log.error("volley agent: run \(run.id): lease expired before the start; dropping it")
                run.engine.shutdown()
                state = .authenticated
                daemon.activeRun = nil
                return
            }
            scheduleTick()
        case let .running(run):
            tick(run, now: now)
        case .authenticated, .closed:
            break
        }
    }

    private func tick(_ run: Run, now: Instant) {
        if !run.stopping && now.nanoseconds - run.lastHeard.nanoseconds > run.leaseNanos {
            Log.error("volley agent: run \(run.id): lease expired (no word from the coordinator for \(run.leaseNanos / 1_000_000) ms); stopping the load")
            run.stopping = true
            run.engine.stopNow()
        }
        if !run.sentStarted, let actual = run.engine.actualStart {
            run.sentStarted = true
            connection?.send(.started(runID: run.id, actualStartWall: clock.wall(at: actual)))
        }
        if let start = run.startInstant {
            // One stats message per elapsed second of the run.
            let due = Int(start.nanoseconds(to: now) / 1_000_000_000)
            while run.statsSecond < due {
                connection?.send(.stats(runID: run.id, second: UInt32(run.statsSecond), metrics: CompactMetricSet(run.engine.collect())))
                run.statsSecond += 1
            }
        }
        if run.engine.isFinished {
            let last = run.engine.collect()
            if !last.isEmpty { connection?.send(.stats(runID: run.id, second: UInt32(run.statsSecond), metrics: CompactMetricSet(last))) }
            connection?.send(.finished(runID: run.id, timeline: run.engine.connectionTimeline()))
            run.engine.shutdown()
            Log.out("volley agent: run \(run.id) finished")
            state = .authenticated
            daemon.activeRun = nil
            return
        }
        scheduleTick()
    }

    /// Stops the run at once (the agent is shutting down).
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
        connection?.send(.event(level: .error, message: reason))
        connection?.close(reason: reason)
    }

    func wireClosed(_ connection: WireConnection, reason: String?) {
        switch state {
        case let .running(run):
            // Nobody will collect the results: stop the load now rather than at the lease.
            Log.error("volley agent: run \(run.id): the coordinator went away (\(reason ?? "closed")); stopping the load")
            run.engine.stopNow()
            let engine = run.engine
            waitAndShutdown(engine)
        case let .prepared(run):
            run.engine.shutdown()
        default:
            break
        }
        state = .closed
        self.connection = nil
        daemon.sessionEnded(self)
    }

    private func waitAndShutdown(_ engine: LoadEngine) {
        daemon.loop.schedule(after: Nanoseconds.milliseconds(50)) { [weak daemon] in
            if engine.isFinished || daemon == nil {
                engine.shutdown()
            } else {
                self.waitAndShutdown(engine)
            }
        }
    }
}

/// This machine's host name.
public enum Host {
    public static var name: String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count - 1)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// volley's version, as agents and coordinators tell each other.
public enum VolleyVersion {
    public static let string = "volley 0.5"
}
