import ByteCoding
import Scenario
import Stats

/// The protocol version both sides state in their first message.
public let wireProtocolVersion: UInt16 = 1

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
    /// Coordinator to agent: the run and this agent's slice.
    case prepare(Prepare)
    /// Agent to coordinator: ready to start.
    case prepared(runID: String)
    /// Coordinator to agent: begin at this agent-clock wall instant; `clockOffset` (ns) converts
    /// agent wall time to coordinator wall time (coordinator = agent - offset).
    case start(runID: String, atAgentWall: Int64, clockOffset: Int64)
    /// Agent to coordinator: the agent wall instant its loops actually began.
    case started(runID: String, actualStartWall: Int64)
    /// Coordinator to agent: still here (renews the lease).
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

    public struct Prepare: Equatable, Sendable {
        public var runID: String
        public var scenarioFile: String
        public var scenarioSource: String
        /// The feeder named in the scenario (name as written, CSV text), if any.
        public var feeder: FeederFile?
        public var slice: LoadSlice
        public var seed: UInt64
        /// The agent stops on its own after this long without hearing from the coordinator.
        public var leaseMillis: UInt32
        /// Event loops to run (0: one per core).
        public var loops: UInt16
        /// Target URLs (templates) replacing the scenario's, when the coordinator was given
        /// `--target`; empty otherwise.
        public var targetOverride: [String]
        /// The run's peak connections when the coordinator scaled the scenario
        /// (`--connections`); 0 when the phases run as written.
        public var peakConnections: UInt32

        public struct FeederFile: Equatable, Sendable {
            public var name: String
            public var text: String
            public init(name: String, text: String) {
                self.name = name
                self.text = text
            }
        }

        public init(runID: String, scenarioFile: String, scenarioSource: String, feeder: FeederFile?, slice: LoadSlice,
                    seed: UInt64, leaseMillis: UInt32, loops: UInt16, targetOverride: [String] = [], peakConnections: UInt32 = 0) {
            self.targetOverride = targetOverride
            self.peakConnections = peakConnections
            self.runID = runID
            self.scenarioFile = scenarioFile
            self.scenarioSource = scenarioSource
            self.feeder = feeder
            self.slice = slice
            self.seed = seed
            self.leaseMillis = leaseMillis
            self.loops = loops
        }
    }

    private enum Kind: UInt8 {
        case hello = 1, authenticate, authenticated, capacity, clockProbe, clockReply, prepare, prepared, start, started,
             heartbeat, clockOffset, stats, barrierArrived, barrierRelease, event, stop, finished, error, barrierReport
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
        }
    }

    // MARK: Encoding

    /// The message's payload (frame it with `WireFrame.encode`).
    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        switch self {
        case let .hello(h):
            w.write(Kind.hello.rawValue)
            w.writeLittleEndian(h.protocolVersion)
            w.write(h.role.rawValue)
            w.writeLengthPrefixed(h.software)
            w.writeLengthPrefixed(h.nonce)
        case let .authenticate(proof):
            w.write(Kind.authenticate.rawValue)
            w.writeLengthPrefixed(proof)
        case let .authenticated(proof):
            w.write(Kind.authenticated.rawValue)
            w.writeLengthPrefixed(proof)
        case let .capacity(c):
            w.write(Kind.capacity.rawValue)
            w.writeLengthPrefixed(c.hostName)
            w.writeLittleEndian(c.cores)
            w.writeLittleEndian(c.descriptorLimit)
            w.writeLittleEndian(c.memoryBytes)
            w.writeLengthPrefixed(c.software)
        case let .clockProbe(id, sentAt):
            w.write(Kind.clockProbe.rawValue)
            w.writeLittleEndian(id)
            w.writeLittleEndian(sentAt)
        case let .clockReply(id, sentAt, receivedAt, repliedAt):
            w.write(Kind.clockReply.rawValue)
            w.writeLittleEndian(id)
            w.writeLittleEndian(sentAt)
            w.writeLittleEndian(receivedAt)
            w.writeLittleEndian(repliedAt)
        case let .prepare(p):
            w.write(Kind.prepare.rawValue)
            w.writeLengthPrefixed(p.runID)
            w.writeLengthPrefixed(p.scenarioFile)
            w.writeLengthPrefixed(p.scenarioSource)
            w.write(p.feeder != nil)
            if let f = p.feeder {
                w.writeLengthPrefixed(f.name)
                w.writeLengthPrefixed(f.text)
            }
            Self.encode(p.slice, into: &w)
            w.writeLittleEndian(p.seed)
            w.writeLittleEndian(p.leaseMillis)
            w.writeLittleEndian(p.loops)
            w.writeVarUInt(UInt64(p.targetOverride.count))
            for t in p.targetOverride { w.writeLengthPrefixed(t) }
            w.writeVarUInt(UInt64(p.peakConnections))
        case let .prepared(runID):
            w.write(Kind.prepared.rawValue)
            w.writeLengthPrefixed(runID)
        case let .start(runID, at, offset):
            w.write(Kind.start.rawValue)
            w.writeLengthPrefixed(runID)
            w.writeLittleEndian(at)
            w.writeLittleEndian(offset)
        case let .started(runID, at):
            w.write(Kind.started.rawValue)
            w.writeLengthPrefixed(runID)
            w.writeLittleEndian(at)
        case let .heartbeat(sequence):
            w.write(Kind.heartbeat.rawValue)
            w.writeLittleEndian(sequence)
        case let .clockOffset(offset):
            w.write(Kind.clockOffset.rawValue)
            w.writeLittleEndian(offset)
        case let .stats(runID, second, metrics):
            w.write(Kind.stats.rawValue)
            w.writeLengthPrefixed(runID)
            w.writeVarUInt(UInt64(second))
            Self.encode(metrics, into: &w)
        case let .barrierArrived(barrier, generation, count):
            w.write(Kind.barrierArrived.rawValue)
            w.writeVarUInt(UInt64(barrier))
            w.writeVarUInt(UInt64(generation))
            w.writeVarUInt(UInt64(count))
        case let .barrierRelease(barrier, generation, at, timedOut):
            w.write(Kind.barrierRelease.rawValue)
            w.writeVarUInt(UInt64(barrier))
            w.writeVarUInt(UInt64(generation))
            w.writeLittleEndian(at)
            w.write(timedOut)
        case let .barrierReport(r):
            w.write(Kind.barrierReport.rawValue)
            w.writeVarUInt(UInt64(r.barrier))
            w.writeVarUInt(UInt64(r.generation))
            w.writeVarUInt(UInt64(r.loop))
            w.writeVarUInt(UInt64(r.users))
            w.write(r.timedOut)
            w.writeVarInt(r.releaseOffset)
            w.writeVarInt(r.firstSendOffset ?? .min)  // Int64.min: nobody sent right away
            w.writeVarInt(r.lastSendOffset ?? .min)
            w.writeVarInt(r.sendCost)
            w.writeVarInt(r.readyMargin)
        case let .event(level, message):
            w.write(Kind.event.rawValue)
            w.write(level.rawValue)
            w.writeLengthPrefixed(message)
        case let .stop(reason):
            w.write(Kind.stop.rawValue)
            w.writeLengthPrefixed(reason)
        case let .finished(runID, timeline):
            w.write(Kind.finished.rawValue)
            w.writeLengthPrefixed(runID)
            w.writeVarUInt(UInt64(timeline.count))
            for t in timeline { w.writeVarInt(t) }
        case let .error(code, message):
            w.write(Kind.error.rawValue)
            w.write(code.rawValue)
            w.writeLengthPrefixed(message)
        }
        return w.bytes
    }

    static func encode(_ slice: LoadSlice, into w: inout ByteWriter) {
        w.writeVarUInt(UInt64(slice.agentIndex))
        w.writeVarUInt(UInt64(slice.agentCount))
        w.writeVarUInt(UInt64(slice.phases.count))
        for p in slice.phases {
            w.writeVarUInt(UInt64(p.connections.from))
            w.writeVarUInt(UInt64(p.connections.to))
            switch p.rate {
            case nil: w.write(0)
            case let .perConnection(r)?: w.write(1); w.writeLittleEndian(r)
            case let .total(r)?: w.write(2); w.writeLittleEndian(r)
            }
        }
    }

    /// A metric set: counters, gauges, then histograms in the sparse encoding.
    public static func encode(_ set: CompactMetricSet, into w: inout ByteWriter) {
        let counters = set.counters.filter { $0.value != 0 }.sorted { $0.key < $1.key }
        w.writeVarUInt(UInt64(counters.count))
        for (name, value) in counters {
            w.writeLengthPrefixed(name)
            w.writeVarInt(value)
        }
        let gauges = set.gauges.sorted { $0.key < $1.key }
        w.writeVarUInt(UInt64(gauges.count))
        for (name, value) in gauges {
            w.writeLengthPrefixed(name)
            w.writeVarInt(value)
        }
        let histograms = set.histograms.sorted { $0.key < $1.key }
        w.writeVarUInt(UInt64(histograms.count))
        for (name, h) in histograms {
            w.writeLengthPrefixed(name)
            h.encodeSparse(into: &w)
        }
    }

    // MARK: Decoding

    static let maximumNameLength = 256
    static let maximumEntries = 4096
    static let maximumTextLength = 48 << 20

    /// Decodes a payload; any malformed input is a `WireError` naming what was wrong.
    public static func decode(_ payload: [UInt8]) throws(WireError) -> WireMessage {
        var r = ByteReader(payload)
        do {
            let message = try decode(&r)
            guard r.isAtEnd else { throw WireError("\(r.remaining) unexpected byte(s) after a \(message.name) message") }
            return message
        } catch let error as WireError {
            throw error
        } catch let error as ByteReaderError {
            throw WireError("malformed message: \(error)")
        } catch let error as HistogramError {
            throw WireError("malformed histogram: \(error)")
        } catch {
            throw WireError("malformed message: \(error)")
        }
    }

    private static func decode(_ r: inout ByteReader) throws -> WireMessage {
        let kindByte = try r.readByte()
        guard let kind = Kind(rawValue: kindByte) else { throw WireError("unknown message type \(kindByte)") }
        func string(_ limit: Int = maximumNameLength) throws -> String { try r.readLengthPrefixedString(limit: limit) }
        switch kind {
        case .hello:
            let version = try r.readLittleEndian(UInt16.self)
            let roleByte = try r.readByte()
            guard let role = Hello.Role(rawValue: roleByte) else { throw WireError("unknown role \(roleByte) in hello") }
            let software = try string()
            let nonce = try r.readLengthPrefixedBytes(limit: 64)
            return .hello(Hello(protocolVersion: version, role: role, software: software, nonce: nonce))
        case .authenticate:
            return .authenticate(proof: try r.readLengthPrefixedBytes(limit: 64))
        case .authenticated:
            return .authenticated(proof: try r.readLengthPrefixedBytes(limit: 64))
        case .capacity:
            return .capacity(Capacity(hostName: try string(), cores: try r.readLittleEndian(UInt16.self),
                                      descriptorLimit: try r.readLittleEndian(UInt32.self),
                                      memoryBytes: try r.readLittleEndian(UInt64.self), software: try string()))
        case .clockProbe:
            return .clockProbe(id: try r.readLittleEndian(UInt32.self), sentAt: try r.readLittleEndian(Int64.self))
        case .clockReply:
            return .clockReply(id: try r.readLittleEndian(UInt32.self), sentAt: try r.readLittleEndian(Int64.self),
                               receivedAt: try r.readLittleEndian(Int64.self), repliedAt: try r.readLittleEndian(Int64.self))
        case .prepare:
            let runID = try string()
            let file = try string(4096)
            let source = try string(maximumTextLength)
            var feeder: Prepare.FeederFile?
            if try r.readBool() {
                feeder = Prepare.FeederFile(name: try string(4096), text: try string(maximumTextLength))
            }
            let slice = try decodeSlice(&r)
            let seed = try r.readLittleEndian(UInt64.self)
            let lease = try r.readLittleEndian(UInt32.self)
            let loops = try r.readLittleEndian(UInt16.self)
            let overrides = try r.readVarInt(limit: 1024, field: "target count")
            var targets: [String] = []
            for _ in 0..<overrides { targets.append(try string(4096)) }
            let peak = try r.readVarInt(limit: Int(UInt32.max), field: "peak connections")
            return .prepare(Prepare(runID: runID, scenarioFile: file, scenarioSource: source, feeder: feeder, slice: slice,
                                    seed: seed, leaseMillis: lease, loops: loops, targetOverride: targets, peakConnections: UInt32(peak)))
        case .prepared:
            return .prepared(runID: try string())
        case .start:
            return .start(runID: try string(), atAgentWall: try r.readLittleEndian(Int64.self), clockOffset: try r.readLittleEndian(Int64.self))
        case .started:
            return .started(runID: try string(), actualStartWall: try r.readLittleEndian(Int64.self))
        case .heartbeat:
            return .heartbeat(sequence: try r.readLittleEndian(UInt64.self))
        case .clockOffset:
            return .clockOffset(try r.readLittleEndian(Int64.self))
        case .stats:
            let runID = try string()
            let second = try r.readVarInt(limit: Int(UInt32.max), field: "interval")
            return .stats(runID: runID, second: UInt32(second), metrics: try decodeMetrics(&r))
        case .barrierArrived:
            return .barrierArrived(barrier: UInt32(try r.readVarInt(limit: Int(UInt32.max), field: "barrier")),
                                   generation: UInt32(try r.readVarInt(limit: Int(UInt32.max), field: "generation")),
                                   count: UInt32(try r.readVarInt(limit: Int(UInt32.max), field: "count")))
        case .barrierRelease:
            return .barrierRelease(barrier: UInt32(try r.readVarInt(limit: Int(UInt32.max), field: "barrier")),
                                   generation: UInt32(try r.readVarInt(limit: Int(UInt32.max), field: "generation")),
                                   atAgentWall: try r.readLittleEndian(Int64.self), timedOut: try r.readBool())
        case .barrierReport:
            let barrier = try r.readVarInt(limit: Int(UInt32.max), field: "barrier")
            let generation = try r.readVarInt(limit: Int(UInt32.max), field: "generation")
            let loop = try r.readVarInt(limit: Int(UInt16.max), field: "loop")
            let users = try r.readVarInt(limit: Int(UInt32.max), field: "users")
            let timedOut = try r.readBool()
            let release: Int64 = try r.readVarInt(), first: Int64 = try r.readVarInt(), last: Int64 = try r.readVarInt()
            return .barrierReport(BarrierRelease(barrier: barrier, generation: generation, loop: loop, users: users, timedOut: timedOut,
                                                 releaseOffset: release, firstSendOffset: first == .min ? nil : first,
                                                 lastSendOffset: last == .min ? nil : last, sendCost: try r.readVarInt(),
                                                 readyMargin: try r.readVarInt()))
        case .event:
            let levelByte = try r.readByte()
            guard let level = EventLevel(rawValue: levelByte) else { throw WireError("unknown event level \(levelByte)") }
            return .event(level: level, message: try string(64 * 1024))
        case .stop:
            return .stop(reason: try string(4096))
        case .finished:
            let runID = try string()
            let n = try r.readVarInt(limit: 1 << 20, field: "timeline length")
            var timeline: [Int64] = []
            for _ in 0..<n { timeline.append(try r.readVarInt()) }
            return .finished(runID: runID, timeline: timeline)
        case .error:
            let codeByte = try r.readByte()
            guard let code = ErrorCode(rawValue: codeByte) else { throw WireError("unknown error code \(codeByte)") }
            return .error(code: code, message: try string(64 * 1024))
        }
    }

    static func decodeSlice(_ r: inout ByteReader) throws -> LoadSlice {
        let index = try r.readVarInt(limit: 1 << 20, field: "agent index")
        let count = try r.readVarInt(limit: 1 << 20, field: "agent count")
        guard count >= 1, index < count else { throw WireError("agent \(index) of \(count) is impossible") }
        let phaseCount = try r.readVarInt(limit: 10_000, field: "phase count")
        var phases: [LoadSlice.PhaseShare] = []
        for _ in 0..<phaseCount {
            let from = try r.readVarInt(limit: 100_000_000, field: "connections")
            let to = try r.readVarInt(limit: 100_000_000, field: "connections")
            let rate: MessageRate?
            switch try r.readByte() {
            case 0: rate = nil
            case 1: rate = .perConnection(try r.readDouble())
            case 2: rate = .total(try r.readDouble())
            case let k: throw WireError("unknown rate kind \(k)")
            }
            if let rate, case let .perConnection(v) = rate, !(v.isFinite && v > 0) { throw WireError("invalid rate \(v)") }
            if let rate, case let .total(v) = rate, !(v.isFinite && v > 0) { throw WireError("invalid rate \(v)") }
            phases.append(LoadSlice.PhaseShare(connections: ConnectionTarget(from: from, to: to), rate: rate))
        }
        return LoadSlice(agentIndex: index, agentCount: count, phases: phases)
    }

    /// Decodes a metric set written by `encode(_:into:)`, without building dense histograms.
    public static func decodeMetrics(_ r: inout ByteReader) throws -> CompactMetricSet {
        var set = CompactMetricSet()
        let counters = try r.readVarInt(limit: maximumEntries, field: "counter count")
        for _ in 0..<counters { set.counters[try r.readLengthPrefixedString(limit: maximumNameLength)] = try r.readVarInt() }
        let gauges = try r.readVarInt(limit: maximumEntries, field: "gauge count")
        for _ in 0..<gauges { set.gauges[try r.readLengthPrefixedString(limit: maximumNameLength)] = try r.readVarInt() }
        let histograms = try r.readVarInt(limit: 256, field: "histogram count")
        for _ in 0..<histograms {
            let name = try r.readLengthPrefixedString(limit: maximumNameLength)
            set.histograms[name] = try CompactHistogram(sparseFrom: &r)
        }
        return set
    }
}
