import Net
import Stats
import WireProtocol

/// A run an agent prepared or is running: its engine, the lease, the once-a-second stats and
/// heartbeat, and the end (the last stats, then `finished`). Runs on the control loop, which
/// load cannot starve: the engine's loops hand their measurements over without blocking it.
final class AgentRun: LoadEvents, TimerTarget {
    unowned let session: AgentSession
    let plan: RunPlan
    let agentIndex: Int
    private(set) var engine: LoadRunner!
    let leaseNanos: Int64
    private var lastHeard: Instant
    private var stopping = false
    private var startInstant: Instant?
    private var sentStarted = false
    private var statsSecond = 0
    private var collecting = false
    private var finishing = false
    private var heartbeats: UInt64 = 0
    private var timeline: [Int64] = []
    /// Delivery tracking's ledger, kept from the end of the load until the coordinator's book.
    private var ledger: DeliveryLedger?
    /// How long the agent waits for the coordinator's book of senders before finishing without.
    static let bookTimeout = Nanoseconds.seconds(30)

    var id: String { plan.runID }

    init(session: AgentSession, plan: RunPlan, agent: Int) {
        self.session = session
        self.plan = plan
        agentIndex = agent
        leaseNanos = Int64(plan.leaseMillis) * 1_000_000
        lastHeard = session.host.loop.clock.now()
    }

    func makeEngine(_ targets: ResolvedTargets) throws {
        engine = try session.host.makeEngine(plan, agentIndex, targets, session.host, self)
    }

    /// The coordinator was heard from (renews the lease).
    func heard() { lastHeard = session.host.loop.clock.now() }

    func leaseExpired(now: Instant) -> Bool { lastHeard.nanoseconds(to: now) > leaseNanos }

    func start(atAgentWall wall: Int64, coordinatorOffset: Int64) {
        let clock = session.clock
        engine.setClockOffset(clock.testOffset - coordinatorOffset)
        let instant = clock.monotonicInstant(atWall: wall)
        startInstant = instant
        heard()
        engine.start(at: instant)
        scheduleInterval()
    }

    /// Intervals end at whole seconds after the start, on the control loop's timer, so every
    /// agent's second k covers the same stretch of run time (the loops swap within about a
    /// millisecond of it).
    private func scheduleInterval() {
        guard let start = startInstant else { return }
        session.host.loop.schedule(at: start.advanced(by: Int64(statsSecond + 1) * 1_000_000_000), target: self, token: 0)
    }

    func timerFired(token: UInt64, now: Instant) {
        guard !collecting, !finishing, !engine.isFinished else { return }
        collecting = true
        engine.collect { [self] set, milestones in
            collecting = false
            timeline += milestones
            session.send(.stats(runID: id, second: UInt32(statsSecond), metrics: set))
            statsSecond += 1
            if !finishing { scheduleInterval() }
        }
    }

    /// Stops the load (the coordinator asked, or its lease ran out); the run then ends as usual.
    func stop() {
        guard !stopping else { return }
        stopping = true
        engine.stopNow()
    }

    /// Every 100 ms on the control loop: lease, start notice, heartbeat, stats, end.
    func tick(now: Instant) {
        if !stopping && leaseExpired(now: now) {
            Log.error("volley agent: run \(id): lease expired (no word from the coordinator for \(leaseNanos / 1_000_000) ms); stopping the load")
            stop()
        }
        if !sentStarted, let actual = engine.actualStart {
            sentStarted = true
            session.send(.started(runID: id, actualStartWall: session.clock.wall(at: actual)))
        }
        guard let start = startInstant else { return }
        let elapsed = start.nanoseconds(to: now)
        let seconds = Int(Swift.max(0, elapsed) / 1_000_000_000)
        if UInt64(seconds) > heartbeats {
            heartbeats = UInt64(seconds)
            session.send(.heartbeat(sequence: heartbeats))
        }
        if !collecting && !finishing && engine.isFinished { finish() }
    }

    /// The engine is done: the last interval's stats; with delivery tracking, the senders to the
    /// coordinator, whose book of every sender comes back for the completeness count; then the
    /// timeline, and the agent is free.
    private func finish() {
        finishing = true
        engine.collect { [self] set, milestones in
            timeline += milestones
            if !set.isEmpty { session.send(.stats(runID: id, second: UInt32(statsSecond), metrics: set)) }
            engine.shutdown()
            guard let ledger = engine.deliveryLedger else {
                sendFinished()
                return
            }
            self.ledger = ledger
            session.send(.deliverySenders(runID: id, groups: ledger.receiverGroups, senders: ledger.senderSummaries))
            let loop = session.host.loop
            loop.schedule(after: Self.bookTimeout) { [weak self] in
                guard let self, self.ledger != nil else { return }
                Log.error("volley agent: run \(id): no book of senders from the coordinator within 30 s; finishing without completeness")
                self.ledger = nil
                sendFinished()
            }
        }
    }

    /// The coordinator's book of every sender in this agent's receivers' groups.
    func receiveBook(_ senders: [SenderSummary]) {
        guard let ledger else { return }
        self.ledger = nil
        let delivery = plan.scenario.delivery
        let totals = ledger.completeness(book: senders, settle: delivery?.settle ?? 0, includesSender: delivery?.includesSender ?? true)
        session.send(.deliveryTotals(runID: id, groups: totals))
        sendFinished()
    }

    private func sendFinished() {
        session.send(.finished(runID: id, timeline: timeline.sorted()))
        session.host.logRun("run \(id) finished")
        session.runEnded()
    }

    /// The coordinator went away: stop the load and release the engine once it has finished.
    func abandon() {
        stop()
        waitAndShutdown()
    }

    private func waitAndShutdown() {
        let loop = session.host.loop
        let engine = self.engine!
        func check() {
            if engine.isFinished {
                engine.shutdown()
            } else {
                loop.schedule(after: Nanoseconds.milliseconds(50)) { check() }
            }
        }
        check()
    }

    // MARK: LoadEvents

    func barrierArrivals(_ arrivals: [BarrierArrival]) {
        for a in arrivals {
            session.send(.barrierArrived(barrier: UInt32(a.barrier), generation: UInt32(a.generation), count: UInt32(a.count)))
        }
    }

    /// Reports go out at once: the coordinator sizes the next release's lead from them.
    func barrierReleased(_ release: BarrierRelease) {
        session.send(.barrierReport(release))
    }
}
