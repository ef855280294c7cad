import Coordinator
import Net
import Report
import Scenario
import WireProtocol
import WebSocket

/// `volley run`, `volley validate` and `volley demo`.
enum RunCommand {
    static let usage = """
    usage: volley run SCENARIO.yaml [--agents HOST:PORT,... --token-file FILE] [--out DIR] [--target URL]
                                    [--target-host HOST:PORT] [--connections N] [--loops N]
                                    [--lease DURATION] [--notify-url URL] [--quiet]
      Runs the scenario: with --agents, on those agents (volley agent) as one cluster; without,
      with the engine in this process. Live progress every second, then a summary, the
      thresholds and the verdict, and the results in DIR (default volley-results/NAME-TIME/):
      results.json, report.html, junit.xml, METRIC.hlog, series.csv.
      --target URL     replaces the scenario's target(s)
      --target-host H:P  replaces the host and port of the scenario's target(s), keeping paths
      --connections N  scales every phase's connections so that the peak is N
      --loops N        event loops (threads) per process; default one per core
      --lease D        agents stop on their own after D without a heartbeat (default 5s)
      --notify-url URL POST a JSON summary (Slack-style "text") there when the verdict is not
                       "passed"; https:// URLs are posted with curl
    Exit codes: 0 passed, 1 thresholds failed, 2 could not be carried out, 3 aborted.
    """

    static func run(_ arguments: [String]) throws(UsageError) -> Int32 {
        let options = try CommandLineOptions(arguments, valued: ["out", "target", "target-host", "loops", "agents", "token-file", "lease", "connections", "notify-url"],
                                             switches: ["quiet"])
        guard options.positionals.count == 1 else { throw UsageError("expected one scenario file\n\(usage)") }
        guard var scenario = load(options.positionals[0]) else { return ExitCode.couldNotRun }
        if let target = options.value("target") { scenario = try replacingTarget(scenario, target) }
        if let authority = options.value("target-host") { scenario = try replacingTargetHost(scenario, authority) }
        if options.value("connections") != nil {
            scenario = scenario.scaled(toPeakConnections: try options.integer("connections", default: 1, range: 1...100_000_000))
        }
        var settings = RunSettings(outputDirectory: options.value("out"), quiet: options.has("quiet"))
        settings.targetOverridden = options.value("target") != nil || options.value("target-host") != nil
        if let url = options.value("notify-url") {
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw UsageError("--notify-url takes an http:// or https:// URL, got \"\(url)\"")
            }
            settings.notifyURL = url
        }
        if options.value("loops") != nil { settings.loops = try options.integer("loops", default: 1, range: 1...256) }
        if let agents = options.value("agents") {
            let addresses = try agents.split(separator: ",").map { (part) throws(UsageError) -> SocketAddress in
                guard let a = SocketAddress(String(part)) else {
                    throw UsageError("--agents takes HOST:PORT addresses separated by commas (IP addresses), got \"\(part)\"")
                }
                return a
            }
            guard !addresses.isEmpty else { throw UsageError("--agents needs at least one HOST:PORT") }
            let token = try options.value("token-file").map { (f) throws(UsageError) in try TokenFile.read(f) } ?? []
            var lease: Int64 = 5_000_000_000
            if let text = options.value("lease") {
                guard let d = Units.duration(text), d >= 1_000_000_000 else { throw UsageError("--lease takes a duration of at least 1s, got \"\(text)\"") }
                lease = d
            }
            return ClusterCommand.run(scenario, agents: addresses, token: token, leaseMillis: UInt32(lease / 1_000_000), settings: settings)
        }
        return LocalRun.run(scenario, settings: settings)
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

    /// The scenario with its target(s) replaced by `url`, which may use the same placeholders.
    static func replacingTarget(_ scenario: Scenario, _ url: String) throws(UsageError) -> Scenario {
        guard url.hasPrefix("ws://"), WebSocketURL(url) != nil else {
            throw UsageError("--target must be a ws:// URL, got \"\(url)\"")
        }
        var s = scenario
        do {
            s.targets = [try Template(url, file: "--target", line: 1, column: 1, feederColumns: scenario.feeder?.columns)]
        } catch {
            throw UsageError("--target: \(error.message)")
        }
        return s
    }

    /// The scenario with the host and port of each target replaced by `authority` (HOST:PORT),
    /// keeping paths and queries: the same scenario against another deployment.
    static func replacingTargetHost(_ scenario: Scenario, _ authority: String) throws(UsageError) -> Scenario {
        guard !authority.isEmpty, !authority.contains("/"), WebSocketURL("ws://\(authority)/") != nil else {
            throw UsageError("--target-host takes HOST:PORT such as 10.77.0.2:8080, got \"\(authority)\"")
        }
        var s = scenario
        do {
            s.targets = try scenario.targets.map { (t) throws(ScenarioError) -> Template in
                let rest = t.source.dropFirst("ws://".count)
                let path = rest.firstIndex(where: { $0 == "/" || $0 == "?" }).map { rest[$0...] } ?? ""
                return try Template("ws://\(authority)\(path)", file: "--target-host", line: 1, column: 1, feederColumns: scenario.feeder?.columns)
            }
        } catch {
            throw UsageError("--target-host: \(error.message)")
        }
        return s
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

    static let demoUsage = "usage: volley demo [--out DIR] [--quiet]"

    /// Starts the bundled target on a free port, runs scenarios/demo.yaml against it, shows the summary.
    static func demo(_ arguments: [String]) throws(UsageError) -> Int32 {
        let options = try CommandLineOptions(arguments, valued: ["out", "scenario"], switches: ["quiet"])
        let path = options.value("scenario") ?? DemoFiles.scenarioPath()
        guard let path, var scenario = load(path) else {
            Log.error("volley demo: cannot find scenarios/demo.yaml (run it from the repository, or pass --scenario FILE)")
            return ExitCode.couldNotRun
        }
        let port: UInt16
        let target: ChildProcess
        do {
            (target, port) = try DemoFiles.startTarget()
        } catch {
            Log.error("volley demo: cannot start the target: \(error)")
            return ExitCode.couldNotRun
        }
        defer { target.terminate() }
        Log.out("volley demo: bundled target on 127.0.0.1:\(port) (pid \(target.pid)); scenario \(path)")
        scenario = try replacingTarget(scenario, scenario.targets[0].source.replacingHostPort(with: "127.0.0.1:\(port)"))
        return LocalRun.run(scenario, settings: RunSettings(outputDirectory: options.value("out"), quiet: options.has("quiet")))
    }
}

extension String {
    /// The URL with its host:port replaced.
    func replacingHostPort(with hostPort: String) -> String {
        guard hasPrefix("ws://") || hasPrefix("wss://") else { return self }
        let scheme = hasPrefix("ws://") ? "ws://" : "wss://"
        let rest = dropFirst(scheme.count)
        let pathStart = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        return scheme + hostPort + rest[pathStart...]
    }
}
