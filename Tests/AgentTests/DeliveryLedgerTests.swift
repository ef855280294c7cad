import Testing
@testable import Agent
import Stats

@Suite("Delivery completeness")
struct DeliveryLedgerTests {
    static let s: Int64 = 1_000_000_000

    /// A sender that sent `first...last` between `from` and `to` seconds.
    static func sender(_ key: UInt64, _ first: Int64, _ last: Int64, from: Int64, to: Int64, group: String = "/room") -> SenderSummary {
        SenderSummary(group: group, sender: key, firstSequence: first, lastSequence: last, count: last - first + 1,
                      firstSentAt: from * s, lastSentAt: to * s)
    }

    static func tracker(_ seqs: [Int64]) -> SequenceTracker {
        var t = SequenceTracker()
        for q in seqs { _ = t.record(q) }
        return t
    }

    static func ledger(_ receivers: [(windows: [(Int64, Int64, Bool)], own: UInt64?, got: [UInt64: [Int64]])]) -> DeliveryLedger {
        var l = DeliveryLedger()
        let g = l.group("/room")
        for r in receivers {
            l.add(DeliveryLedger.Receiver(group: g, windows: r.windows.map { ($0.0 * s, $0.1 * s, $0.2) }, ownSender: r.own,
                                          trackers: r.got.mapValues(tracker)))
        }
        return l
    }

    @Test("a receiver connected throughout expects every message: tail losses and a sender never heard from are missing")
    func wholeStreams() {
        let book = [Self.sender(1, 1, 10, from: 2, to: 8), Self.sender(2, 1, 10, from: 2, to: 8), Self.sender(3, 1, 4, from: 2, to: 3)]
        let l = Self.ledger([(windows: [(1, 20, true)], own: 9, got: [1: Array(1...10), 2: Array(1...7)])])
        let g = l.completeness(book: book, settle: Self.s, includesSender: true).first!
        #expect(g.expected == 24 && g.received == 17 && g.missing == 7)   // 2's last three, all four of 3's
        #expect(g.receivers == 1 && g.senders == 3)
    }

    @Test("a window that cuts a stream counts from the receiver's own first or last message of it; no evidence, no count")
    func cutWindows() {
        let book = [Self.sender(1, 1, 100, from: 0, to: 100)]
        // Joined at 40 s (received 41...90, lost 60 and 70), left mid-run at 95 s with 1 s to settle.
        let joinedLate = Self.ledger([(windows: [(40, 95, false)], own: nil, got: [1: (41...90).filter { $0 != 60 && $0 != 70 }])])
        let g = joinedLate.completeness(book: book, settle: Self.s, includesSender: true).first!
        #expect(g.expected == 50 && g.missing == 2)
        // Heard nothing during a window inside the stream: nothing can be told.
        let deaf = Self.ledger([(windows: [(40, 50, false)], own: nil, got: [:])])
        #expect(deaf.completeness(book: book, settle: Self.s, includesSender: true).first?.expected == 0)
        // Closed at the end of the run (after the drain): no settle margin, the tail is expected.
        let end = Self.ledger([(windows: [(40, 100, true)], own: nil, got: [1: Array(41...98)])])
        let e = end.completeness(book: book, settle: Self.s, includesSender: true).first!
        #expect(e.expected == 60 && e.missing == 2)
    }

    @Test("includes_sender: false leaves a user's own messages out; a user that left before a stream expects none of it")
    func ownAndDisjoint() {
        let book = [Self.sender(1, 1, 5, from: 10, to: 12), Self.sender(2, 1, 5, from: 10, to: 12)]
        let l = Self.ledger([(windows: [(1, 20, true)], own: 1, got: [2: Array(1...5)]),
                             (windows: [(1, 5, false)], own: nil, got: [:])])
        let without = l.completeness(book: book, settle: Self.s, includesSender: false).first!
        #expect(without.expected == 5 && without.missing == 0 && without.receivers == 2)
        let with = l.completeness(book: book, settle: Self.s, includesSender: true).first!
        #expect(with.expected == 10 && with.missing == 5)
    }

    @Test("senders reported by several users or agents combine; duplicates count per group")
    func combineAndDuplicates() {
        let book = [Self.sender(1, 1, 3, from: 2, to: 3), Self.sender(1, 4, 6, from: 4, to: 5)]
        var t = SequenceTracker()
        for q: Int64 in [1, 2, 2, 3, 4, 5, 6, 6] { _ = t.record(q) }
        var l = DeliveryLedger()
        l.add(DeliveryLedger.Receiver(group: l.group("/room"), windows: [(0, 10 * Self.s, true)], ownSender: nil, trackers: [1: t]))
        let g = l.completeness(book: book, settle: 0, includesSender: true).first!
        #expect(g.expected == 6 && g.missing == 0 && g.duplicated == 2 && g.senders == 1)
        #expect(t.count(in: 2...5) == 4 && t.count(in: 1...200) == 6 && t.lowest == 1 && t.highest == 6)
    }
}
