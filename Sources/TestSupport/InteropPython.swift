import Foundation
import Net
import WebSocket

/// The Python with third-party WebSocket peers (`websockets`, `trustme` from PyPI), set up by
/// scripts/setup-test-deps.sh, and `scripts/interop/tls_peer.py` that drives them.
public enum InteropPython {
    public static var path: String {
        ProcessInfo.processInfo.environment["VOLLEY_INTEROP_PYTHON"] ?? "/tmp/interop-venv/bin/python"
    }
    public static var available: Bool { FileManager.default.isExecutableFile(atPath: path) }
    /// Run the interop tests when the peers are installed, and always when references are required.
    public static var shouldRun: Bool { available || Repository.referencesRequired }
    public static var script: String { Repository.root + "/scripts/interop/tls_peer.py" }

    /// A private CA and its certificates (trustme) in a new temporary directory.
    public static func makeCertificates() throws -> String {
        let directory = NSTemporaryDirectory() + "volley-interop-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let result = try Subprocess.run(path, [script, "certs", directory])
        guard result.status == 0 else { throw HTTPGet.Failure(description: "trustme failed: \(result.stderr)") }
        return directory
    }

    /// Runs `tls_peer.py` with `arguments` to completion.
    public static func run(_ arguments: [String]) throws -> Subprocess.Result {
        try Subprocess.run(path, [script] + arguments)
    }
}

/// A Python `websockets` echo server over wss:// on a free loopback port, until deinit.
public final class InteropServer {
    public let port: UInt16
    let process: Process

    public init(certificates: String, extra: [String] = []) throws {
        port = VolleyProcess.freePort()
        process = Process()
        process.executableURL = URL(fileURLWithPath: InteropPython.path)
        process.arguments = [InteropPython.script, "server", certificates, "\(port)"] + extra
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var options = TLSContext.ClientOptions()
        options.caPEM = Repository.readText(certificates + "/ca.pem")
        let trust = ClientTLS(context: try TLSContext(client: options))
        let deadline = Date().addingTimeInterval(15)
        while true {
            // Listening once an attempt gets past TCP (with --mtls it then fails the server's check).
            do {
                let failure = try BlockingWebSocket.attempt("wss://localhost:\(port)/", tls: trust, timeout: 1)
                if case .connectFailed? = failure {} else { break }
            } catch {}
            guard Date() < deadline, process.isRunning else { throw HTTPGet.Failure(description: "the Python websockets server did not start") }
            usleep(50_000)
        }
    }

    deinit {
        if process.isRunning {
            // SIGKILL: the child inherits the test thread's blocked signals, SIGTERM included.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
