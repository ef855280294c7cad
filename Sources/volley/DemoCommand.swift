import Coordinator
import Net
import Scenario

/// `volley demo`: the bundled target on a free port, and scenarios/demo.yaml against it.
enum DemoCommand {
    static let usage = "usage: volley demo [--out DIR] [--quiet] [--scenario FILE]"

    static func run(_ arguments: [String]) throws(UsageError) -> Int32 {
        let options = try CommandLineOptions(arguments, valued: ["out", "scenario", "seed"], switches: ["quiet"])
        let path = options.value("scenario") ?? scenarioPath()
        guard let path, let scenario = RunCommand.load(path) else {
            Log.error("volley demo: cannot find scenarios/demo.yaml (run it from the repository, or pass --scenario FILE)")
            return ExitCode.couldNotRun
        }
        let port: UInt16
        let target: ChildProcess
        do {
            (target, port) = try startTarget()
        } catch {
            Log.error("volley demo: cannot start the target: \(error)")
            return ExitCode.couldNotRun
        }
        defer { target.terminate() }
        Log.out("volley demo: bundled target on 127.0.0.1:\(port) (pid \(target.pid)); scenario \(path)")
        let local: Scenario
        do {
            local = try scenario.replacingTargetHost("127.0.0.1:\(port)", origin: "volley demo")
        } catch {
            throw UsageError("\(error)")
        }
        var request = RunRequest(scenario: local, runID: SecureRandom.hex(8), seed: try RunCommand.seed(options), token: [])
        request.quiet = options.has("quiet")
        return LocalCluster.run(request, outputs: OutputSettings(directory: options.value("out")))
    }

    /// scenarios/demo.yaml in the current directory or next to the binary's repository.
    static func scenarioPath() -> String? {
        var candidates = ["scenarios/demo.yaml"]
        // .build/<config>/volley → repository root is three levels up.
        var dir = FileSystem.executablePath
        for _ in 0..<4 {
            guard let slash = dir.lastIndex(of: "/") else { break }
            dir = String(dir[..<slash])
            candidates.append(dir + "/scenarios/demo.yaml")
        }
        return candidates.first { FileSystem.isReadable($0) }
    }

    /// Starts `volley target` on a free loopback port and waits until it accepts connections.
    static func startTarget() throws -> (ChildProcess, UInt16) {
        let port = try LocalAgentProcesses.freePort()
        let executable = FileSystem.executablePath
        let child = try ChildProcess(path: executable, arguments: [executable, "target", "--listen", "127.0.0.1:\(port)"])
        guard LocalAgentProcesses.waitListening(SocketAddress(ip: .v4(0x7F00_0001), port: port), while: { child.isRunning }) else {
            child.terminate()
            throw UsageError(child.isRunning ? "the target did not start listening within 10 s" : "the target exited at start")
        }
        return (child, port)
    }
}
