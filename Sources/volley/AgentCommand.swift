import Agent
import Net
import Scenario
import WireProtocol

/// `volley agent --listen ADDR:PORT --token-file FILE [--allow-target HOST|CIDR ...] [--loops N]`
enum AgentCommand {
    static let usage = """
    usage: volley agent --listen ADDR:PORT --token-file FILE [--allow-target HOST|CIDR ...] [--loops N]
      A long-running load agent: serves one run at a time for a coordinator that proves it holds
      the token (HMAC-SHA256 challenge-response in both directions).
      --token-file FILE     the shared token (required unless listening on loopback)
      --allow-target X      a host name, address or CIDR range this agent may load besides
                            loopback (repeatable); other targets are refused before connecting
      --loops N             event loops for runs (default: one per core)
    The agent stops a run on its own when it hears nothing from the coordinator for the lease
    (5 s by default). For tests only: VOLLEY_TEST_CLOCK_OFFSET_US shifts its wall clock.
    """

    static func run(_ arguments: [String]) throws(UsageError) -> Int32 {
        let options = try CommandLineOptions(arguments, valued: ["listen", "token-file", "allow-target", "loops"])
        guard options.positionals.isEmpty else { throw UsageError("unexpected argument \"\(options.positionals[0])\"\n\(usage)") }
        guard let listenText = options.value("listen") else { throw UsageError("--listen ADDR:PORT is required\n\(usage)") }
        guard let listen = SocketAddress(listenText) else {
            throw UsageError("--listen must be an IP address and port such as 0.0.0.0:7000, got \"\(listenText)\"")
        }
        var token: [UInt8]?
        if let file = options.value("token-file") { token = try TokenFile.read(file) }
        let policy = TargetPolicy.allowing(options.all("allow-target"))
        var configuration = AgentConfiguration(listen: listen, token: token, targets: policy)
        if options.value("loops") != nil { configuration.loops = try options.integer("loops", default: 1, range: 1...256) }
        do {
            let daemon = try AgentDaemon(configuration: configuration)
            try daemon.run()
            return 0
        } catch {
            Log.error("volley agent: \(error)")
            return ExitCode.couldNotRun
        }
    }
}

/// Reading the shared token.
enum TokenFile {
    static func read(_ path: String) throws(UsageError) -> [UInt8] {
        guard let text = FileSystem.readText(path) else { throw UsageError("cannot read the token file \(path)") }
        let token = Authentication.token(fromFile: text)
        guard !token.isEmpty else { throw UsageError("the token file \(path) is empty") }
        return token
    }
}
