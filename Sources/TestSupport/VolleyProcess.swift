import Foundation
import Net

/// The built `volley` binary run as a child process, as a user runs it.
public final class VolleyProcess: @unchecked Sendable {
    public let process: Process
    private let output = Pipe()
    private let errors = Pipe()

    /// The `volley` binary next to the test bundle (the same build), or `$VOLLEY_BINARY`.
    public static var binary: String {
        if let custom = ProcessInfo.processInfo.environment["VOLLEY_BINARY"] { return custom }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = bundle.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("volley").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return Repository.root + "/.build/debug/volley"
    }

    /// Starts `volley` with `arguments`.
    public init(_ arguments: [String], environment: [String: String] = [:]) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = output
        process.standardError = errors
        try process.run()
    }

    /// Sends a signal (SIGTERM by default).
    public func signal(_ signal: Int32 = SIGTERM) {
        kill(process.processIdentifier, signal)
    }

    /// Waits for the process to exit (killing it after `timeout` seconds); returns its status and output.
    @discardableResult
    public func wait(timeout: Double = 30) -> (status: Int32, stdout: String, stderr: String) {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        let out = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let err = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (process.terminationStatus, out, err)
    }

    /// A TCP port that was free a moment ago.
    public static func freePort() -> UInt16 {
        let socket = try! Socket.listen(on: SocketAddress(ip: .v4(0x7F00_0001), port: 0))
        defer { socket.close() }
        return socket.localAddress!.port
    }
}

/// A running `volley target` on a free loopback port.
public final class TargetProcess: @unchecked Sendable {
    public let port: UInt16
    public let volley: VolleyProcess
    /// The certificate it serves wss:// with, if any.
    public let certificate: TestCertificate?

    /// Starts `volley target --workers N` (over TLS with `certificate`) and waits until it answers.
    public init(workers: Int = 1, certificate: TestCertificate? = nil) throws {
        port = VolleyProcess.freePort()
        self.certificate = certificate
        var arguments = ["target", "--listen", "127.0.0.1:\(port)", "--workers", "\(workers)"]
        if let certificate { arguments += ["--tls-cert", certificate.certificatePath, "--tls-key", certificate.keyPath] }
        volley = try VolleyProcess(arguments)
        let deadline = Date().addingTimeInterval(10)
        let port = port
        func answers() -> Bool {
            if let certificate {
                return (try? BlockingWebSocket.attempt("wss://localhost:\(port)/echo", tls: certificate.trustingClient(), timeout: 1)) == .some(nil)
            }
            return (try? HTTPGet.get(port: port, path: "/health"))?.status == 200
        }
        while true {
            if answers() { break }
            guard Date() < deadline, volley.process.isRunning else {
                let result = volley.wait(timeout: 1)
                throw HTTPGet.Failure(description: "volley target did not start: \(result.stderr)")
            }
            usleep(20_000)
        }
    }

    /// ws://127.0.0.1:PORT + path, or wss://localhost:PORT + path when serving TLS.
    public func url(_ path: String) -> String {
        certificate == nil ? "ws://127.0.0.1:\(port)\(path)" : "wss://localhost:\(port)\(path)"
    }

    /// One value of the target's /metrics (a line `NAME VALUE`), 0 when absent.
    public func metric(_ name: String) throws -> Int64 {
        let body = try HTTPGet.get(port: port, path: "/metrics").body
        let line = body.split(separator: "\n").first { $0.hasPrefix(name + " ") }
        return line.flatMap { Int64($0.split(separator: " ").last ?? "") } ?? 0
    }

    /// Stops the target with SIGTERM and returns its exit status.
    @discardableResult
    public func stop() -> Int32 {
        volley.signal(SIGTERM)
        return volley.wait(timeout: 10).status
    }

    deinit {
        if volley.process.isRunning { volley.signal(SIGKILL) }
    }
}
