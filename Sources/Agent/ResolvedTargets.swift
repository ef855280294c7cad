import Net
import Scenario
import WebSocket

/// A run's targets resolved once before it starts (resolution blocks, so never on a loop):
/// each target's address and, when its URL and the headers are constant, the handshake
/// request's constant parts; the client options every connection shares.
public struct ResolvedTargets: Sendable {
    /// Address of every host named in a target, by host.
    public private(set) var addresses: [String: SocketAddress] = [:]
    /// Per target: its URL when it has no placeholders.
    public private(set) var constantURLs: [WebSocketURL?] = []
    /// Per target: the address to connect to.
    public private(set) var targetAddresses: [SocketAddress] = []
    /// Per target: the handshake request's constant parts, when everything about it is constant.
    public private(set) var requestTemplates: [ClientHandshake.RequestTemplate?] = []
    /// Source addresses to spread connections over.
    public private(set) var localAddresses: [IPAddress] = []
    public private(set) var clientOptions = ClientOptions()
    /// The TLS configuration every wss:// connection shares (nil when no target is wss://).
    public private(set) var tls: TLSContext?

    /// Resolves every target of `scenario` and checks its URLs.
    public init(_ scenario: Scenario) throws(EngineError) {
        clientOptions.openTimeout = nil   // enforced by the drivers' sweep (no timer per connection)
        clientOptions.closeTimeout = scenario.options.closeTimeout
        clientOptions.subprotocols = scenario.subprotocols
        clientOptions.limits = WebSocketLimits(maximumFrameSize: UInt64(scenario.options.maxMessageSize),
                                               maximumMessageSize: UInt64(scenario.options.maxMessageSize))
        clientOptions.deflate = Self.offer(scenario.compression)
        var context = RenderContext(seed: 1)
        let headersConstant = scenario.headers.allSatisfy { $0.value.isConstant }
        for target in scenario.targets {
            let sample = target.renderString(&context)
            guard let url = WebSocketURL(sample) else { throw EngineError("target \(target.source) is not a valid ws:// or wss:// URL") }
            let hostPart = target.source.drop { $0 != "/" }.dropFirst(2).prefix { $0 != "/" && $0 != "?" }
            if hostPart.contains("{{") {
                throw EngineError("target \(target.source): placeholders may be used in the path and query, not in the host or port")
            }
            if addresses[url.host] == nil {
                do {
                    addresses[url.host] = try Resolver.resolve(host: url.host, port: url.port)[0]
                } catch {
                    throw EngineError("cannot resolve the target \(target.source) here: \(error)")
                }
            }
            constantURLs.append(target.isConstant ? url : nil)
            targetAddresses.append(SocketAddress(ip: addresses[url.host]!.ip, port: url.port))
            requestTemplates.append(target.isConstant && headersConstant
                ? ClientHandshake.RequestTemplate(url: url, subprotocols: scenario.subprotocols,
                                                  headers: scenario.headers.map { ($0.name, $0.value.source) }, deflate: clientOptions.deflate)
                : nil)
        }
        if scenario.targets.contains(where: { $0.source.hasPrefix("wss://") }) {
            tls = try Self.context(for: scenario.tls)
        }
        for text in scenario.options.localAddresses {
            guard let ip = IPAddress(text) else { throw EngineError("local address \(text) is not an IP address") }
            localAddresses.append(ip)
        }
    }

    /// The permessage-deflate offer of a scenario's `compression:` options (nil: none).
    static func offer(_ compression: CompressionOptions) -> DeflateOffer? {
        guard compression.deflate else { return nil }
        var offer = DeflateOffer()
        offer.clientNoContextTakeover = compression.clientNoContextTakeover
        offer.serverNoContextTakeover = compression.serverNoContextTakeover
        offer.clientMaxWindowBits = compression.clientMaxWindowBits
        offer.serverMaxWindowBits = compression.serverMaxWindowBits
        return offer
    }

    /// The client TLS context of a scenario's `tls:` options.
    public static func context(for options: TLSOptions) throws(EngineError) -> TLSContext {
        var client = TLSContext.ClientOptions()
        client.caPEM = options.ca?.contents
        client.verify = !options.insecure
        client.certificatePEM = options.clientCertificate?.contents
        client.keyPEM = options.clientKey?.contents
        client.minimumVersion = options.minimumVersion
        client.keepSessions = options.sessionReuse
        do {
            return try TLSContext(client: client)
        } catch {
            let files = options.files.map(\.path).joined(separator: ", ")
            throw EngineError("tls: \(error.reason)\(files.isEmpty ? "" : " (files: \(files))")")
        }
    }

    /// Per target: its URL as written, its host, and the address it resolved to.
    public func hosts(of scenario: Scenario) -> [(url: String, host: String, address: IPAddress)] {
        var context = RenderContext(seed: 1)
        return scenario.targets.enumerated().compactMap { i, target in
            guard let url = WebSocketURL(target.renderString(&context)) else { return nil }
            return (target.source, url.host, targetAddresses[i].ip)
        }
    }
}

/// Opens the TCP side of a virtual user's connection: the system's sockets in a run, one end of
/// a socket pair in tests that feed users raw frames.
public protocol Dialer: AnyObject, Sendable {
    /// A socket connecting (or connected) to `address`, from `local` when given.
    func dial(_ address: SocketAddress, from local: IPAddress?) throws(SocketError) -> (Socket, connected: Bool)
}

/// Dials with the system's TCP sockets.
public final class TCPDialer: Dialer {
    public init() {}
    public func dial(_ address: SocketAddress, from local: IPAddress?) throws(SocketError) -> (Socket, connected: Bool) {
        try Socket.connect(to: address, from: local)
    }
}
