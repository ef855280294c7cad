import Scenario

/// Why a run could not be carried out (exit code 2).
public struct ClusterError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// What to run, decided before any agent is reached.
public struct RunRequest: Sendable {
    /// The scenario as it runs: every command-line override already applied.
    public var scenario: Scenario
    public var runID: String
    /// Every random choice of the run comes from this seed.
    public var seed: UInt64
    /// The shared token agents must see proven.
    public var token: [UInt8]
    /// Agents stop on their own after this long without a heartbeat.
    public var leaseMillis: UInt32 = 5000
    /// Event loops per agent (0: one per core).
    public var loopsPerAgent: UInt16 = 0
    /// No progress lines.
    public var quiet = false

    public init(scenario: Scenario, runID: String, seed: UInt64, token: [UInt8]) {
        self.scenario = scenario
        self.runID = runID
        self.seed = seed
        self.token = token
    }
}
