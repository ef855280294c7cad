/// The changes a run may make to a scenario as written: other targets (`--target`,
/// `--target-host`), other connection counts (`--connections`) and other TLS trust
/// (`--tls-ca`, `--insecure`). The coordinator applies
/// them once; the run plan carries the resulting values, and agents apply those values with the
/// same functions, so coordinator and agents run one and the same effective scenario.
extension Scenario {
    /// The scenario with its targets replaced by `urls` (templates, which may use the feeder's
    /// columns); `origin` names where they came from in error messages.
    public func replacingTargets(_ urls: [String], origin: String) throws(ScenarioError) -> Scenario {
        var s = self
        s.targets = try urls.map { (url) throws(ScenarioError) -> Template in
            try Template(url, file: origin, line: 1, column: 1, feederColumns: feeder?.columns)
        }
        return s
    }

    /// The scenario with the host and port of every target replaced by `authority` (HOST:PORT),
    /// keeping scheme, path and query: the same scenario against another deployment.
    public func replacingTargetHost(_ authority: String, origin: String) throws(ScenarioError) -> Scenario {
        try replacingTargets(targets.map { Self.url($0.source, withAuthority: authority) }, origin: origin)
    }

    /// The scenario with each phase's connections replaced, in phase order (counts the plan
    /// computed, such as `--connections` scaling).
    public func replacingConnections(_ connections: [ConnectionTarget]) -> Scenario {
        var s = self
        for (i, c) in connections.enumerated() where i < s.phases.count { s.phases[i].connections = c }
        return s
    }

    /// The scenario trusting `ca` (`--tls-ca`) or skipping verification (`--insecure`) for
    /// its wss:// targets instead of what its `tls:` says.
    public func replacingTLSTrust(ca: PEMFile?, insecure: Bool) -> Scenario {
        var s = self
        if let ca {
            s.tls.ca = ca
            s.tls.insecure = false
        }
        if insecure {
            s.tls.insecure = true
            s.tls.ca = nil
        }
        return s
    }

    /// `url` with its host:port replaced by `authority` (and its scheme by `newScheme`, "wss://").
    public static func url(_ url: String, withAuthority authority: String, scheme newScheme: String? = nil) -> String {
        let scheme = url.hasPrefix("wss://") ? "wss://" : url.hasPrefix("ws://") ? "ws://" : nil
        guard let scheme else { return url }
        let rest = url.dropFirst(scheme.count)
        let pathStart = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        return (newScheme ?? scheme) + authority + rest[pathStart...]
    }
}
