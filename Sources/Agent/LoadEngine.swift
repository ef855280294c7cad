import Net
import Scenario
import Stats
import Synchronization
import WireProtocol

/// Why a load engine could not start.
public struct EngineError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// What an agent's run needs of its load engine. A protocol so that the agent's run logic
/// (lease, stats cadence, start, stop, end) is tested with a scripted engine on a manual clock.
public protocol LoadRunner: AnyObject {
    /// Event loops the engine runs.
    var loopCount: Int { get }
    /// Starts the loops and begins the plan at `instant`.
    func start(at instant: Instant)
    /// Stops every user now (closing connections gracefully).
    func stopNow()
    /// Ends the current interval on every loop; `completion` runs on the control loop with what
    /// was measured since the previous collection and the run times of each 1000th connection
    /// opened meanwhile.
    func collect(_ completion: @escaping (CompactMetricSet, [Int64]) -> Void)
    /// Releases (barrier, generation) on every loop at `instant` (on the engine's clock).
    func releaseBarrier(barrier: Int, generation: Int, at instant: Instant, timedOut: Bool)
    /// Replaces the offset to the coordinator's clock (a refreshed estimate).
    func setClockOffset(_ nanoseconds: Int64)
    /// True once every loop has finished its users.
    var isFinished: Bool { get }
    /// When the first loop actually began the plan.
    var actualStart: Instant? { get }
    /// Stops the loops' threads (after the run has finished).
    func shutdown()
    /// What delivery tracking learned (after `shutdown`); nil without delivery tracking.
    var deliveryLedger: DeliveryLedger? { get }
}

/// What the engine's loops tell the agent, delivered on the control loop.
public protocol LoadEvents: AnyObject {
    /// Users arrived at barriers (batched per loop and iteration).
    func barrierArrivals(_ arrivals: [BarrierArrival])
    /// A loop released a barrier generation: what it measured.
    func barrierReleased(_ release: BarrierRelease)
}

/// Runs one agent's slice of a run on a group of event loops (one per core by default): each
/// loop drives its share of the virtual users and owns its metrics, which `collect` gathers
/// once per interval without stopping or blocking the loops.
public final class LoadEngine: LoadRunner, @unchecked Sendable {
    // @unchecked: each driver is confined to its own loop (reached through that loop's
    // `execute`), the collection state to the control loop; the rest is immutable or atomic.
    public let scenario: Scenario
    public let slice: LoadSlice
    public let runID: String
    let seed: UInt64
    let clock: any TimeSource
    let targets: ResolvedTargets
    let dialer: Dialer
    let program: Program
    private let group: EventLoopGroup
    private unowned(unsafe) let controlLoop: EventLoop
    private weak var events: LoadEvents?
    private var drivers: [LoopDriver] = []
    private let offset: Atomic<Int64>
    /// Monotonic instant (ns) at which the first loop actually began the plan.
    private let actualStartNanos = Atomic<Int64>(.max)
    private let finishedDrivers = Atomic<Int>(0)
    /// Collection state (control loop only): the prepared closures of the hand-off, the loops
    /// still to swap, and the completions waiting.
    private var swapRequests: [@Sendable () -> Void] = []
    private var swapNotices: [@Sendable () -> Void] = []
    private var swapsOutstanding = 0
    private var collections: [(CompactMetricSet, [Int64]) -> Void] = []
    /// Each loop's thread CPU and the process's CPU at the previous collection, and when it was.
    private var loopCPU: [Int64] = []
    private var processCPU: Int64 = ProcessUsage.cpuNanoseconds
    private var lastCollection: Instant?

    /// An engine for agent `agent` of `plan`, with `loops` event loops (default: one per core),
    /// reporting to `events` on `controlLoop`.
    public init(plan: RunPlan, agent: Int, targets: ResolvedTargets, loops: Int? = nil, clock: any TimeSource = SystemClock(),
                controlLoop: EventLoop, events: LoadEvents, dialer: Dialer = TCPDialer()) throws(SocketError) {
        scenario = plan.scenario
        slice = plan.slices[agent]
        runID = plan.runID
        seed = plan.seed
        self.clock = clock
        self.targets = targets
        self.dialer = dialer
        self.controlLoop = controlLoop
        self.events = events
        offset = Atomic(0)
        program = Program(plan.scenario)
        group = try EventLoopGroup(count: loops ?? Machine.cpuCount, clock: clock)
    }

    public var loopCount: Int { group.loops.count }

    public func start(at instant: Instant) {
        // Precise timers (1 ns slack): starts, barrier releases and paced sends land on time.
        group.start(preciseTimers: true)
        lastCollection = controlLoop.clock.now()
        drivers = group.loops.enumerated().map { i, loop in
            LoopDriver(loop: loop, engine: self, index: i, loopCount: group.loops.count, scenario: scenario,
                       slice: slice, program: program, clock: clock, seed: seed)
        }
        let control = LoopBound(controlLoop)
        for (i, driver) in drivers.enumerated() {
            let bound = LoopBound(driver)
            let notice: @Sendable () -> Void = { [unowned self] in loopSwapped() }
            swapNotices.append(notice)
            swapRequests.append { bound.value.swapMetrics(notice: notice, controlLoop: control.value) }
            group.loops[i].execute { bound.value.begin(at: instant) }
        }
    }

    public func setClockOffset(_ nanoseconds: Int64) { offset.store(nanoseconds, ordering: .relaxed) }

    /// Nanoseconds to add to this host's wall clock to get the coordinator's (0 when alone).
    var clockOffset: Int64 { offset.load(ordering: .relaxed) }

    public var actualStart: Instant? {
        let v = actualStartNanos.load(ordering: .acquiring)
        return v == .max ? nil : Instant(nanoseconds: v)
    }

    func noteBegan(at instant: Instant) {
        var current = actualStartNanos.load(ordering: .relaxed)
        while instant.nanoseconds < current {
            let (exchanged, original) = actualStartNanos.compareExchange(expected: current, desired: instant.nanoseconds, ordering: .acquiringAndReleasing)
            if exchanged { break }
            current = original
        }
    }

    // MARK: Collection

    public func collect(_ completion: @escaping (CompactMetricSet, [Int64]) -> Void) {
        collections.append(completion)
        if collections.count == 1 { requestSwaps() }
    }

    private func requestSwaps() {
        guard !drivers.isEmpty else {
            let completion = collections.removeFirst()
            completion(CompactMetricSet(), [])
            return
        }
        swapsOutstanding = drivers.count
        for (i, loop) in group.loops.enumerated() { loop.execute(swapRequests[i]) }
    }

    /// A loop swapped its buffers (on the control loop); once all have, drain and merge.
    private func loopSwapped() {
        swapsOutstanding -= 1
        guard swapsOutstanding == 0 else { return }
        var set = CompactMetricSet()
        var milestones: [Int64] = []
        var cpu: [Int64] = []
        for driver in drivers {
            let retired = driver.metrics.retired
            cpu.append(retired.threadCPU)
            set.merge(driver.metrics.drain(retired))
            milestones += driver.metrics.takeMilestones(retired)
        }
        addResources(&set, loopCPU: cpu)
        let completion = collections.removeFirst()
        completion(set, milestones.sorted())
        if !collections.isEmpty { requestSwaps() }
    }

    /// The agent's own resources over the interval, and whether it was saturated: its loops'
    /// and process's CPU, its memory, and the `generator.limited` flag (`GeneratorHealth`).
    private func addResources(_ set: inout CompactMetricSet, loopCPU cpu: [Int64]) {
        let now = controlLoop.clock.now()
        let interval = lastCollection.map { $0.nanoseconds(to: now) } ?? 0
        lastCollection = now
        if loopCPU.count != cpu.count { loopCPU = cpu.map { _ in 0 } }
        let deltas = zip(cpu, loopCPU).map { Swift.max(0, $0 - $1) }
        loopCPU = cpu
        let process = ProcessUsage.cpuNanoseconds
        set.counters["agent.cpu_ms"] = Swift.max(0, process - processCPU) / 1_000_000
        processCPU = process
        set.counters["generator.loop_cpu_ms"] = deltas.reduce(0, +) / 1_000_000
        for (i, d) in deltas.enumerated() where d >= 1_000_000 { set.counters["generator.loop_cpu_ms.\(i)"] = d / 1_000_000 }
        set.gauges["agent.memory_bytes"] = ProcessUsage.residentBytes
        let busiest = interval > 0 ? Double(deltas.max() ?? 0) / Double(interval) : 0
        let lag = set.histograms[MetricCatalog.generatorLag].map { $0.isEmpty ? 0 : $0.values(atPercentiles: [99])[0] } ?? 0
        if GeneratorHealth.isLimited(busiestLoopCPU: busiest, lagP99Micros: lag) { set.counters["generator.limited"] = 1 }
    }

    // MARK: Stopping

    public func stopNow() {
        for (i, loop) in group.loops.enumerated() where i < drivers.count {
            let driver = LoopBound(drivers[i])
            loop.execute { driver.value.beginStopping(driver.value.clock.now()) }
        }
    }

    public var isFinished: Bool { !drivers.isEmpty && finishedDrivers.load(ordering: .acquiring) == drivers.count }

    func driverFinished(_ driver: LoopDriver) {
        finishedDrivers.add(1, ordering: .releasing)
    }

    public func shutdown() {
        group.stopAndJoin()
    }

    public var deliveryLedger: DeliveryLedger? {
        guard scenario.delivery != nil else { return nil }
        var ledger = DeliveryLedger()
        for driver in drivers { ledger.merge(driver.deliveryLedger) }
        return ledger
    }

    // MARK: Barriers

    func barrierArrivals(_ arrivals: [BarrierArrival]) {
        controlLoop.execute { [weak self] in self?.events?.barrierArrivals(arrivals) }
    }

    func barrierReleased(_ release: BarrierRelease) {
        controlLoop.execute { [weak self] in self?.events?.barrierReleased(release) }
    }

    public func releaseBarrier(barrier: Int, generation: Int, at instant: Instant, timedOut: Bool) {
        for (i, loop) in group.loops.enumerated() where i < drivers.count {
            let driver = LoopBound(drivers[i])
            loop.execute { driver.value.release(barrier: barrier, generation: generation, at: instant, timedOut: timedOut) }
        }
    }
}
