import Net
#if canImport(Glibc)
import Glibc
#endif

/// `volley agent` processes on loopback for a local run bigger than one process's descriptor
/// limit, sharing a fresh random token; they are driven as a cluster, then stopped.
public final class LocalAgentProcesses {
    public let addresses: [SocketAddress]
    public let token: [UInt8]
    private let children: [ChildProcess]
    private let tokenFile: String

    /// Agents needed to hold `connections` when each process may hold `descriptorLimit` descriptors.
    public static func count(connections: Int, descriptorLimit: Int) -> Int {
        let perAgent = Swift.max(1000, descriptorLimit - 256)
        return (connections + perAgent - 1) / perAgent
    }

    /// Starts `count` agents of this binary and waits until each accepts connections.
    public init(count: Int) throws(ClusterError) {
        token = Array(SecureRandom.hex(32).utf8)
        tokenFile = "/tmp/volley-local-token-\(getpid())"
        do {
            try FileSystem.write(String(decoding: token, as: UTF8.self), to: tokenFile)
        } catch {
            throw ClusterError("\(error)")
        }
        FileSystem.setPermissions(tokenFile, 0o600)
        var children: [ChildProcess] = []
        var addresses: [SocketAddress] = []
        let executable = FileSystem.executablePath
        for _ in 0..<count {
            guard let port = try? Self.freePort(),
                  let child = try? ChildProcess(path: executable, arguments: [executable, "agent", "--listen", "127.0.0.1:\(port)", "--token-file", tokenFile],
                                                quietOutput: true) else {
                for c in children { c.terminate() }
                FileSystem.remove(tokenFile)
                throw ClusterError("cannot start a local agent")
            }
            children.append(child)
            addresses.append(SocketAddress(ip: .v4(0x7F00_0001), port: port))
        }
        self.children = children
        self.addresses = addresses
        for address in addresses where !Self.waitListening(address) {
            stop()
            throw ClusterError("the local agent on \(address) did not start")
        }
    }

    /// Stops the agents and removes the token file.
    public func stop() {
        for c in children { c.terminate() }
        FileSystem.remove(tokenFile)
    }

    /// A port nobody listens on right now.
    public static func freePort() throws -> UInt16 {
        let probe = try Socket.listen(on: SocketAddress(ip: .v4(0x7F00_0001), port: 0))
        defer { probe.close() }
        return probe.localAddress!.port
    }

    /// Waits up to 10 s for `address` to accept a connection.
    public static func waitListening(_ address: SocketAddress, while alive: () -> Bool = { true }) -> Bool {
        let deadline = Instant.now.advanced(by: Nanoseconds.seconds(10))
        while Instant.now < deadline && alive() {
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
