import Foundation

/// A pause: fixed, or drawn for each use from a distribution, as real users' think times are
/// (`2s`, `1s..3s` uniform, `exp(2s)` exponential with that mean).
public enum Delay: Sendable, Equatable, CustomStringConvertible {
    case fixed(Int64)
    /// Uniform between the two bounds (ns, inclusive).
    case uniform(Int64, Int64)
    /// Exponential with this mean (ns): memoryless waits, as between independent arrivals.
    case exponential(mean: Int64)

    /// Reads `500ms`, `1s..3s` or `exp(2s)`; nil if it is none of them.
    public static func parse(_ text: String) -> Delay? {
        let t = text.replacingOccurrences(of: " ", with: "")
        if t.hasPrefix("exp("), t.hasSuffix(")") {
            guard let mean = Units.duration(String(t.dropFirst(4).dropLast())), mean > 0 else { return nil }
            return .exponential(mean: mean)
        }
        if let range = t.range(of: "..") {
            guard let a = Units.duration(String(t[..<range.lowerBound])), let b = Units.duration(String(t[range.upperBound...])),
                  a <= b else { return nil }
            return .uniform(a, b)
        }
        return Units.duration(t).map(Delay.fixed)
    }

    /// One pause, from `random` (a uniformly distributed 64-bit number).
    @inlinable
    public func sample(_ random: UInt64) -> Int64 {
        switch self {
        case let .fixed(d):
            return d
        case let .uniform(a, b):
            return a + Int64(random % UInt64(b - a + 1))
        case let .exponential(mean):
            // Inverse transform on (0, 1]; capped at 50 means so one draw cannot stall a user.
            let u = (Double(random >> 11) + 1) / 9_007_199_254_740_992.0
            return Int64(Swift.min(50, -Foundation.log(u)) * Double(mean))
        }
    }

    /// The mean pause.
    public var mean: Int64 {
        switch self {
        case let .fixed(d): return d
        case let .uniform(a, b): return a + (b - a) / 2
        case let .exponential(m): return m
        }
    }

    public var description: String {
        switch self {
        case let .fixed(d): return Units.describe(nanoseconds: d)
        case let .uniform(a, b): return "\(Units.describe(nanoseconds: a))..\(Units.describe(nanoseconds: b))"
        case let .exponential(m): return "exp(\(Units.describe(nanoseconds: m)))"
        }
    }
}
