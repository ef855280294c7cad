import ByteCoding
import Scenario
import Stats

extension WireMessage {
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
        case let .prepare(plan, agent):
            w.write(Kind.prepare.rawValue)
            w.writeVarUInt(UInt64(agent))
            plan.encode(into: &w)
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
        case let .deliverySenders(runID, groups, senders):
            w.write(Kind.deliverySenders.rawValue)
            w.writeLengthPrefixed(runID)
            w.writeVarUInt(UInt64(groups.count))
            for g in groups { w.writeLengthPrefixed(g) }
            Self.encode(senders, into: &w)
        case let .deliveryBook(runID, senders):
            w.write(Kind.deliveryBook.rawValue)
            w.writeLengthPrefixed(runID)
            Self.encode(senders, into: &w)
        case let .deliveryTotals(runID, groups):
            w.write(Kind.deliveryTotals.rawValue)
            w.writeLengthPrefixed(runID)
            w.writeVarUInt(UInt64(groups.count))
            for g in groups {
                w.writeLengthPrefixed(g.group)
                for v in [g.receivers, g.senders, g.expected, g.received, g.missing, g.duplicated] { w.writeVarInt(v) }
            }
        }
        return w.bytes
    }

    static func encode(_ senders: [SenderSummary], into w: inout ByteWriter) {
        w.writeVarUInt(UInt64(senders.count))
        for s in senders {
            w.writeLengthPrefixed(s.group)
            w.writeLittleEndian(s.sender)
            for v in [s.firstSequence, s.lastSequence, s.count, s.firstSentAt, s.lastSentAt] { w.writeVarInt(v) }
        }
    }

    static func encode(_ slice: LoadSlice, into w: inout ByteWriter) {
        w.writeVarUInt(UInt64(slice.agentIndex))
        w.writeVarUInt(UInt64(slice.agentCount))
        w.writeVarUInt(UInt64(slice.phases.count))
        for p in slice.phases {
            w.writeVarUInt(UInt64(p.groups.count))
            for g in p.groups {
                w.writeVarUInt(UInt64(g.from))
                w.writeVarUInt(UInt64(g.to))
            }
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
}
