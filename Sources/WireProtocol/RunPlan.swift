import ByteCoding
import Scenario

/// Everything a run is, decided once by the coordinator: the effective scenario (after every
/// command-line override), each agent's slice, the seed and the lease. Agents receive it whole
/// and derive nothing again: on the wire the scenario travels as its text, its parsed feeder
/// and the values the overrides produced, which the agent applies with the same functions.
public struct RunPlan: Sendable {
    public var runID: String
    /// The scenario as it runs (targets and connection counts already overridden).
    public var scenario: Scenario
    /// One slice per agent, in agent order; they add up exactly to the scenario's totals.
    public var slices: [LoadSlice]
    /// Drives every random choice of the run (first-send spreading, {{random}}, back-off jitter).
    public var seed: UInt64
    /// Agents stop on their own after this long without hearing from the coordinator.
    public var leaseMillis: UInt32
    /// Event loops per agent (0: one per core).
    public var loopsPerAgent: UInt16

    public init(runID: String, scenario: Scenario, slices: [LoadSlice], seed: UInt64, leaseMillis: UInt32, loopsPerAgent: UInt16) {
        self.runID = runID
        self.scenario = scenario
        self.slices = slices
        self.seed = seed
        self.leaseMillis = leaseMillis
        self.loopsPerAgent = loopsPerAgent
    }
}

extension RunPlan: Equatable {
    /// Two plans are equal when they say the same on the wire.
    public static func == (a: RunPlan, b: RunPlan) -> Bool {
        a.encoded() == b.encoded()
    }

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 256)
        encode(into: &w)
        return w.bytes
    }
}

extension RunPlan {
    static let maximumTextLength = 48 << 20

    func encode(into w: inout ByteWriter) {
        w.writeLengthPrefixed(runID)
        w.writeLengthPrefixed(scenario.file)
        w.writeLengthPrefixed(scenario.source)
        let feeders = scenario.feeders
        w.writeVarUInt(UInt64(feeders.count))
        for feeder in feeders {
            w.writeLengthPrefixed(feeder.file)
            w.writeVarUInt(UInt64(feeder.columns.count))
            for c in feeder.columns { w.writeLengthPrefixed(c) }
            w.writeVarUInt(UInt64(feeder.rows.count))
            for row in feeder.rows {
                for field in row { w.writeLengthPrefixed(field) }
            }
        }
        w.writeVarUInt(UInt64(scenario.targets.count))
        for t in scenario.targets { w.writeLengthPrefixed(t.source) }
        w.writeVarUInt(UInt64(scenario.phases.count))
        for p in scenario.phases {
            w.writeVarUInt(UInt64(p.connections.from))
            w.writeVarUInt(UInt64(p.connections.to))
        }
        w.writeVarUInt(UInt64(slices.count))
        for slice in slices { WireMessage.encode(slice, into: &w) }
        w.writeLittleEndian(seed)
        w.writeLittleEndian(leaseMillis)
        w.writeLittleEndian(loopsPerAgent)
        Self.encode(scenario.tls, into: &w)
    }

    /// The effective TLS options (after `--tls-ca`, `--insecure`), with the PEM text of their files.
    static func encode(_ tls: TLSOptions, into w: inout ByteWriter) {
        for file in [tls.ca, tls.clientCertificate, tls.clientKey] {
            w.write(file != nil)
            if let file {
                w.writeLengthPrefixed(file.path)
                w.writeLengthPrefixed(file.contents)
            }
        }
        w.write(tls.insecure)
        w.write(tls.serverName != nil)
        if let name = tls.serverName { w.writeLengthPrefixed(name) }
        w.write(tls.sessionReuse)
        w.writeLittleEndian(UInt8(tls.minimumVersion))
    }

    static func decodeTLS(_ r: inout ByteReader) throws -> TLSOptions {
        var files: [PEMFile?] = []
        for _ in 0..<3 {
            if try r.readBool() {
                files.append(PEMFile(path: try r.readLengthPrefixedString(limit: 4096), contents: try r.readLengthPrefixedString(limit: 1 << 20)))
            } else {
                files.append(nil)
            }
        }
        var tls = TLSOptions()
        tls.ca = files[0]
        tls.clientCertificate = files[1]
        tls.clientKey = files[2]
        tls.insecure = try r.readBool()
        if try r.readBool() { tls.serverName = try r.readLengthPrefixedString(limit: 1024) }
        tls.sessionReuse = try r.readBool()
        let version = Int(try r.readLittleEndian(UInt8.self))
        guard version == 12 || version == 13 else { throw WireError("the run plan asks for TLS minimum version \(version)") }
        tls.minimumVersion = version
        return tls
    }

    /// Reads a plan and materializes its scenario: the text parsed as the coordinator parsed
    /// it, with the feeder it sent and the overridden values applied.
    static func decode(_ r: inout ByteReader) throws -> RunPlan {
        func string(_ limit: Int) throws -> String { try r.readLengthPrefixedString(limit: limit) }
        let runID = try string(256)
        let file = try string(4096)
        let source = try string(maximumTextLength)
        var feeders: [Feeder] = []
        for _ in 0..<(try r.readVarInt(limit: 1000, field: "feeder count")) {
            let name = try string(4096)
            let columnCount = try r.readVarInt(limit: 4096, field: "feeder columns")
            guard columnCount > 0 else { throw WireError("a feeder without columns") }
            var columns: [String] = []
            for _ in 0..<columnCount { columns.append(try string(4096)) }
            let rowCount = try r.readVarInt(limit: r.remaining / columnCount, field: "feeder rows")
            var rows: [[String]] = []
            rows.reserveCapacity(rowCount)
            for _ in 0..<rowCount {
                var row: [String] = []
                for _ in 0..<columnCount { row.append(try string(1 << 20)) }
                rows.append(row)
            }
            guard !rows.isEmpty else { throw WireError("a feeder without rows") }
            feeders.append(Feeder(file: name, columns: columns, rows: rows))
        }
        let targetCount = try r.readVarInt(limit: 1024, field: "target count")
        var targets: [String] = []
        for _ in 0..<targetCount { targets.append(try string(4096)) }
        let phaseCount = try r.readVarInt(limit: 10_000, field: "phase count")
        var connections: [ConnectionTarget] = []
        for _ in 0..<phaseCount {
            connections.append(ConnectionTarget(from: try r.readVarInt(limit: 100_000_000, field: "connections"),
                                                to: try r.readVarInt(limit: 100_000_000, field: "connections")))
        }
        let sliceCount = try r.readVarInt(limit: 1 << 20, field: "slice count")
        var slices: [LoadSlice] = []
        for _ in 0..<sliceCount { slices.append(try WireMessage.decodeSlice(&r)) }
        let seed = try r.readLittleEndian(UInt64.self)
        let lease = try r.readLittleEndian(UInt32.self)
        let loops = try r.readLittleEndian(UInt16.self)
        let tls = try decodeTLS(&r)

        var scenario: Scenario
        do {
            scenario = try ScenarioLoader.load(source: source, file: file, feeder: { (name) throws(ScenarioError) -> Feeder? in
                // The coordinator read each feeder at its path beside the scenario: match the
                // name as the text writes it.
                guard let feeder = feeders.first(where: { $0.file == name || $0.file.hasSuffix("/" + name) }) else {
                    throw ScenarioError(file: file, line: 1, column: 1, message: "the coordinator did not send the feeder \(name)")
                }
                return feeder
            }, files: { (name) throws(ScenarioError) -> String in
                // The plan's TLS options replace what the text names (a command-line override
                // may have replaced a file), so the text's files are not needed here.
                tls.files.first(where: { $0.path == name })?.contents ?? "-----BEGIN REPLACED BY THE RUN PLAN-----"
            })
            scenario = try scenario.replacingTargets(targets, origin: "the run plan")
            scenario.tls = tls
        } catch {
            throw WireError("the run plan's scenario does not load here: \(error)")
        }
        guard connections.count == scenario.phases.count else {
            throw WireError("the run plan has \(connections.count) phase sizes for \(scenario.phases.count) phases")
        }
        scenario = scenario.replacingConnections(connections)
        let groupCount = scenario.groups.count
        for slice in slices where slice.phases.count != scenario.phases.count || slice.agentCount != slices.count
            || slice.phases.contains(where: { $0.groups.count != groupCount }) {
            throw WireError("a slice of the run plan does not fit its scenario (\(slice.phases.count) phases, \(slice.agentCount) agents, \(groupCount) groups)")
        }
        return RunPlan(runID: runID, scenario: scenario, slices: slices, seed: seed, leaseMillis: lease, loopsPerAgent: loops)
    }
}
