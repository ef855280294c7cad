import ByteCoding

/// Messages between target worker processes and the hub (their parent), which relays what must
/// reach every worker: room and chat broadcasts, private messages, the shared /state counter,
/// and metrics totals.
enum HubMessage: Equatable {
    /// A message for the members of `topic` ("room/NAME", "chat", "private/ID") on other workers.
    case publish(topic: String, text: Bool, payload: [UInt8])
    /// Increment the shared /state counter `name` by `count` (worker to hub).
    case increment(name: String, count: UInt64)
    /// The shared counter's new value (hub to every worker).
    case stateValue(name: String, value: UInt64)
    /// A worker's metrics counters (worker to hub), in `TargetMetrics.Counter` order.
    case counters(worker: Int, values: [Int64])
    /// Every worker's counters summed (hub to every worker).
    case totals(workers: Int, values: [Int64])

    private enum Kind: UInt8 { case publish = 1, increment, stateValue, counters, totals }

    func encode() -> [UInt8] {
        var w = ByteWriter()
        w.writeLittleEndian(UInt32(0))
        switch self {
        case let .publish(topic, text, payload):
            w.write(Kind.publish.rawValue)
            w.writeLengthPrefixed(topic)
            w.write(text)
            w.writeLengthPrefixed(payload)
        case let .increment(name, count):
            w.write(Kind.increment.rawValue)
            w.writeLengthPrefixed(name)
            w.writeVarUInt(count)
        case let .stateValue(name, value):
            w.write(Kind.stateValue.rawValue)
            w.writeLengthPrefixed(name)
            w.writeVarUInt(value)
        case let .counters(worker, values):
            w.write(Kind.counters.rawValue)
            w.writeVarUInt(UInt64(worker))
            w.writeVarUInt(UInt64(values.count))
            for v in values { w.writeVarInt(v) }
        case let .totals(workers, values):
            w.write(Kind.totals.rawValue)
            w.writeVarUInt(UInt64(workers))
            w.writeVarUInt(UInt64(values.count))
            for v in values { w.writeVarInt(v) }
        }
        w.patchLittleEndian(UInt32(w.count - 4), at: 0)
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(ByteReaderError) -> HubMessage {
        var r = ByteReader(bytes)
        let kind = try r.readByte()
        switch Kind(rawValue: kind) {
        case .publish:
            return .publish(topic: try r.readLengthPrefixedString(), text: try r.readBool(),
                            payload: try r.readLengthPrefixedBytes(limit: 64 << 20))
        case .increment:
            return .increment(name: try r.readLengthPrefixedString(), count: try r.readVarUInt())
        case .stateValue:
            return .stateValue(name: try r.readLengthPrefixedString(), value: try r.readVarUInt())
        case .counters, .totals:
            let first = try r.readVarInt(limit: 1 << 20, field: "worker")
            let n = try r.readVarInt(limit: 256, field: "counter count")
            var values: [Int64] = []
            for _ in 0..<n { values.append(try r.readVarInt()) }
            return kind == Kind.counters.rawValue ? .counters(worker: first, values: values) : .totals(workers: first, values: values)
        case nil:
            throw .valueOutOfRange(offset: 0, field: "hub message kind", value: UInt64(kind))
        }
    }
}
