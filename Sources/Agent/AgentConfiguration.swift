import Net
import WireProtocol

/// What `volley agent` (or an in-process agent) runs with.
public struct AgentConfiguration: Sendable {
    public var listen: SocketAddress
    /// The shared token; nil only when listening on loopback (then any coordinator may connect).
    public var token: [UInt8]?
    public var targets: TargetPolicy
    public var clock: AgentClock
    /// Event loops for runs (nil: one per core), unless the run plan says otherwise.
    public var loops: Int?
    /// Logs each run prepared and finished (a daemon's log; an in-process agent keeps quiet).
    public var logsRuns = true

    public init(listen: SocketAddress, token: [UInt8]?, targets: TargetPolicy = .loopbackOnly, clock: AgentClock = .fromEnvironment(), loops: Int? = nil) {
        self.listen = listen
        self.token = token
        self.targets = targets
        self.clock = clock
        self.loops = loops
    }

    /// Checks the safety rules: a non-loopback listener requires a token.
    public func validate() throws(AgentError) {
        if token == nil && !listen.ip.isLoopback {
            throw AgentError("an agent listening on \(listen) needs --token-file: only loopback listeners may run without authentication")
        }
        if let token, token.isEmpty { throw AgentError("the token file is empty") }
    }

    /// What this agent tells a coordinator it can take.
    public static func capacity() -> WireMessage.Capacity {
        WireMessage.Capacity(hostName: Machine.hostName, cores: UInt16(clamping: Machine.cpuCount),
                             descriptorLimit: UInt32(clamping: Machine.raiseDescriptorLimit()),
                             memoryBytes: Machine.physicalMemory, software: VolleyVersion.string)
    }
}

/// Why the agent could not start.
public struct AgentError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// volley's version, as agents and coordinators tell each other.
public enum VolleyVersion {
    public static let string = "volley 0.6"
}
