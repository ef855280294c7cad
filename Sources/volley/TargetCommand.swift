import Net
import Target

/// `volley target --listen ADDR:PORT [--workers N]`
enum TargetCommand {
    static let usage = """
    usage: volley target --listen ADDR:PORT [--workers N] [--tls-cert FILE --tls-key FILE]
      Runs the bundled system under test: WebSocket paths /, /echo, /rooms/NAME, /chat?name=NAME,
      /delay?ms=N, /counter, /state, /private?user=ID; HTTP GET /health and /metrics.
      --workers N  processes sharing the port with SO_REUSEPORT (default 1); use several when one
                   process's descriptor limit (20,000 here) is too small for the connections.
      --tls-cert FILE, --tls-key FILE
                   serve every path over wss:// (TLS) with this certificate (chain) and key, PEM.
    """

    static func run(_ arguments: [String]) throws(UsageError) -> Int32 {
        let options = try CommandLineOptions(arguments, valued: ["listen", "workers", "worker-index", "hub-fd", "tls-cert", "tls-key"])
        guard options.positionals.isEmpty else { throw UsageError("unexpected argument \"\(options.positionals[0])\"\n\(usage)") }
        guard let listenText = options.value("listen") else { throw UsageError("--listen ADDR:PORT is required\n\(usage)") }
        guard let listen = SocketAddress(listenText) else {
            throw UsageError("--listen must be an IP address and port such as 127.0.0.1:8080 or [::1]:8080, got \"\(listenText)\"")
        }
        var configuration = TargetConfiguration(listen: listen, workers: try options.integer("workers", default: 1, range: 1...256))
        configuration.tlsCertificate = options.value("tls-cert")
        configuration.tlsKey = options.value("tls-key")
        if (configuration.tlsCertificate == nil) != (configuration.tlsKey == nil) {
            throw UsageError("--tls-cert and --tls-key go together: the certificate and its private key")
        }
        if let path = configuration.tlsCertificate, !FileSystem.isReadable(path) { throw UsageError("cannot read the certificate \(path)") }
        if let path = configuration.tlsKey, !FileSystem.isReadable(path) { throw UsageError("cannot read the key \(path)") }
        if options.value("worker-index") != nil {
            configuration.workerIndex = try options.integer("worker-index", default: 0, range: 0...255)
            configuration.hubFD = Int32(try options.integer("hub-fd", default: 3, range: 0...65535))
        }
        return TargetServer.run(configuration, executable: FileSystem.executablePath)
    }
}
