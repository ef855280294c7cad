import Report
import CVolleyLinux
import Net
import Scenario
import Stats
import WireProtocol
#if canImport(Glibc)
import Glibc
#endif

/// Why a cluster run could not be carried out (exit code 2).
public struct ClusterError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Settings of a cluster run.
public struct ClusterSettings: Sendable {
    public var agents: [SocketAddress]
    public var token: [UInt8]
    /// Agents stop on their own after this long without a heartbeat.
    public var leaseMillis: UInt32 = 5000
    /// Event loops per agent (0: one per core).
    public var loopsPerAgent: UInt16 = 0
    /// The feeder file named in the scenario, as (name, text), sent to every agent.
    public var feeder: WireMessage.Prepare.FeederFile?
    public var quiet = false
    /// Target URLs replacing the scenario's on every agent (from --target).
    public var targetOverride: [String] = []
    /// Called with each planned split before the start (for printing).
    public init(agents: [SocketAddress], token: [UInt8]) {
        self.agents = agents
        self.token = token
    }
}

/// The coordinator of a run across agents: connects to and authenticates every agent, reads
/// their capacity, estimates their clock offsets, plans and prepares their slices, starts them
/// at one instant, coordinates barriers, merges their per-second reports exactly, and keeps
/// going (or aborts, by policy) when one is lost.
public final class ClusterRun: WireConnectionDelegate, TimerTarget, EventHandler {
    enum Stage { case connecting, syncing, preparing, running, finishing, done }

    let scenario: Scenario
    let settings: ClusterSettings
    let loop: EventLoop
    let runID: String
    private var links: [AgentLink] = []
    private var stage = Stage.connecting
    private var failure: ClusterError?
    private var startWall: Int64 = 0
    private var startInstant = Instant(nanoseconds: 0)
    private var merged = IntervalSeries()
    private var printed = 0
    private var progress: ProgressPrinter
    private var barriers: BarrierCoordinator
    private var ledger: BarrierLedger
    private var releaseLead = ReleaseLead()
    private var abortReason: String?
    private var monitor: ThresholdMonitor
    private var abortingThreshold: ThresholdResult?
    private var signalFD: Int32 = -1
    private var heartbeat: UInt64 = 0
    private var lastClockRefresh = Instant.now
    private var stageDeadline = Instant.now

    public init(scenario: Scenario, settings: ClusterSettings, runID: String) throws {
        self.scenario = scenario
        self.settings = settings
        self.runID = runID
        loop = try EventLoop()
        progress = ProgressPrinter(scenario: scenario)
        barriers = BarrierCoordinator(scenario: scenario)
        ledger = BarrierLedger(names: scenario.barrierNames)
        monitor = ThresholdMonitor(scenario: scenario)
    }

    /// Runs to the end on the calling thread; returns the results, or throws if the run could
    /// not be carried out.
    public func run() throws(ClusterError) -> RunResults {
        let signals: [Int32] = [SIGINT, SIGTERM]
        signalFD = signals.withUnsafeBufferPointer { volley_signalfd($0.baseAddress, Int32($0.count)) }
        defer { Glibc.close(signalFD) }
        try? loop.register(fd: signalFD, interest: .readable, handler: self)
        for (i, address) in settings.agents.enumerated() {
            let link = AgentLink(index: i, address: address, run: self)
            links.append(link)
            do {
                link.connection = try WireConnection.connect(to: address, loop: loop, delegate: self)
            } catch {
                throw ClusterError("agent \(address) is unreachable: \(error)")
            }
        }
        stageDeadline = Instant.now.advanced(by: Nanoseconds.seconds(15))
        schedule(Nanoseconds.milliseconds(100))
        while stage != .done { loop.runOnce(maximumWait: Nanoseconds.milliseconds(100)) }
        for link in links {
            if let c = link.connection {
                link.bytesReceived = c.bytesReceived
                link.bytesSent = c.bytesSent
            }
            link.connection?.close(reason: nil)
        }
        if let failure { throw failure }
        return results()
    }

    private func fail(_ message: String) {
        guard failure == nil else { return }
        failure = ClusterError(message)
        for link in links where link.state == .running || link.state == .prepared {
            link.connection?.send(.stop(reason: "the coordinator could not carry out the run: \(message)"))
        }
        stage = .done
    }

    private func log(_ message: String) {
        if !settings.quiet { Log.out(message) }
    }

    // MARK: Signals (Ctrl-C)

    public func handleEvents(_ events: IOEvents) {
        guard volley_signalfd_read(signalFD) != 0 else { return }
        if abortReason != nil {
            stage = .done
            return
        }
        abort("interrupted")
        progress.finish()
        Log.error("volley: stopping the run on every agent (interrupted); press Ctrl-C again to stop at once")
    }

    private func abort(_ reason: String) {
        abortReason = reason
        switch stage {
        case .running:
            for link in links where link.state == .running { link.connection?.send(.stop(reason: reason)) }
            stage = .finishing
            stageDeadline = Instant.now.advanced(by: Nanoseconds.seconds(10))
        case .done, .finishing:
            break
        default:
            fail(reason)
        }
    }

    // MARK: Messages from agents

    private func link(of connection: WireConnection) -> AgentLink? { links.first { $0.connection === connection } }

    public func wire(_ connection: WireConnection, received message: WireMessage) {
        guard let link = link(of: connection) else { return }
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
                fail("\(link.address) did not greet as a volley agent")
                return
            }
            link.agentNonce = hello.nonce
            connection.send(.hello(.init(role: .coordinator, software: "volley coordinator", nonce: link.nonce)))
            connection.send(.authenticate(proof: Authentication.coordinatorProof(token: settings.token, agentNonce: hello.nonce, coordinatorNonce: link.nonce)))
            link.state = .authenticating
        case let (.authenticating, .authenticated(proof)):
            let expected = Authentication.agentProof(token: settings.token, agentNonce: link.agentNonce, coordinatorNonce: link.nonce)
            guard Authentication.verify(proof, expected: expected) else {
                fail("agent \(link.address) could not prove it holds the token: check both sides' --token-file")
                return
            }
            connection.authenticated = true
            link.state = .awaitingCapacity
        case let (.awaitingCapacity, .capacity(capacity)):
            link.capacity = capacity
            link.state = .syncing
            link.name = "\(capacity.hostName)@\(link.address)"
            maybeAdvance()
        case let (_, .clockReply(id, sent, received, replied)):
            link.clockReply(id: id, sent: sent, received: received, replied: replied, now: WallClock.nanosecondsSinceEpoch())
            if link.state == .syncing && link.probesAnswered >= AgentLink.initialProbes { maybeAdvance() }
        case let (.preparing, .prepared(id)) where id == runID:
            link.state = .prepared
            maybeAdvance()
        case let (.running, .started(id, actual)) where id == runID:
            link.actualStart = actual - link.clock.offset
        case let (.running, .stats(id, second, metrics)) where id == runID:
            link.lastHeard = .now
            link.series.merge(metrics, at: Int(second))
            merged.merge(metrics, at: Int(second))
            link.reported = Swift.max(link.reported, Int(second) + 1)
            printReadyIntervals()
        case let (.running, .barrierArrived(barrier, generation, count)):
            link.lastHeard = .now
            barrierArrival(BarrierCoordinator.Key(barrier: Int(barrier), generation: Int(generation)), count: Int(count))
        case let (.running, .barrierReport(release)):
            ledger.add(agent: link.index, release)
            if let lead = ledger.lead(barrier: release.barrier, generation: release.generation) {
                releaseLead.observe(readyMargin: release.readyMargin, lead: lead)
            }
        case let (.running, .finished(id, timeline)) where id == runID:
            link.state = .finished
            link.timeline = timeline
            printReadyIntervals()
            maybeFinish()
        default:
            Log.error("agent \(link.name): unexpected \(message.name) message; ignored")
        }
    }

    private func handleAgentError(_ link: AgentLink, _ code: WireMessage.ErrorCode, _ text: String) {
        switch stage {
        case .connecting, .syncing, .preparing:
            switch code {
            case .authenticationFailed: fail("agent \(link.address) refused the coordinator: \(text)")
            default: fail("agent \(link.name): \(text)")
            }
        default:
            Log.error("agent \(link.name): error: \(text)")
        }
    }

    public func wireClosed(_ connection: WireConnection, reason: String?) {
        guard let link = link(of: connection) else { return }
        link.bytesReceived = connection.bytesReceived
        link.bytesSent = connection.bytesSent
        link.connection = nil
        switch link.state {
        case .finished, .lost:
            return
        case .running:
            lose(link, reason: reason ?? "connection closed")
        default:
            if stage != .done { fail("agent \(link.address): \(reason ?? "connection closed") before the run started") }
        }
    }

    private func lose(_ link: AgentLink, reason: String) {
        let at = Double(startInstant.nanoseconds(to: .now)) / 1e9
        link.state = .lost
        link.lostAt = at
        link.lostReason = reason
        link.connection?.close(reason: nil)
        progress.finish()
        Log.error("volley: agent \(link.name) lost at \(Format.fixed(at, 1)) s: \(reason)")
        if scenario.options.onAgentLoss == .abort && stage == .running {
            abort("agent \(link.name) was lost (on_agent_loss: abort)")
        }
        printReadyIntervals()
        maybeFinish()
    }

    // MARK: Stages

    private func maybeAdvance() {
        switch stage {
        case .connecting:
            guard links.allSatisfy({ $0.state == .syncing }) else { return }
            stage = .syncing
            for link in links { link.probe(count: AgentLink.initialProbes) }
            stageDeadline = Instant.now.advanced(by: Nanoseconds.seconds(10))
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
        log("volley: \(links.count) agent\(links.count == 1 ? "" : "s") authenticated; clock offsets " +
            links.map { "\($0.name) \(Format.fixed(Double($0.clock.offset) / 1000, 0)) µs (±\(Format.fixed(Double($0.clock.best?.roundTrip ?? 0) / 2000, 0)))" }.joined(separator: ", "))
        log(Planner.describe(scenario, slices: slices, names: names).trimmingSuffixNewline())
        stage = .preparing
        for (i, link) in links.enumerated() {
            link.slice = slices[i]
            link.state = .preparing
            link.connection?.send(.prepare(.init(runID: runID, scenarioFile: scenario.file, scenarioSource: scenario.source,
                                                 feeder: settings.feeder, slice: slices[i], seed: UInt64(i + 1) &* 0x9E37_79B9,
                                                 leaseMillis: settings.leaseMillis, loops: settings.loopsPerAgent,
                                                 targetOverride: settings.targetOverride,
                                                 peakConnections: UInt32(clamping: scenario.peakConnections))))
        }
        stageDeadline = Instant.now.advanced(by: Nanoseconds.seconds(30))
    }

    private func startAgents() {
        // Far enough ahead that every start message arrives before its instant.
        let worstRTT = links.map { $0.clock.best?.roundTrip ?? 0 }.max() ?? 0
        let lead = Swift.max(Nanoseconds.milliseconds(300), 4 * worstRTT)
        startWall = WallClock.nanosecondsSinceEpoch() + lead
        startInstant = Instant.now.advanced(by: lead)
        for link in links {
            link.state = .running
            link.lastHeard = .now
            link.connection?.send(.start(runID: runID, atAgentWall: startWall + link.clock.offset, clockOffset: link.clock.offset))
        }
        stage = .running
        log("volley: running \(scenario.name) for \(Units.describe(nanoseconds: scenario.duration)) on \(links.count) agent\(links.count == 1 ? "" : "s") (Ctrl-C stops early and still reports)")
    }

    private func maybeFinish() {
        guard stage == .running || stage == .finishing else { return }
        if links.allSatisfy({ $0.state == .finished || $0.state == .lost }) {
            stage = .done
        }
    }

    // MARK: Timers: deadlines, heartbeats, clock refresh, silent agents, barrier timeouts

    private func schedule(_ after: Int64) {
        loop.schedule(at: Instant.now.advanced(by: after), target: self, token: 0)
    }

    public func timerFired(token: UInt64, now: Instant) {
        defer { if stage != .done { schedule(Nanoseconds.milliseconds(100)) } }
        switch stage {
        case .connecting, .syncing, .preparing:
            if now >= stageDeadline {
                let waiting = links.filter { link in
                    switch stage {
                    case .connecting: return link.state != .syncing
                    case .syncing: return link.probesAnswered < AgentLink.initialProbes
                    default: return link.state != .prepared
                    }
                }.map(\.name)
                fail("timed out waiting for agent\(waiting.count == 1 ? "" : "s") \(waiting.joined(separator: ", ")) (\(stage == .connecting ? "connecting and authenticating" : stage == .syncing ? "clock synchronisation" : "preparing the run"))")
            }
        case .running, .finishing:
            heartbeat += 1
            if heartbeat % 10 == 0 {
                for link in links where link.state == .running { link.connection?.send(.heartbeat(sequence: heartbeat)) }
            }
            // Refresh the offset estimates now and then; agents get the better value.
            if lastClockRefresh.nanoseconds(to: now) > Nanoseconds.seconds(10) {
                lastClockRefresh = now
                for link in links where link.state == .running { link.probe(count: 3) }
            }
            for link in links where link.state == .running && link.lastHeard.nanoseconds(to: now) > Nanoseconds.seconds(5) {
                lose(link, reason: "silent for 5 s")
            }
            for key in barriers.expired(now: WallClock.nanosecondsSinceEpoch()) {
                release(key, timedOut: true)
            }
            if stage == .finishing && now >= stageDeadline {
                for link in links where link.state == .running { lose(link, reason: "did not finish within 10 s of the stop") }
            }
            printReadyIntervals()
            maybeFinish()
        case .done:
            break
        }
    }

    // MARK: Barriers

    private func barrierArrival(_ key: BarrierCoordinator.Key, count: Int) {
        let expected = expectedUsers()
        switch barriers.arrived(key, count: count, expected: expected, now: WallClock.nanosecondsSinceEpoch()) {
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
        let elapsed = startInstant.nanoseconds(to: .now)
        return links.filter { $0.state != .lost }.reduce(0) { sum, link in
            sum + Int((link.slice?.targetConnections(at: elapsed, in: scenario) ?? 0) + 1e-9)
        }
    }

    /// Names a release instant far enough ahead for every agent's one-way delay, on each
    /// agent's own clock.
    private func release(_ key: BarrierCoordinator.Key, timedOut: Bool, lead: Int64? = nil) {
        let worst = links.filter { $0.state == .running }.map { ($0.clock.best?.roundTrip ?? 0) / 2 }.max() ?? 0
        let ahead = lead ?? releaseLead.lead(oneWay: worst)
        ledger.named(barrier: key.barrier, generation: key.generation, lead: ahead)
        let at = WallClock.nanosecondsSinceEpoch() + ahead
        for link in links where link.state == .running {
            link.connection?.send(.barrierRelease(barrier: UInt32(key.barrier), generation: UInt32(key.generation),
                                                  atAgentWall: at + link.clock.offset, timedOut: timedOut))
        }
    }

    // MARK: Progress and results

    /// Takes every interval that all live agents have reported (or that is 2 s overdue): checks
    /// the abort-on-fail thresholds on it and prints it.
    private func printReadyIntervals() {
        guard stage == .running || stage == .finishing || stage == .done else { return }
        let live = links.filter { $0.state == .running || $0.state == .finished }
        let overdue = Int(startInstant.nanoseconds(to: .now) / 1_000_000_000) - 2
        let ready = Swift.max(live.map { $0.state == .finished ? Int.max : $0.reported }.min() ?? overdue, Swift.min(overdue, merged.seconds.last.map { $0 + 1 } ?? 0))
        while printed < ready, printed <= (merged.seconds.last ?? -1) {
            let interval = merged[printed]
            if !settings.quiet {
                progress.show(second: printed, set: interval,
                              agents: (links.filter { $0.state != .lost }.count, links.filter { $0.state == .lost }.count))
            }
            if monitor.isWatching && abortReason == nil {
                monitor.record(interval, second: printed)
                if let failing = monitor.failing(elapsed: Double(printed + 1)) {
                    abortingThreshold = failing
                    progress.finish()
                    Log.error("volley: stopping the run on every agent: \(failing.summary) and it is marked abort_on_fail")
                    abort("threshold \(failing.threshold.label) failed (\(failing.observedText))")
                }
            }
            printed += 1
        }
    }

    private func results() -> RunResults {
        progress.finish()
        let duration = Double(startInstant.nanoseconds(to: .now)) / 1e9
        let starts = links.compactMap(\.actualStart)
        var results = RunResults(scenario: scenario, runID: runID, startedAt: Double(startWall) / 1e9, duration: duration,
                                 status: abortReason == nil ? .completed : .aborted, abortReason: abortReason, series: merged,
                                 agents: links.map { link in
                                     var a = AgentResult(index: link.index, name: link.name, host: link.capacity?.hostName ?? "\(link.address)",
                                                         lostAt: link.lostAt, lostReason: link.lostReason, series: link.series,
                                                         clockOffset: link.clock.best?.offset, clockRoundTrip: link.clock.best?.roundTrip)
                                     a.controlBytesReceived = link.bytesReceived
                                     a.controlBytesSent = link.bytesSent
                                     a.startOffset = link.actualStart.map { $0 - startWall }
                                     return a
                                 },
                                 startSpreadMicros: starts.count > 1 ? (starts.max()! - starts.min()!) / 1000 : nil)
        results.connectionTimeline = Self.mergeTimelines(links.map(\.timeline))
        results.barriers = ledger.outcomes
        results.abortingThreshold = abortingThreshold
        return results
    }

    /// The run time at which the cluster's 1000th, 2000th, ... connection opened, from each
    /// agent's own milestones (each agent's k-th entry is its k·1000th connection).
    static func mergeTimelines(_ timelines: [[Int64]]) -> [Double] {
        // Each milestone is 1000 more connections; the cluster passes n·1000 at the n-th
        // milestone in time order.
        timelines.flatMap { $0 }.sorted().map { Double($0) / 1e9 }
    }
}

/// One agent as the coordinator sees it.
final class AgentLink {
    enum State { case greeting, authenticating, awaitingCapacity, syncing, preparing, prepared, running, finished, lost }

    static let initialProbes = 8

    let index: Int
    let address: SocketAddress
    unowned let run: ClusterRun
    var name: String
    var connection: WireConnection?
    var state = State.greeting
    let nonce: [UInt8]
    var agentNonce: [UInt8] = []
    var capacity: WireMessage.Capacity?
    var clock = ClockEstimate()
    var probesAnswered = 0
    private var probeID: UInt32 = 0
    var slice: LoadSlice?
    /// Per second: counters and gauges; histograms only in the running total (memory stays
    /// flat however many agents and seconds).
    var series = IntervalSeries(keepsIntervalHistograms: false)
    var reported = 0
    var lastHeard = Instant.now
    var actualStart: Int64?
    var lostAt: Double?
    var lostReason: String?
    var timeline: [Int64] = []
    /// Control-plane bytes, kept when the connection goes away.
    var bytesReceived = 0
    var bytesSent = 0

    init(index: Int, address: SocketAddress, run: ClusterRun) {
        self.index = index
        self.address = address
        self.run = run
        name = "\(address)"
        var bytes = [UInt8](repeating: 0, count: 32)
        _ = volley_random_bytes(&bytes, 32)
        nonce = bytes
    }

    /// Sends `count` clock probes a few milliseconds apart.
    func probe(count: Int) {
        for i in 0..<count {
            run.loop.schedule(after: Nanoseconds.milliseconds(Int64(i * 5))) { [weak self] in
                guard let self else { return }
                probeID += 1
                connection?.send(.clockProbe(id: probeID, sentAt: WallClock.nanosecondsSinceEpoch()))
            }
        }
    }

    func clockReply(id: UInt32, sent: Int64, received: Int64, replied: Int64, now: Int64) {
        clock.add(sent: sent, received: received, replied: replied, returned: now)
        probesAnswered += 1
        if state == .running {
            connection?.send(.clockOffset(clock.offset))
        }
    }
}

extension String {
    func trimmingSuffixNewline() -> String {
        var s = self
        while s.hasSuffix("\n") { s.removeLast() }
        return s
    }
}
