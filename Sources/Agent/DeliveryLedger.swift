import Stats

/// Everything a run's delivery tracking learned on one agent, kept until the end of the run:
/// each receiver's connected windows and what it received from each sender, and each sender's
/// tracked sends. With every agent's sender summaries (the "book"), it counts per group what
/// the receivers should have received, did receive, and missed.
///
/// A receiver is expected to get a sender's message when it was sent while the receiver was
/// connected: from the opening of its connection until it began to close, less `settle` when it
/// left mid-run (messages may still be in flight). Where the receiver's window covers the
/// sender's whole stream, its expected messages are exactly the sender's tracked messages
/// (tail losses and senders never heard from included). Where the window cuts the stream, the
/// receiver's own first or last message from that sender marks the cut, so losses right at a
/// join or a leave are not counted (and a sender never heard from during a cut window is not).
public struct DeliveryLedger: Sendable {
    /// A receiver: its group, its windows (coordinator wall ns; `atRunEnd` when it closed after
    /// the run's drain), its own sender key, and what it received from each sender.
    public struct Receiver: Sendable {
        var group: Int32
        var windows: [(open: Int64, close: Int64, atRunEnd: Bool)]
        var ownSender: UInt64?
        var trackers: [UInt64: SequenceTracker]

        public init(group: Int32, windows: [(open: Int64, close: Int64, atRunEnd: Bool)], ownSender: UInt64?, trackers: [UInt64: SequenceTracker]) {
            self.group = group
            self.windows = windows
            self.ownSender = ownSender
            self.trackers = trackers
        }
    }

    private(set) var groups: [String] = []
    private var groupIndex: [String: Int32] = [:]
    private(set) var receivers: [Receiver] = []
    private(set) var senders: [SenderSummary] = []

    /// The index of `name`, added if new (group names repeat: one room, many users).
    public mutating func group(_ name: String) -> Int32 {
        if let i = groupIndex[name] { return i }
        let i = Int32(groups.count)
        groups.append(name)
        groupIndex[name] = i
        return i
    }

    public mutating func add(_ receiver: Receiver) { receivers.append(receiver) }

    public mutating func add(_ sender: SenderSummary) { senders.append(sender) }

    /// Merges another loop's ledger.
    mutating func merge(_ other: DeliveryLedger) {
        for r in other.receivers {
            var copy = r
            copy.group = group(other.groups[Int(r.group)])
            receivers.append(copy)
        }
        senders += other.senders
    }

    public init() {}

    /// The groups this agent's receivers are in.
    public var receiverGroups: [String] { Array(Set(receivers.map { groups[Int($0.group)] })).sorted() }

    /// This agent's senders, one summary per (group, sender).
    public var senderSummaries: [SenderSummary] { Self.combine(senders) }

    /// Summaries of the same (group, sender) combined.
    static func combine(_ summaries: [SenderSummary]) -> [SenderSummary] {
        var byKey: [String: [UInt64: SenderSummary]] = [:]
        for s in summaries {
            if byKey[s.group]?[s.sender] != nil { byKey[s.group]![s.sender]!.merge(s) } else { byKey[s.group, default: [:]][s.sender] = s }
        }
        return byKey.keys.sorted().flatMap { g in byKey[g]!.values.sorted { $0.sender < $1.sender } }
    }

    /// Each group's completeness on this agent, given every sender of the run (`book`).
    public func completeness(book: [SenderSummary], settle: Int64, includesSender: Bool) -> [GroupCompleteness] {
        var sendersByGroup: [String: [SenderSummary]] = [:]
        for s in Self.combine(book) { sendersByGroup[s.group, default: []].append(s) }
        var out: [String: GroupCompleteness] = [:]
        for r in receivers {
            let name = groups[Int(r.group)]
            let senders = sendersByGroup[name] ?? []
            var g = out[name] ?? GroupCompleteness(group: name)
            g.receivers += 1
            g.senders = Int64(senders.count)
            for s in senders {
                if !includesSender && s.sender == r.ownSender { continue }
                let tracker = r.trackers[s.sender]
                g.duplicated += Int64(tracker?.duplicates ?? 0)
                for w in r.windows {
                    guard let range = Self.expectedRange(window: w, sender: s, settle: settle, tracker: tracker) else { continue }
                    let expected = s.isContiguous ? range.upperBound - range.lowerBound + 1 : (range == s.firstSequence...s.lastSequence ? s.count : 0)
                    let received = Swift.min(expected, tracker?.count(in: range) ?? 0)
                    g.expected += expected
                    g.received += received
                    g.missing += expected - received
                }
            }
            out[name] = g
        }
        return out.keys.sorted().map { out[$0]! }
    }

    /// The sequence numbers of `sender` a receiver connected during `window` should have, or
    /// nil when none can be told (no overlap, or a cut edge without evidence).
    static func expectedRange(window w: (open: Int64, close: Int64, atRunEnd: Bool), sender s: SenderSummary, settle: Int64,
                              tracker: SequenceTracker?) -> ClosedRange<Int64>? {
        let end = w.close - (w.atRunEnd ? 0 : settle)
        guard s.count > 0, w.open <= s.lastSentAt, end >= s.firstSentAt else { return nil }
        let lo: Int64, hi: Int64
        if w.open <= s.firstSentAt {
            lo = s.firstSequence
        } else {
            guard let t = tracker, t.distinct > 0 else { return nil }
            lo = Swift.max(s.firstSequence, t.lowest)
        }
        if end >= s.lastSentAt {
            hi = s.lastSequence
        } else {
            guard let t = tracker, t.distinct > 0 else { return nil }
            hi = Swift.min(s.lastSequence, Int64(t.highest))
        }
        return lo <= hi ? lo...hi : nil
    }
}
