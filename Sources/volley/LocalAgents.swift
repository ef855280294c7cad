import CVolleyLinux
import Net
import Scenario
#if canImport(Glibc)
import Glibc
#endif

/// A local run bigger than one process's descriptor limit: the needed number of `volley agent`
/// processes on loopback, with a fresh random token, run as a cluster by this process.
enum LocalAgents {
    static func run(_ scenario: Scenario, settings: RunSettings, descriptorLimit: Int) -> Int32 {
        let perAgent = Swift.max(1000, descriptorLimit - 256)
        let count = (scenario.peakConnections + perAgent - 1) / perAgent
        if !settings.quiet {
            Log.out("volley: \(scenario.peakConnections) connections exceed this process's \(descriptorLimit) descriptors; starting \(count) local agent processes")
        }
        var tokenBytes = [UInt8](repeating: 0, count: 32)
        _ = volley_random_bytes(&tokenBytes, 32)
        let token = Array(tokenBytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined().utf8)
        let tokenFile = "/tmp/volley-local-token-\(getpid())"
        do {
            try Files.write(String(decoding: token, as: UTF8.self), to: tokenFile)
            chmod(tokenFile, 0o600)
        } catch {
            Log.error("volley run: \(error)")
            return ExitCode.couldNotRun
        }
        defer { unlink(tokenFile) }
        var agents: [ChildProcess] = []
        var addresses: [SocketAddress] = []
        defer { for a in agents { a.terminate() } }
        for _ in 0..<count {
            guard let port = try? freePort(), let child = try? ChildProcess(arguments: ["agent", "--listen", "127.0.0.1:\(port)", "--token-file", tokenFile], quiet: true) else {
                Log.error("volley run: cannot start a local agent")
                return ExitCode.couldNotRun
            }
            agents.append(child)
            addresses.append(SocketAddress(ip: .v4(0x7F00_0001), port: port))
        }
        for address in addresses where !waitListening(address) {
            Log.error("volley run: the local agent on \(address) did not start")
            return ExitCode.couldNotRun
        }
        var local = settings
        local.targetOverridden = true
        return ClusterCommand.run(scenario, agents: addresses, token: token, leaseMillis: 5000, settings: local)
    }

    static func freePort() throws -> UInt16 {
        let probe = try Socket.listen(on: SocketAddress(ip: .v4(0x7F00_0001), port: 0))
        defer { probe.close() }
        return probe.localAddress!.port
    }

    static func waitListening(_ address: SocketAddress) -> Bool {
        let deadline = Instant.now.advanced(by: Nanoseconds.seconds(10))
        while Instant.now < deadline {
            if let (socket, connected) = try? Socket.connect(to: address) {
                var ok = connected
                if !connected {
                    usleep(20_000)
                    ok = socket.pendingError == 0
                }
                socket.close()
                if ok { return true }
            }
            usleep(20_000)
        }
        return false
    }
}
