/// A load test: where to connect, how many connections and messages over which phases, what each
/// virtual user does, and what counts as passing. Built from a scenario file by `ScenarioLoader`.
public struct Scenario: Sendable {
    public var name: String
    public var description: String?
    /// Target URLs (templates); virtual user i uses `targets[i % count]`.
    public var targets: [Template]
    public var headers: [(name: String, value: Template)]
    public var subprotocols: [String]
    public var feeder: Feeder?
    public var model: LoadModel
    public var phases: [Phase]
    /// The steps of a scenario without groups (empty when it declares `groups:`).
    public var steps: [Step]
    /// `groups:` as written (empty: one implicit group runs `steps`; see `groups`).
    public var declaredGroups: [UserGroup] = []
    /// Every per-user variable the captures set (`{{vars.NAME}}`), in slot order.
    public var variables: [String] = []
    /// `on:` at the top level: every user's message handlers.
    public var handlers: [MessageHandler] = []
    /// Threshold expressions as written, with their location (evaluated by the coordinator).
    public var thresholds: [Threshold]
    public var delivery: DeliveryTracking?
    /// How wss:// targets are secured.
    public var tls = TLSOptions()
    /// Whether permessage-deflate is offered, and how.
    public var compression = CompressionOptions()
    public var options: RunOptions
    /// The source text, so agents can be sent exactly what the coordinator validated.
    public var source: String
    public var file: String

    /// Total duration of all phases.
    public var duration: Int64 { phases.reduce(0) { $0 + $1.duration } }

    /// The largest number of connections any phase asks for.
    public var peakConnections: Int { phases.map { Swift.max($0.connections.from, $0.connections.to) }.max() ?? 0 }

    /// The scenario with every phase's connection counts scaled in proportion so that the peak
    /// is `peak` (the shape of the profile and the per-connection rates stay).
    public func scaled(toPeakConnections peak: Int) -> Scenario {
        let current = peakConnections
        guard current > 0, peak != current else { return self }
        let factor = Double(peak) / Double(current)
        var s = self
        for i in s.phases.indices {
            let c = s.phases[i].connections
            s.phases[i].connections = ConnectionTarget(from: Int((Double(c.from) * factor).rounded()), to: Int((Double(c.to) * factor).rounded()))
        }
        return s
    }

    /// Names of every latency metric the scenario measures (over all groups).
    public var measureNames: [String] {
        var names: [String] = []
        for group in groups {
            for m in measureNames(of: group) where !names.contains(m) { names.append(m) }
        }
        if let metric = delivery?.latencyMetric, !names.contains(metric) { names.append(metric) }
        return names
    }

    /// The latency metrics a group's users record: its steps', then its handlers'.
    public func measureNames(of group: UserGroup) -> [String] {
        var names = group.measureNames
        for h in handlers(of: group) { if let m = h.measure, !names.contains(m) { names.append(m) } }
        return names
    }

    /// Every barrier (its first step when several steps name it), in order of first appearance.
    public var barriers: [BarrierStep] {
        var found: [BarrierStep] = []
        func visit(_ steps: [Step]) {
            for step in steps {
                switch step.kind {
                case let .barrier(b): if !found.contains(where: { $0.name == b.name }) { found.append(b) }
                case let .loop(l): visit(l.steps)
                default: break
                }
            }
        }
        for group in groups { visit(group.steps) }
        return found
    }

    /// Names of every barrier, in order of first appearance.
    public var barrierNames: [String] { barriers.map(\.name) }
}

/// Open: messages are sent on a fixed schedule and latency counts from the scheduled instant.
/// Closed: each virtual user waits for the reply before its next message.
public enum LoadModel: String, Sendable {
    case open
    case closed
}

/// One phase of the load profile.
public struct Phase: Sendable, Equatable {
    public var name: String
    /// Length in nanoseconds.
    public var duration: Int64
    /// Concurrent connections (virtual users), steady or ramping linearly across the phase.
    public var connections: ConnectionTarget
    /// How fast each connection's `send` steps go, if paced.
    public var rate: MessageRate?
    /// Pause after each iteration of a loop (closed model).
    public var think: Delay?
    public var line: Int

    public init(name: String, duration: Int64, connections: ConnectionTarget, rate: MessageRate? = nil, think: Delay? = nil, line: Int = 0) {
        self.name = name
        self.duration = duration
        self.connections = connections
        self.rate = rate
        self.think = think
        self.line = line
    }
}

/// A connection count, steady (`from == to`) or ramping from `from` to `to`.
public struct ConnectionTarget: Sendable, Equatable, CustomStringConvertible {
    public var from: Int
    public var to: Int

    public init(from: Int, to: Int) {
        self.from = from
        self.to = to
    }

    public static func steady(_ n: Int) -> ConnectionTarget { ConnectionTarget(from: n, to: n) }

    public var isRamp: Bool { from != to }

    /// The target at `elapsed` nanoseconds into a phase lasting `duration`.
    public func value(at elapsed: Int64, duration: Int64) -> Double {
        guard isRamp, duration > 0 else { return Double(to) }
        let f = Swift.min(1, Swift.max(0, Double(elapsed) / Double(duration)))
        return Double(from) + (Double(to) - Double(from)) * f
    }

    public var description: String { isRamp ? "\(from) -> \(to)" : "\(to)" }
}

/// A message rate.
public enum MessageRate: Sendable, Equatable, CustomStringConvertible {
    /// Messages per second per connection.
    case perConnection(Double)
    /// Messages per second across all connections (divided among the connections).
    case total(Double)

    public var description: String {
        switch self {
        case let .perConnection(r): return "\(Self.format(r))/s per connection"
        case let .total(r): return "\(Self.format(r))/s in total"
        }
    }

    static func format(_ v: Double) -> String { v == v.rounded() ? String(Int64(v)) : String(v) }
}

/// A step of a virtual user's script, with the line it was written on.
public struct Step: Sendable {
    /// The `measure:` metrics of `steps` (loops included), in order of first appearance.
    public static func measureNames(in steps: [Step]) -> [String] {
        var names: [String] = []
        func visit(_ steps: [Step]) {
            for step in steps {
                switch step.kind {
                case let .expect(e): if let m = e.measure, !names.contains(m) { names.append(m) }
                case let .ping(p): if !names.contains(p.measure) { names.append(p.measure) }
                case let .loop(l): visit(l.steps)
                default: break
                }
            }
        }
        visit(steps)
        return names
    }

    public var kind: Kind
    public var line: Int
    public var column: Int

    public init(_ kind: Kind, line: Int, column: Int = 1) {
        self.kind = kind
        self.line = line
        self.column = column
    }

    public indirect enum Kind: Sendable {
        case connect(ConnectStep)
        case send(SendStep)
        case expect(ExpectStep)
        case expectNone(ExpectNoneStep)
        case sleep(Delay)
        case barrier(BarrierStep)
        case loop(LoopStep)
        case close
        case reconnect
        case ping(PingStep)
    }

    /// The step's keyword as written in scenario files.
    public var keyword: String {
        switch kind {
        case .connect: return "connect"
        case .send: return "send"
        case .expect: return "expect"
        case .expectNone: return "expect_none"
        case .sleep: return "sleep"
        case .barrier: return "barrier"
        case .loop: return "loop"
        case .close: return "close"
        case .reconnect: return "reconnect"
        case .ping: return "ping"
        }
    }
}

/// Sends a WebSocket ping and waits for the pong, measuring the round trip.
public struct PingStep: Sendable {
    public var within: Int64
    /// The histogram of pong round trips (default `ping`).
    public var measure: String
    public init(within: Int64 = 5_000_000_000, measure: String = "ping") {
        self.within = within
        self.measure = measure
    }
}

public struct ConnectStep: Sendable {
    /// Overrides the scenario's target for this connection.
    public var url: Template?
    /// The server is expected to refuse the upgrade ("anonymous users are rejected"): a refusal
    /// as expected is counted and not an error; an accepted connection is the error.
    public var refusal: ExpectedRefusal?
    public init(url: Template? = nil, refusal: ExpectedRefusal? = nil) {
        self.url = url
        self.refusal = refusal
    }
}

/// How a connect step expects the server to refuse the upgrade.
public enum ExpectedRefusal: Sendable, Equatable {
    /// With this HTTP status.
    case status(Int)
    /// With any status other than 101.
    case anyStatus

    /// True when a response with `status` is the refusal expected.
    public func matches(_ status: Int) -> Bool {
        switch self {
        case let .status(s): return s == status
        case .anyStatus: return status != 101
        }
    }
}

public struct SendStep: Sendable {
    public var payload: Template
    public var binary: Bool
    public init(payload: Template, binary: Bool = false) {
        self.payload = payload
        self.binary = binary
    }
}

/// Where a latency measurement starts.
public enum LatencyOrigin: Sendable, Equatable {
    /// The most recent send of this virtual user (its scheduled instant in the open model).
    case lastSend
    /// A microsecond wall-clock timestamp carried in this top-level JSON field of the message.
    case field(String)
}

public struct ExpectStep: Sendable {
    public var matcher: MessageMatcher
    /// Time allowed for a matching message, in nanoseconds.
    public var within: Int64
    /// Records the latency into this metric when set.
    public var measure: String?
    public var latencyFrom: LatencyOrigin
    /// A non-matching message fails the expectation (instead of being skipped).
    public var strict: Bool
    /// Values the matched message sets in the user's variables.
    public var captures: [Capture] = []
}

public struct ExpectNoneStep: Sendable {
    public var matcher: MessageMatcher
    /// How long nothing matching may arrive, in nanoseconds.
    public var duration: Int64
}

/// When a barrier releases.
public struct BarrierStep: Sendable {
    public var name: String
    /// Fraction of the expected virtual users whose arrival releases the barrier (1 = all).
    public var fraction: Double
    /// Longest wait before releasing anyway (counted as a barrier timeout), in nanoseconds.
    public var timeout: Int64
}

public struct LoopStep: Sendable {
    /// Iterations, or nil to repeat until the virtual user is stopped.
    public var count: Int?
    public var steps: [Step]
}

/// A threshold as written in the scenario, before its expression is parsed.
public struct ThresholdSource: Sendable, Equatable {
    public var text: String
    public var line: Int
    public var column: Int
    public var abortOnFail: Bool
    /// Grace period before an abort-on-fail threshold may stop the run, in nanoseconds.
    public var abortGrace: Int64
    /// The phase it applies to, with where that name was written.
    public var phase: (name: String, line: Int, column: Int)?
    /// `seconds: 99%`: judged per second, passing when it holds in this share of them.
    public var secondsShare: Double?

    public init(text: String, line: Int, column: Int, abortOnFail: Bool = false, abortGrace: Int64 = 0,
                phase: (name: String, line: Int, column: Int)? = nil) {
        self.text = text
        self.line = line
        self.column = column
        self.abortOnFail = abortOnFail
        self.abortGrace = abortGrace
        self.phase = phase
    }

    public static func == (a: ThresholdSource, b: ThresholdSource) -> Bool {
        a.text == b.text && a.line == b.line && a.column == b.column && a.abortOnFail == b.abortOnFail
            && a.abortGrace == b.abortGrace && a.phase?.name == b.phase?.name && a.secondsShare == b.secondsShare
    }
}

/// Per-sender sequence tracking of received messages (broadcast completeness and one-way latency).
/// How tracked messages wrap their fields (`delivery.envelope`).
public enum DeliveryEnvelope: String, Sendable, Equatable { case json, socketio }

public struct DeliveryTracking: Sendable, Equatable {
    /// Top-level JSON field naming the sender.
    public var senderField: String
    /// Top-level JSON field with the sender's sequence number (1, 2, 3, ...).
    public var sequenceField: String
    /// Top-level JSON field with the sender's send time in wall-clock microseconds, if any.
    public var sentAtField: String?
    /// Metric the one-way latency is recorded in.
    public var latencyMetric: String?
    /// Fingerprint each receiver's arrival order, so receivers that saw a different order can be
    /// counted (`delivery.order.*` counters).
    public var order: Bool = false
    /// Which users share broadcasts: users whose group renders the same are one group. Nil: the
    /// path of the URL each user connected to (`/rooms/lobby`; the query is not part of it).
    public var group: Template?
    /// Whether a sender receives its own messages (as volley target's rooms do).
    public var includesSender: Bool = true
    /// Messages sent in this last stretch before a receiver leaves mid-run are not expected of
    /// it (they may still be in flight); at the end of the run the drain takes care of them.
    public var settle: Int64 = 1_000_000_000
    /// Where the tracked fields are: the message itself (a JSON object), or the data of a
    /// Socket.IO event packet (`42["event",{…}]`).
    public var envelope: DeliveryEnvelope = .json

    public static func == (a: DeliveryTracking, b: DeliveryTracking) -> Bool {
        a.senderField == b.senderField && a.sequenceField == b.sequenceField && a.sentAtField == b.sentAtField
            && a.latencyMetric == b.latencyMetric && a.order == b.order && a.group?.source == b.group?.source
            && a.includesSender == b.includesSender && a.settle == b.settle && a.envelope == b.envelope
    }
}

/// What to do when an agent is lost mid-run.
public enum AgentLossPolicy: String, Sendable {
    case `continue`
    case abort
}

/// What a run whose generator was saturated in some seconds gets as its verdict.
public enum GeneratorLimitedPolicy: String, Sendable {
    /// Passes, with a warning in the verdict line.
    case warn
    /// Fails (exit 1): the load was not generated as planned.
    case fail
}

/// Run-wide options.
/// How the open model spaces sends (`options.arrivals`).
public enum Arrivals: String, Sendable, Equatable { case uniform, poisson }

public struct RunOptions: Sendable, Equatable {
    /// Time allowed for TCP connect plus handshake.
    public var connectTimeout: Int64 = 10_000_000_000
    /// Handshakes in flight at once, per agent.
    public var maxConnecting: Int = 1000
    /// Time allowed for close handshakes at the end.
    public var closeTimeout: Int64 = 2_000_000_000
    public var onAgentLoss: AgentLossPolicy = .continue
    /// Largest message accepted from the target.
    public var maxMessageSize: Int = 16 << 20
    /// Source addresses to spread connections over (more than 64k connections to one target).
    public var localAddresses: [String] = []
    /// After the last phase, how long users keep their connections without starting anything
    /// new, so replies and broadcasts still in flight arrive and are measured.
    public var drain: Int64 = 2_000_000_000
    /// The share of the planned load a phase may fall short by and still pass.
    public var maxShortfall: Double = 0.01
    /// What seconds in which an agent was saturated do to the verdict.
    public var generatorLimited: GeneratorLimitedPolicy = .warn
    /// How the open model spaces a connection's sends: evenly at its rate, or as a Poisson
    /// process with that rate (exponential gaps: independent users' traffic).
    public var arrivals: Arrivals = .uniform

    public init() {}
}
