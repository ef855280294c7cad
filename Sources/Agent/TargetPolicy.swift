import Net

/// Which targets an agent may load: loopback only by default, widened with --allow-target.
public struct TargetPolicy: Sendable, CustomStringConvertible {
    /// An allowed host name (exact, case-insensitive) or address range.
    public enum Rule: Sendable, Equatable, CustomStringConvertible {
        case host(String)
        case network(IPNetwork)

        public var description: String {
            switch self {
            case let .host(h): return h
            case let .network(n): return "\(n)"
            }
        }
    }

    public let rules: [Rule]

    /// Loopback only (127.0.0.0/8 and ::1).
    public static let loopbackOnly = TargetPolicy(rules: [.network(IPNetwork("127.0.0.0/8")!), .network(IPNetwork("::1/128")!)])

    public init(rules: [Rule]) { self.rules = rules }

    /// Loopback plus each `--allow-target` value (an address, a CIDR range, or a host name).
    public static func allowing(_ values: [String]) -> TargetPolicy {
        TargetPolicy(rules: loopbackOnly.rules + values.map { value in
            IPNetwork(value).map(Rule.network) ?? .host(value.lowercased())
        })
    }

    /// Nil when `host` (as written in the URL) resolved to `address` may be loaded; otherwise the
    /// message for the coordinator, naming the target and the flag.
    public func refusal(host: String, address: IPAddress, url: String) -> String? {
        for rule in rules {
            switch rule {
            case let .host(h) where h == host.lowercased(): return nil
            case let .network(n) where n.contains(address): return nil
            default: continue
            }
        }
        return "target \(url) (\(address)) is not allowed on this agent, which may load \(rules.map(\.description).joined(separator: ", ")); start the agent with --allow-target \(host) (or a CIDR range containing \(address)) to allow it"
    }

    public var description: String { rules.map(\.description).joined(separator: ", ") }
}
