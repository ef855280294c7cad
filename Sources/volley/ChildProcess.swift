import CVolleyLinux
import Net
#if canImport(Glibc)
import Glibc
#endif

/// A child process of this binary (the demo's target, local agents).
final class ChildProcess {
    let pid: Int32

    /// Starts this executable with `arguments` (its standard output discarded when `quiet`).
    init(arguments: [String], quiet: Bool = false) throws(UsageError) {
        let args = [Executable.path] + arguments
        var cArgs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        let pid = volley_spawn_quiet(Executable.path, &cArgs, quiet ? 1 : 0)
        guard pid > 0 else { throw UsageError("cannot start \(Executable.path): \(String(cString: strerror(errno)))") }
        self.pid = pid
    }

    /// SIGTERM, then wait up to `timeout` seconds, then SIGKILL.
    func terminate(timeout: Double = 5) {
        _ = volley_kill(pid, SIGTERM)
        let deadline = Instant.now.advanced(by: Nanoseconds.fromSeconds(timeout))
        var status: Int32 = 0
        while Instant.now < deadline {
            if waitpid(pid, &status, WNOHANG) == pid { return }
            usleep(10_000)
        }
        _ = volley_kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
    }

    /// True while the process has not exited.
    var isRunning: Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == 0
    }
}

/// Where the demo finds its scenario, and how it starts the bundled target.
enum DemoFiles {
    /// scenarios/demo.yaml in the current directory or next to the binary's repository.
    static func scenarioPath() -> String? {
        var candidates = ["scenarios/demo.yaml"]
        // .build/<config>/volley → repository root is three levels up.
        var dir = Executable.path
        for _ in 0..<4 {
            guard let slash = dir.lastIndex(of: "/") else { break }
            dir = String(dir[..<slash])
            candidates.append(dir + "/scenarios/demo.yaml")
        }
        return candidates.first { access($0, R_OK) == 0 }
    }

    /// Starts `volley target` on a free loopback port and waits until it accepts connections.
    static func startTarget() throws -> (ChildProcess, UInt16) {
        let probe = try Socket.listen(on: SocketAddress(ip: .v4(0x7F00_0001), port: 0))
        let port = probe.localAddress!.port
        probe.close()
        let child = try ChildProcess(arguments: ["target", "--listen", "127.0.0.1:\(port)"])
        let deadline = Instant.now.advanced(by: Nanoseconds.seconds(10))
        while Instant.now < deadline {
            if let (socket, connected) = try? Socket.connect(to: SocketAddress(ip: .v4(0x7F00_0001), port: port)) {
                var ok = connected
                if !connected {
                    usleep(20_000)
                    ok = socket.pendingError == 0
                }
                socket.close()
                if ok { return (child, port) }
            }
            guard child.isRunning else { throw UsageError("the target exited at start") }
            usleep(50_000)
        }
        child.terminate()
        throw UsageError("the target did not start listening within 10 s")
    }
}
