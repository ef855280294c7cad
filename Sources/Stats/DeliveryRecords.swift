/// What one sender sent into its delivery group during a run: the tracked messages (those
/// carrying the scenario's sender and sequence fields), their sequence range and when the first
/// and last were sent (coordinator wall time, ns). Agents exchange these at the end of a run so
/// every receiver's expected messages are counted from what senders really sent.
public struct SenderSummary: Sendable, Equatable {
    public var group: String
    /// FNV-1a of the sender field's bytes, as receivers hash it.
    public var sender: UInt64
    public var firstSequence: Int64
    public var lastSequence: Int64
    public var count: Int64
    public var firstSentAt: Int64
    public var lastSentAt: Int64

    public init(group: String, sender: UInt64, firstSequence: Int64, lastSequence: Int64, count: Int64, firstSentAt: Int64, lastSentAt: Int64) {
        self.group = group
        self.sender = sender
        self.firstSequence = firstSequence
        self.lastSequence = lastSequence
        self.count = count
        self.firstSentAt = firstSentAt
        self.lastSentAt = lastSentAt
    }

    /// True when the tracked messages' sequence numbers are consecutive (the usual `{{seq}}` of
    /// a send loop), so any sub-range of them can be counted.
    public var isContiguous: Bool { lastSequence - firstSequence + 1 == count }

    /// Adds another record of the same sender (a sender whose messages several users sent).
    public mutating func merge(_ other: SenderSummary) {
        firstSequence = Swift.min(firstSequence, other.firstSequence)
        lastSequence = Swift.max(lastSequence, other.lastSequence)
        count += other.count
        firstSentAt = Swift.min(firstSentAt, other.firstSentAt)
        lastSentAt = Swift.max(lastSentAt, other.lastSentAt)
    }
}

/// One delivery group's completeness: what its receivers should have received from its senders
/// while connected, what they did receive (distinct), what is missing, and duplicates.
public struct GroupCompleteness: Sendable, Equatable {
    public var group: String
    public var receivers: Int64
    public var senders: Int64
    public var expected: Int64
    public var received: Int64
    public var missing: Int64
    public var duplicated: Int64

    public init(group: String, receivers: Int64 = 0, senders: Int64 = 0, expected: Int64 = 0, received: Int64 = 0,
                missing: Int64 = 0, duplicated: Int64 = 0) {
        self.group = group
        self.receivers = receivers
        self.senders = senders
        self.expected = expected
        self.received = received
        self.missing = missing
        self.duplicated = duplicated
    }

    /// Adds another agent's part of the same group (receivers on several agents; each agent
    /// counts the senders its receivers heard of, so senders take the larger count).
    public mutating func merge(_ other: GroupCompleteness) {
        receivers += other.receivers
        senders = Swift.max(senders, other.senders)
        expected += other.expected
        received += other.received
        missing += other.missing
        duplicated += other.duplicated
    }
}
