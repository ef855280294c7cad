/// An agent's clock offset from the coordinator, estimated NTP-style: each probe gives
/// offset = ((t2 - t1) + (t3 - t4)) / 2 and round trip = (t4 - t1) - (t3 - t2), where t1/t4 are
/// the coordinator's send/receive times and t2/t3 the agent's. The sample with the smallest
/// round trip has the least queueing in it, so its offset is kept.
public struct ClockEstimate: Sendable, Equatable {
    public struct Sample: Sendable, Equatable {
        public let offset: Int64
        public let roundTrip: Int64
    }

    /// Samples kept (the most recent `capacity`), so the estimate follows drift.
    public private(set) var samples: [Sample] = []
    public let capacity: Int

    public init(capacity: Int = 16) { self.capacity = capacity }

    /// Adds one probe's four timestamps (nanoseconds).
    public mutating func add(sent t1: Int64, received t2: Int64, replied t3: Int64, returned t4: Int64) {
        let offset = ((t2 - t1) + (t3 - t4)) / 2
        let roundTrip = Swift.max(0, (t4 - t1) - (t3 - t2))
        samples.append(Sample(offset: offset, roundTrip: roundTrip))
        if samples.count > capacity { samples.removeFirst(samples.count - capacity) }
    }

    /// The best sample: the smallest round trip.
    public var best: Sample? { samples.min { $0.roundTrip < $1.roundTrip } }

    /// Agent clock minus coordinator clock, in nanoseconds (0 before any sample).
    public var offset: Int64 { best?.offset ?? 0 }
}
