import Net

/// How far ahead the coordinator names a barrier's release instant: longer than the slowest
/// agent's one-way control delay, and lengthened when agents report that their loops had the
/// users' frames ready with too little margin (a loaded agent preparing many users).
public struct ReleaseLead: Sendable, Equatable {
    public static let minimum = Nanoseconds.milliseconds(10)
    public static let maximum = Nanoseconds.seconds(1)
    /// The margin every loop should have between its frames being ready and the instant.
    public static let wantedMargin = Nanoseconds.milliseconds(2)

    /// The shortest lead learned from the reports so far.
    public private(set) var learned = ReleaseLead.minimum

    public init() {}

    /// The lead for the next release, given the slowest agent's one-way delay (ns).
    public func lead(oneWay: Int64) -> Int64 {
        Swift.min(Self.maximum, Swift.max(learned, 3 * oneWay + Nanoseconds.milliseconds(1)))
    }

    /// A loop had its frames ready `readyMargin` ns before an instant named `lead` ns ahead.
    public mutating func observe(readyMargin: Int64, lead: Int64) {
        guard readyMargin < Self.wantedMargin else { return }
        let needed = lead + 2 * (Self.wantedMargin - readyMargin)
        learned = Swift.min(Self.maximum, Swift.max(learned, needed))
    }
}
