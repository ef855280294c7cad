import Coordinator
import Net
import Scenario

/// `volley demo`: the bundled target on a free port, and scenarios/demo.yaml against it.
enum DemoCommand {
    static let usage = "usage: volley demo [--tls] [--out DIR] [--quiet] [--scenario FILE]"

    static func run(_ arguments: [String]) throws(UsageError) -> Int32 {
        let options = try CommandLineOptions(arguments, valued: ["out", "scenario", "seed"], switches: ["quiet", "tls"])
        let path = options.value("scenario") ?? scenarioPath()
        guard let path, let scenario = RunCommand.load(path) else {
            Log.error("volley demo: cannot find scenarios/demo.yaml (run it from the repository, or pass --scenario FILE)")
            return ExitCode.couldNotRun
        }
        // --tls: a certificate made now, trusted by the run as its private CA.
        var certificate: DemoCertificate?
        if options.has("tls") {
            do {
                certificate = try DemoCertificate()
            } catch {
                Log.error("volley demo: \(error)")
                return ExitCode.couldNotRun
            }
        }
        defer { certificate?.remove() }
        let port: UInt16
        let target: ChildProcess
        do {
            (target, port) = try startTarget(tls: certificate)
        } catch {
            Log.error("volley demo: cannot start the target: \(error)")
            return ExitCode.couldNotRun
        }
        defer { target.terminate() }
        let scheme = certificate == nil ? "ws" : "wss"
        Log.out("volley demo: bundled target on \(scheme)://127.0.0.1:\(port) (pid \(target.pid)); scenario \(path)")
        var local: Scenario
        do {
            local = try scenario.replacingTargets(scenario.targets.map {
                Scenario.url($0.source, withAuthority: "127.0.0.1:\(port)", scheme: "\(scheme)://")
            }, origin: "volley demo")
        } catch {
            throw UsageError("\(error)")
        }
        if let certificate { local = local.replacingTLSTrust(ca: certificate.pem, insecure: false) }
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
    static func startTarget(tls: DemoCertificate?) throws -> (ChildProcess, UInt16) {
        let port = try LocalAgentProcesses.freePort()
        let executable = FileSystem.executablePath
        var arguments = [executable, "target", "--listen", "127.0.0.1:\(port)"]
        if let tls { arguments += ["--tls-cert", tls.certificatePath, "--tls-key", tls.keyPath] }
        let child = try ChildProcess(path: executable, arguments: arguments)
        guard LocalAgentProcesses.waitListening(SocketAddress(ip: .v4(0x7F00_0001), port: port), while: { child.isRunning }) else {
            child.terminate()
            throw UsageError(child.isRunning ? "the target did not start listening within 10 s" : "the target exited at start")
        }
        return (child, port)
    }
}

/// A self-signed certificate for 127.0.0.1 and localhost, made for one demo run in a private
/// temporary directory and removed after it.
struct DemoCertificate {
    let directory: String
    let pem: PEMFile
    var certificatePath: String { directory + "/cert.pem" }
    var keyPath: String { directory + "/key.pem" }

    init() throws {
        directory = "/tmp/volley-demo-\(SecureRandom.hex(6))"
        try FileSystem.makeDirectories(directory)
        FileSystem.setPermissions(directory, 0o700)
        try TLSContext.writeSelfSigned(certificate: directory + "/cert.pem", key: directory + "/key.pem")
        guard let text = FileSystem.readText(directory + "/cert.pem") else { throw UsageError("cannot read the certificate just made") }
        pem = PEMFile(path: directory + "/cert.pem", contents: text)
    }

    func remove() {
        FileSystem.remove(keyPath)
        FileSystem.remove(certificatePath)
        FileSystem.removeDirectory(directory)
    }
}
