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

/// The python-socketio chat server of `scripts/interop/socketio_chat.py` on a free loopback
/// port, until deinit; `counts` reads what it has seen so far.
public final class SocketIOServer: @unchecked Sendable {
    // @unchecked: `output` is guarded by `lock`; the reader thread only appends.
    public let port: UInt16
    let process: Process
    private let lock = NSLock()
    private var output = ""

    public init(pingInterval: Double = 1) throws {
        port = VolleyProcess.freePort()
        process = Process()
        process.executableURL = URL(fileURLWithPath: InteropPython.path)
        process.arguments = [Repository.root + "/scripts/interop/socketio_chat.py", "\(port)", "\(pingInterval)"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let handle = pipe.fileHandleForReading
        Thread.detachNewThread { [self] in
            while true {
                let data = handle.availableData
                if data.isEmpty { return }
                lock.withLock { output += String(decoding: data, as: UTF8.self) }
            }
        }
        let deadline = Date().addingTimeInterval(20)
        while !lock.withLock({ output.contains("ready") }) {
            guard Date() < deadline, process.isRunning else { throw HTTPGet.Failure(description: "the python-socketio server did not start") }
            usleep(50_000)
        }
    }

    /// The server's latest counts: connects, disconnects, messages received.
    public var counts: (connects: Int, disconnects: Int, messages: Int)? {
        guard let line = lock.withLock({ output }).split(separator: "\n").last(where: { $0.hasPrefix("stats ") }) else { return nil }
        var values: [String: Int] = [:]
        for field in line.dropFirst(6).split(separator: " ") {
            let kv = field.split(separator: "=")
            if kv.count == 2 { values[String(kv[0])] = Int(kv[1]) }
        }
        return (values["connects"] ?? -1, values["disconnects"] ?? -1, values["messages"] ?? -1)
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)     // SIGTERM is blocked in the test's children
            process.waitUntilExit()
        }
    }
}
