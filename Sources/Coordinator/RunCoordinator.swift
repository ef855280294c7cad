import Net
import Report
import Scenario
import Stats
import WireProtocol
#if canImport(Glibc)
import Glibc
#endif

/// The one path of every run, local or across hosts: connects to and authenticates every
/// agent, reads their capacity, estimates their clock offsets, plans the run and sends the
/// plan whole, starts every agent at one instant, coordinates barriers, merges the per-second
/// reports exactly (progress, abort_on_fail), and keeps going, or aborts by policy, when an
/// agent is lost. All of it runs on one event loop whose clock it reads, so tests drive it on
/// a manual clock without sockets or sleeping.
public final class RunCoordinator: WireChannelDelegate, TimerTarget {
    enum Stage { case connecting, syncing, preparing, running, finishing, done }

    let request: RunRequest
    var scenario: Scenario { request.scenario }
    public let loop: EventLoop
    var links: [AgentLink] = []
    var stage = Stage.connecting
    var failure: ClusterError?
    var plan: RunPlan?
    var startWall: Int64 = 0
    var startInstant = Instant(nanoseconds: 0)
    var pipeline: IntervalPipeline
    var barriers: BarrierCoordinator
    var ledger: BarrierLedger
    var releaseLead = ReleaseLead()
    var abortReason: String?
    var abortingThreshold: ThresholdResult?
    var heartbeat: UInt64 = 0
    var lastClockRefresh = Instant(nanoseconds: 0)
    var stageDeadline = Instant(nanoseconds: 0)
    var endedAt: Instant?
    /// Delivery accounting: every sender the agents reported, and the groups' completeness.
    var deliverySenders: [SenderSummary] = []
    var deliveryBookSent = false
    var completeness: [String: GroupCompleteness] = [:]
    /// Called with each second as it is handed on (progress, live views).
    public var onInterval: ((_ second: Int, _ metrics: MetricSet, _ agents: (live: Int, lost: Int)) -> Void)?
    /// Called with what the user should know as it happens (agents lost, the run stopping).
    public var onNotice: ((String) -> Void)?

    static let tick = Nanoseconds.milliseconds(100)
    /// An agent silent this long (no stats, no heartbeat) is lost.
    public static let silenceLimit = Nanoseconds.seconds(5)

    /// A coordinator on `loop` (a new loop on the system clock by default).
    public init(request: RunRequest, loop: EventLoop? = nil) throws(SocketError) {
        self.request = request
        if let loop {
            self.loop = loop
        } else {
            self.loop = try EventLoop()
        }
        pipeline = IntervalPipeline(scenario: request.scenario)
        barriers = BarrierCoordinator(scenario: request.scenario)
        ledger = BarrierLedger(names: request.scenario.barrierNames)
    }

    var now: Instant { loop.clock.now() }
    var wallNow: Int64 { loop.clock.wallNanoseconds() }

    /// True once the run is over (finished, aborted, or failed to start).
    public var isDone: Bool { stage == .done }

    // MARK: Running

    /// Runs to the end on the calling thread, stopping early on SIGINT/SIGTERM; returns the
    /// results, or throws if the run could not be carried out.
    public func run(agents: [AgentEndpoint]) throws(ClusterError) -> RunResults {
        let signals: SignalWatcher
        do {
            // Before any agent thread starts, so that they inherit the blocked signals.
            signals = try SignalWatcher(SignalWatcher.stopSignals, loop: loop) { [unowned self] _ in interrupt() }
        } catch {
            throw ClusterError("cannot watch for Ctrl-C: \(error)")
        }
        begin(agents: agents)
        while stage != .done { loop.runOnce(maximumWait: Self.tick) }
        withExtendedLifetime(signals) {}
        return try end()
    }

    /// Connects to every agent and starts the stages (then drive `loop` until `isDone`).
    public func begin(agents: [AgentEndpoint]) {
        var security: TLSContext?
        for (i, endpoint) in agents.enumerated() {
            let link = AgentLink(index: i, endpoint: endpoint)
            links.append(link)
            do {
                switch endpoint {
                case let .address(address):
                    let context = try security ?? ControlChannelSecurity.coordinator(token: request.token)
                    security = context
                    link.channel = try WireConnection.connect(to: address, loop: loop, security: context, delegate: self)
                case let .inProcess(_, connect):
                    let channel = try connect(loop)
                    channel.delegate = self
                    link.channel = channel
                }
            } catch {
                fail("agent \(link.name) is unreachable: \(error)")
                return
            }
        }
        stageDeadline = now.advanced(by: Nanoseconds.seconds(15))
        schedule(Self.tick)
    }

    /// Closes every channel and returns the results, or the reason the run could not be carried out.
    public func end() throws(ClusterError) -> RunResults {
        for link in links {
            link.noteBytes()
            link.channel?.close(reason: nil)
        }
        if let failure { throw failure }
        return results()
    }

    /// Ctrl-C: the first stops the run on every agent (and it still reports); the second stops at once.
    public func interrupt() {
        if abortReason != nil {
            stage = .done
            return
        }
        notice("volley: stopping the run (interrupted); press Ctrl-C again to stop at once")
        abort("interrupted")
    }

    func fail(_ message: String) {
        guard failure == nil else { return }
        failure = ClusterError(message)
        for link in links where link.state == .running || link.state == .prepared {
            link.channel?.send(.stop(reason: "the coordinator could not carry out the run: \(message)"))
        }
        stage = .done
    }

    func notice(_ message: String) { onNotice?(message) }

    func log(_ message: String) {
        if !request.quiet { Log.out(message) }
    }

    func abort(_ reason: String) {
        abortReason = reason
        switch stage {
        case .running:
            for link in links where link.state == .running { link.channel?.send(.stop(reason: reason)) }
            stage = .finishing
            stageDeadline = now.advanced(by: Nanoseconds.seconds(10))
        case .done, .finishing:
            break
        default:
            fail(reason)
        }
    }

    // MARK: Messages from agents

    func link(of channel: WireChannel) -> AgentLink? { links.first { $0.channel === channel } }

    public func wire(_ channel: WireChannel, received message: WireMessage) {
        guard let link = link(of: channel) else { return }
        link.lastHeard = now
        switch message {
        case let .error(code, text):
            handleAgentError(link, code, text)
            return
        case let .event(level, text):
            Log.error("agent \(link.name): \(level == .error ? "error: " : "")\(text)")
            return
        default:
            break
        }
        switch (link.state, message) {
        case let (.greeting, .hello(hello)):
            guard hello.protocolVersion == wireProtocolVersion else {
                fail("agent \(link.name) speaks protocol version \(hello.protocolVersion), this coordinator speaks version \(wireProtocolVersion); run the same volley build on both")
                return
            }
            guard hello.role == .agent, hello.nonce.count == 32 else {
                fail("\(link.name) did not greet as a volley agent")
                return
            }
            link.agentNonce = hello.nonce
            channel.send(.hello(.init(role: .coordinator, software: "volley coordinator", nonce: link.nonce)))
            channel.send(.authenticate(proof: Authentication.coordinatorProof(token: request.token, agentNonce: hello.nonce, coordinatorNonce: link.nonce)))
            link.state = .authenticating
        case let (.authenticating, .authenticated(proof)):
            let expected = Authentication.agentProof(token: request.token, agentNonce: link.agentNonce, coordinatorNonce: link.nonce)
            guard Authentication.verify(proof, expected: expected) else {
                fail("agent \(link.name) could not prove it holds the token: check both sides' --token-file")
                return
            }
            channel.authenticated = true
            link.state = .awaitingCapacity
        case let (.awaitingCapacity, .capacity(capacity)):
            link.capacity = capacity
            link.state = .syncing
            if let address = link.address { link.name = "\(capacity.hostName)@\(address)" }
            advance()
        case let (_, .clockReply(_, sent, received, replied)):
            link.clockReply(sent: sent, received: received, replied: replied, now: wallNow)
            if link.state == .syncing && link.probesAnswered >= AgentLink.initialProbes { advance() }
        case let (.preparing, .prepared(id)) where id == request.runID:
            link.state = .prepared
            advance()
        case let (.running, .started(id, actual)) where id == request.runID:
            link.actualStart = actual - link.clock.offset
        case (.running, .heartbeat), (.finished, .heartbeat):
            break
        case let (.running, .stats(id, second, metrics)) where id == request.runID:
            link.series.merge(metrics, at: Int(second))
            pipeline.add(metrics, second: Int(second))
            link.reported = Swift.max(link.reported, Int(second) + 1)
            handOnReadyIntervals()
        case let (.running, .barrierArrived(barrier, generation, count)):
            barrierArrival(BarrierCoordinator.Key(barrier: Int(barrier), generation: Int(generation)), count: Int(count))
        case let (.running, .barrierReport(release)):
            ledger.add(agent: link.index, release)
            if let lead = ledger.lead(barrier: release.barrier, generation: release.generation) {
                releaseLead.observe(readyMargin: release.readyMargin, lead: lead)
            }
        case let (.running, .deliverySenders(id, groups, senders)) where id == request.runID:
            link.deliveryGroups = groups
            deliverySenders += senders
            sendDeliveryBooks()
        case let (.running, .deliveryTotals(id, groups)) where id == request.runID:
            for g in groups { completeness[g.group, default: GroupCompleteness(group: g.group)].merge(g) }
        case let (.running, .finished(id, timeline)) where id == request.runID:
            link.state = .finished
            link.timeline = timeline
            handOnReadyIntervals()
            maybeFinish()
        default:
            Log.error("agent \(link.name): unexpected \(message.name) message; ignored")
        }
    }

    func handleAgentError(_ link: AgentLink, _ code: WireMessage.ErrorCode, _ text: String) {
        switch stage {
        case .connecting, .syncing, .preparing:
            switch code {
            case .authenticationFailed: fail("agent \(link.name) refused the coordinator: \(text)")
            default: fail("agent \(link.name): \(text)")
            }
        default:
            Log.error("agent \(link.name): error: \(text)")
        }
    }

    public func wireClosed(_ channel: WireChannel, reason: String?) {
        guard let link = link(of: channel) else { return }
        link.noteBytes()
        link.channel = nil
        switch link.state {
        case .finished, .lost:
            return
        case .running:
            lose(link, reason: reason ?? "connection closed")
        default:
            if stage != .done { fail("agent \(link.name): \(reason ?? "connection closed") before the run started") }
        }
    }

    func lose(_ link: AgentLink, reason: String) {
        let at = Double(startInstant.nanoseconds(to: now)) / 1e9
        link.state = .lost
        link.lostAt = at
        link.lostReason = reason
        link.channel?.close(reason: nil)
        notice("volley: agent \(link.name) lost at \(Format.fixed(at, 1)) s: \(reason)")
        if scenario.options.onAgentLoss == .abort && stage == .running {
            abort("agent \(link.name) was lost (on_agent_loss: abort)")
        }
        sendDeliveryBooks()
        handOnReadyIntervals()
        maybeFinish()
    }

    // MARK: Stages

    func advance() {
        switch stage {
        case .connecting:
            guard links.allSatisfy({ $0.state == .syncing }) else { return }
            stage = .syncing
            for link in links { link.probe(count: AgentLink.initialProbes, on: loop) { [unowned self] in wallNow } }
            stageDeadline = now.advanced(by: Nanoseconds.seconds(10))
        case .syncing:
            guard links.allSatisfy({ $0.probesAnswered >= AgentLink.initialProbes }) else { return }
            prepareAgents()
        case .preparing:
            guard links.allSatisfy({ $0.state == .prepared }) else { return }
            startAgents()
        default:
            break
        }
    }

    func prepareAgents() {
        let capacities = links.map { $0.capacity! }
        let names = links.map(\.name)
        let slices: [LoadSlice]
        do {
            slices = try Planner.plan(scenario, capacities: capacities, names: names)
        } catch {
            fail("\(error)")
            return
        }
        if links.contains(where: { !$0.isInProcess }) {
            log("volley: \(links.count) agent\(links.count == 1 ? "" : "s") authenticated; clock offsets " +
                links.map { "\($0.name) \(Format.fixed(Double($0.clock.offset) / 1000, 0)) µs (±\(Format.fixed(Double($0.clock.best?.roundTrip ?? 0) / 2000, 0)))" }.joined(separator: ", "))
            log(Planner.describe(scenario, slices: slices, names: names).trimmingSuffixNewline())
        }
        let plan = RunPlan(runID: request.runID, scenario: scenario, slices: slices, seed: request.seed,
                           leaseMillis: request.leaseMillis, loopsPerAgent: request.loopsPerAgent)
        self.plan = plan
        stage = .preparing
        for (i, link) in links.enumerated() {
            link.state = .preparing
            link.channel?.send(.prepare(plan, agent: i))
        }
        stageDeadline = now.advanced(by: Nanoseconds.seconds(30))
    }

    func startAgents() {
        // Far enough ahead that every start message arrives before its instant.
        let worstRTT = links.map { $0.clock.best?.roundTrip ?? 0 }.max() ?? 0
        let lead = Swift.max(Nanoseconds.milliseconds(links.allSatisfy(\.isInProcess) ? 50 : 300), 4 * worstRTT)
        startWall = wallNow + lead
        startInstant = now.advanced(by: lead)
        for link in links {
            link.state = .running
            link.lastHeard = now
            link.channel?.send(.start(runID: request.runID, atAgentWall: startWall + link.clock.offset, clockOffset: link.clock.offset))
        }
        stage = .running
        let agents = links.count == 1 && links[0].isInProcess ? "" : " on \(links.count) agent\(links.count == 1 ? "" : "s")"
        log("volley: running \(scenario.name) for \(Units.describe(nanoseconds: scenario.duration))\(agents) (Ctrl-C stops early and still reports)")
    }

    func maybeFinish() {
        guard stage == .running || stage == .finishing else { return }
        if links.allSatisfy({ $0.state == .finished || $0.state == .lost }) {
            endedAt = now
            stage = .done
        }
    }

    // MARK: Timers: deadlines, heartbeats, clock refresh, silent agents, barrier timeouts

    func schedule(_ after: Int64) {
        loop.schedule(at: now.advanced(by: after), target: self, token: 0)
    }

    public func timerFired(token: UInt64, now: Instant) {
        defer { if stage != .done { schedule(Self.tick) } }
        switch stage {
        case .connecting, .syncing, .preparing:
            if now >= stageDeadline { timedOut() }
        case .running, .finishing:
            heartbeat += 1
            if heartbeat % 10 == 0 {
                for link in links where link.state == .running { link.channel?.send(.heartbeat(sequence: heartbeat)) }
            }
            // Refresh the offset estimates now and then; agents get the better value.
            if lastClockRefresh.nanoseconds(to: now) > Nanoseconds.seconds(10) {
                lastClockRefresh = now
                for link in links where link.state == .running { link.probe(count: 3, on: loop) { [unowned self] in wallNow } }
            }
            for link in links where link.state == .running && link.lastHeard.nanoseconds(to: now) > Self.silenceLimit {
                lose(link, reason: "silent for \(Self.silenceLimit / 1_000_000_000) s")
            }
            for key in barriers.expired(now: wallNow) { release(key, timedOut: true) }
            if stage == .finishing && now >= stageDeadline {
                for link in links where link.state == .running { lose(link, reason: "did not finish within 10 s of the stop") }
            }
            handOnReadyIntervals()
            maybeFinish()
        case .done:
            break
        }
    }

    func timedOut() {
        let waiting = links.filter { link in
            switch stage {
            case .connecting: return link.state != .syncing
            case .syncing: return link.probesAnswered < AgentLink.initialProbes
            default: return link.state != .prepared
            }
        }.map(\.name)
        let what = stage == .connecting ? "connecting and authenticating" : stage == .syncing ? "clock synchronisation" : "preparing the run"
        fail("timed out waiting for agent\(waiting.count == 1 ? "" : "s") \(waiting.joined(separator: ", ")) (\(what))")
    }
}

extension String {
    func trimmingSuffixNewline() -> String {
        var s = self
        while s.hasSuffix("\n") { s.removeLast() }
        return s
    }
}
