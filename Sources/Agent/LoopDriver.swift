import Glibc
import JSON
import WireProtocol
import Net
import Scenario
import Stats
import WebSocket

/// Runs one event loop's share of the virtual users: starts and stops them to follow the
/// planned connection count, paces connects, sweeps deadlines, and owns the loop's metrics.
/// Everything here runs on the loop's thread.
final class LoopDriver: TimerTarget {
    enum RunState { case waiting, running, stopping, finished }

    unowned(unsafe) let loop: EventLoop
    unowned(unsafe) let engine: LoadEngine
    let index: Int
    let loopCount: Int
    let scenario: Scenario
    let slice: LoadSlice
    let program: Program
    let metrics: LoopMetrics
    let clock: any TimeSource
    let deliveryLatency: HistogramRecorder?
    /// Facts the per-message path asks about, read once (not through the scenario's optionals).
    let isOpenModel: Bool
    let tracksDelivery: Bool
    let tracksOrder: Bool
    let sentAtField: String?
    /// Distinct order fingerprints counted by this loop (capped: beyond it they count as "other").
    private var fingerprints = Set<UInt64>()

    private(set) var state = RunState.waiting
    private var start = Instant(nanoseconds: 0)
    private var users: [VirtualUser] = []
    private var stopping: [ObjectIdentifier: VirtualUser] = [:]
    private var created = 0
    /// Users that ran their script to the end: they count toward the planned number and are not
    /// replaced (users that failed are replaced, so the offered load holds).
    private var completed = 0
    private var connecting = 0
    private let maxConnecting: Int
    private var failureStreak = 0
    private var backoffUntil: Int64 = 0
    private var lastSweep: Int64 = 0
    private var stopDeadline: Int64 = 0
    private var barrierWaiters: [BarrierKey: [VirtualUser]] = [:]
    private var currentPhase = 0
    /// Users this loop should have now (planned minus completed), as of the last tick.
    private var currentTarget = 0

    /// Rendering state shared by this loop's users (one thread, so no copies).
    var context: RenderContext
    private var sendBuffer: [UInt8] = []
    private var matchScratch: [UInt8] = []
    private let senderField: [UInt8]?
    private let sequenceField: [UInt8]?
    private var fieldName: [UInt8] = []

    static let tickInterval = Nanoseconds.milliseconds(10)
    static let sweepInterval = Nanoseconds.milliseconds(50)

    init(loop: EventLoop, engine: LoadEngine, index: Int, loopCount: Int, scenario: Scenario, slice: LoadSlice,
         program: Program, clock: any TimeSource) {
        self.loop = loop
        self.engine = engine
        self.index = index
        self.loopCount = loopCount
        self.scenario = scenario
        self.slice = slice
        self.program = program
        self.clock = clock
        let metrics = LoopMetrics(measureNames: program.measureNames)
        self.metrics = metrics
        deliveryLatency = scenario.delivery?.latencyMetric.flatMap { name in program.measureNames.firstIndex(of: name).map { metrics.measures[$0] } }
        maxConnecting = Swift.max(1, LoadSlice.evenShare(scenario.options.maxConnecting, part: index, of: loopCount))
        isOpenModel = scenario.model == .open
        tracksDelivery = scenario.delivery != nil
        tracksOrder = scenario.delivery?.order ?? false
        sentAtField = scenario.delivery?.sentAtField
        context = RenderContext(seed: UInt64(bitPattern: clock.now().nanoseconds) ^ UInt64(index + 1) &* 0x9E37_79B9_7F4A_7C15)
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
        loop.schedule(at: instant.advanced(by: -Self.earlyWake), target: self, token: Self.beginToken)
    }

    /// How long before a start or release instant the loop wakes to spin the rest of the way.
    static let earlyWake = Nanoseconds.microseconds(200)

    /// Spins until `instant` (the loop woke `earlyWake` before it): a timer alone lands tens
    /// of microseconds late (`volley-bench release`).
    func waitUntil(_ instant: Instant) {
        while clock.now() < instant {}
    }

    static let beginToken: UInt64 = 1

    /// The run's start on this loop's clock, in nanoseconds.
    var runStart: Int64 { start.nanoseconds }

    /// Elapsed run time, in nanoseconds.
    private func elapsed(_ now: Instant) -> Int64 { start.nanoseconds(to: now) }

    func timerFired(token: UInt64, now: Instant) {
        switch state {
        case .running:
            if token == Self.beginToken && !began {
                waitUntil(start)
                tick(clock.now())
                return
            }
            tick(now)
        case .stopping:
            if stopping.isEmpty && users.isEmpty || now.nanoseconds >= stopDeadline {
                for user in Array(stopping.values) + users { user.stop() }
                finish()
                return
            }
            loop.schedule(at: now.advanced(by: Self.tickInterval), target: self, token: 0)
        case .waiting, .finished:
            break
        }
    }

    private var began = false

    private func tick(_ now: Instant) {
        if !began {
            began = true
            engine.noteBegan(at: now)
        }
        let t = elapsed(now)
        if t >= scenario.duration {
            beginStopping(now)
            return
        }
        if let (phase, _) = LoadSlice.phase(at: t, in: scenario) { currentPhase = phase }
        context.phaseName = scenario.phases[currentPhase].name
        if users.isEmpty && stopping.isEmpty && completed > 0 && completed >= peakTargetUsers(from: t) {
            // Every user this loop will ever run has completed its script: the run is over here.
            beginStopping(now)
            return
        }
        let target = Swift.max(0, targetUsers(at: t) - completed)
        currentTarget = target
        if users.count > target {
            for _ in 0..<(users.count - target) { stopUser(users[users.count - 1]) }
        } else if users.count < target && now.nanoseconds >= backoffUntil {
            let room = Swift.max(0, maxConnecting - connecting)
            var sharing = CoreSharing(start: now)
            for _ in 0..<Swift.min(room, target - users.count) {
                startUser()
                sharing.pass(clock: clock)
            }
        }
        if now.nanoseconds - lastSweep >= Self.sweepInterval {
            lastSweep = now.nanoseconds
            for user in users { user.checkDeadlines(now: now.nanoseconds) }
        }
        metrics.usersActive = users.count
        loop.schedule(at: now.advanced(by: Self.tickInterval), target: self, token: 0)
    }

    /// This loop's share of the agent's target connections at `t` nanoseconds.
    private func targetUsers(at t: Int64) -> Int {
        let agentTarget = Int((slice.targetConnections(at: t, in: scenario) + 1e-9).rounded(.down))
        return LoadSlice.evenShare(agentTarget, part: index, of: loopCount)
    }

    /// The largest number of users this loop is planned to run from `t` to the end.
    private func peakTargetUsers(from t: Int64) -> Int {
        var peak = targetUsers(at: t)
        var start: Int64 = 0
        for (i, phase) in scenario.phases.enumerated() {
            if start + phase.duration > t {
                let c = slice.phases[i].connections
                peak = Swift.max(peak, LoadSlice.evenShare(Swift.max(c.from, c.to), part: index, of: loopCount))
            }
            start += phase.duration
        }
        return peak
    }

    private func startUser() {
        let local = created * loopCount + index
        created += 1
        let user = VirtualUser(driver: self, number: Int64(slice.globalUserNumber(local: local)))
        user.position = users.count
        users.append(user)
        connecting += 1
        user.start()
    }

    private func remove(_ user: VirtualUser) {
        let i = user.position
        guard i < users.count, users[i] === user else { return }
        let last = users.removeLast()
        if i < users.count {
            users[i] = last
            last.position = i
        }
    }

    private func stopUser(_ user: VirtualUser) {
        remove(user)
        stopping[ObjectIdentifier(user)] = user
        user.stop()
    }

    /// Stops every user now (end of run, lost lease, abort) and finishes once they have closed.
    func beginStopping(_ now: Instant) {
        guard state == .running || state == .waiting else { return }
        state = .stopping
        stopDeadline = now.nanoseconds + scenario.options.closeTimeout
        for user in users.reversed() { stopUser(user) }
        for (key, waiters) in barrierWaiters {
            barrierWaiters[key] = nil
            for w in waiters { w.released(at: now.nanoseconds, timedOut: false) }
        }
        loop.schedule(at: now.advanced(by: Self.tickInterval), target: self, token: 0)
    }

    private func finish() {
        state = .finished
        metrics.usersActive = 0
        engine.driverFinished(self)
    }

    // MARK: Users' callbacks

    func userConnected(_ user: VirtualUser) {
        connecting = Swift.max(0, connecting - 1)
        failureStreak = 0
        // Keep the connect pipeline full: a finished handshake makes room for the next at once,
        // instead of waiting for the next tick.
        if state == .running && users.count < currentTarget && connecting < maxConnecting {
            startUser()
        }
    }

    /// A user ended; `previous` is what it was doing (so no list needs scanning).
    func userEnded(_ user: VirtualUser, failed: Bool, previous: VirtualUser.State) {
        if stopping.removeValue(forKey: ObjectIdentifier(user)) == nil {
            remove(user)
        }
        if previous == .connecting {
            connecting = Swift.max(0, connecting - 1)
            if failed {
                // A failed connection attempt: back off a little before replacing it, longer as failures repeat.
                failureStreak += 1
                backoffUntil = clock.now().nanoseconds + Swift.min(Nanoseconds.seconds(1), Nanoseconds.milliseconds(5) << Swift.min(failureStreak, 8))
            }
        }
        if user.completedScript {
            completed += 1
            // The target excludes completed users; keep it so until the next tick recomputes
            // it, or a connection opening meanwhile would start a replacement for this user.
            currentTarget = Swift.max(0, currentTarget - 1)
        }
        if previous == .atBarrier {
            for (key, waiters) in barrierWaiters where waiters.contains(where: { $0 === user }) {
                barrierWaiters[key] = waiters.filter { $0 !== user }
            }
        }
        if state == .stopping && stopping.isEmpty && users.isEmpty { finish() }
    }

    // MARK: Services for users

    func connect(user: VirtualUser, url template: Template?) throws(SocketError) -> WebSocketConnection {
        let target = Int(user.number % Int64(scenario.targets.count))
        if template == nil, let constant = engine.constantURLs[target], let request = engine.requestTemplates[target] {
            // The common case: everything about the request is known in advance.
            var options = engine.clientOptions
            options.requestTemplate = request
            if !engine.localAddresses.isEmpty {
                options.localAddress = engine.localAddresses[Int(user.number) % engine.localAddresses.count]
            }
            return try WebSocketConnection.connect(to: engine.targetAddresses[target], url: constant, on: loop,
                                                   options: options, delegate: user)
        }
        let url: WebSocketURL
        if template == nil, let constant = engine.constantURLs[target] {
            url = constant
        } else {
            prepareContext(for: user, seq: 0)
            url = WebSocketURL((template ?? scenario.targets[target]).renderString(&context)) ?? engine.constantURLs[target] ?? WebSocketURL(host: "invalid")
        }
        var options = engine.clientOptions
        if !scenario.headers.isEmpty {
            prepareContext(for: user, seq: 0)
            options.headers = scenario.headers.map { ($0.name, $0.value.renderString(&context)) }
        }
        if !engine.localAddresses.isEmpty {
            options.localAddress = engine.localAddresses[Int(user.number) % engine.localAddresses.count]
        }
        let address = engine.addresses[url.host] ?? engine.addresses.values.first!
        return try WebSocketConnection.connect(to: SocketAddress(ip: address.ip, port: url.port), url: url, on: loop,
                                               options: options, delegate: user)
    }

    private func prepareContext(for user: VirtualUser, seq: Int64) {
        context.vu = user.number
        context.seq = seq
        context.iteration = user.iteration
        context.row = scenario.feeder?.row(for: Int(user.number))
    }

    /// Renders `template` for `user`; the bytes are valid until the next render. `nowMicros`
    /// is the wall time `{{now_us}}` shows (default: now).
    func render(_ template: Template, for user: VirtualUser, seq: Int64, nowMicros: Int64? = nil) -> [UInt8] {
        if template.segments.count == 1, case let .literal(bytes) = template.segments[0] { return bytes }
        prepareContext(for: user, seq: seq)
        context.nowMicros = nowMicros ?? wallMicros()
        sendBuffer.removeAll(keepingCapacity: true)
        template.render(&context, into: &sendBuffer)
        return sendBuffer
    }

    func matches(_ matcher: MessageMatcher, _ payload: UnsafeRawBufferPointer, binary: Bool, user: VirtualUser, seq: Int64) -> Bool {
        if matcher.conditions.isEmpty { return true }
        prepareContext(for: user, seq: seq)
        return matcher.matches(payload, binary: binary, context: &context, scratch: &matchScratch)
    }

    /// Nanoseconds between a user's paced sends in the current phase, if the phase has a rate.
    func sendInterval() -> Int64? {
        switch slice.phases[currentPhase].rate {
        case nil:
            return nil
        case let .perConnection(r):
            return Int64(1e9 / r)
        case let .total(r):
            let users = Swift.max(1.0, slice.targetConnections(at: elapsed(clock.now()), in: scenario))
            return Int64(1e9 * users / r)
        }
    }

    /// The current phase's think time.
    func thinkTime() -> Int64? { scenario.phases[currentPhase].think }

    /// Counts one receiver's order fingerprint as `delivery.order.HEX` (receivers that saw the
    /// same order share a counter, across loops and agents).
    func countOrderFingerprint(_ hash: UInt64) {
        if fingerprints.contains(hash) || fingerprints.count < 1000 {
            fingerprints.insert(hash)
            metrics.add(named: "delivery.order.\(String(hash, radix: 16))")
        } else {
            metrics.add(named: "delivery.order.other")
        }
    }

    /// Wall-clock microseconds, corrected to the coordinator's clock in a cluster run.
    func wallMicros() -> Int64 { (WallClock.nanosecondsSinceEpoch() + engine.clockOffset) / 1000 }

    func integerField(_ name: String, in payload: UnsafeRawBufferPointer) -> Int64? {
        var key = name
        return key.withUTF8 { JSONScanner.integer(UnsafeRawBufferPointer($0), in: payload) }
    }

    /// The sender (hashed) and sequence number of a tracked message, if it carries both.
    func deliveryKey(_ payload: UnsafeRawBufferPointer) -> (UInt64, Int64)? {
        guard let senderField, let sequenceField else { return nil }
        guard let sender = senderField.withUnsafeBytes({ JSONScanner.field($0, in: payload) }),
              let sequence = sequenceField.withUnsafeBytes({ JSONScanner.integer($0, in: payload) }) else { return nil }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in sender.range { hash = (hash ^ UInt64(payload[i])) &* 0x100_0000_01b3 }
        return (hash, sequence)
    }

    // MARK: Barriers

    struct BarrierKey: Hashable {
        let barrier: Int
        let generation: Int
    }

    func arrive(_ user: VirtualUser, barrier: Int, generation: Int) {
        let key = BarrierKey(barrier: barrier, generation: generation)
        barrierWaiters[key, default: []].append(user)
        engine.barrierArrival(barrier: barrier, generation: generation, loop: index)
    }

    /// Releases the users waiting at (barrier, generation) at `instant`. Their next frames are
    /// built now (the release is announced milliseconds ahead, with `{{now_us}}` set to the
    /// instant); the loop wakes shortly before it and spins to it, so releases on all loops and
    /// agents line up and each user's release costs one write.
    func release(barrier: Int, generation: Int, at instant: Instant, timedOut: Bool) {
        let key = BarrierKey(barrier: barrier, generation: generation)
        let lead = clock.now().nanoseconds(to: instant)
        // Frames are prepared even for a release that arrives late (a starved control loop),
        // so that every release goes out the same way and is measured the same way.
        if let waiters = barrierWaiters[key] {
            let wall = wallMicros() + Swift.max(0, lead) / 1000
            for user in waiters { user.prepareForRelease(wallMicros: wall) }
        }
        let readyMargin = clock.now().nanoseconds(to: instant)
        let wake = instant.advanced(by: -Self.earlyWake)
        loop.schedule(after: Swift.max(0, clock.now().nanoseconds(to: wake))) { [self] in
            waitUntil(instant)
            let releasedAt = clock.now()
            let cpuBefore = ThreadCPUClock.now()
            guard let waiters = barrierWaiters.removeValue(forKey: key), !waiters.isEmpty else { return }
            var first: Int64?
            var last: Int64?
            // Loops and agents sharing cores take turns, so their releases all begin on time
            // and their sends interleave, as on separate hosts.
            var sharing = CoreSharing(start: releasedAt)
            for user in waiters {
                if let sent = user.released(at: releasedAt.nanoseconds, timedOut: timedOut) {
                    if first == nil { first = sent }
                    last = sent
                }
                sharing.pass(clock: clock)
            }
            let cost = ThreadCPUClock.now() - cpuBefore
            metrics.barrierRelease.record(instant.microseconds(to: releasedAt))
            metrics.add(.barrierReleases)
            engine.barrierReleased(BarrierRelease(barrier: barrier, generation: generation, loop: index, users: waiters.count,
                                           timedOut: timedOut, releaseOffset: instant.nanoseconds(to: releasedAt),
                                           firstSendOffset: first.map { $0 - instant.nanoseconds },
                                           lastSendOffset: last.map { $0 - instant.nanoseconds }, sendCost: cost,
                                           readyMargin: readyMargin))
        }
    }

    /// Users waiting at any barrier on this loop.
    var usersAtBarriers: Int { barrierWaiters.values.reduce(0) { $0 + $1.count } }
}

