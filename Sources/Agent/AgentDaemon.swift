import Net
import WireProtocol

/// `volley agent`: listens for coordinators, serves one run at a time, and survives any number
/// of runs, bad clients and lost coordinators. Runs on the calling thread's event loop.
public final class AgentDaemon: EventHandler {
    public let host: AgentHost
    private let listener: Socket
    /// The control channel's TLS context, keyed by the token.
    private let security: TLSContext

    public init(configuration: AgentConfiguration) throws {
        try configuration.validate()
        security = try ControlChannelSecurity.agent(token: configuration.token ?? [])
        let loop = try EventLoop(clock: configuration.clock.source)
        host = AgentHost(configuration: configuration, loop: loop)
        listener = try Socket.listen(on: configuration.listen)
        try loop.register(fd: listener.fd, interest: .readable, handler: self)
    }

    /// The address actually bound.
    public var localAddress: SocketAddress? { listener.localAddress }

    /// Serves until SIGINT or SIGTERM.
    public func run() throws(SocketError) {
        let loop = host.loop
        let signals = try SignalWatcher(SignalWatcher.stopSignals, loop: loop) { [unowned self] _ in
            Log.error("volley agent: stopping")
            host.abortActiveRun(reason: "the agent is shutting down")
            loop.stop()
        }
        let auth = host.configuration.token == nil ? "no authentication (loopback only)" : "token authentication, encrypted channel"
        Log.out("volley agent: listening on \(localAddress.map { "\($0)" } ?? "\(host.configuration.listen)") with \(auth); targets allowed: \(host.configuration.targets)")
        loop.run()
        withExtendedLifetime(signals) {}
    }

    public func handleEvents(_ events: IOEvents) {
        for _ in 0..<64 {
            guard let (socket, peer) = try? listener.accept() else { return }
            do {
                let connection = try WireConnection(socket: socket, peer: peer, loop: host.loop, security: security)
                host.accept(connection)
            } catch {
                socket.close()
            }
        }
    }
}

/// An agent inside the coordinator's process, on its own control-loop thread, reached through
/// an `InProcessChannel`: `volley run` without `--agents` runs on one of these, through exactly
/// the session, run and engine code a `volley agent` uses.
public final class InProcessAgent: @unchecked Sendable {
    // @unchecked: the host and its sessions live on the agent's loop thread.
    public let host: AgentHost
    private let thread: LoopThread.Handle

    /// Starts the agent's loop thread; `token` is what the coordinator must prove it holds.
    public init(token: [UInt8], loops: Int?, capacity: WireMessage.Capacity = AgentConfiguration.capacity()) throws(SocketError) {
        var configuration = AgentConfiguration(listen: SocketAddress(ip: .v4(0x7F00_0001), port: 0), token: token,
                                               targets: .allowing(["0.0.0.0/0", "::/0"]), clock: AgentClock(), loops: loops)
        configuration.logsRuns = false
        let loop = try EventLoop()
        host = AgentHost(configuration: configuration, loop: loop, capacity: capacity)
        thread = LoopThread.start(name: "volley-agent") { loop.run() }
    }

    /// Connects a coordinator whose loop is `coordinatorLoop`: returns the coordinator's end.
    public func connect(coordinatorLoop: EventLoop, name: String) -> WireChannel {
        let (coordinatorEnd, agentEnd) = InProcessChannel.pair(coordinatorLoop, name: "coordinator", host.loop, peerName: name)
        let host = LoopBound(self.host)
        let end = LoopBound(agentEnd)
        self.host.loop.execute { host.value.accept(end.value) }
        return coordinatorEnd
    }

    /// Stops the agent's loop and waits for its thread.
    public func stop() {
        let host = LoopBound(self.host)
        self.host.loop.execute { host.value.abortActiveRun(reason: "the run is over") }
        self.host.loop.stop()
        thread.join()
    }
}
