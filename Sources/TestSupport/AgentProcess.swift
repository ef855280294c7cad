import Foundation
import Net

/// A running `volley agent` on a free loopback port, with a token file.
public final class AgentProcess: @unchecked Sendable {
    public let port: UInt16
    public let volley: VolleyProcess
    public let tokenFile: String

    /// Starts an agent; `token` nil starts it without a token file.
    public init(token: String? = "test-token", extraArguments: [String] = [], environment: [String: String] = [:]) throws {
        port = VolleyProcess.freePort()
        tokenFile = NSTemporaryDirectory() + "volley-token-\(UUID().uuidString)"
        var args = ["agent", "--listen", "127.0.0.1:\(port)"]
        if let token {
            try token.write(toFile: tokenFile, atomically: true, encoding: .utf8)
            args += ["--token-file", tokenFile]
        }
        volley = try VolleyProcess(args + extraArguments, environment: environment)
        let deadline = Date().addingTimeInterval(10)
        while true {
            if let (socket, connected) = try? Socket.connect(to: SocketAddress(ip: .v4(0x7F00_0001), port: port)) {
                var ok = connected
                if !connected {
                    usleep(20_000)
                    ok = socket.pendingError == 0
                }
                socket.close()
                if ok { break }
            }
            guard Date() < deadline, volley.process.isRunning else {
                let r = volley.wait(timeout: 1)
                throw HTTPGet.Failure(description: "volley agent did not start: \(r.stderr)")
            }
            usleep(20_000)
        }
    }

    /// "127.0.0.1:PORT"
    public var address: String { "127.0.0.1:\(port)" }

    /// Kills the agent with `signal` (SIGKILL by default) and waits for it.
    public func kill(_ signal: Int32 = SIGKILL) {
        volley.signal(signal)
        volley.wait(timeout: 10)
    }

    deinit {
        if volley.process.isRunning { volley.signal(SIGKILL) }
        try? FileManager.default.removeItem(atPath: tokenFile)
    }
}
