import Net
import Scenario
import Stats
import WebSocket

/// Runs one event loop's share of the virtual users: starts and stops them to follow the
/// planned connection count, paces connects, sweeps deadlines, and owns the loop's metrics.
/// Everything here runs on the loop's thread. Connection services (dialing, rendering,
/// matching) and barriers are in the extensions.
final class LoopDriver: TimerTarget {
    enum RunState { case waiting, running, draining, stopping, finished }

    unowned(unsafe) let loop: EventLoop
    unowned(unsafe) let engine: LoadEngine
    let index: Int
    let loopCount: Int
    let scenario: Scenario
    let slice: LoadSlice
    let program: Program
    let metrics: LoopMetrics
    /// What permessage-deflate did on this loop's connections since the last interval.
    let compressionTally = CompressionTally()
    let clock: any TimeSource
    let seed: UInt64
    /// Per user group, the index of the one-way delivery latency among the measures (looked up
    /// in the active buffer on every record: a recorder kept across swaps would write into the
    /// retired buffer).
    let deliveryLatency: [Int?]
    /// The user groups (one, "default", without `groups:`), and per group: its users now (a
    /// user's `groupPosition` is its index here), users that completed their script, users
    /// created, and the users it should have as of the last tick.
    let groups: [UserGroup]
    /// What the per-message path reads of a user's group, one array each (no struct copies).
    let groupNames: [String]
    let groupFeeders: [Feeder?]
    let groupSendIntervals: [Int64?]
    let groupThinks: [Delay?]
    /// True when captures set per-user variables (templates may read them).
    let hasVariables: Bool
    /// Open-model sends spaced as a Poisson process (`options.arrivals: poisson`).
    let poissonArrivals: Bool
    /// Tracked messages are Socket.IO event packets (`delivery.envelope: socketio`).
    let socketIOEnvelope: Bool
    /// Per group, its users (with one group, `users` serves: no second list of pointers).
    private var members: [[VirtualUser]]
    private var groupCompleted: [Int]
    private var groupCreated: [Int]
    private var groupTargets: [Int]
    /// Facts the per-message path asks about, read once (not through the scenario's optionals).
    let isOpenModel: Bool
    let tracksDelivery: Bool
    let tracksOrder: Bool
    let sentAtField: String?
    /// Distinct order fingerprints counted by this loop (capped: beyond it they count as "other").
    var fingerprints = Set<UInt64>()
    /// What delivery tracking learned from this loop's users, for the end-of-run accounting.
    var deliveryLedger = DeliveryLedger()

    private(set) var state = RunState.waiting
    private var start = Instant(nanoseconds: 0)
    private(set) var users: [VirtualUser] = []
    private var stopping: [ObjectIdentifier: VirtualUser] = [:]
    /// Users to stop when the whole loop stops, newest first, taken `stopSlice` at a time.
    private var pendingStops: [VirtualUser] = []
    /// Users that ran their script to the end: they count toward the planned number and are not
    /// replaced (users that failed are replaced, so the offered load holds).
    private var completed = 0
    private(set) var connecting = 0
    /// Users waiting for a connect slot, with the URL they connect to, from `connectQueueHead` on.
    private var connectQueue: [(VirtualUser, Template?)] = []
    private var connectQueueHead = 0
    private let maxConnecting: Int
    private var failureStreak = 0
    private var backoffUntil: Int64 = 0
    /// When the last quick failure happened (monotonic ns).
    private var lastFailure: Int64 = 0
    /// A connection that fails this soon after its attempt began (refused, a broken handshake,
    /// or closed by the server right after opening) is a failed attempt: replacing it backs off.
    static let quickFailure = Nanoseconds.seconds(2)
    /// This loop's random state: back-off jitter.
    private var randomState: UInt64
    private var lastSweep: Int64 = 0
    private var stopDeadline: Int64 = 0
    /// When the drain after the last phase ends.
    private var drainDeadline: Int64 = 0
    /// When the next tick is due (its lateness is the generator's lag).
    private var nextTick: Int64 = 0
    var barrierWaiters: [BarrierKey: [VirtualUser]] = [:]
    /// Arrivals at barriers since the last hand-off to the control loop, per (barrier, generation).
    var pendingArrivals: [BarrierKey: Int] = [:]
    var currentPhase = 0
    /// Users this loop should have now (planned minus completed), as of the last tick.
    private var currentTarget = 0
    private var began = false

    /// Rendering state shared by this loop's users (one thread, so no copies).
    var context: RenderContext
    var sendBuffer: [UInt8] = []
    var matchScratch: [UInt8] = []
    let senderField: [UInt8]?
    let sequenceField: [UInt8]?

    static let tickInterval = Nanoseconds.milliseconds(10)
    static let sweepInterval = Nanoseconds.milliseconds(50)
    /// Timer tokens: the start, the regular tick, and the hand-off of barrier arrivals.
    static let beginToken: UInt64 = 1
    static let tickToken: UInt64 = 0
    static let arrivalsToken: UInt64 = 2
    static let stopSliceToken: UInt64 = 3
    /// Users stopped per loop iteration: closing thousands of connections at once would hold
    /// the loop (and its hand-offs) for a long time.
    static let stopSlice = 500

    init(loop: EventLoop, engine: LoadEngine, index: Int, loopCount: Int, scenario: Scenario, slice: LoadSlice,
         program: Program, clock: any TimeSource, seed: UInt64) {
        self.loop = loop
        self.engine = engine
        self.index = index
        self.loopCount = loopCount
        self.scenario = scenario
        self.slice = slice
        self.program = program
        self.clock = clock
        self.seed = seed
        earlyWake = clock is SystemClock ? Nanoseconds.microseconds(200) : 0
        let metrics = LoopMetrics(measureNames: program.measureNames)
        self.metrics = metrics
        groups = scenario.groups
        deliveryLatency = groups.map { g in
            scenario.delivery?.latencyMetric.flatMap { name in
                program.measureNames.firstIndex(of: scenario.recordsPerGroup ? Scenario.groupMetric(name, group: g.name) : name)
            }
        }
        groupNames = groups.map(\.name)
        groupFeeders = groups.map(\.feeder)
        groupSendIntervals = groups.map { g in g.rate.map { Int64(1e9 / $0) } }
        groupThinks = groups.map(\.think)
        hasVariables = !scenario.variables.isEmpty
        poissonArrivals = scenario.options.arrivals == .poisson
        socketIOEnvelope = scenario.delivery?.envelope == .socketio
        members = groups.map { _ in [] }
        groupCompleted = groups.map { _ in 0 }
        groupCreated = groups.map { _ in 0 }
        groupTargets = groups.map { _ in 0 }
        maxConnecting = Swift.max(1, LoadSlice.evenShare(scenario.options.maxConnecting, part: index, of: loopCount))
        isOpenModel = scenario.model == .open
        tracksDelivery = scenario.delivery != nil
        tracksOrder = scenario.delivery?.order ?? false
        sentAtField = scenario.delivery?.sentAtField
        randomState = SeedMixer.state(seed: seed, stream: UInt64(slice.agentIndex) << 32 | UInt64(index) | 1 << 63)
        context = RenderContext(seed: 1)
        context.agent = Int64(slice.agentIndex)
        context.runID = engine.runID
        context.users = Int64(scenario.peakConnections)
        senderField = scenario.delivery.map { Array($0.senderField.utf8) }
        sequenceField = scenario.delivery.map { Array($0.sequenceField.utf8) }
        sendBuffer.reserveCapacity(4096)
        matchScratch.reserveCapacity(256)
    }

    // MARK: Run control

    /// Starts following the plan at `instant` (on this loop's clock): the loop wakes a little
    /// early and spins to the instant, so agents started together really start together.
    func begin(at instant: Instant) {
        start = instant
        state = .running
        loop.schedule(at: instant.advanced(by: -earlyWake), target: self, token: Self.beginToken)
    }

    /// How long before a start or release instant the loop wakes to spin the rest of the way
    /// (on the system clock; a manual clock in tests is exact, and never moves while spun on).
    let earlyWake: Int64

    /// Spins until `instant` (the loop woke `earlyWake` before it): a timer alone lands tens
    /// of microseconds late (`volley-bench release`).
    func waitUntil(_ instant: Instant) {
        guard earlyWake > 0 else { return }
        while clock.now() < instant {}
    }

    /// True once the run is over here (draining or stopping): users closing now leave at the
    /// end of the run, not mid-run.
    var isEnding: Bool { state == .draining || state == .stopping || state == .finished }

    /// The run's start on this loop's clock, in nanoseconds.
    var runStart: Int64 { start.nanoseconds }

    /// Elapsed run time, in nanoseconds.
    func elapsed(_ now: Instant) -> Int64 { start.nanoseconds(to: now) }

    func timerFired(token: UInt64, now: Instant) {
        if token == Self.arrivalsToken {
            handOffArrivals()
            return
        }
        if token == Self.stopSliceToken {
            stopNextSlice()
            return
        }
        switch state {
        case .running:
            if token == Self.beginToken && !began {
                waitUntil(start)
                tick(clock.now())
                return
            }
            if nextTick > 0 { metrics.generatorLag.record(Swift.max(0, now.nanoseconds - nextTick) / 1000) }
            tick(now)
        case .draining:
            drainTick(now)
        case .stopping:
            if stopping.isEmpty && users.isEmpty && pendingStops.isEmpty || now.nanoseconds >= stopDeadline {
                for user in Array(stopping.values) + users + pendingStops { user.stop() }
                pendingStops.removeAll()
                finish()
                return
            }
            loop.schedule(at: now.advanced(by: Self.tickInterval), target: self, token: Self.tickToken)
        case .waiting, .finished:
            break
        }
    }

    private func tick(_ now: Instant) {
        if !began {
            began = true
            engine.noteBegan(at: now)
        }
        let t = elapsed(now)
        if t >= scenario.duration {
            beginDraining(now)
            return
        }
        if let (phase, _) = LoadSlice.phase(at: t, in: scenario) { currentPhase = phase }
        context.phaseName = scenario.phases[currentPhase].name
        if users.isEmpty && stopping.isEmpty && completed > 0 && groups.indices.allSatisfy({ groupCompleted[$0] >= peakTargetUsers(from: t, group: $0) }) {
            // Every user this loop will ever run has completed its script: the run is over here.
            beginStopping(now)
            return
        }
        var target = 0
        for g in groups.indices {
            groupTargets[g] = Swift.max(0, targetUsers(at: t, group: g) - groupCompleted[g])
            target += groupTargets[g]
        }
        currentTarget = target
        metrics.due(target, now: now.nanoseconds)
        var room = Swift.max(0, maxConnecting - connecting - queuedToConnect)
        var sharing = CoreSharing(start: now)
        // Groups in order: fixed-count groups (listed first by habit) fill before the rest.
        for g in groups.indices {
            let have = memberCount(g), want = groupTargets[g]
            if have > want {
                for _ in 0..<Swift.min(have - want, Self.stopSlice) { stopUser(newestMember(g)) }
            } else if have < want && now.nanoseconds >= backoffUntil && room > 0 {
                for _ in 0..<Swift.min(room, want - have) {
                    startUser(group: g)
                    sharing.pass(clock: clock)
                }
                room -= Swift.min(room, want - have)
            }
        }
        if now.nanoseconds - lastSweep >= Self.sweepInterval {
            lastSweep = now.nanoseconds
            for user in users { user.checkDeadlines(now: now.nanoseconds) }
        }
        metrics.usersActive = users.count
        nextTick = now.nanoseconds + Self.tickInterval
        loop.schedule(at: Instant(nanoseconds: nextTick), target: self, token: Self.tickToken)
    }

    /// The last phase is over: users keep their connections for the drain so replies and
    /// broadcasts in flight still arrive, but start nothing new; then they stop. Without
    /// delivery tracking the drain ends as soon as no user awaits a reply.
    private func beginDraining(_ now: Instant) {
        guard state == .running, scenario.options.drain > 0 else {
            beginStopping(now)
            return
        }
        state = .draining
        metrics.due(0, now: now.nanoseconds)
        drainDeadline = now.nanoseconds + scenario.options.drain
        for (key, waiters) in barrierWaiters {
            barrierWaiters[key] = nil
            for w in waiters { w.drain() }
        }
        for user in users { user.drain() }
        drainTick(now)
    }

    private func drainTick(_ now: Instant) {
        let awaiting = users.contains { $0.awaitsReply }
        if now.nanoseconds >= drainDeadline || (!awaiting && !tracksDelivery) {
            beginStopping(now)
            return
        }
        if now.nanoseconds - lastSweep >= Self.sweepInterval {
            lastSweep = now.nanoseconds
            for user in users { user.checkDeadlines(now: now.nanoseconds) }
        }
        loop.schedule(at: now.advanced(by: Self.tickInterval), target: self, token: Self.tickToken)
    }

    /// This loop's share of the agent's target connections of `group` at `t` nanoseconds.
    func targetUsers(at t: Int64, group: Int) -> Int {
        let agentTarget = Int((slice.targetConnections(at: t, in: scenario, group: group) + 1e-9).rounded(.down))
        return LoadSlice.evenShare(agentTarget, part: index, of: loopCount)
    }

    /// The largest number of users of `group` this loop is planned to run from `t` to the end.
    private func peakTargetUsers(from t: Int64, group: Int) -> Int {
        var peak = targetUsers(at: t, group: group)
        var start: Int64 = 0
        for (i, phase) in scenario.phases.enumerated() {
            if start + phase.duration > t {
                let c = slice.phases[i].groups[group]
                peak = Swift.max(peak, LoadSlice.evenShare(Swift.max(c.from, c.to), part: index, of: loopCount))
            }
            start += phase.duration
        }
        return peak
    }

    private func memberCount(_ group: Int) -> Int { groups.count == 1 ? users.count : members[group].count }

    /// The group's last user in its list (the newest, unless removals reordered it).
    private func newestMember(_ group: Int) -> VirtualUser { groups.count == 1 ? users[users.count - 1] : members[group][members[group].count - 1] }

    /// Starts a user of `group`. Its number within the group is unique across loops and agents;
    /// its {{vu}} number interleaves the groups' numbers, so it is unique across the run (and,
    /// with one group, the same as without groups).
    private func startUser(group: Int) {
        let local = groupCreated[group] * loopCount + index
        groupCreated[group] += 1
        let inGroup = slice.globalUserNumber(local: local)
        let user = VirtualUser(driver: self, number: Int64(inGroup * groups.count + group), seed: seed)
        user.group = Int32(group)
        user.position = users.count
        users.append(user)
        if groups.count > 1 {
            user.groupPosition = Int32(members[group].count)
            members[group].append(user)
        }
        user.start()
    }

    // MARK: Connect slots

    /// Takes one of the `max_connecting` slots for `user`'s connection attempt, or queues the
    /// user (first come, first served) and returns false: reconnect storms are paced like ramps.
    func acquireConnectSlot(for user: VirtualUser, url: Template?) -> Bool {
        if connecting < maxConnecting && connectQueueHead == connectQueue.count {
            connecting += 1
            return true
        }
        connectQueue.append((user, url))
        return false
    }

    /// A connection attempt ended (opened, failed, or refused as expected): its slot goes to
    /// the next queued user.
    func releaseConnectSlot() {
        connecting = Swift.max(0, connecting - 1)
        while connecting < maxConnecting && connectQueueHead < connectQueue.count {
            let (user, url) = connectQueue[connectQueueHead]
            connectQueueHead += 1
            if connectQueueHead == connectQueue.count {
                connectQueue.removeAll(keepingCapacity: true)
                connectQueueHead = 0
            }
            guard user.state == .queuedToConnect else { continue }   // stopped while queued
            connecting += 1
            user.dial(url)
        }
    }

    /// Users waiting for a connect slot.
    var queuedToConnect: Int { connectQueue.count - connectQueueHead }

    private func remove(_ user: VirtualUser) {
        let i = user.position
        guard i < users.count, users[i] === user else { return }
        let last = users.removeLast()
        if i < users.count {
            users[i] = last
            last.position = i
        }
        let g = Int(user.group), j = Int(user.groupPosition)
        guard groups.count > 1, j < members[g].count, members[g][j] === user else { return }
        let lastInGroup = members[g].removeLast()
        if j < members[g].count {
            members[g][j] = lastInGroup
            lastInGroup.groupPosition = Int32(j)
        }
    }

    private func stopUser(_ user: VirtualUser) {
        remove(user)
        stopping[ObjectIdentifier(user)] = user
        user.stop()
    }

    /// Stops every user now (end of run, lost lease, abort) and finishes once they have closed.
    func beginStopping(_ now: Instant) {
        guard state == .running || state == .waiting || state == .draining else { return }
        state = .stopping
        metrics.due(0, now: now.nanoseconds)
        stopDeadline = now.nanoseconds + scenario.options.closeTimeout
        pendingStops = users
        stopNextSlice()
        for (key, waiters) in barrierWaiters {
            barrierWaiters[key] = nil
            for w in waiters { w.released(at: now.nanoseconds, timedOut: false) }
        }
        loop.schedule(at: now.advanced(by: Self.tickInterval), target: self, token: Self.tickToken)
    }

    /// Stops the next `stopSlice` users (newest first); the rest wait for the next iteration.
    private func stopNextSlice() {
        for _ in 0..<Swift.min(Self.stopSlice, pendingStops.count) {
            let user = pendingStops.removeLast()
            if user.state != .ended { stopUser(user) }   // one may have ended on its own meanwhile
        }
        // Due just after now: the loop serves its descriptors before the next slice.
        if !pendingStops.isEmpty { loop.schedule(at: clock.now().advanced(by: 1), target: self, token: Self.stopSliceToken) }
    }

    private func finish() {
        state = .finished
        metrics.usersActive = 0
        handOffArrivals()
        engine.driverFinished(self)
    }

    // MARK: Users' callbacks

    func userConnected(_ user: VirtualUser) {
        releaseConnectSlot()
        let now = clock.now().nanoseconds
        // Opening is not yet success: a server may break every connection right after the
        // handshake. The streak ends once connections open well after the last failure.
        if now - lastFailure >= Self.quickFailure { failureStreak = 0 }
        // Keep the connect pipeline full: a finished handshake makes room for the next at once,
        // instead of waiting for the next tick (unless failures are being backed off).
        if state == .running && users.count < currentTarget && connecting < maxConnecting && now >= backoffUntil,
           let g = groups.indices.first(where: { memberCount($0) < groupTargets[$0] }) {
            startUser(group: g)
        }
    }

    /// A user ended; `previous` is what it was doing (so no list needs scanning).
    func userEnded(_ user: VirtualUser, failed: Bool, previous: VirtualUser.State) {
        if stopping.removeValue(forKey: ObjectIdentifier(user)) == nil {
            remove(user)
        }
        if previous == .connecting { releaseConnectSlot() }
        let now = clock.now().nanoseconds
        if failed && (previous == .connecting || now - user.connectStarted < Self.quickFailure) {
            // A failed attempt (or a connection the server broke right away): back off before
            // replacing it, longer as failures repeat, with jitter so loops and agents do not
            // retry in step.
            failureStreak += 1
            lastFailure = now
            let ceiling = Swift.min(Nanoseconds.seconds(1), Nanoseconds.milliseconds(5) << Swift.min(failureStreak, 8))
            backoffUntil = now + ceiling / 2 + Int64(nextRandom() % UInt64(ceiling / 2 + 1))
        }
        if user.completedScript {
            completed += 1
            groupCompleted[Int(user.group)] += 1
            groupTargets[Int(user.group)] = Swift.max(0, groupTargets[Int(user.group)] - 1)
            // The target excludes completed users; keep it so until the next tick recomputes
            // it, or a connection opening meanwhile would start a replacement for this user.
            currentTarget = Swift.max(0, currentTarget - 1)
            if state == .running { metrics.due(currentTarget, now: clock.now().nanoseconds) }
        }
        if previous == .atBarrier {
            for (key, waiters) in barrierWaiters where waiters.contains(where: { $0 === user }) {
                barrierWaiters[key] = waiters.filter { $0 !== user }
            }
        }
        if state == .stopping && stopping.isEmpty && users.isEmpty && pendingStops.isEmpty { finish() }
    }

    private func nextRandom() -> UInt64 {
        randomState ^= randomState >> 12
        randomState ^= randomState << 25
        randomState ^= randomState >> 27
        return randomState &* 0x2545_F491_4F6C_DD1D
    }

    // MARK: The interval hand-off

    /// Ends this loop's interval: swaps its metric buffers and tells the control loop, which
    /// drains the retired buffer. Allocates nothing here (the notice is a prepared closure).
    func swapMetrics(notice: @escaping @Sendable () -> Void, controlLoop: EventLoop) {
        let tally = compressionTally
        if tally.messageBytesSent | tally.messageBytesReceived != 0 {
            metrics.add(.compressionMessageBytesSent, tally.messageBytesSent)
            metrics.add(.compressionWireBytesSent, tally.wireBytesSent)
            metrics.add(.compressionMessageBytesReceived, tally.messageBytesReceived)
            metrics.add(.compressionWireBytesReceived, tally.wireBytesReceived)
            tally.messageBytesSent = 0
            tally.wireBytesSent = 0
            tally.messageBytesReceived = 0
            tally.wireBytesReceived = 0
        }
        metrics.swap(now: clock.now().nanoseconds, threadCPU: ThreadCPUClock.now())
        controlLoop.execute(notice)
    }
}
