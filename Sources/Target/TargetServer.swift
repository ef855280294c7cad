import Net
import WebSocket
#if canImport(Glibc)
import Glibc
#endif

/// Configuration of `volley target`.
public struct TargetConfiguration: Sendable {
    public var listen: SocketAddress
    public var workers: Int
    /// Set in worker processes spawned by the supervisor.
    public var workerIndex: Int?
    public var hubFD: Int32?
    /// Serve wss:// with this certificate (chain) and key, PEM files.
    public var tlsCertificate: String?
    public var tlsKey: String?

    public init(listen: SocketAddress, workers: Int = 1, workerIndex: Int? = nil, hubFD: Int32? = nil) {
        self.listen = listen
        self.workers = workers
        self.workerIndex = workerIndex
        self.hubFD = hubFD
    }

    /// The TLS options as command-line arguments (passed on to worker processes).
    var tlsArguments: [String] {
        guard let tlsCertificate, let tlsKey else { return [] }
        return ["--tls-cert", tlsCertificate, "--tls-key", tlsKey]
    }

    /// The server options the configuration asks for: a TLS context read from the files.
    func serverOptions() throws(TLSError) -> ServerOptions {
        var options = ServerOptions()
        guard let tlsCertificate, let tlsKey else { return options }
        guard let certificate = FileSystem.readText(tlsCertificate) else { throw TLSError(.setup, "cannot read the certificate \(tlsCertificate)") }
        guard let key = FileSystem.readText(tlsKey) else { throw TLSError(.setup, "cannot read the key \(tlsKey)") }
        options.tls = try TLSContext(serverCertificate: certificate, key: key)
        return options
    }
}

/// Runs `volley target`: one worker in this process, or a supervisor/hub with N worker processes.
public enum TargetServer {
    /// Runs until SIGINT or SIGTERM; returns the process exit code.
    public static func run(_ configuration: TargetConfiguration, executable: String) -> Int32 {
        ProcessSetup.ignoreBrokenPipes()
        Machine.raiseDescriptorLimit()
        if configuration.workers > 1 && configuration.workerIndex == nil {
            return TargetSupervisor(configuration: configuration, executable: executable).run()
        }
        return runWorker(configuration)
    }

    static func runWorker(_ configuration: TargetConfiguration) -> Int32 {
        do {
            let loop = try EventLoop()
            let worker = configuration.workerIndex ?? 0
            let app = TargetApplication(loop: loop, worker: worker, workers: configuration.workers)
            let listener = try WebSocketListener(address: configuration.listen, loop: loop, router: app,
                                                 options: try configuration.serverOptions(), reusePort: configuration.workers > 1)
            listener.onAccept = { [unowned app] in app.accepted($0) }
            if let fd = configuration.hubFD { try app.attachHub(fd: fd) }
            let shutdown = GracefulShutdown(loop: loop, app: app, listener: listener)
            let signals = try SignalWatcher(SignalWatcher.stopSignals, loop: loop) { _ in shutdown.signalled() }
            if worker == 0 {
                let bound = listener.localAddress.map(String.init(describing:)) ?? "\(configuration.listen)"
                let scheme = configuration.tlsCertificate == nil ? "ws" : "wss"
                Log.out("volley target: listening on \(scheme)://\(bound) (\(configuration.workers) worker\(configuration.workers == 1 ? "" : "s")); paths /, /echo, /rooms/NAME, /chat?name=NAME, /delay?ms=N, /counter, /state, /private?user=ID, /health, /metrics")
            }
            loop.run()
            withExtendedLifetime(signals) {}
            return 0
        } catch {
            Log.error("volley target: \(error)")
            return 1
        }
    }
}

/// On SIGINT/SIGTERM: stop accepting, close every WebSocket with 1001 "going away", wait up to
/// two seconds for the close handshakes, then stop the loop.
final class GracefulShutdown {
    unowned(unsafe) let loop: EventLoop
    unowned let app: TargetApplication
    let listener: WebSocketListener
    private var deadline: Instant?

    init(loop: EventLoop, app: TargetApplication, listener: WebSocketListener) {
        self.loop = loop
        self.app = app
        self.listener = listener
    }

    func signalled() {
        if deadline != nil {
            loop.stop()     // a second signal: stop now
            return
        }
        deadline = Instant.now.advanced(by: Nanoseconds.seconds(2))
        listener.close()
        for connection in Array(app.open.all) { connection.close(code: CloseCode.goingAway, reason: "server shutting down") }
        check()
    }

    private func check() {
        if app.open.isEmpty || Instant.now >= deadline! {
            loop.stop()
        } else {
            loop.schedule(after: Nanoseconds.milliseconds(20)) { [self] in check() }
        }
    }
}
