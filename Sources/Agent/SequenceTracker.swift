/// Which sequence numbers of one sender a receiver has seen: exact, as a bit set whose first 64
/// bits live in the tracker itself (a sender's first 64 messages cost no allocation) and the rest
/// in a growable array. 32 bytes plus one bit per sequence number beyond the 64th.
public struct SequenceTracker: Sendable {
    private var inline: UInt64 = 0
    private var spill: [UInt64] = []
    public private(set) var highest: UInt32 = 0
    private var lowestSeen: UInt32 = .max
    public private(set) var distinct: UInt32 = 0
    public private(set) var duplicates: UInt32 = 0

    public enum Result { case new, outOfOrder, duplicate, invalid }

    public init() {}

    /// The lowest sequence number seen (UInt32.max before any).
    public var lowest: Int64 { Int64(lowestSeen) }

    public mutating func record(_ sequence: Int64) -> Result {
        guard sequence >= 1, sequence < 1 << 32 else { return .invalid }
        let bit = Int(sequence - 1)
        let mask: UInt64 = 1 << UInt64(bit & 63)
        if bit < 64 {
            if inline & mask != 0 { return noteDuplicate() }
            inline |= mask
        } else {
            let word = (bit >> 6) - 1
            if word >= spill.count { spill.append(contentsOf: repeatElement(0, count: word + 1 - spill.count)) }
            if spill[word] & mask != 0 { return noteDuplicate() }
            spill[word] |= mask
        }
        distinct &+= 1
        let s = UInt32(sequence)
        lowestSeen = Swift.min(lowestSeen, s)
        defer { highest = Swift.max(highest, s) }
        return s < highest ? .outOfOrder : .new
    }

    private mutating func noteDuplicate() -> Result {
        duplicates &+= 1
        return .duplicate
    }

    private func word(_ index: Int) -> UInt64 { index == 0 ? inline : spill[index - 1] }

    /// Distinct sequence numbers seen in `range`.
    public func count(in range: ClosedRange<Int64>) -> Int64 {
        let lo = Swift.max(range.lowerBound, 1), hi = Swift.min(range.upperBound, Int64(highest))
        guard lo <= hi else { return 0 }
        var n: Int64 = 0
        var s = lo
        while s <= hi {
            let bit = Int(s - 1), index = bit >> 6
            if bit & 63 == 0 && s + 63 <= hi {
                n += Int64(word(index).nonzeroBitCount)
                s += 64
            } else {
                if word(index) & (1 << UInt64(bit & 63)) != 0 { n += 1 }
                s += 1
            }
        }
        return n
    }

    /// Heap bytes beyond the tracker itself (for the memory figures in docs/scenarios.md).
    public var spilledBytes: Int { spill.isEmpty ? 0 : spill.capacity * 8 + 32 }
}
