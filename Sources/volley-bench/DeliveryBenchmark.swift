import Agent
import Net
import Stats

/// What delivery completeness costs at scale: the receivers' state an agent keeps until the end
/// of a run (one tracker per receiver and sender), measured as resident memory grown while it is
/// built, and the end-of-run count over it.
struct DeliveryBenchmark {
    struct Case {
        let name: String
        let rooms: Int
        let usersPerRoom: Int
        let messagesPerSender: Int
    }

    static let cases = [
        Case(name: "one room of 1,000 users, each sending 60 messages", rooms: 1, usersPerRoom: 1000, messagesPerSender: 60),
        Case(name: "one room of 1,000 users, 5 publishers sending 3,600 messages", rooms: 1, usersPerRoom: 1000, messagesPerSender: -3600),
        Case(name: "100,000 users in 1,000 rooms of 100, each sending 60 messages", rooms: 1000, usersPerRoom: 100, messagesPerSender: 60),
    ]

    func run() {
        print("delivery completeness benchmark (release build expected): receivers' state kept until the end of the run")
        for c in Self.cases { measure(c) }
    }

    func measure(_ c: Case) {
        // Negative messages: only 5 users per room publish that many; the rest only listen.
        let publishers = c.messagesPerSender < 0 ? 5 : c.usersPerRoom
        let messages = abs(c.messagesPerSender)
        let before = ProcessUsage.residentBytes
        let start = Instant.now
        var ledger = DeliveryLedger()
        var book: [SenderSummary] = []
        var pairs = 0
        for room in 0..<c.rooms {
            let name = "/rooms/\(room)"
            let group = ledger.group(name)
            let senders = (0..<publishers).map { UInt64(room * c.usersPerRoom + $0) &* 0x9E37_79B9_7F4A_7C15 }
            for s in senders {
                book.append(SenderSummary(group: name, sender: s, firstSequence: 1, lastSequence: Int64(messages), count: Int64(messages),
                                          firstSentAt: 1_000_000_000, lastSentAt: 60_000_000_000))
            }
            for _ in 0..<c.usersPerRoom {
                var trackers: [UInt64: SequenceTracker] = [:]
                trackers.reserveCapacity(senders.count)
                for s in senders {
                    var t = SequenceTracker()
                    for q in 1...messages { _ = t.record(Int64(q)) }
                    trackers[s] = t
                }
                pairs += senders.count
                ledger.add(DeliveryLedger.Receiver(group: group, windows: [(0, 61_000_000_000, true)], ownSender: nil, trackers: trackers))
            }
        }
        let built = Instant.now
        let grown = ProcessUsage.residentBytes - before
        let totals = ledger.completeness(book: book, settle: 1_000_000_000, includesSender: true)
        let counted = Instant.now
        let expected = totals.reduce(Int64(0)) { $0 + $1.expected }
        let perPair = Double(grown) / Double(Swift.max(pairs, 1))
        print("  \(c.name): \(pairs) receiver-sender pairs, \(expected) messages expected")
        print("    memory \(grown / 1_048_576) MiB (\(Int(perPair)) B per pair); built in \(start.nanoseconds(to: built) / 1_000_000) ms; counted in \(built.nanoseconds(to: counted) / 1_000_000) ms")
        withExtendedLifetime(ledger) {}
    }
}
