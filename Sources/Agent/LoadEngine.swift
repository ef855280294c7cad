import Dispatch
import Net
import Scenario
import Stats
import Synchronization
import WebSocket
import WireProtocol

/// Why a load engine could not start.
public struct EngineError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Runs one agent's slice of a scenario on a group of event loops (one per core by default):
/// each loop drives its share of the virtual users and owns its metrics, which `collect()`
/// drains and merges once per interval.
public final class LoadEngine: @unchecked Sendable {
    // @unchecked: the drivers are each confined to their own loop (reached only through that
    // loop's `execute`); the remaining shared state is immutable or behind a Mutex/Atomic.
    public let scenario: Scenario
    public let slice: LoadSlice
    public let clock: any TimeSource
    /// Nanoseconds to add to this host's wall clock to get the coordinator's (0 when alone);
    /// refreshed during a cluster run as the estimate improves.
    public var clockOffset: Int64 { offset.load(ordering: .relaxed) }
    private let offset: Atomic<Int64>
    /// Monotonic instant (ns) at which the first loop actually began the plan.
    private let actualStartNanos = Atomic<Int64>(.max)
    let program: Program
    private let group: EventLoopGroup
    private var drivers: [LoopDriver] = []
    private let barriers: BarrierService
    private let finishedDrivers = Atomic<Int>(0)
    private(set) var addresses: [String: SocketAddress] = [:]
    private(set) var constantURLs: [WebSocketURL?] = []
    /// Per target: its resolved address and, when the URL and headers are constant, the
    /// request's constant parts.
    private(set) var targetAddresses: [SocketAddress] = []
    private(set) var requestTemplates: [ClientHandshake.RequestTemplate?] = []
    private(set) var localAddresses: [IPAddress] = []
    private(set) var clientOptions = ClientOptions()
    private let startInstant = Mutex<Instant?>(nil)

    /// An engine with `loops` event loops (default: one per core).
    /// The run's identifier ({{run}} in templates).
    public let runID: String

    public init(scenario: Scenario, slice: LoadSlice, loops: Int? = nil, clock: any TimeSource = SystemClock(),
                clockOffset: Int64 = 0, barrierService: BarrierService? = nil, runID: String = "") throws {
        self.runID = runID
        self.scenario = scenario
        self.slice = slice
        self.clock = clock
        offset = Atomic(clockOffset)
        program = Program(scenario)
        if let loops {
            group = try EventLoopGroup(count: loops, clock: clock)
        } else {
            group = try EventLoopGroup(clock: clock)
        }
        barriers = barrierService ?? LocalBarrierService(scenario: scenario)
        clientOptions.openTimeout = nil   // enforced by the drivers' sweep (no timer per connection)
        clientOptions.closeTimeout = scenario.options.closeTimeout
        clientOptions.subprotocols = scenario.subprotocols
        clientOptions.limits = WebSocketLimits(maximumFrameSize: UInt64(scenario.options.maxMessageSize),
                                               maximumMessageSize: UInt64(scenario.options.maxMessageSize))
    }

    /// Number of event loops.
    public var loopCount: Int { group.loops.count }

    /// Resolves every target host (blocking; call before `start`) and checks the URLs.
    public func prepare() throws {
        var context = RenderContext(seed: 1)
        for target in scenario.targets {
            let sample = target.renderString(&context)
            guard let url = WebSocketURL(sample) else { throw EngineError("target \(target.source) is not a valid ws:// URL") }
            let hostPart = target.source.dropFirst("ws://".count).prefix { $0 != "/" && $0 != "?" }
            if hostPart.contains("{{") {
                throw EngineError("target \(target.source): placeholders may be used in the path and query, not in the host or port")
            }
            constantURLs.append(target.isConstant ? url : nil)
            if addresses[url.host] == nil {
                let resolved = try Resolver.resolve(host: url.host, port: url.port)
                addresses[url.host] = resolved[0]
            }
            targetAddresses.append(SocketAddress(ip: addresses[url.host]!.ip, port: url.port))
            let headersConstant = scenario.headers.allSatisfy { $0.value.isConstant }
            requestTemplates.append(target.isConstant && headersConstant
                ? ClientHandshake.RequestTemplate(url: url, subprotocols: scenario.subprotocols,
                                                  headers: scenario.headers.map { ($0.name, $0.value.source) })
                : nil)
        }
        for text in scenario.options.localAddresses {
            guard let ip = IPAddress(text) else { throw EngineError("local address \(text) is not an IP address") }
            localAddresses.append(ip)
        }
    }

    /// Starts the loops and begins the plan at `instant` (on this engine's clock).
    public func start(at instant: Instant) {
        startInstant.withLock { $0 = instant }
        // Precise timers (1 ns slack): starts, barrier releases and paced sends land on time.
        group.start(preciseTimers: true)
        drivers = group.loops.enumerated().map { i, loop in
            LoopDriver(loop: loop, engine: self, index: i, loopCount: group.loops.count, scenario: scenario,
                       slice: slice, program: program, clock: clock)
        }
        barriers.attach(to: self)
        for (i, loop) in group.loops.enumerated() {
            let driver = LoopBound(drivers[i])
            loop.execute { driver.value.begin(at: instant) }
        }
    }

    /// The instant the plan starts at.
    public var startedAt: Instant? { startInstant.withLock { $0 } }

    /// Replaces the clock offset (a refreshed estimate from the coordinator).
    public func setClockOffset(_ nanoseconds: Int64) { offset.store(nanoseconds, ordering: .relaxed) }

    /// When the first loop actually began the plan (nil before it has).
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

    /// Drains every loop's metrics since the last call and merges them.
    public func collect() -> MetricSet {
        let sets = Mutex<[MetricSet]>([])
        let done = DispatchSemaphore(value: 0)
        for (i, loop) in group.loops.enumerated() {
            let driver = LoopBound(drivers[i])
            loop.execute {
                let set = driver.value.metrics.drain()
                sets.withLock { $0.append(set) }
                done.signal()
            }
        }
        for _ in group.loops { done.wait() }
        var merged = MetricSet()
        for set in sets.withLock({ $0 }) { merged.merge(set) }
        return merged
    }

    /// Run time (ns) at which the agent's 1000th, 2000th, ... connection opened. Exact with one
    /// loop; with several, the loops' milestones merged in time order (within 1000 × loops).
    public func connectionTimeline() -> [Int64] {
        let all = Mutex<[Int64]>([])
        let done = DispatchSemaphore(value: 0)
        for (i, loop) in group.loops.enumerated() {
            let driver = LoopBound(drivers[i])
            loop.execute {
                let milestones = driver.value.metrics.openMilestones
                all.withLock { $0.append(contentsOf: milestones) }
                done.signal()
            }
        }
        for _ in group.loops { done.wait() }
        return all.withLock { $0 }.sorted()
    }

    /// Stops every user now (closing connections gracefully), e.g. when the lease runs out.
    public func stopNow() {
        for (i, loop) in group.loops.enumerated() {
            let driver = LoopBound(drivers[i])
            loop.execute { driver.value.beginStopping(driver.value.clock.now()) }
        }
    }

    /// True once every loop has finished its users.
    public var isFinished: Bool { !drivers.isEmpty && finishedDrivers.load(ordering: .acquiring) == drivers.count }

    func driverFinished(_ driver: LoopDriver) {
        finishedDrivers.add(1, ordering: .releasing)
    }

    /// Stops the loops' threads (after the run has finished).
    public func shutdown() {
        group.stopAndJoin()
    }

    // MARK: Barriers

    /// Users this agent expects at a barrier: its target connections right now.
    public func expectedUsers() -> Int {
        guard let start = startedAt else { return 0 }
        return Int((slice.targetConnections(at: start.nanoseconds(to: clock.now()), in: scenario) + 1e-9).rounded(.down))
    }

    func barrierArrival(barrier: Int, generation: Int, loop: Int) {
        barriers.arrived(barrier: barrier, generation: generation)
    }

    func barrierReleased(_ release: BarrierRelease) {
        barriers.released(release)
    }

    /// Releases (barrier, generation) on every loop at `instant` (this engine's clock).
    public func releaseBarrier(barrier: Int, generation: Int, at instant: Instant, timedOut: Bool) {
        for (i, loop) in group.loops.enumerated() {
            let driver = LoopBound(drivers[i])
            loop.execute { driver.value.release(barrier: barrier, generation: generation, at: instant, timedOut: timedOut) }
        }
    }

    /// Runs `body` on the first loop after `nanoseconds` (for barrier timeouts).
    func afterDelay(_ nanoseconds: Int64, _ body: @escaping @Sendable () -> Void) {
        let loop = group.loops[0]
        loop.execute { loop.schedule(after: nanoseconds) { body() } }
    }
}
