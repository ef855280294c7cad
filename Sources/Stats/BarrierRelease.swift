/// What one event loop did at one barrier release: when it released (relative to the named
/// instant), when its users' first and last sends went out, and what the sends cost.
public struct BarrierRelease: Sendable, Equatable {
    public var barrier: Int
    public var generation: Int
    public var loop: Int
    /// Users released by this loop.
    public var users: Int
    public var timedOut: Bool
    /// Nanoseconds from the named instant to the actual release.
    public var releaseOffset: Int64
    /// Nanoseconds from the named instant to the first and last send (nil: nobody sent right away).
    public var firstSendOffset: Int64?
    public var lastSendOffset: Int64?
    /// Nanoseconds the loop spent releasing its users and writing their frames, without the
    /// time it gave the CPU away: what the sends themselves cost.
    public var sendCost: Int64
    /// Nanoseconds between the loop having its users' frames ready and the named instant
    /// (negative: ready only after it, so the release was late). The coordinator lengthens
    /// the lead of later releases when this runs short.
    public var readyMargin: Int64

    public init(barrier: Int, generation: Int, loop: Int, users: Int, timedOut: Bool, releaseOffset: Int64,
                firstSendOffset: Int64?, lastSendOffset: Int64?, sendCost: Int64, readyMargin: Int64) {
        self.barrier = barrier
        self.generation = generation
        self.loop = loop
        self.users = users
        self.timedOut = timedOut
        self.releaseOffset = releaseOffset
        self.firstSendOffset = firstSendOffset
        self.lastSendOffset = lastSendOffset
        self.sendCost = sendCost
        self.readyMargin = readyMargin
    }
}
