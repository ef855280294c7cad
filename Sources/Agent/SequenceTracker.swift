/// Which sequence numbers of one sender a receiver has seen: exact, with a growable bit set.
struct SequenceTracker {
    private var seen: [UInt64] = []
    private var highest: Int64 = 0
    private var distinct: Int64 = 0

    enum Result { case new, outOfOrder, duplicate, invalid }

    mutating func record(_ sequence: Int64) -> Result {
        guard sequence >= 1, sequence < 1 << 32 else { return .invalid }
        let bit = Int(sequence - 1)
        let word = bit >> 6
        if word >= seen.count { seen.append(contentsOf: repeatElement(0, count: word + 1 - seen.count)) }
        let mask: UInt64 = 1 << UInt64(bit & 63)
        if seen[word] & mask != 0 { return .duplicate }
        seen[word] |= mask
        distinct += 1
        defer { highest = Swift.max(highest, sequence) }
        return sequence < highest ? .outOfOrder : .new
    }

    /// Sequence numbers below the highest seen that never arrived.
    var missing: Int64 { highest - distinct }
}
