import ByteCoding
import Scenario
import Stats

/// The protocol version both sides state in their first message.
public let wireProtocolVersion: UInt16 = 3

/// This build of volley (`volley --version`, results.json's generator).
public let volleyVersion = "0.13.0"

/// Everything the coordinator and an agent say to each other.
///
/// Encoding is explicit: a one-byte type, then fields as fixed-width little-endian integers,
/// LEB128 varints, and length-prefixed strings and bytes. Decoding checks every length against
/// what is left and against limits, so arbitrary bytes give a `WireError`, never a crash or an
/// unbounded allocation.
public enum WireMessage: Equatable, Sendable {
    /// First message of both sides.
    case hello(Hello)
    /// Coordinator to agent: proof of the token.
    case authenticate(proof: [UInt8])
    /// Agent to coordinator: its own proof; from now on everything is accepted.
    case authenticated(proof: [UInt8])
    /// Agent to coordinator: what this agent can take.
    case capacity(Capacity)
    /// Coordinator to agent: a clock probe sent at coordinator wall time `sentAt` (ns).
    case clockProbe(id: UInt32, sentAt: Int64)
    /// Agent to coordinator: when the probe arrived and when this reply left, in agent wall time.
    case clockReply(id: UInt32, sentAt: Int64, receivedAt: Int64, repliedAt: Int64)
    /// Coordinator to agent: the whole run plan, and which of its slices is this agent's.
    case prepare(RunPlan, agent: Int)
    /// Agent to coordinator: ready to start.
    case prepared(runID: String)
    /// Coordinator to agent: begin at this agent-clock wall instant; `clockOffset` (ns) converts
    /// agent wall time to coordinator wall time (coordinator = agent - offset).
    case start(runID: String, atAgentWall: Int64, clockOffset: Int64)
    /// Agent to coordinator: the agent wall instant its loops actually began.
    case started(runID: String, actualStartWall: Int64)
    /// Either way, once a second during a run: still here. The coordinator's renews the
    /// agent's lease; the agent's tells the coordinator it is alive even when a busy second
    /// delays its stats.
    case heartbeat(sequence: UInt64)
    /// Coordinator to agent: a refreshed clock offset estimate.
    case clockOffset(Int64)
    /// Agent to coordinator: what was measured during interval `second` (a delta).
    case stats(runID: String, second: UInt32, metrics: CompactMetricSet)
    /// Agent to coordinator: `count` users arrived at (barrier, generation).
    case barrierArrived(barrier: UInt32, generation: UInt32, count: UInt32)
    /// Coordinator to agent: release (barrier, generation) at this agent-clock wall instant.
    case barrierRelease(barrier: UInt32, generation: UInt32, atAgentWall: Int64, timedOut: Bool)
    /// Agent to coordinator: how one of its loops released a barrier generation.
    case barrierReport(BarrierRelease)
    /// Agent to coordinator: something worth telling the user (a warning or an error).
    case event(level: EventLevel, message: String)
    /// Coordinator to agent: stop the load now.
    case stop(reason: String)
    /// Agent to coordinator: the run is over here; every stats message has been sent.
    /// `timeline`: run time (ns) at each 1000th opened connection.
    case finished(runID: String, timeline: [Int64])
    /// Agent to coordinator, when its load is done and delivery is tracked: the groups its
    /// receivers were in and every sender's tracked sends.
    case deliverySenders(runID: String, groups: [String], senders: [SenderSummary])
    /// Coordinator to agent: every sender of the run in the agent's receivers' groups.
    case deliveryBook(runID: String, senders: [SenderSummary])
    /// Agent to coordinator: its receivers' completeness, per group.
    case deliveryTotals(runID: String, groups: [GroupCompleteness])
    /// Either way: a fatal problem; the sender closes after it.
    case error(code: ErrorCode, message: String)

    public enum EventLevel: UInt8, Sendable { case info = 0, warning = 1, error = 2 }

    public enum ErrorCode: UInt8, Sendable {
        case versionMismatch = 1, authenticationFailed, busy, badScenario, targetNotAllowed, targetUnreachable,
             protocolViolation, internalError, notPrepared
    }

    public struct Hello: Equatable, Sendable {
        public var protocolVersion: UInt16
        public var role: Role
        public var software: String
        public var nonce: [UInt8]

        public enum Role: UInt8, Sendable { case coordinator = 1, agent = 2 }

        public init(protocolVersion: UInt16 = wireProtocolVersion, role: Role, software: String, nonce: [UInt8]) {
            self.protocolVersion = protocolVersion
            self.role = role
            self.software = software
            self.nonce = nonce
        }
    }

    public struct Capacity: Equatable, Sendable {
        public var hostName: String
        public var cores: UInt16
        public var descriptorLimit: UInt32
        public var memoryBytes: UInt64
        public var software: String

        public init(hostName: String, cores: UInt16, descriptorLimit: UInt32, memoryBytes: UInt64, software: String) {
            self.hostName = hostName
            self.cores = cores
            self.descriptorLimit = descriptorLimit
            self.memoryBytes = memoryBytes
            self.software = software
        }

        /// Connections this agent can hold (its descriptor limit, less a reserve).
        public var connectionCapacity: Int { Swift.max(0, Int(descriptorLimit) - 128) }
    }

    enum Kind: UInt8 {
        case hello = 1, authenticate, authenticated, capacity, clockProbe, clockReply, prepare, prepared, start, started,
             heartbeat, clockOffset, stats, barrierArrived, barrierRelease, event, stop, finished, error, barrierReport,
             deliverySenders, deliveryBook, deliveryTotals
    }

    /// A short name for logs and errors.
    public var name: String {
        switch self {
        case .hello: return "hello"
        case .authenticate: return "authenticate"
        case .authenticated: return "authenticated"
        case .capacity: return "capacity"
        case .clockProbe: return "clock probe"
        case .clockReply: return "clock reply"
        case .prepare: return "prepare"
        case .prepared: return "prepared"
        case .start: return "start"
        case .started: return "started"
        case .heartbeat: return "heartbeat"
        case .clockOffset: return "clock offset"
        case .stats: return "stats"
        case .barrierArrived: return "barrier arrival"
        case .barrierRelease: return "barrier release"
        case .barrierReport: return "barrier report"
        case .event: return "event"
        case .stop: return "stop"
        case .finished: return "finished"
        case .error: return "error"
        case .deliverySenders: return "delivery senders"
        case .deliveryBook: return "delivery book"
        case .deliveryTotals: return "delivery totals"
        }
    }
}
