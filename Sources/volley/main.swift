// volley: distributed WebSocket load generation. See README.md.
import Target
#if canImport(Glibc)
import Glibc
#endif

let usage = """
volley — distributed WebSocket load generator

usage:
  volley target --listen ADDR:PORT [--workers N]   run the bundled system under test
  volley help                                      this text

Exit codes: 0 success, 2 the command could not be carried out (bad arguments, cannot listen).
"""

let arguments = Array(CommandLine.arguments.dropFirst())
let status: Int32
do {
    switch arguments.first {
    case "target":
        status = try TargetCommand.run(Array(arguments.dropFirst()))
    case nil, "help", "--help", "-h":
        print(usage)
        status = arguments.isEmpty ? 2 : 0
    default:
        let commands = ["target", "help"]
        let hint = Suggestion.closest(to: arguments[0], among: commands).map { " (did you mean \"\($0)\"?)" } ?? ""
        throw UsageError("unknown command \"\(arguments[0])\"\(hint)\n\n\(usage)")
    }
} catch {
    Log.error("volley: \(error)")
    status = 2
}
exit(status)
