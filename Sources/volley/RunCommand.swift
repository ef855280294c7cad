import Agent
import Coordinator
import Net
import Report
import Scenario
import WebSocket
import WireProtocol

/// `volley run` and `volley validate`.
enum RunCommand {
    static let usage = """
    usage: volley run SCENARIO.yaml [--agents HOST:PORT,... --token-file FILE] [--out DIR] [--target URL]
                                    [--target-host HOST:PORT] [--connections N] [--loops N] [--seed N]
                                    [--tls-ca FILE | --insecure] [--lease DURATION] [--notify-url URL] [--quiet]
      Runs the scenario: with --agents, on those agents (volley agent) as one cluster; without,
      on an agent in this process (or on local agent processes when one process may not hold
      enough connections). Live progress every second, then a summary, the thresholds and the
      verdict, and the results in DIR (default volley-results/NAME-TIME/): results.json,
      report.html, junit.xml, METRIC.hlog, series.csv.
      --target URL     replaces the scenario's target(s)
      --target-host H:P  replaces the host and port of the scenario's target(s), keeping paths
      --connections N  scales every phase's connections so that the peak is N
      --tls-ca FILE    trust this CA (PEM) for wss:// targets instead of the system's
      --insecure       skip certificate verification for wss:// targets (self-signed test servers)
      --loops N        event loops (threads) per agent; default one per core
      --seed N         the seed of every random choice (default: a new one, recorded in results.json)
      --lease D        agents stop on their own after D without a heartbeat (default 5s)
      --notify-url URL POST a JSON summary (Slack-style "text") there when the verdict is not
                       "passed"; https:// URLs are posted with curl
    Exit codes: 0 passed, 1 thresholds failed, 2 could not be carried out, 3 aborted.
    """

    static func run(_ arguments: [String]) throws(UsageError) -> Int32 {
        let options = try CommandLineOptions(arguments, valued: ["out", "target", "target-host", "loops", "agents", "token-file", "lease",
                                                                 "connections", "notify-url", "seed", "tls-ca"],
                                             switches: ["quiet", "insecure"])
        guard options.positionals.count == 1 else { throw UsageError("expected one scenario file\n\(usage)") }
        guard let loaded = load(options.positionals[0]) else { return ExitCode.couldNotRun }
        let scenario = try applyOverrides(loaded, options)
        var outputs = OutputSettings(directory: options.value("out"))
        if let url = options.value("notify-url") {
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw UsageError("--notify-url takes an http:// or https:// URL, got \"\(url)\"")
            }
            outputs.notifyURL = url
        }
        var request = RunRequest(scenario: scenario, runID: SecureRandom.hex(8), seed: try seed(options), token: [])
        request.quiet = options.has("quiet")
        if options.value("loops") != nil { request.loopsPerAgent = UInt16(try options.integer("loops", default: 1, range: 1...256)) }
        if let text = options.value("lease") {
            guard let d = Units.duration(text), d >= 1_000_000_000 else { throw UsageError("--lease takes a duration of at least 1s, got \"\(text)\"") }
            request.leaseMillis = UInt32(clamping: d / 1_000_000)
        }
        if let agents = options.value("agents") {
            let addresses = try agents.split(separator: ",").map { (part) throws(UsageError) -> SocketAddress in
                guard let a = SocketAddress(String(part)) else {
                    throw UsageError("--agents takes HOST:PORT addresses separated by commas (IP addresses), got \"\(part)\"")
                }
                return a
            }
            guard !addresses.isEmpty else { throw UsageError("--agents needs at least one HOST:PORT") }
            request.token = try options.value("token-file").map { (f) throws(UsageError) in try TokenFile.read(f) } ?? []
            return RunPipeline.run(request, agents: addresses.map(AgentEndpoint.address), outputs: outputs)
        }
        return LocalCluster.run(request, outputs: outputs)
    }

    /// The scenario with the command line's overrides applied (once, here; the run plan
    /// carries the result to every agent).
    static func applyOverrides(_ scenario: Scenario, _ options: CommandLineOptions) throws(UsageError) -> Scenario {
        var s = scenario
        do {
            if let url = options.value("target") {
                guard WebSocketURL(url) != nil else {
                    throw UsageError("--target must be a ws:// or wss:// URL, got \"\(url)\"")
                }
                s = try s.replacingTargets([url], origin: "--target")
            }
            if let authority = options.value("target-host") {
                guard !authority.isEmpty, !authority.contains("/"), WebSocketURL("ws://\(authority)/") != nil else {
                    throw UsageError("--target-host takes HOST:PORT such as 10.77.0.2:8080, got \"\(authority)\"")
                }
                s = try s.replacingTargetHost(authority, origin: "--target-host")
            }
        } catch let error as ScenarioError {
            throw UsageError("\(error.file): \(error.message)")
        } catch {
            throw error as! UsageError
        }
        if options.value("connections") != nil {
            s = s.scaled(toPeakConnections: try options.integer("connections", default: 1, range: 1...100_000_000))
        }
        if options.value("tls-ca") != nil && options.has("insecure") {
            throw UsageError("--tls-ca and --insecure contradict each other: trust a CA, or skip verification")
        }
        var ca: PEMFile?
        if let path = options.value("tls-ca") {
            guard let text = FileSystem.readText(path) else { throw UsageError("cannot read the CA file \(path)") }
            ca = PEMFile(path: path, contents: text)
        }
        s = s.replacingTLSTrust(ca: ca, insecure: options.has("insecure"))
        if s.targets.contains(where: { $0.source.hasPrefix("wss://") }) {
            // A CA or client key that OpenSSL cannot use is reported here, before any agent starts.
            do {
                _ = try ResolvedTargets.context(for: s.tls)
            } catch {
                throw UsageError("\(scenario.file): \(error)")
            }
        }
        return s
    }

    /// `--seed N`, or a new seed (recorded in results.json, so the run can be repeated).
    static func seed(_ options: CommandLineOptions) throws(UsageError) -> UInt64 {
        guard let text = options.value("seed") else { return SecureRandom.uint64() & UInt64(Int64.max) }
        guard let v = UInt64(text), v <= UInt64(Int64.max) else {
            throw UsageError("--seed takes a whole number from 0 to \(Int64.max), got \"\(text)\"")
        }
        return v
    }

    /// Loads a scenario, printing located errors; nil when it does not load.
    static func load(_ path: String) -> Scenario? {
        do {
            return try ScenarioLoader.load(path: path)
        } catch {
            Log.error("\(error)")
            return nil
        }
    }

    static let validateUsage = "usage: volley validate SCENARIO.yaml [--agents N] [--connections N]"

    static func validate(_ arguments: [String]) throws(UsageError) -> Int32 {
        let options = try CommandLineOptions(arguments, valued: ["agents", "connections"])
        guard options.positionals.count == 1 else { throw UsageError("expected one scenario file\n\(validateUsage)") }
        guard var scenario = load(options.positionals[0]) else { return ExitCode.couldNotRun }
        if options.value("connections") != nil {
            scenario = scenario.scaled(toPeakConnections: try options.integer("connections", default: 1, range: 1...100_000_000))
        }
        Log.out(scenario.describePlan())
        if options.value("agents") != nil {
            let n = try options.integer("agents", default: 1, range: 1...10_000)
            // Agents of equal capacity; a real run weighs them by their cores.
            let capacity = WireMessage.Capacity(hostName: "agent", cores: 1, descriptorLimit: UInt32.max, memoryBytes: 0, software: "")
            let names = (1...n).map { "agent\($0)" }
            do {
                let slices = try Planner.plan(scenario, capacities: Array(repeating: capacity, count: n), names: names)
                Log.out(Planner.describe(scenario, slices: slices, names: names))
            } catch {
                Log.error("\(error)")
                return ExitCode.couldNotRun
            }
        }
        if scenario.thresholds.isEmpty { Log.out(VerdictTable.noThresholdsHint(scenario)) }
        Log.out("\(scenario.file): valid")
        return ExitCode.passed
    }
}
