// volley: distributed WebSocket load generation. See README.md.
import Net
import Scenario
import Target
import WireProtocol
#if canImport(Glibc)
import Glibc
#endif

let usage = """
volley — distributed WebSocket load generator

usage:
  volley demo [--tls]                              run the bundled target and scenarios/demo.yaml against it
  volley run SCENARIO.yaml [--agents H:P,... --token-file F] [--out DIR] [--target URL]
                           [--target-host H:P] [--connections N] [--loops N] [--seed N] [--notify-url URL]
                           [--tls-ca FILE | --insecure]
                                                   run a load test (on agents, or in this process);
                                                   DIR gets results.json, report.html, junit.xml,
                                                   METRIC.hlog and series.csv
  volley report RESULTS.json|DIR [--html OUT] [--junit OUT]
                                                   re-render a finished run's report
  volley compare BASELINE.json RESULTS.json [--max-regression 10%]
                                                   fail on a p99, throughput or error-rate regression
  volley agent --listen ADDR:PORT --token-file F [--allow-target HOST|CIDR ...]
                                                   serve runs for a coordinator
  volley validate SCENARIO.yaml [--agents N] [--connections N]
                                                   check a scenario, show its plan and split
  volley target --listen ADDR:PORT [--workers N] [--tls-cert F --tls-key F]
                                                   run the bundled system under test (ws:// or wss://)
  volley version                                   this build, its protocol and its OpenSSL
  volley help                                      this text

Exit codes: 0 passed; 1 thresholds failed (also a run stopped by an abort_on_fail
threshold, and a compare that found a regression); 2 could not be carried out (bad scenario
or arguments, agents unreachable, authentication failed); 3 aborted (Ctrl-C, lost agents
under the abort policy).
"""

ProcessSetup.ignoreBrokenPipes()
let arguments = Array(CommandLine.arguments.dropFirst())
let status: Int32
do {
    switch arguments.first {
    case "target":
        status = try TargetCommand.run(Array(arguments.dropFirst()))
    case "run":
        status = try RunCommand.run(Array(arguments.dropFirst()))
    case "validate":
        status = try RunCommand.validate(Array(arguments.dropFirst()))
    case "demo":
        status = try DemoCommand.run(Array(arguments.dropFirst()))
    case "agent":
        status = try AgentCommand.run(Array(arguments.dropFirst()))
    case "report":
        status = try ReportCommand.report(Array(arguments.dropFirst()))
    case "compare":
        status = try ReportCommand.compare(Array(arguments.dropFirst()))
    case "version", "--version", "-V":
        print("volley \(volleyVersion) (wire protocol \(wireProtocolVersion))")
        print("TLS: \(OpenSSL.version), linked statically")
        status = 0
    case nil, "help", "--help", "-h":
        print(usage)
        status = arguments.isEmpty ? 2 : 0
    default:
        let commands = ["demo", "run", "validate", "agent", "target", "report", "compare", "version", "help"]
        let hint = Suggest.closest(to: arguments[0], among: commands).map { " (did you mean \"\($0)\"?)" } ?? ""
        throw UsageError("unknown command \"\(arguments[0])\"\(hint)\n\n\(usage)")
    }
} catch {
    Log.error("volley: \(error)")
    status = 2
}
exit(status)
