import ByteCoding
import Scenario
import Stats

extension WireMessage {
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

    static func decode(_ r: inout ByteReader) throws -> WireMessage {
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
            let agent = try r.readVarInt(limit: 1 << 20, field: "agent index")
            let plan = try RunPlan.decode(&r)
            guard agent < plan.slices.count else { throw WireError("agent \(agent) of a plan with \(plan.slices.count) slices") }
            return .prepare(plan, agent: agent)
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
        case .deliverySenders:
            let runID = try string()
            let n = try r.readVarInt(limit: 1 << 20, field: "group count")
            var groups: [String] = []
            for _ in 0..<n { groups.append(try string(4096)) }
            return .deliverySenders(runID: runID, groups: groups, senders: try decodeSenders(&r))
        case .deliveryBook:
            return .deliveryBook(runID: try string(), senders: try decodeSenders(&r))
        case .deliveryTotals:
            let runID = try string()
            let n = try r.readVarInt(limit: 1 << 20, field: "group count")
            var groups: [GroupCompleteness] = []
            for _ in 0..<n {
                let name = try string(4096)
                groups.append(GroupCompleteness(group: name, receivers: try r.readVarInt(), senders: try r.readVarInt(), expected: try r.readVarInt(),
                                                received: try r.readVarInt(), missing: try r.readVarInt(), duplicated: try r.readVarInt()))
            }
            return .deliveryTotals(runID: runID, groups: groups)
        case .error:
            let codeByte = try r.readByte()
            guard let code = ErrorCode(rawValue: codeByte) else { throw WireError("unknown error code \(codeByte)") }
            return .error(code: code, message: try string(64 * 1024))
        }
    }

    static func decodeSenders(_ r: inout ByteReader) throws -> [SenderSummary] {
        let n = try r.readVarInt(limit: r.remaining / 8, field: "sender count")
        var senders: [SenderSummary] = []
        senders.reserveCapacity(n)
        for _ in 0..<n {
            let group = try r.readLengthPrefixedString(limit: 4096)
            let sender = try r.readLittleEndian(UInt64.self)
            senders.append(SenderSummary(group: group, sender: sender, firstSequence: try r.readVarInt(), lastSequence: try r.readVarInt(),
                                         count: try r.readVarInt(), firstSentAt: try r.readVarInt(), lastSentAt: try r.readVarInt()))
        }
        return senders
    }

    static func decodeSlice(_ r: inout ByteReader) throws -> LoadSlice {
        let index = try r.readVarInt(limit: 1 << 20, field: "agent index")
        let count = try r.readVarInt(limit: 1 << 20, field: "agent count")
        guard count >= 1, index < count else { throw WireError("agent \(index) of \(count) is impossible") }
        let phaseCount = try r.readVarInt(limit: 10_000, field: "phase count")
        var phases: [LoadSlice.PhaseShare] = []
        for _ in 0..<phaseCount {
            let groupCount = try r.readVarInt(limit: 1000, field: "group count")
            guard groupCount >= 1 else { throw WireError("a phase share without groups") }
            var groups: [ConnectionTarget] = []
            for _ in 0..<groupCount {
                groups.append(ConnectionTarget(from: try r.readVarInt(limit: 100_000_000, field: "connections"),
                                               to: try r.readVarInt(limit: 100_000_000, field: "connections")))
            }
            let rate: MessageRate?
            switch try r.readByte() {
            case 0: rate = nil
            case 1: rate = .perConnection(try r.readDouble())
            case 2: rate = .total(try r.readDouble())
            case let k: throw WireError("unknown rate kind \(k)")
            }
            if let rate, case let .perConnection(v) = rate, !(v.isFinite && v > 0) { throw WireError("invalid rate \(v)") }
            if let rate, case let .total(v) = rate, !(v.isFinite && v > 0) { throw WireError("invalid rate \(v)") }
            phases.append(LoadSlice.PhaseShare(groups: groups, rate: rate))
        }
        return LoadSlice(agentIndex: index, agentCount: count, phases: phases)
    }

    /// Decodes a metric set written by `encode(_:into:)`, without building dense histograms.
    public static func decodeMetrics(_ r: inout ByteReader) throws -> CompactMetricSet {
        var set = CompactMetricSet()
        func name() throws -> String {
            let n = try r.readLengthPrefixedString(limit: maximumNameLength)
            guard !n.isEmpty else { throw WireError("a metric without a name") }
            return n
        }
        let counters = try r.readVarInt(limit: maximumEntries, field: "counter count")
        for _ in 0..<counters {
            let (key, value) = (try name(), try r.readVarInt())
            // A zero counter is no counter (the encoder leaves them out): one form for one set.
            if value != 0 { set.counters[key] = value }
        }
        let gauges = try r.readVarInt(limit: maximumEntries, field: "gauge count")
        for _ in 0..<gauges { set.gauges[try name()] = try r.readVarInt() }
        let histograms = try r.readVarInt(limit: 256, field: "histogram count")
        for _ in 0..<histograms {
            let key = try name()
            set.histograms[key] = try CompactHistogram(sparseFrom: &r)
        }
        return set
    }
}
