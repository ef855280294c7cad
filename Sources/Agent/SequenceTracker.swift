/// Which sequence numbers of one sender a receiver has seen: exact, with a growable bit set
/// (one bit per sequence number up to the highest seen).
struct SequenceTracker {
    private var seen: [UInt64] = []
    private(set) var highest: Int64 = 0
    private(set) var lowest: Int64 = .max
    private(set) var distinct: Int64 = 0
    private(set) var duplicates: Int64 = 0

    enum Result { case new, outOfOrder, duplicate, invalid }

    mutating func record(_ sequence: Int64) -> Result {
        guard sequence >= 1, sequence < 1 << 32 else { return .invalid }
        let bit = Int(sequence - 1)
        let word = bit >> 6
        if word >= seen.count { seen.append(contentsOf: repeatElement(0, count: word + 1 - seen.count)) }
        let mask: UInt64 = 1 << UInt64(bit & 63)
        if seen[word] & mask != 0 {
            duplicates += 1
            return .duplicate
        }
        seen[word] |= mask
        distinct += 1
        lowest = Swift.min(lowest, sequence)
        defer { highest = Swift.max(highest, sequence) }
        return sequence < highest ? .outOfOrder : .new
    }

    /// Distinct sequence numbers seen in `range`.
    func count(in range: ClosedRange<Int64>) -> Int64 {
        let lo = Swift.max(range.lowerBound, 1), hi = Swift.min(range.upperBound, highest)
        guard lo <= hi else { return 0 }
        var n: Int64 = 0
        var s = lo
        while s <= hi {
            let bit = Int(s - 1), word = bit >> 6
            if bit & 63 == 0 && s + 63 <= hi {
                n += Int64(seen[word].nonzeroBitCount)
                s += 64
            } else {
                if seen[word] & (1 << UInt64(bit & 63)) != 0 { n += 1 }
                s += 1
            }
        }
        return n
    }

    /// Bytes this tracker holds (for the memory figures in docs/scenarios.md).
    var footprint: Int { seen.capacity * 8 + 48 }
}
