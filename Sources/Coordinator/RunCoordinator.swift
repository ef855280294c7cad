import Net
import Report
import Scenario
import Stats
import WireProtocol
#if canImport(Glibc)
import Glibc
#endif

/// Why a run could not be carried out (exit code 2).
public struct ClusterError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// What to run, decided before any agent is reached.
public struct RunRequest: Sendable {
    /// The scenario as it runs: every command-line override already applied.
    public var scenario: Scenario
    public var runID: String
    /// Every random choice of the run comes from this seed.
    public var seed: UInt64
    /// The shared token agents must see proven.
    public var token: [UInt8]
    /// Agents stop on their own after this long without a heartbeat.
    public var leaseMillis: UInt32 = 5000
    /// Event loops per agent (0: one per core).
    public var loopsPerAgent: UInt16 = 0
    /// No progress lines.
    public var quiet = false

    public init(scenario: Scenario, runID: String, seed: UInt64, token: [UInt8]) {
        self.scenario = scenario
        self.runID = runID
        self.seed = seed
        self.token = token
    }
}

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
    private var links: [AgentLink] = []
    private var stage = Stage.connecting
    private var failure: ClusterError?
    private var plan: RunPlan?
    private var startWall: Int64 = 0
    private var startInstant = Instant(nanoseconds: 0)
    private var pipeline: IntervalPipeline
    private var barriers: BarrierCoordinator
    private var ledger: BarrierLedger
    private var releaseLead = ReleaseLead()
    private var abortReason: String?
    private var abortingThreshold: ThresholdResult?
    private var heartbeat: UInt64 = 0
    private var lastClockRefresh = Instant(nanoseconds: 0)
    private var stageDeadline = Instant(nanoseconds: 0)
    private var endedAt: Instant?
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

    private var now: Instant { loop.clock.now() }
    private var wallNow: Int64 { loop.clock.wallNanoseconds() }

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
        for (i, endpoint) in agents.enumerated() {
            let link = AgentLink(index: i, endpoint: endpoint)
            links.append(link)
            do {
                switch endpoint {
                case let .address(address):
                    link.channel = try WireConnection.connect(to: address, loop: loop, delegate: self)
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

    private func fail(_ message: String) {
        guard failure == nil else { return }
        failure = ClusterError(message)
        for link in links where link.state == .running || link.state == .prepared {
            link.channel?.send(.stop(reason: "the coordinator could not carry out the run: \(message)"))
        }
        stage = .done
    }

    private func notice(_ message: String) { onNotice?(message) }

    private func log(_ message: String) {
        if !request.quiet { Log.out(message) }
    }

    private func abort(_ reason: String) {
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

    private func link(of channel: WireChannel) -> AgentLink? { links.first { $0.channel === channel } }

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
        case let (.running, .finished(id, timeline)) where id == request.runID:
            link.state = .finished
            link.timeline = timeline
            handOnReadyIntervals()
            maybeFinish()
        default:
            Log.error("agent \(link.name): unexpected \(message.name) message; ignored")
        }
    }

    private func handleAgentError(_ link: AgentLink, _ code: WireMessage.ErrorCode, _ text: String) {
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

    private func lose(_ link: AgentLink, reason: String) {
        let at = Double(startInstant.nanoseconds(to: now)) / 1e9
        link.state = .lost
        link.lostAt = at
        link.lostReason = reason
        link.channel?.close(reason: nil)
        notice("volley: agent \(link.name) lost at \(Format.fixed(at, 1)) s: \(reason)")
        if scenario.options.onAgentLoss == .abort && stage == .running {
            abort("agent \(link.name) was lost (on_agent_loss: abort)")
        }
        handOnReadyIntervals()
        maybeFinish()
    }

    // MARK: Stages

    private func advance() {
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

    private func prepareAgents() {
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

    private func startAgents() {
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

    private func maybeFinish() {
        guard stage == .running || stage == .finishing else { return }
        if links.allSatisfy({ $0.state == .finished || $0.state == .lost }) {
            endedAt = now
            stage = .done
        }
    }

    // MARK: Timers: deadlines, heartbeats, clock refresh, silent agents, barrier timeouts

    private func schedule(_ after: Int64) {
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

    private func timedOut() {
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

    // MARK: Barriers

    private func barrierArrival(_ key: BarrierCoordinator.Key, count: Int) {
        switch barriers.arrived(key, count: count, expected: expectedUsers(), now: wallNow) {
        case .wait:
            break
        case let .release(timedOut):
            release(key, timedOut: timedOut)
        case .releaseLate:
            release(key, timedOut: false, lead: 0)
        }
    }

    /// Users expected at a barrier: the planned connections of every agent not lost, right now.
    private func expectedUsers() -> Int {
        guard let plan else { return 0 }
        let elapsed = startInstant.nanoseconds(to: now)
        return links.filter { $0.state != .lost }.reduce(0) { sum, link in
            sum + Int(plan.slices[link.index].targetConnections(at: elapsed, in: scenario) + 1e-9)
        }
    }

    /// Names a release instant far enough ahead for every agent's one-way delay, on each
    /// agent's own clock.
    private func release(_ key: BarrierCoordinator.Key, timedOut: Bool, lead: Int64? = nil) {
        let worst = links.filter { $0.state == .running }.map { ($0.clock.best?.roundTrip ?? 0) / 2 }.max() ?? 0
        let ahead = lead ?? releaseLead.lead(oneWay: worst)
        ledger.named(barrier: key.barrier, generation: key.generation, lead: ahead)
        let at = wallNow + ahead
        for link in links where link.state == .running {
            link.channel?.send(.barrierRelease(barrier: UInt32(key.barrier), generation: UInt32(key.generation),
                                               atAgentWall: at + link.clock.offset, timedOut: timedOut))
        }
    }

    // MARK: Seconds and results

    /// Hands on every second all live agents have reported (or that is overdue), and stops the
    /// run when an abort_on_fail threshold failed on one.
    private func handOnReadyIntervals() {
        guard stage == .running || stage == .finishing || stage == .done else { return }
        let live = links.filter { $0.state == .running }
        let elapsed = Int(startInstant.nanoseconds(to: now) / 1_000_000_000)
        let ready = pipeline.takeReady(reportedThrough: live.map(\.reported).min(), elapsed: elapsed)
        let agents = (links.filter { $0.state != .lost }.count, links.filter { $0.state == .lost }.count)
        for (second, metrics) in ready { onInterval?(second, metrics, agents) }
        if let failing = pipeline.failing, abortingThreshold == nil, abortReason == nil {
            abortingThreshold = failing
            notice("volley: stopping the run: \(failing.summary) and it is marked abort_on_fail")
            abort("threshold \(failing.threshold.label) failed (\(failing.observedText))")
        }
    }

    private func results() -> RunResults {
        let duration = Double(startInstant.nanoseconds(to: endedAt ?? now)) / 1e9
        let starts = links.compactMap(\.actualStart)
        var results = RunResults(scenario: scenario, runID: request.runID, startedAt: Double(startWall) / 1e9, duration: duration,
                                 status: abortReason == nil ? .completed : .aborted, abortReason: abortReason, series: pipeline.merged,
                                 agents: links.map { link in
                                     var a = AgentResult(index: link.index, name: link.name, host: link.capacity?.hostName ?? link.name,
                                                         lostAt: link.lostAt, lostReason: link.lostReason, series: link.series,
                                                         clockOffset: link.clock.best?.offset, clockRoundTrip: link.clock.best?.roundTrip)
                                     a.controlBytesReceived = link.bytesReceived
                                     a.controlBytesSent = link.bytesSent
                                     a.startOffset = link.actualStart.map { $0 - startWall }
                                     return a
                                 },
                                 startSpreadMicros: starts.count > 1 ? (starts.max()! - starts.min()!) / 1000 : nil)
        results.seed = request.seed
        // Each agent's k-th milestone is its k·1000th connection; the cluster passes n·1000 at
        // the n-th milestone in time order.
        results.connectionTimeline = links.flatMap(\.timeline).sorted().map { Double($0) / 1e9 }
        results.barriers = ledger.outcomes
        results.abortingThreshold = abortingThreshold
        return results
    }
}

extension String {
    func trimmingSuffixNewline() -> String {
        var s = self
        while s.hasSuffix("\n") { s.removeLast() }
        return s
    }
}
